"""Consistency distillation (Song, Dhariwal, Chen, Sutskever, 'Consistency Models', ICML 2023, arXiv 2303.01469).

A consistency function f(x, s) maps any point of a teacher trajectory at time s to the trajectory's end at T, with
the boundary condition f(x, T) = x built in: f(x, s) = x + (T - s) u(s, T, x) (the characteristic network's
parameterisation with t = T). Consistency distillation (the paper's Algorithm 2, squared L2 metric, uniform
weights) pairs two adjacent grid times t_k < t_{k+1} of one teacher ODE-solver step,

    E | f_theta(Z_k, t_k) - f_theta-(Z_k + h v(t_k, Z_k), t_{k+1}) |^2,

with theta- an exponential moving average of theta (decay ``ema``, 0.95 as in the paper's CIFAR-10 distillation).
Here the solver step is Euler, the teacher's own: Z_k + h v(t_k, Z_k) = Z_{k+1} is the stored characteristic, so
the method trains on exactly the Euler data the others share (data end at T, noise at 0; the paper's x_{t_{n+1}}
from noised data is the teacher's own marginal here). Early stopping uses the held-out consistency error
E |f(Z_k, t_k) - Z_K|^2 over k. One-step sampling is f(z, 0).
"""
from __future__ import annotations

import copy

from .. import _validate, training
from ._network import MAX_STEPS, NetworkGenerator


class Consistency(NetworkGenerator):
    """Consistency distillation of the teacher's Euler characteristics; ``map(z, s, T)`` = f(z, s) (t = T only).
    ``ema``: decay in [0, 1) of the target network. Other hyperparameters: ``NetworkGenerator``'s."""

    name = "consistency"
    TIMES = "to_end"

    def __init__(self, width: int = 128, depth: int = 3, activation: str = "silu", max_steps: int = MAX_STEPS,
                 batch_size: int = 256, lr: float = 2e-3, patience: int = 15, validation_fraction: float = 0.1,
                 n_threads: int = 1, ema: float = 0.95):
        super().__init__(width, depth, activation, max_steps, batch_size, lr, patience, validation_fraction,
                         n_threads)
        if not 0.0 <= _validate.nonnegative_float("ema", ema) < 1.0:
            raise ValueError(f"ema: must be in [0, 1), got {ema!r}")
        self.ema = ema

    def _prepare(self, torch) -> None:
        self._target = copy.deepcopy(self.net_).requires_grad_(False)

    def _batch(self, rng, trajectories, size):
        return trajectories[rng.integers(trajectories.size, size=size)], rng.integers(self.K_, size=size)

    def _f(self, torch, k, x, net=None):
        """f(x, t_k) = x + (T - t_k) u(t_k, T, x)."""
        s = training.as_tensor(self.teacher_.grid[k])
        return self._g(torch, s, torch.full_like(s, self.T_), x, net)

    def _loss(self, torch, batch):
        traj, k = batch
        with torch.no_grad():  # theta- <- ema theta- + (1 - ema) theta, once per step (after the previous one)
            for target, online in zip(self._target.parameters(), self.net_.parameters()):
                target.lerp_(online, 1.0 - float(self.ema))
            goal = self._f(torch, k + 1, self._chars_t[k + 1, traj], self._target)
        return ((self._f(torch, k, self._chars_t[k, traj]) - goal) ** 2).sum(dim=1).mean()

    def _validation_loss(self, torch, batch):
        traj, k = batch
        return ((self._f(torch, k, self._chars_t[k, traj]) - self._chars_t[-1, traj]) ** 2).sum(dim=1).mean()
