"""The Gaussian target N(m, S) (S possibly singular): exact velocity, exact flow map and exact law of X_t.

X_t ~ N(b m, C_t) with C_t = a^2 I + b^2 S. The probability-flow characteristic from X_0 = z is affine,
X_t(z) = b m + C_t^{1/2} z (symmetric root; all matrices share S's eigenbasis), and at t = 1 it is the OT map
m + S^{1/2} z (docs/theory.md section 2).
"""
from __future__ import annotations

import numpy as np

from .. import _validate
from ..paths import Interpolant, get as get_path
from .mixture import GaussianMixture, psd_eigh


class Gaussian(GaussianMixture):
    """N(mean, cov) in R^D; a one-component GaussianMixture with a closed-form flow map.

    Parameters
    ----------
    mean : (D,) mean m.
    cov : (D, D) symmetric PSD covariance S (singular allowed; then ``intrinsic_dim`` = rank S < D).
    """

    def __init__(self, mean, cov):
        mean = _validate.number_array("mean", mean, ndim=1)
        d = mean.shape[0]
        if d < 1:
            raise ValueError("mean: must have at least one entry")
        cov = _validate.number_array("cov", cov, shape=(d, d))
        self._build(mean[None], cov[None], np.ones(1), psd_eigh("cov", cov[None]))
        self.mean, self.cov = mean, cov
        self.name = "gaussian"
        self.params = {"mean": mean.tolist(), "cov": cov.tolist()}

    @classmethod
    def standard(cls, D: int) -> dict:
        """N(0, I_D)."""
        return {"mean": [0.0] * D, "cov": np.eye(D).tolist()}

    @classmethod
    def memory_terms(cls, D: int) -> dict[str, tuple[int, str]]:
        return {"D": (8 * 8 * D * D, "a D x D covariance and its factors")}

    def claim_classes(self) -> set[str]:
        out = super().claim_classes() | {"gaussian"}
        return out | ({"log_concave"} if "with_density" in out else set())  # non-degenerate

    def marginal(self, t, path: str | Interpolant) -> tuple[np.ndarray, np.ndarray]:
        """Exact law of X_t = alpha(t) X0 + beta(t) X1 at a scalar t in [0, 1]: (mean b m (D,), cov C_t (D, D))."""
        path = get_path(path)
        t = _validate.finite_array("t", t, ndim=0)
        t = _validate.times("t", t, 1)
        a, b, _, _ = path.coefficients(t)
        lam, vecs = self._lam[0], self._vecs[0]
        cov = (vecs * (a[0] ** 2 + b[0] ** 2 * lam)) @ vecs.T
        return b[0] * self.mean, 0.5 * (cov + cov.T)

    def _flow_map(self, z, t, path):
        a, b, _, _ = path.coefficients(t)
        lam, vecs = self._lam[0], self._vecs[0]
        root = np.sqrt((a * a)[:, None] + (b * b)[:, None] * lam)  # eigenvalues of C_t^{1/2}, (n, D)
        return b[:, None] * self.mean + (root * (z @ vecs)) @ vecs.T
