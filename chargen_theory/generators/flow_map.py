"""Lagrangian map distillation (LMD) of the flow map (Boffi, Albergo, Vanden-Eijnden, 'Flow map matching',
arXiv 2406.07507).

The flow map X_{s,t}(x) = x + (t - s) u(s, t, x) of the teacher velocity b solves the Lagrangian equation
d/dt X_{s,t}(x) = b_t(X_{s,t}(x)) with X_{s,s}(x) = x; LMD minimises its residual

    E_{s, t, x ~ rho_s} | d/dt X_{s,t}(x) - b_t(X_{s,t}(x)) |^2,

here with s = t_k a grid time (k uniform on 0..K-1), x = Z_k the teacher's Euler characteristic at s (a sample of
rho_s), t uniform on [s, T], d/dt by forward-mode differentiation (torch.func.jvp), and b evaluated at the
network's output as a fixed regression target (no gradient through b: the teacher is any numpy velocity, e.g. a
kernel estimator). The velocity must accept an array of times t (n,): estimators and targets do. It distils the
*continuous* flow of b, so its fit error to the Euler characteristics includes Euler's O(h) term.
"""
from __future__ import annotations

from .. import training
from ._network import NetworkGenerator


class FlowMap(NetworkGenerator):
    """Flow map g(s, t, x) for every 0 <= s <= t <= T trained by LMD on the teacher velocity (hyperparameters:
    ``NetworkGenerator``'s). ``nfe_fit_`` counts the Euler data (m K) and every online teacher evaluation."""

    name = "flow_map"
    TIMES = "any"

    def _batch(self, rng, trajectories, size):
        traj = trajectories[rng.integers(trajectories.size, size=size)]
        k = rng.integers(self.K_, size=size)
        s = self.teacher_.grid[k]
        return traj, k, s, s + (self.T_ - s) * rng.uniform(size=size)

    def _loss(self, torch, batch):
        traj, k, s, t = batch
        x = self._chars_t[k, traj]
        s_t, t_t = training.as_tensor(s), training.as_tensor(t)
        end, d_dt = torch.func.jvp(lambda tt: self._g(torch, s_t, tt, x), (t_t,), (torch.ones_like(t_t),))
        b = self.velocity_(t, end.detach().double().numpy())
        self.nfe_fit_ += traj.size
        return ((d_dt - training.as_tensor(b)) ** 2).sum(dim=1).mean()
