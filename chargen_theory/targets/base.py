"""The target contract: samples, density where one exists, and the exact velocity of every path.

A target only has to supply the posterior mean m1 = E[X1 | a X0 + b X1 = x] (``_posterior_mean``); the velocity
v(t, x) = a' E[X0 | x] + b' m1 with E[X0 | x] = (x - b m1) / a follows for every path
(``Interpolant.velocity_from_posterior_mean``, docs/theory.md section 2).

The public methods (``sample``, ``posterior_mean``, ``log_prob``, ``velocity``, ``flow_map``) check their
arguments and then call the private ``_sample``, ``_posterior_mean``, ``_log_prob``, ``_flow_map`` that a subclass
implements on validated float64 arrays.
"""
from __future__ import annotations

import numpy as np

from .. import _validate
from ..paths import Interpolant, get as get_path


def set_dimensions(params: dict, dims: dict) -> dict:
    """``params`` with the constructor arguments ``dims`` (None: not set by the grid) set; ValueError naming an
    argument the target table gives with another value (a grid value never silently replaces the table's)."""
    grid, params = {"intrinsic_dim": "d_star", "dim": "D"}, dict(params)
    for key, value in dims.items():
        if value is None:
            continue
        if key in params and params[key] != value:
            raise ValueError(f"{key}: the target table gives {params[key]!r} but the grid sets {grid[key]} = {value}; "
                             f"give it in one place")
        params[key] = value
    return params


class Target:
    """Base class. Subclasses set ``name``, ``dim`` (ambient D), ``intrinsic_dim`` (d*) and ``params`` (the
    constructor arguments, JSON-serialisable) and implement ``_sample`` and ``_posterior_mean``; ``_log_prob``
    and ``_flow_map`` where they exist."""

    name: str = "target"
    dim: int
    intrinsic_dim: int
    params: dict

    def claim_classes(self) -> set[str]:
        """The target classes of the claims' hypotheses (``chargen_theory.claims.TARGET_CLASSES`` keys) this target
        belongs to: "any" unless a subclass declares more."""
        return {"any"}

    @classmethod
    def standard(cls, D: int) -> dict:
        """Constructor arguments of this family's standard member in D dimensions ({}: none, dimensions fixed)."""
        return {}

    @classmethod
    def grid_params(cls, params: dict, d_star: int | None, D: int | None) -> dict:
        """The constructor arguments ``params`` for a grid point that sets the intrinsic dimension ``d_star`` and / or
        the ambient dimension ``D`` (None: not set by the grid); by default the standard member in D dimensions
        unless ``params`` gives the arrays. Targets of fixed dimensions are checked against the grid by the config."""
        return {**cls.standard(D), **params} if D is not None else dict(params)

    @classmethod
    def memory_terms(cls, D: int) -> dict[str, tuple[int, str]]:
        """Peak-memory terms of the target itself in D dimensions beyond its samples, {parameter: (bytes, what)}."""
        return {}

    # -- to implement (arguments already validated) ------------------------------------------------------------
    def _sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def _posterior_mean(self, a: np.ndarray, b: np.ndarray, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _log_prob(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{self.name}: no Lebesgue density (the target lies on a lower-dimensional set)")

    def _flow_map(self, z: np.ndarray, t: np.ndarray, path: Interpolant) -> np.ndarray:
        raise NotImplementedError(f"{self.name}: no closed-form flow map; use chargen_theory.solvers.reference")

    # -- public API ---------------------------------------------------------------------------------------------
    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n draws of X1 ~ target: shape (n, D), float64. ``rng`` is a numpy Generator."""
        n = _validate.positive_int("n", n)
        _validate.generator("rng", rng)
        return self._sample(n, rng)

    def posterior_mean(self, a, b, x) -> np.ndarray:
        """m1 = E[X1 | a X0 + b X1 = x] for X0 ~ N(0, I) independent of X1.

        a, b: scalars or shape (n,), a >= 0, b >= 0, not both 0; x: (n, D). Returns (n, D) float64. At a = 0 the
        a -> 0 limit is returned (x itself where the target has a positive density at x).
        """
        x = _validate.points("x", x, self.dim)
        a = _validate.finite_array("a", a)
        b = _validate.finite_array("b", b)
        n = x.shape[0]
        if a.ndim not in (0, 1) or b.ndim not in (0, 1) or a.size not in (1, n) or b.size not in (1, n):
            raise ValueError(f"a, b: must be scalars or have shape ({n},), got {a.shape} and {b.shape}")
        a, b = np.broadcast_to(a, (n,)).astype(np.float64), np.broadcast_to(b, (n,)).astype(np.float64)
        if np.any(a < 0) or np.any(b < 0) or np.any((a == 0) & (b == 0)):
            raise ValueError("a, b: must be >= 0 and not both 0")
        return self._posterior_mean(a, b, x)

    def log_prob(self, x) -> np.ndarray:
        """Log density of X1 at x (n, D) -> (n,); NotImplementedError for targets without a Lebesgue density."""
        return self._log_prob(_validate.points("x", x, self.dim))

    def flow_map(self, z, t, path: str | Interpolant) -> np.ndarray:
        """Exact characteristic X_t(z) of the probability-flow ODE started at X_0 = z; closed form only.

        z: (n, D); t: scalar or shape (n,) in [0, 1]. Returns (n, D) float64; NotImplementedError where no closed
        form exists (solve the ODE with the exact velocity instead).
        """
        path = get_path(path)
        z = _validate.points("z", z, self.dim)
        t = _validate.times("t", t, z.shape[0])
        return self._flow_map(z, t, path)

    def velocity(self, t, x, path: str | Interpolant) -> np.ndarray:
        """Exact velocity v(t, x) = E[alpha'(t) X0 + beta'(t) X1 | X_t = x].

        t: scalar or shape (n,), in [0, 1]; x: (n, D). Returns (n, D) float64. Where alpha(t) = 0 (t = 1) the
        term alpha' E[X0 | x] is taken as its limit 0, which holds when alpha * alpha' -> 0 (linear, trig). On a
        path where alpha * alpha' does not vanish at t = 1 (follmer) that limit is -lim(alpha alpha') times the
        target's score, so t = 1 is rejected there: use an early-stopping time T < 1.
        """
        path = get_path(path)
        x = _validate.points("x", x, self.dim)
        t = _validate.times("t", t, x.shape[0])
        path.check_velocity_times(t)  # before the posterior mean is computed
        a, b = path.coefficients(t)[:2]
        return path.velocity_from_posterior_mean(t, x, self._posterior_mean(a, b, x))

    def __call__(self, t, x, path):
        return self.velocity(t, x, path)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, dim={self.dim}, intrinsic_dim={self.intrinsic_dim})"

