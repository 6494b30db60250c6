"""The characteristic generator: one network g(s, t, x) fitted to discrete Euler characteristics (docs/theory.md 1.5),
and its endpoint-only baseline.

Fit (``Generator.fit(velocity, path, K, T, m, rng)``):

1. the teacher data (``base.teacher``): m prior points z ~ N(0, I_D), K uniform Euler steps (h = T / K) of the given
   velocity (estimated or exact), the whole discrete characteristic Z, shape (K + 1, m, D);
2. ONE network trained by least squares over grid pairs (t_k, t_l), k < l, ``E |g(t_k, t_l, Z_k) - Z_l|^2``, plus
   ``semigroup_weight * E |g(t, u, g(s, t, x)) - g(s, u, x)|^2`` on triples s <= t <= u with x = Z_k a stored state
   at the grid time s = t_k;
3. one-step generation is x = g(0, T, z), z ~ N(0, I): a single network evaluation.

Parameterisation (``_network``): ``g(s, t, x) = x + (t - s) * u(s, t, x)`` with u an MLP on (s, t, standardised x).
It makes g(s, s, x) = x hold exactly, so pairs with k = l carry no information and are not sampled; and u is an
average velocity over [s, t] whose scale does not depend on t - s, which keeps the regression well conditioned for
short and long jumps alike.

The default activation is SiLU: on the 2-D Gaussian of the tests (exact velocity, m = 2000, K = 20, 100 epochs,
width 128, depth 3) it reached a fitting error (RMS |g(0, 1, z) - Z_K|) of 0.0025 against 0.0079 with ReLU, the
class the paper's theory uses (``activation="relu"``).
"""
from __future__ import annotations

import math

import numpy as np

from .. import _validate, training
from ._network import MAX_STEPS, ROUNDS, NetworkGenerator


class CharacteristicGenerator(NetworkGenerator):
    """One-step generator g(0, T, z) fitted to the Euler characteristics of a velocity field (Ding et al., arXiv
    2405.05512): every pair of grid times plus ``semigroup_weight`` times the semigroup penalty.

    Hyperparameters: ``NetworkGenerator``'s (width, depth, activation "silu" or "relu", batch_size, lr,
    validation_fraction, n_threads) and

    - semigroup_weight: weight >= 0 of the semigroup penalty;
    - epochs: maximum number of epochs; one epoch = (training trajectories) * K sampled pairs, the number of Euler
      transitions in the training data; the learning rate is cosine-decayed to lr / 100 over the epochs;
    - patience: stop after this many epochs without a lower held-out objective (best weights restored);
    - max_steps: None, or the total number of optimizer steps (rounded up to whole rounds; early stopping may end
      sooner). When it binds (max_steps < epochs x steps per epoch), an epoch becomes a round of
      ceil(max_steps / 20) steps (at most a full epoch): 20 held-out checks, the schedule and ``patience`` counted
      in rounds.

    Fitted: ``NetworkGenerator``'s; ``epochs_`` counts epochs (or rounds).
    """

    name = "characteristic"
    TIMES = "any"
    PANEL = True

    def __init__(self, width: int = 128, depth: int = 3, activation: str = "silu", semigroup_weight: float = 1.0,
                 epochs: int = 100, batch_size: int = 256, lr: float = 2e-3, patience: int = 15,
                 validation_fraction: float = 0.1, n_threads: int = 1, max_steps: int | None = MAX_STEPS):
        super().__init__(width, depth, activation, MAX_STEPS if max_steps is None else max_steps, batch_size, lr,
                         patience, validation_fraction, n_threads)  # max_steps None: epochs alone set the budget
        _validate.nonnegative_float("semigroup_weight", semigroup_weight)
        _validate.positive_int("epochs", epochs)
        if self.TIMES == "endpoint" and semigroup_weight != 1.0:
            raise ValueError(f"semigroup_weight: the {self.name} generator has no semigroup penalty; leave it out, "
                             f"got {semigroup_weight!r}")
        self.semigroup_weight = semigroup_weight
        self.epochs = epochs
        self.max_steps = max_steps

    def _schedule(self, n_train):
        """Epochs of n_train K pairs, the learning rate annealed per epoch; rounds of the budget when it binds."""
        K, batch_size = self.K_, int(self.batch_size)
        steps, epochs = max(1, math.ceil(n_train * K / batch_size)), int(self.epochs)
        if self.max_steps is not None and int(self.max_steps) < epochs * steps:
            steps = min(steps, math.ceil(int(self.max_steps) / ROUNDS))
            epochs = math.ceil(int(self.max_steps) / steps)
        return epochs, steps, "epoch"

    def _batch(self, rng, trajectories, size):
        """Indices for ``size`` fit pairs and semigroup triples on the given trajectories.

        Pairs (k, l) are uniform over 0 <= k < l <= K (k = 0, l = K for the endpoint map). Triples take s = t_j with
        j uniform on 0..K-1 and t <= u two sorted uniform times on [s, T] (continuous, so that the learned map is
        consistent between grid times too); they are drawn in every mode, so that both modes share one stream.
        """
        K, T = self.K_, self.T_
        traj = trajectories[rng.integers(trajectories.size, size=size)]
        if self.TIMES == "endpoint":
            k, l = np.zeros(size, dtype=int), np.full(size, K)
        else:
            k, l = np.triu_indices(K + 1, 1)
            pick = rng.integers(k.size, size=size)
            k, l = k[pick], l[pick]
        sg_traj = trajectories[rng.integers(trajectories.size, size=size)]
        j = rng.integers(K, size=size)
        s = self.teacher_.grid[j]
        tu = np.sort(rng.uniform(size=(size, 2)), axis=1)
        return traj, k, l, sg_traj, j, s, s + (T - s) * tu[:, 0], s + (T - s) * tu[:, 1]

    def _loss(self, torch, batch):
        """Fit loss + semigroup_weight * semigroup penalty on one batch, mean squared norms in the data's units."""
        traj, k, l, sg_traj, j, s, t, u = batch
        grid, chars = self.teacher_.grid, self._chars_t
        fit = ((self._g(torch, *(training.as_tensor(a) for a in (grid[k], grid[l])), chars[k, traj])
                - chars[l, traj]) ** 2).sum(dim=1).mean()
        if self.TIMES == "endpoint" or float(self.semigroup_weight) == 0:
            return fit
        s, t, u, x = (*(training.as_tensor(a) for a in (s, t, u)), chars[j, sg_traj])
        penalty = ((self._g(torch, t, u, self._g(torch, s, t, x)) - self._g(torch, s, u, x)) ** 2).sum(dim=1).mean()
        return fit + float(self.semigroup_weight) * penalty

    def semigroup_violation(self, source, rng: np.random.Generator | None = None) -> float:
        """RMS of g(t, u, g(s, t, x)) - g(s, u, x) over sampled triples s <= t <= u, in data units.

        source: a Generator -> the held-out characteristics of ``fit`` (no new velocity evaluations), triples drawn
        from ``source``; or prior points z (n, D) -> their K-step Euler characteristics under the fitted velocity
        (n K velocity point evaluations), triples drawn from ``rng``. (number of trajectories) * K triples, each on
        a random trajectory with s = t_j (j uniform on 0..K-1) and t <= u sorted uniform on [s, T], the
        distribution of the training penalty.
        """
        from .. import solvers

        self._check_fitted()
        if self.TIMES == "endpoint":
            raise ValueError(f"semigroup_violation: undefined for the {self.name} generator (it has no g(s, t, .))")
        if isinstance(source, np.random.Generator):
            chars, trajectories, rng = self.teacher_.chars, self.teacher_.val, source
        else:
            _validate.generator("rng", rng)
            z = _validate.points("source", source, self.dim_)
            chars = np.asarray(solvers.euler(self.velocity_, z, K=self.K_, T=self.T_, return_path=True))
            trajectories = np.arange(z.shape[0])
        _, _, _, traj, j, s, t, u = self._batch(rng, trajectories, trajectories.size * self.K_)
        x = chars[j, traj]
        diff = self._apply(self._apply(x, s, t), t, u) - self._apply(x, s, u)
        return float(np.sqrt(np.mean(np.sum(diff ** 2, axis=1))))

    def diagnostics(self, z, rng):
        """{"semigroup_violation": ``semigroup_violation(z, rng)``} (the endpoint map: none)."""
        return {} if self.TIMES == "endpoint" else {"semigroup_violation": self.semigroup_violation(z, rng)}


class Endpoint(CharacteristicGenerator):
    """Plain distillation of the endpoint map: the same network class fitted to z -> Z_K alone (s = 0, t = T
    fixed, no semigroup penalty: a ``semigroup_weight`` other than its default is refused, not ignored)."""

    name = "endpoint"
    TIMES = "endpoint"
