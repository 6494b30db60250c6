"""The KDE velocity: the exact velocity of the Gaussian kernel density estimate of the samples.

The KDE (1/n) sum_i N(y_i, bw^2 I) is a Gaussian mixture, so its velocity is exact: the sample-index posterior is
softmax_i(-|x - b y_i|^2 / (2 s^2)) with s^2 = a^2 + b^2 bw^2, and each component's posterior mean is
y_i + (b bw^2 / s^2)(x - b y_i) (``smoothing.smoothing_split``). The KDE is the paper's data assumption
mu = N(0, sigma^2 I) * nu applied to the empirical measure.
"""
from __future__ import annotations

import numpy as np

from .. import _validate
from ..smoothing import likelihood_variance, smoothing_split
from .base import VelocityEstimator, rule_or_value
from .kernels import gaussian_kde_log_density, gaussian_posterior_mean

BANDWIDTH_RULES = ("scott", "cv")
CV_FOLDS = 5
CV_GRID = 2.0 ** np.linspace(-3.0, 2.0, 11)  # factors applied to Scott's bandwidth


def scott_bandwidth(x1: np.ndarray) -> float:
    """Scott's rule bw = sigma n^(-1/(D + 4)), sigma^2 = mean of the per-coordinate sample variances (constant 1).

    The n^(-1/(D+4)) scaling is the MISE-optimal one for a density with two derivatives in D dimensions.
    """
    n, d = x1.shape
    if n < 2:
        raise ValueError(f"x1: the 'scott' bandwidth needs n >= 2 samples, got {n}")
    sigma = float(np.sqrt(x1.var(axis=0, ddof=1).mean()))
    if sigma == 0.0:
        raise ValueError("x1: all samples are equal, so the 'scott' bandwidth is 0; pass a float bandwidth")
    return sigma * n ** (-1.0 / (d + 4))


def cross_validated_bandwidth(x1: np.ndarray) -> float:
    """The bandwidth on the log grid scott * 2^[-3, -2.5, ..., 2] (11 points) with the largest ``CV_FOLDS``-fold
    cross-validated held-out log-likelihood (contiguous folds in sample order; the samples are i.i.d.)."""
    if x1.shape[0] < CV_FOLDS:
        raise ValueError(f"x1: the 'cv' bandwidth needs n >= {CV_FOLDS} samples, got {x1.shape[0]}")
    grid = scott_bandwidth(x1) * CV_GRID
    folds = np.array_split(np.arange(x1.shape[0]), CV_FOLDS)
    scores = [sum(gaussian_kde_log_density(x1[fold], np.delete(x1, fold, axis=0), h).sum() for fold in folds)
              for h in grid]
    return float(grid[int(np.argmax(scores))])


class KDEVelocity(VelocityEstimator):
    """Exact velocity of the Gaussian KDE of the samples.

    Parameters
    ----------
    bandwidth : float > 0 (units of x), "scott" (``scott_bandwidth``) or "cv" (``cross_validated_bandwidth``).

    Fitted attributes: ``samples_`` (n, D), ``bandwidth_`` (float, the one used).
    """

    name = "kde"

    def __init__(self, bandwidth="scott"):
        rule_or_value("bandwidth", bandwidth, BANDWIDTH_RULES, _validate.bandwidth)
        self.bandwidth = bandwidth

    def _fit(self, x1, path, rng) -> None:
        if self.bandwidth == "scott":
            self.bandwidth_ = scott_bandwidth(x1)
        elif self.bandwidth == "cv":
            self.bandwidth_ = cross_validated_bandwidth(x1)
        else:
            self.bandwidth_ = float(self.bandwidth)
        self.samples_ = x1.copy()

    def _predict(self, t: np.ndarray, x: np.ndarray) -> np.ndarray:
        a, b = self.path_.alpha(t), self.path_.beta(t)
        mean_y = gaussian_posterior_mean(x, self.samples_, b, likelihood_variance(a, b, self.bandwidth_))
        m1 = smoothing_split(a, b, self.bandwidth_, x, mean_y)
        return self.path_.velocity_from_posterior_mean(t, x, m1)
