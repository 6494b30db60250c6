"""Any target placed on a d*-dimensional linear subspace of R^D by a seeded orthonormal frame; exact velocity.

X1 = Q Y with Q (D, d*) orthonormal and Y ~ base. The noise splits into Q^T X0 (independent of the rest) and the
orthogonal part, so E[X1 | x] = Q m1_base(a, b, Q^T x), and the characteristic from z is
Q X_t^base(Q^T z) + alpha(t) (I - Q Q^T) z.
"""
from __future__ import annotations

import numpy as np

from .. import _validate
from .base import Target, set_dimensions


def orthonormal_frame(dim: int, k: int, seed: int) -> np.ndarray:
    """A random (Haar) orthonormal frame (dim, k): QR of a Gaussian matrix from default_rng(seed), sign-fixed so
    that R has a positive diagonal."""
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((dim, k)))
    return q * np.where(np.diag(r) < 0, -1.0, 1.0)


def seed_value(field: str, seed) -> int:
    """A non-negative integer seed."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"{field}: must be an integer >= 0, got {seed!r}")
    return int(seed)


class Subspace(Target):
    """``base`` (a Target of dimension d*, or a registered name with ``base_params``) embedded in R^D, d* <= D.

    Parameters
    ----------
    base : Target or str; a name is built with ``chargen_theory.targets.get(base, **base_params)``.
    dim : ambient dimension D >= base.dim.
    seed : seed of the frame Q (D, d*) (``orthonormal_frame``).
    base_params : keyword arguments for a named base (only with a name).

    ``intrinsic_dim`` is the base's; ``log_prob`` exists only when d* = D; ``flow_map`` when the base has one.
    """

    def __init__(self, base, dim, seed=0, base_params=None):
        if isinstance(base, str):
            from . import get, names  # the registry imports this module
            base = get(_validate.choice("base", base, names()), **(base_params or {}))
        elif not isinstance(base, Target):
            raise ValueError(f"base: must be a Target or a registered target name, got {type(base).__name__}")
        elif base_params:
            raise ValueError("base_params: only allowed when base is a name")
        self.dim = _validate.positive_int("dim", dim)
        if base.dim > self.dim:
            raise ValueError(f"dim: must be >= the base dimension {base.dim}, got {self.dim}")
        self.seed = seed_value("seed", seed)
        self.base = base
        self.intrinsic_dim = base.intrinsic_dim
        self.frame = orthonormal_frame(self.dim, base.dim, self.seed)
        self.name = "subspace"
        self.params = {"base": base.name, "base_params": base.params, "dim": self.dim, "seed": self.seed}

    @classmethod
    def grid_params(cls, params: dict, d_star: int | None, D: int | None) -> dict:
        """The grid's D is the ambient dimension; its d* picks the base family's standard member in d* dimensions
        (a base given by name, unless ``base_params`` gives the arrays)."""
        from . import TARGETS, target_class

        params = set_dimensions(params, {"dim": D})
        if d_star is not None and isinstance(params.get("base"), str) and params["base"] in TARGETS:
            base = target_class(params["base"])
            params["base_params"] = {**(base.standard(d_star) if base else {}), **params.get("base_params", {})}
        return params

    def claim_classes(self) -> set[str]:
        inner = self.base.claim_classes()  # embedded in a larger D, only the classes that survive losing the density
        return super().claim_classes() | (inner if self.base.dim == self.dim
                                          else inner & {"gaussian", "bounded_support", "uniform_box"})

    def _sample(self, n, rng):
        return self.base._sample(n, rng) @ self.frame.T

    def _posterior_mean(self, a, b, x):
        return self.base._posterior_mean(a, b, x @ self.frame) @ self.frame.T

    def _log_prob(self, x):
        if self.base.dim < self.dim:
            raise NotImplementedError(f"{self.name}: a {self.base.dim}-dimensional subspace of R^{self.dim} has no "
                                      "Lebesgue density")
        return self.base._log_prob(x @ self.frame)

    def _flow_map(self, z, t, path):
        coords = z @ self.frame
        inside = self.base._flow_map(coords, t, path) @ self.frame.T
        return inside + path.alpha(t)[:, None] * (z - coords @ self.frame.T)
