"""The target contract: samples, density where one exists, and the exact velocity of every path.

A target only has to supply the posterior mean m1 = E[X1 | a X0 + b X1 = x] (``posterior_mean``); the velocity
v(t, x) = a' E[X0 | x] + b' m1 with E[X0 | x] = (x - b m1) / a follows for every path (SCIENCE.md section 2).
"""
from __future__ import annotations

import numpy as np

from .. import _validate
from ..paths import Path, get as get_path


class Target:
    """Base class. Subclasses set ``dim`` (ambient D) and ``intrinsic_dim`` (d*) and implement ``sample`` and
    ``posterior_mean``; ``log_prob`` and ``flow_map`` where they exist."""

    name: str = "target"
    dim: int
    intrinsic_dim: int

    # -- to implement -------------------------------------------------------------------------------------------
    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n draws of X1, shape (n, D), float64."""
        raise NotImplementedError

    def posterior_mean(self, a: np.ndarray, b: np.ndarray, x: np.ndarray) -> np.ndarray:
        """E[X1 | a X0 + b X1 = x] for X0 ~ N(0, I). a, b: shape (n,), a > 0 unless b = 1; x: (n, D) -> (n, D)."""
        raise NotImplementedError

    def log_prob(self, x) -> np.ndarray:
        """Log density of X1 at x (n, D) -> (n,); NotImplementedError for targets without a Lebesgue density."""
        raise NotImplementedError(f"{self.name}: no Lebesgue density (the target lies on a lower-dimensional set)")

    def flow_map(self, z, t, path) -> np.ndarray:
        """Exact characteristic X_t(z) of the probability-flow ODE started at X_0 = z; closed form only."""
        raise NotImplementedError(f"{self.name}: no closed-form flow map; use chargen_theory.solvers.reference")

    # -- derived ------------------------------------------------------------------------------------------------
    def velocity(self, t, x, path: str | Path) -> np.ndarray:
        """Exact velocity v(t, x) = E[alpha'(t) X0 + beta'(t) X1 | X_t = x].

        t: scalar or shape (n,), in [0, 1]; x: (n, D). Returns (n, D) float64. Where alpha(t) = 0 (t = 1) the
        limit E[X0 | X_1 = x] = 0 is used, which is the velocity's limit wherever the target has a density.
        """
        path = get_path(path)
        x = _validate.points("x", x, self.dim)
        t = _validate.times("t", t, x.shape[0])
        a, b, da, db = path.coefficients(t)
        m1 = self.posterior_mean(a, b, x)
        safe_a = np.where(a > 0, a, 1.0)
        e0 = np.where((a > 0)[:, None], (x - b[:, None] * m1) / safe_a[:, None], 0.0)
        da = np.where(a > 0, da, 0.0)  # a' e0 -> 0 at t = 1 even where a' is infinite (follmer)
        return da[:, None] * e0 + db[:, None] * m1

    def __call__(self, t, x, path):
        return self.velocity(t, x, path)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, dim={self.dim}, intrinsic_dim={self.intrinsic_dim})"
