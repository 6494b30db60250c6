"""Uniform boxes and mixtures of boxes (checkerboards), optionally smoothed by N(0, sigma^2 I); exact velocity.

X1 = Y + sigma E with Y uniform on a product of intervals [l, h] and E ~ N(0, I). Given Y, x = b Y + noise with
variance s^2 = a^2 + b^2 sigma^2 per coordinate, so each coordinate of Y | x is a normal N(x / b, (s / b)^2)
truncated to [l, h]. In the standardised variable z = (b y - x) / s the interval is [zmid - w/2, zmid + w/2] with
zmid = (b (l + h)/2 - x) / s and w = b (h - l) / s, and E[y | x] = (l + h)/2 + (s / b) (E[z] - zmid).
A component's likelihood is prod_d (Phi(beta) - Phi(alpha)) / (b (h - l)) = prod_d (mass_d / s) with
mass = (Phi(beta) - Phi(alpha)) / w, the mean of the normal density over the interval; the posterior weight of box k
is pi_k prod_d mass_kd (s is common to all boxes). Smoothing is split back with ``smoothing.smoothing_split``.
"""
from __future__ import annotations

import numpy as np
from scipy.special import erfcx, ndtr

from .. import _validate
from ..smoothing import likelihood_variance, smoothing_split
from .base import Target
from .mixture import logsumexp_rows, mixture_weights, softmax_rows

_LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)
_SQRT_HALF_PI = np.sqrt(0.5 * np.pi)
_nodes, _weights = np.polynomial.legendre.leggauss(10)
_GL_NODES, _GL_WEIGHTS = _nodes[_nodes > 0], _weights[_nodes > 0]  # symmetric rule: positive half, weights sum 1


def truncated_normal_stats(zmid: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A standard normal restricted to the interval [zmid - w/2, zmid + w/2], w >= 0 (same-shape arrays).

    Returns (log_mass, shift): log_mass = log((Phi(zmid + w/2) - Phi(zmid - w/2)) / w) (-> log phi(zmid) as w -> 0)
    and shift = E[z] - zmid. Accurate in every regime: narrow intervals by a symmetric 10-point Gauss-Legendre rule
    (no cancellation as w -> 0), intervals in a tail by the Mills ratio (erfcx), the rest by normal-cdf differences.
    """
    zmid, w = np.broadcast_arrays(np.asarray(zmid, dtype=np.float64), np.asarray(w, dtype=np.float64))
    shape, zmid, w = zmid.shape, zmid.ravel(), w.ravel()
    log_mass, shift = np.empty_like(zmid), np.empty_like(zmid)
    absmid = np.abs(zmid)
    narrow = (w <= 1.0) & (absmid * w <= 4.0)
    tail = ~narrow & (absmid >= 0.5 * w)
    straddle = ~narrow & ~tail

    # narrow: integrate exp(-zmid u - u^2/2) over u in [-w/2, w/2], pairing the nodes +-u
    m, half = zmid[narrow, None], 0.5 * w[narrow, None]
    u = half * _GL_NODES
    g = _GL_WEIGHTS * np.exp(-0.5 * u * u)
    even = (g * np.cosh(m * u)).sum(axis=1)  # = mass / phi(zmid)
    odd = (g * u * np.sinh(m * u)).sum(axis=1)
    log_mass[narrow] = -0.5 * zmid[narrow] ** 2 - _LOG_SQRT_2PI + np.log(even)
    shift[narrow] = -odd / even

    # tail: reflect to [lo, hi] with lo >= 0; Phi_c(x) = phi(x) M(x), M(x) = sqrt(pi/2) erfcx(x / sqrt 2)
    m, wt = absmid[tail], w[tail]
    lo, hi = m - 0.5 * wt, m + 0.5 * wt
    decay = np.exp(-wt * m)  # phi(hi) / phi(lo)
    denom = _SQRT_HALF_PI * (erfcx(lo / np.sqrt(2)) - decay * erfcx(hi / np.sqrt(2)))  # (Phi_c(lo)-Phi_c(hi))/phi(lo)
    log_mass[tail] = -0.5 * lo * lo - _LOG_SQRT_2PI + np.log(denom) - np.log(wt)
    shift[tail] = np.sign(zmid[tail]) * (-np.expm1(-wt * m) / denom - m)

    # straddle (zmid - w/2 < 0 < zmid + w/2, w > 1): no cancellation in the cdf difference
    m, wt = zmid[straddle], w[straddle]
    lo, hi = m - 0.5 * wt, m + 0.5 * wt
    mass = ndtr(hi) - ndtr(lo)
    log_mass[straddle] = np.log(mass) - np.log(wt)
    shift[straddle] = (np.exp(-0.5 * lo * lo) - np.exp(-0.5 * hi * hi)) / (np.sqrt(2 * np.pi) * mass) - m
    return log_mass.reshape(shape), shift.reshape(shape)


class BoxMixture(Target):
    """sum_k pi_k Uniform(prod_d [low_kd, high_kd]), convolved with N(0, sigma^2 I) when sigma > 0.

    Parameters
    ----------
    lows, highs : (K, D) corners of the boxes, highs > lows.
    weights : (K,) non-negative, summing to 1; None for uniform.
    sigma : smoothing standard deviation >= 0 (0: no smoothing).
    """

    def __init__(self, lows, highs, weights=None, sigma=0.0):
        lows = _validate.number_array("lows", lows, ndim=2)
        k, d = lows.shape
        if k < 1 or d < 1:
            raise ValueError(f"lows: must have shape (K, D) with K, D >= 1, got {lows.shape}")
        highs = _validate.number_array("highs", highs, shape=(k, d))
        sigma = _validate.nonnegative_float("sigma", sigma)
        self._build(lows, highs, mixture_weights("weights", weights, k), sigma, "highs")
        self.name = "box_mixture"
        self.params = {"lows": lows.tolist(), "highs": highs.tolist(), "weights": self.weights.tolist(),
                       "sigma": self.sigma}

    def _build(self, lows, highs, weights, sigma, high_field) -> None:
        if np.any(highs <= lows):
            raise ValueError(f"{high_field}: every upper corner must exceed the lower corner")
        self.lows, self.highs, self.weights, self.sigma = lows, highs, weights, sigma
        self.dim = self.intrinsic_dim = lows.shape[1]
        self._mids, self._widths = 0.5 * (lows + highs), highs - lows
        with np.errstate(divide="ignore"):
            self._log_weights = np.log(weights)

    def claim_classes(self) -> set[str]:
        if self.sigma > 0:
            return super().claim_classes() | {"smoothed_compact", "gaussian_smoothed", "gaussian_mixture",
                                              "with_density"}
        return super().claim_classes() | {"bounded_support", "with_density"} | (
            {"uniform_box"} if len(self.weights) == 1 else set())

    def _sample(self, n, rng):
        comp = rng.choice(len(self.weights), size=n, p=self.weights)
        y = self.lows[comp] + self._widths[comp] * rng.uniform(size=(n, self.dim))
        if self.sigma > 0:
            y += self.sigma * rng.standard_normal((n, self.dim))
        return y

    def _posterior_mean(self, a, b, x):
        s = np.sqrt(likelihood_variance(a, b, self.sigma))[:, None, None]
        b3 = b[:, None, None]
        zmid = (b3 * self._mids - x[:, None, :]) / s  # (n, K, D)
        log_mass, shift = truncated_normal_stats(zmid, b3 * self._widths / s)
        w = softmax_rows(log_mass.sum(axis=2) + self._log_weights)
        safe_b = np.where(b3 > 0, b3, 1.0)
        comp_mean = self._mids + np.where(b3 > 0, s * shift / safe_b, 0.0)  # E[Y | x, box k]
        mean_y = np.einsum("nk,nkd->nd", w, comp_mean)
        return smoothing_split(a, b, self.sigma, x, mean_y)

    def _log_prob(self, x):
        if self.sigma == 0:
            inside = np.all((x[:, None, :] >= self.lows) & (x[:, None, :] <= self.highs), axis=2)
            log_vol = np.log(self._widths).sum(axis=1)
            with np.errstate(divide="ignore"):
                return logsumexp_rows(np.where(inside, self._log_weights - log_vol, -np.inf))
        log_mass, _ = truncated_normal_stats((self._mids - x[:, None, :]) / self.sigma, self._widths / self.sigma)
        return logsumexp_rows(log_mass.sum(axis=2) + self._log_weights) - self.dim * np.log(self.sigma)


class Box(BoxMixture):
    """Uniform on prod_d [low_d, high_d] in R^D, convolved with N(0, sigma^2 I) when sigma > 0.

    Parameters
    ----------
    low, high : (D,) corners, high > low.
    sigma : smoothing standard deviation >= 0.
    """

    @classmethod
    def standard(cls, D: int) -> dict:
        """The box [-1, 1]^D."""
        return {"low": [-1.0] * D, "high": [1.0] * D}

    def __init__(self, low, high, sigma=0.0):
        low = _validate.number_array("low", low, ndim=1)
        if low.shape[0] < 1:
            raise ValueError("low: must have at least one entry")
        high = _validate.number_array("high", high, shape=low.shape)
        self._build(low[None], high[None], np.ones(1), _validate.nonnegative_float("sigma", sigma), "high")
        self.name = "box"
        self.params = {"low": low.tolist(), "high": high.tolist(), "sigma": self.sigma}
