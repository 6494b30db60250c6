"""Gaussian mixtures sum_k pi_k N(m_k, S_k) with full, possibly singular, covariances and their exact velocity.

With C_k = a^2 I + b^2 S_k, the posterior component weights are w_k(x) ∝ pi_k N(x; b m_k, C_k) and
m1(x) = sum_k w_k(x) [m_k + b S_k C_k^{-1} (x - b m_k)] (docs/theory.md section 2). Each S_k = U_k diag(lam_k) U_k^T is
diagonalised once, so C_k^{-1} = U_k diag(1 / (a^2 + b^2 lam_k)) U_k^T costs O(D) per point and component for any
per-point t. Points are processed in cache-sized blocks, each fully vectorised over its points and the
components, with points along the last axis so that reductions over components are vectorised too.
"""
from __future__ import annotations

import numpy as np

from .. import _validate
from ..smoothing import VARIANCE_FLOOR
from .base import Target

_CHUNK = 4096  # points per block: keeps the (K*D, block) work arrays in cache


def mixture_weights(field: str, weights, k: int) -> np.ndarray:
    """Mixture weights, shape (k,): uniform if None, else >= 0 and summing to 1 within 1e-8 (then renormalised)."""
    if weights is None:
        return np.full(k, 1.0 / k)
    w = _validate.number_array(field, weights, shape=(k,))
    if np.any(w < 0):
        raise ValueError(f"{field}: must be >= 0, got {w.tolist()}")
    if abs(w.sum() - 1.0) > 1e-8:
        raise ValueError(f"{field}: must sum to 1 (tolerance 1e-8), sum is {float(w.sum()):.10g}")
    return w / w.sum()


def psd_eigh(field: str, covs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigendecomposition of symmetric PSD matrices (K, D, D) -> eigenvalues (K, D) >= 0, eigenvectors (K, D, D).

    Raises ValueError naming ``field`` for a non-symmetric matrix or a negative eigenvalue (beyond round-off);
    eigenvalues within round-off of 0 are set to exactly 0 (singular directions).
    """
    scale = np.abs(covs).max(axis=(1, 2))
    asym = np.abs(covs - np.swapaxes(covs, 1, 2)).max(axis=(1, 2))
    bad = np.flatnonzero(asym > 1e-10 * scale)
    if bad.size:
        raise ValueError(f"{field}: must be symmetric; component {int(bad[0])} is not")
    lam, vecs = np.linalg.eigh(0.5 * (covs + np.swapaxes(covs, 1, 2)))
    top = np.abs(lam).max(axis=1, keepdims=True)
    neg = np.argwhere(lam < -1e-10 * top)
    if neg.size:
        k, j = neg[0]
        raise ValueError(f"{field}: must be positive semi-definite; component {int(k)} has eigenvalue {float(lam[k, j]):.6g}")
    lam = np.where(lam <= 64 * np.finfo(float).eps * top, 0.0, lam)
    return lam, vecs


def logsumexp_rows(z: np.ndarray) -> np.ndarray:
    """log sum_k exp(z[:, k]) for (n, K) -> (n,); rows of all -inf give -inf."""
    top = z.max(axis=1)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        return top + np.log(np.exp(z - top[:, None]).sum(axis=1))


def softmax_rows(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax of (n, K) log-weights (at least one finite entry per row)."""
    w = np.exp(z - z.max(axis=1, keepdims=True))
    w /= w.sum(axis=1, keepdims=True)
    return w


class GaussianMixture(Target):
    """sum_k pi_k N(m_k, S_k) in R^D.

    Parameters
    ----------
    means : (K, D) component means m_k.
    covs : (K, D, D) symmetric PSD covariances S_k (singular allowed: components on affine subspaces).
    weights : (K,) non-negative, summing to 1; None for uniform.

    ``intrinsic_dim`` is the largest rank of the S_k. ``log_prob`` exists when every S_k is non-singular.
    """

    def __init__(self, means, covs, weights=None):
        means = _validate.number_array("means", means, ndim=2)
        k, d = means.shape
        if k < 1 or d < 1:
            raise ValueError(f"means: must have shape (K, D) with K, D >= 1, got {means.shape}")
        covs = _validate.number_array("covs", covs, shape=(k, d, d))
        weights = mixture_weights("weights", weights, k)
        self._build(means, covs, weights, psd_eigh("covs", covs))
        self.name = "gmm"
        self.params = {"means": means.tolist(), "covs": covs.tolist(), "weights": weights.tolist()}

    def _build(self, means, covs, weights, eig) -> None:
        k, d = means.shape
        self.means, self.covs, self.weights = means, covs, weights
        self.dim = d
        self._lam, self._vecs = eig
        self.intrinsic_dim = int((self._lam > 0).sum(axis=1).max())
        with np.errstate(divide="ignore"):
            self._log_weights = np.log(weights)
        # x @ _frames gives U_k^T x for every k at once: _frames[:, k*D + e] = U_k[:, e].
        self._frames = np.ascontiguousarray(self._vecs.transpose(1, 0, 2).reshape(d, k * d))
        self._means_eig = np.einsum("kde,kd->ke", self._vecs, means).ravel()  # U_k^T m_k, flattened like _frames
        # Work with the distinct eigenvalues only (8gaussians has one): lam.ravel() = _lam_unique[_lam_index], and
        # log det C_k = sum_u _multiplicity[u, k] log(a^2 + b^2 _lam_unique[u]).
        self._lam_unique, self._lam_index = np.unique(self._lam.ravel(), return_inverse=True)
        self._multiplicity = np.zeros((self._lam_unique.size, k))
        np.add.at(self._multiplicity, (self._lam_index, np.repeat(np.arange(k), d)), 1.0)

    def claim_classes(self) -> set[str]:
        lam = np.linalg.eigvalsh(self.covs)  # (K, D) eigenvalues of every covariance
        out = super().claim_classes()
        if np.all(lam > 0):
            out |= {"gaussian_mixture", "gaussian_smoothed", "with_density"}
            out |= {"smoothed_compact"} if np.allclose(lam, lam.flat[0]) else set()  # every covariance the same c I
        return out

    def _sample(self, n, rng):
        comp = rng.choice(len(self.weights), size=n, p=self.weights)
        z = rng.standard_normal((n, self.dim))
        out = np.empty((n, self.dim))
        for k in range(len(self.weights)):  # loop over components only
            rows = comp == k
            out[rows] = self.means[k] + (np.sqrt(self._lam[k]) * z[rows]) @ self._vecs[k].T
        return out

    def _posterior_mean(self, a, b, x):
        out = np.empty_like(x)
        for start in range(0, x.shape[0], _CHUNK):
            rows = slice(start, start + _CHUNK)
            out[rows] = self._posterior_mean_block(a[rows], b[rows], x[rows])
        return out

    def _posterior_mean_block(self, a, b, x):
        # points along the last axis, so that every reduction over components runs vectorised over points
        (k, d), n = self._lam.shape, x.shape[0]
        resid = self._frames.T @ x.T - self._means_eig[:, None] * b  # U_k^T (x - b m_k), (K*D, n)
        c = np.maximum(a * a + (b * b) * self._lam_unique[:, None], VARIANCE_FLOOR)  # eigenvalues of C_k, (U, n)
        inv_c = 1.0 / c
        # log N(x; b m_k, C_k) up to the constant -D/2 log(2 pi), which is the same for every k
        quad = (resid * resid * inv_c[self._lam_index]).reshape(k, d, n).sum(axis=1)
        log_w = self._log_weights[:, None] - 0.5 * (self._multiplicity.T @ np.log(c) + quad)
        w = np.exp(log_w - log_w.max(axis=0))
        w /= w.sum(axis=0)
        gain = (b * self._lam_unique[:, None] * inv_c)[self._lam_index]  # eigenvalues of b S_k C_k^{-1}
        shrink = np.repeat(w, d, axis=0) * gain * resid  # w_k U_k^T b S_k C_k^{-1} (x - b m_k)
        return (self._frames @ shrink + self.means.T @ w).T

    def _log_prob(self, x):
        if np.any(self._lam == 0):
            raise NotImplementedError(f"{self.name}: a covariance is singular, so there is no Lebesgue density")
        n, (k, d) = x.shape[0], self._lam.shape
        resid = (x @ self._frames - self._means_eig).reshape(n, k, d)
        log_det = np.log(2 * np.pi * self._lam).sum(axis=1)
        log_comp = -0.5 * (log_det + (resid * resid / self._lam).sum(axis=2)) + self._log_weights
        return logsumexp_rows(log_comp)
