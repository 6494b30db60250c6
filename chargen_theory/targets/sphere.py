"""Uniform measures on concentric round spheres (a sphere, rings) in R^D, optionally smoothed; exact velocity.

Sphere k has radius r_k and dimension d* (it spans p = d* + 1 coordinates, the columns of an orthonormal frame V,
P = V V^T). Given X_t = x the position on sphere k is von Mises-Fisher with concentration kappa_k = b r_k |P x| / s^2
(s^2 = a^2 + b^2 sigma^2), so E[Y | x, k] = r_k A_p(kappa_k) P x / |P x| with A_p = I_{p/2} / I_{p/2-1}, and the
posterior weight of sphere k is pi_k exp(-b^2 r_k^2 / (2 s^2)) Gamma(p/2) (kappa_k / 2)^{1-p/2} I_{p/2-1}(kappa_k).
Bessel functions are evaluated with scipy.special.ive, a series for small kappa and Hankel's expansion for
kappa > 1e8 (where ive returns NaN), so there is no NaN at P x = 0 or as t -> 1.
"""
from __future__ import annotations

import numpy as np
from scipy.special import gammaln, ive

from .. import _validate
from ..smoothing import likelihood_variance, smoothing_split
from .base import Target, set_dimensions
from .mixture import logsumexp_rows, mixture_weights, softmax_rows
from .subspace import orthonormal_frame, seed_value

MAX_INTRINSIC_DIM = 200  # Bessel orders nu = (d* - 1)/2 <= 99.5: checked against mpmath in the tests
_LARGE_KAPPA = 1e8
_SMALL_Q = 1e-3  # series when (kappa/2)^2 <= _SMALL_Q (nu + 1): four terms leave a relative error < 1e-13


def _series(nu, q, terms=4):
    """sum_{j < terms} q^j / (j! (nu+1)...(nu+j)) = Gamma(nu+1) (kappa/2)^{-nu} I_nu(kappa), q = kappa^2 / 4."""
    total, term = np.ones_like(q), np.ones_like(q)
    for j in range(1, terms):
        term = term * q / (j * (nu + j))
        total = total + term
    return total


def _hankel(nu, kappa, terms=5):
    """sqrt(2 pi kappa) ive(nu, kappa) by Hankel's large-argument expansion (kappa >> nu^2)."""
    mu = 4.0 * nu * nu
    total, term = np.ones_like(kappa), np.ones_like(kappa)
    for j in range(1, terms):
        term = -term * (mu - (2 * j - 1) ** 2) / (j * 8.0 * kappa)
        total = total + term
    return total


def _regions(nu, kappa):
    small = kappa <= 2.0 * np.sqrt(_SMALL_Q * (nu + 1))
    large = kappa > _LARGE_KAPPA
    return small, large, ~small & ~large


def log_vmf_normaliser(nu: float, kappa: np.ndarray) -> np.ndarray:
    """log[Gamma(nu+1) (kappa/2)^{-nu} I_nu(kappa)] = log E[exp(kappa u_1)] for u uniform on the unit sphere in
    R^{2 nu + 2}; kappa >= 0 (any shape) -> same shape, 0 at kappa = 0."""
    kappa = np.asarray(kappa, dtype=np.float64)
    small, large, mid = _regions(nu, kappa)
    out = np.empty_like(kappa)
    out[small] = np.log(_series(nu, 0.25 * kappa[small] ** 2))
    k = kappa[mid]
    out[mid] = k + np.log(ive(nu, k)) + gammaln(nu + 1) - nu * np.log(0.5 * k)
    k = kappa[large]
    out[large] = (k - 0.5 * np.log(2 * np.pi * k) + np.log(_hankel(nu, k)) + gammaln(nu + 1)
                  - nu * np.log(0.5 * k))
    return out


def bessel_ratio_over_kappa(nu: float, kappa: np.ndarray) -> np.ndarray:
    """I_{nu+1}(kappa) / (kappa I_nu(kappa)) (= A_p(kappa) / kappa for p = 2 nu + 2), kappa >= 0 -> same shape;
    1 / (2 nu + 2) at kappa = 0, ~ 1 / kappa for large kappa."""
    kappa = np.asarray(kappa, dtype=np.float64)
    small, large, mid = _regions(nu, kappa)
    out = np.empty_like(kappa)
    q = 0.25 * kappa[small] ** 2
    out[small] = _series(nu + 1, q) / (_series(nu, q) * (2 * nu + 2))
    k = kappa[mid]
    out[mid] = ive(nu + 1, k) / (ive(nu, k) * k)
    k = kappa[large]
    out[large] = _hankel(nu + 1, k) / (_hankel(nu, k) * k)
    return out


class ConcentricSpheres(Target):
    """sum_k pi_k Uniform(sphere of radius r_k, dimension d*) placed in R^D by a seeded frame, convolved with
    N(0, sigma^2 I) when sigma > 0.

    Parameters
    ----------
    radii : (K,) radii r_k > 0.
    intrinsic_dim : sphere dimension d* in [1, MAX_INTRINSIC_DIM]; the spheres span p = d* + 1 <= D coordinates.
    dim : ambient dimension D.
    weights : (K,) non-negative, summing to 1; None for uniform.
    sigma : smoothing standard deviation >= 0; with sigma > 0 the target has a density (``log_prob``).
    seed : seed of the frame V (D, p) (``subspace.orthonormal_frame``).

    ``intrinsic_dim`` is d*, the dimension of the unsmoothed spheres.
    """

    def __init__(self, radii, intrinsic_dim, dim, weights=None, sigma=0.0, seed=0):
        radii = _validate.number_array("radii", radii, ndim=1)
        if radii.shape[0] < 1 or np.any(radii <= 0):
            raise ValueError(f"radii: must be a non-empty list of numbers > 0, got {radii.tolist()}")
        self._build(radii, intrinsic_dim, dim, mixture_weights("weights", weights, radii.shape[0]), sigma, seed)
        self.name = "spheres"
        self.params = {"radii": radii.tolist(), "intrinsic_dim": self.intrinsic_dim, "dim": self.dim,
                       "weights": self.weights.tolist(), "sigma": self.sigma, "seed": self.seed}

    def _build(self, radii, intrinsic_dim, dim, weights, sigma, seed) -> None:
        self.intrinsic_dim = _validate.positive_int("intrinsic_dim", intrinsic_dim)
        self.dim = _validate.positive_int("dim", dim)
        if self.intrinsic_dim + 1 > self.dim:
            raise ValueError(f"intrinsic_dim, dim: a {self.intrinsic_dim}-sphere needs dim >= intrinsic_dim + 1 = "
                             f"{self.intrinsic_dim + 1}, got dim = {self.dim}")
        if self.intrinsic_dim > MAX_INTRINSIC_DIM:
            raise ValueError(f"intrinsic_dim: must be <= {MAX_INTRINSIC_DIM}, got {self.intrinsic_dim}")
        self.radii, self.weights = radii, weights
        self.sigma = _validate.nonnegative_float("sigma", sigma)
        self.seed = seed_value("seed", seed)
        self.frame = orthonormal_frame(self.dim, self.intrinsic_dim + 1, self.seed)
        self._nu = 0.5 * (self.intrinsic_dim + 1) - 1.0
        with np.errstate(divide="ignore"):
            self._log_weights = np.log(weights)

    @classmethod
    def grid_params(cls, params: dict, d_star: int | None, D: int | None) -> dict:
        """The grid's d* is the sphere's intrinsic dimension and its D the ambient one."""
        return set_dimensions(params, {"intrinsic_dim": d_star, "dim": D})

    def claim_classes(self) -> set[str]:
        if self.sigma > 0:
            return super().claim_classes() | {"smoothed_compact", "gaussian_smoothed", "gaussian_mixture",
                                              "with_density", "manifold_smoothed"}
        return super().claim_classes() | {"bounded_support"}

    def _sample(self, n, rng):
        comp = rng.choice(len(self.weights), size=n, p=self.weights)
        u = rng.standard_normal((n, self.intrinsic_dim + 1))
        y = (self.radii[comp, None] * u / np.linalg.norm(u, axis=1, keepdims=True)) @ self.frame.T
        if self.sigma > 0:
            y += self.sigma * rng.standard_normal((n, self.dim))
        return y

    def _posterior_mean(self, a, b, x):
        s2 = likelihood_variance(a, b, self.sigma)[:, None]
        coords = x @ self.frame  # V^T x, (n, p)
        rho = np.linalg.norm(coords, axis=1, keepdims=True)
        b2 = b[:, None]
        kappa = b2 * self.radii * rho / s2  # (n, K)
        w = softmax_rows(self._log_weights + log_vmf_normaliser(self._nu, kappa) - (b2 * self.radii) ** 2 / (2 * s2))
        # r_k A(kappa_k) / |P x| = r_k^2 (b / s^2) A(kappa_k) / kappa_k
        gain = (w * self.radii ** 2 * bessel_ratio_over_kappa(self._nu, kappa)).sum(axis=1, keepdims=True) * b2 / s2
        return smoothing_split(a, b, self.sigma, x, (gain * coords) @ self.frame.T)

    def _log_prob(self, x):
        if self.sigma == 0:
            raise NotImplementedError(f"{self.name}: no Lebesgue density without smoothing (sigma = 0)")
        var = self.sigma ** 2
        rho = np.linalg.norm(x @ self.frame, axis=1, keepdims=True)
        sq = (x * x).sum(axis=1, keepdims=True)
        log_comp = (self._log_weights + log_vmf_normaliser(self._nu, self.radii * rho / var)
                    - (sq + self.radii ** 2) / (2 * var))
        return logsumexp_rows(log_comp) - 0.5 * self.dim * np.log(2 * np.pi * var)


class Sphere(ConcentricSpheres):
    """Uniform on the d*-sphere of radius r (spanning d* + 1 coordinates) in R^D, D >= d* + 1, placed by a seeded
    orthonormal frame; convolved with N(0, sigma^2 I) when sigma > 0."""

    def __init__(self, intrinsic_dim, dim, radius=1.0, sigma=0.0, seed=0):
        radius = _validate.positive_float("radius", radius)
        self._build(np.array([radius]), intrinsic_dim, dim, np.ones(1), sigma, seed)
        self.name = "sphere"
        self.params = {"intrinsic_dim": self.intrinsic_dim, "dim": self.dim, "radius": radius, "sigma": self.sigma,
                       "seed": self.seed}
