"""Nadaraya-Watson velocity: Gaussian kernel regression of the conditional target on (t, X_t).

Velocity matching is the least-squares regression of Y = alpha'(t) X0 + beta'(t) X1 on (t, X_t) (docs/theory.md
section 1). The regression pairs are drawn from the n samples (``pairs_per_sample`` fresh t ~ U[0, t_max] and
X0 ~ N(0, I) per sample); the estimate is sum_j w_j Y_j with a product Gaussian kernel in (t, x). t_max < 1 keeps
the follmer path's alpha'(t) -> -inf (unbounded variance of Y near t = 1) out of the data; queries at t > t_max
are answered from the pairs nearest in t.
"""
from __future__ import annotations

import numpy as np

from .. import _validate
from .base import VelocityEstimator, check_dimension, pairs_bytes, require_rng, rule_dimension, rule_or_value
from .kernels import gaussian_kernel_regression

BANDWIDTH_RULES = ("rule", "cv")
CV_GRID = 2.0 ** np.linspace(-2.0, 2.0, 9)  # factors applied to the rule bandwidths
CV_HOLDOUT = 0.2  # fraction of the samples (with all their pairs) held out for "cv"
CV_QUERIES = 2048  # held-out pairs scored per grid point (a random subset if there are more)


def rule_bandwidths(times: np.ndarray, points: np.ndarray, d: float | None = None) -> tuple[float, float]:
    """(h_t, h_x) = (sigma_t, sigma_x) N^(-1/(d + 5)) for N regression pairs; d: the rule's dimension (default the
    ambient D of the points).

    sigma_t, sigma_x: standard deviations of the pair times and of the X_t coordinates (pooled); the exponent is
    Scott's -1/(p + 4) for the p = d + 1 covariates (t, x), constant 1.
    """
    d = points.shape[1] if d is None else d
    rate = times.shape[0] ** (-1.0 / (d + 5))
    return float(times.std()) * rate, float(np.sqrt(points.var(axis=0).mean())) * rate


class NadarayaWatsonVelocity(VelocityEstimator):
    """Kernel regression (Nadaraya-Watson) velocity estimate with a product Gaussian kernel in (t, x).

    Parameters
    ----------
    bandwidth_x : float > 0 (units of x), "rule" (``rule_bandwidths``) or "cv".
    bandwidth_t : float > 0 (units of t), "rule" or "cv". With "cv" the held-out squared error over
        ``CV_HOLDOUT`` of the samples picks a factor on the grid 2^[-2, ..., 2] (9 points) times the rule value,
        one common factor when both are "cv" (the chosen bandwidth is then used with all pairs).
    pairs_per_sample : regression pairs (t, X0) drawn per target sample.
    t_max : pair times are uniform on [0, t_max], t_max in (0, 1].
    dim : the dimension d of the rule: "ambient" (D), "estimated" (TwoNN on the samples) or an integer; only with a
        rule bandwidth (refused when both bandwidths are numbers, where it would be ignored).

    Fitted attributes: ``rule_dim_`` (the d used), ``bandwidth_x_``, ``bandwidth_t_`` (floats), ``covariates_`` (N, 1 + D) = (t, X_t) and
    ``responses_`` (N, D) = alpha'(t) X0 + beta'(t) X1: the N = n * pairs_per_sample regression pairs.
    """

    name = "nadaraya_watson"
    claim_classes = {"kernel": {}}

    def __init__(self, bandwidth_x="rule", bandwidth_t="rule", pairs_per_sample: int = 8, t_max: float = 0.999,
                 dim: int | str = "ambient"):
        rule_or_value("bandwidth_x", bandwidth_x, BANDWIDTH_RULES, _validate.bandwidth)
        rule_or_value("bandwidth_t", bandwidth_t, BANDWIDTH_RULES, _validate.bandwidth)
        _validate.positive_int("pairs_per_sample", pairs_per_sample)
        _validate.end_time("t_max", t_max)
        check_dimension(dim)
        if not (isinstance(bandwidth_x, str) or isinstance(bandwidth_t, str)) and dim != "ambient":
            raise ValueError(f"dim: used by the bandwidth rules only; with bandwidth_x = {bandwidth_x!r} and "
                             f"bandwidth_t = {bandwidth_t!r} leave it out")
        self.bandwidth_x = bandwidth_x
        self.bandwidth_t = bandwidth_t
        self.pairs_per_sample = pairs_per_sample
        self.t_max = t_max
        self.dim = dim

    def memory_terms(self, n: int, dim: int) -> dict[str, tuple[int, str]]:
        """The n x pairs_per_sample regression pairs, kept as covariates and responses."""
        return {"pairs_per_sample": (pairs_bytes(n, dim, self.pairs_per_sample),
                                     "the n x pairs_per_sample regression pairs")}

    def _fit(self, x1, path, rng) -> None:
        rng = require_rng(self.name, rng)
        times, points, responses = path.training_pairs(x1, float(self.t_max), self.pairs_per_sample, rng)
        self.rule_dim_ = rule_dimension(self.dim, x1)
        rule_t, rule_x = rule_bandwidths(times, points, self.rule_dim_)
        h_t = rule_t if isinstance(self.bandwidth_t, str) else float(self.bandwidth_t)
        h_x = rule_x if isinstance(self.bandwidth_x, str) else float(self.bandwidth_x)
        self.covariates_ = np.hstack([times[:, None], points])
        self.responses_ = responses
        tuned = np.array([self.bandwidth_t == "cv"] + [self.bandwidth_x == "cv"] * x1.shape[1])
        bandwidths = np.array([h_t] + [h_x] * x1.shape[1])
        if tuned.any():
            bandwidths = bandwidths * np.where(tuned, self._cross_validated_factor(bandwidths, tuned, rng), 1.0)
        self.bandwidth_t_, self.bandwidth_x_ = float(bandwidths[0]), float(bandwidths[1])

    def _cross_validated_factor(self, bandwidths: np.ndarray, tuned: np.ndarray, rng) -> float:
        """The factor on ``CV_GRID`` for the ``tuned`` bandwidths with the smallest held-out squared error: the
        pairs of a random ``CV_HOLDOUT`` of the samples are predicted from the pairs of the others."""
        n = self.covariates_.shape[0] // self.pairs_per_sample
        if n < 5:
            raise ValueError(f"x1: 'cv' bandwidths need n >= 5 samples, got {n}")
        held_out = np.zeros(n, dtype=bool)
        held_out[rng.permutation(n)[:max(1, int(CV_HOLDOUT * n))]] = True
        held_out = np.repeat(held_out, self.pairs_per_sample)
        queries = np.flatnonzero(held_out)
        queries = queries[rng.permutation(queries.size)[:CV_QUERIES]]
        errors = []
        for factor in CV_GRID:
            fit = gaussian_kernel_regression(self.covariates_[queries], self.covariates_[~held_out],
                                             self.responses_[~held_out], np.where(tuned, factor, 1.0) * bandwidths)
            errors.append(np.mean(np.sum((fit - self.responses_[queries]) ** 2, axis=1)))
        return float(CV_GRID[int(np.argmin(errors))])

    def _predict(self, t: np.ndarray, x: np.ndarray) -> np.ndarray:
        bandwidths = np.array([self.bandwidth_t_] + [self.bandwidth_x_] * x.shape[1])
        return gaussian_kernel_regression(np.hstack([t[:, None], x]), self.covariates_, self.responses_, bandwidths)
