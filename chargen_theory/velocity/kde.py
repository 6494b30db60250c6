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
from .base import VelocityEstimator, check_dimension, require_rng, rule_dimension, rule_or_value
from .kernels import gaussian_kde_log_density, gaussian_posterior_mean

BANDWIDTH_RULES = ("scott", "cv", "cv_velocity")
CV_FOLDS = 5
CV_GRID = 2.0 ** np.linspace(-3.0, 2.0, 11)  # factors applied to Scott's bandwidth
CV_PAIRS = 2048  # held-out (sample, t, X0) triples scored per grid point by "cv_velocity"


def scott_bandwidth(x1: np.ndarray, d: float | None = None) -> float:
    """Scott's rule bw = sigma n^(-1/(d + 4)), sigma^2 = mean of the per-coordinate sample variances (constant 1);
    d: the rule's dimension (default the ambient D of x1).

    The n^(-1/(d+4)) scaling is the MISE-optimal one for a density with two derivatives in d dimensions.
    """
    n, d = x1.shape[0], (x1.shape[1] if d is None else d)
    if n < 2:
        raise ValueError(f"x1: the 'scott' bandwidth needs n >= 2 samples, got {n}")
    sigma = float(np.sqrt(x1.var(axis=0, ddof=1).mean()))
    if sigma == 0.0:
        raise ValueError("x1: all samples are equal, so the 'scott' bandwidth is 0; pass a float bandwidth")
    return sigma * n ** (-1.0 / (d + 4))


def cross_validated_bandwidth(x1: np.ndarray, d: float | None = None) -> float:
    """The bandwidth on the log grid scott * 2^[-3, -2.5, ..., 2] (11 points) with the largest ``CV_FOLDS``-fold
    cross-validated held-out log-likelihood (contiguous folds in sample order; the samples are i.i.d.)."""
    if x1.shape[0] < CV_FOLDS:
        raise ValueError(f"x1: the 'cv' bandwidth needs n >= {CV_FOLDS} samples, got {x1.shape[0]}")
    grid = scott_bandwidth(x1, d) * CV_GRID
    folds = np.array_split(np.arange(x1.shape[0]), CV_FOLDS)
    scores = [sum(gaussian_kde_log_density(x1[fold], np.delete(x1, fold, axis=0), h).sum() for fold in folds)
              for h in grid]
    return float(grid[int(np.argmax(scores))])


def velocity_cv_bandwidth(x1: np.ndarray, path, rng: np.random.Generator, t_max: float,
                          d: float | None = None) -> float:
    """The bandwidth on the grid scott * 2^[-3, ..., 2] with the smallest ``CV_FOLDS``-fold cross-validated
    *velocity-matching* loss: for held-out samples y, fresh t ~ U[0, t_max] and X0, the mean of
    |v_kde(t, X_t) - (alpha'(t) X0 + beta'(t) y)|^2 with v_kde built from the other folds. That loss equals the
    squared velocity L2 error on [0, t_max] plus a constant that does not depend on the bandwidth, so this picks
    the bandwidth for the quantity the theory bounds (not for the density's likelihood)."""
    n = x1.shape[0]
    if n < CV_FOLDS:
        raise ValueError(f"x1: the 'cv_velocity' bandwidth needs n >= {CV_FOLDS} samples, got {n}")
    grid = scott_bandwidth(x1, d) * CV_GRID
    folds = np.array_split(np.arange(n), CV_FOLDS)
    per_fold = -(-CV_PAIRS // CV_FOLDS)
    draws = []
    for fold in folds:
        y = x1[fold][rng.integers(fold.size, size=per_fold)]
        t, xt, target = path.training_pairs(y, t_max, 1, rng)
        draws.append((np.delete(x1, fold, axis=0), t, xt, target))
    losses = []
    for bandwidth in grid:
        loss = 0.0
        for train, t, xt, target in draws:
            a, b = path.alpha(t), path.beta(t)
            mean_y = gaussian_posterior_mean(xt, train, b, likelihood_variance(a, b, bandwidth))
            v = path.velocity_from_posterior_mean(t, xt, smoothing_split(a, b, bandwidth, xt, mean_y))
            loss += float(np.mean(np.sum((v - target) ** 2, axis=1)))
        losses.append(loss)
    return float(grid[int(np.argmin(losses))])


class KDEVelocity(VelocityEstimator):
    """Exact velocity of the Gaussian KDE of the samples.

    Parameters
    ----------
    bandwidth : float > 0 (units of x), "scott" (``scott_bandwidth``), "cv" (``cross_validated_bandwidth``:
        held-out likelihood) or "cv_velocity" (``velocity_cv_bandwidth``: held-out velocity-matching loss; needs rng).
    dim : the dimension d of the rules (Scott's n^(-1/(d+4)) and the grids centred on it): "ambient" (D),
        "estimated" (TwoNN on the samples) or an integer (e.g. the intrinsic d*).
    t_max : "cv_velocity" scores times uniform on [0, t_max].

    ``dim`` with a numeric bandwidth, and ``t_max`` with another bandwidth than "cv_velocity", would be ignored: they
    are refused (ValueError) unless left at their defaults.

    Fitted attributes: ``samples_`` (n, D), ``bandwidth_`` (float, the one used), ``rule_dim_`` (the d used).
    """

    name = "kde"
    claim_classes = {"kernel": {}, "kde_scott": {"bandwidth": "scott", "dim": "ambient"}}

    def __init__(self, bandwidth="scott", dim: int | str = "ambient", t_max: float = 0.999):
        rule_or_value("bandwidth", bandwidth, BANDWIDTH_RULES, _validate.bandwidth)
        check_dimension(dim)
        _validate.end_time("t_max", t_max)
        if not isinstance(bandwidth, str) and dim != "ambient":
            raise ValueError(f"dim: used by the bandwidth rules only; with bandwidth = {bandwidth!r} leave it out")
        if bandwidth != "cv_velocity" and t_max != 0.999:
            raise ValueError(f"t_max: used by bandwidth 'cv_velocity' only; with bandwidth = {bandwidth!r} leave it "
                             f"out")
        self.bandwidth = bandwidth
        self.dim = dim
        self.t_max = t_max

    def _fit(self, x1, path, rng) -> None:
        self.rule_dim_ = rule_dimension(self.dim, x1) if isinstance(self.bandwidth, str) else float(x1.shape[1])
        if self.bandwidth == "scott":
            self.bandwidth_ = scott_bandwidth(x1, self.rule_dim_)
        elif self.bandwidth == "cv":
            self.bandwidth_ = cross_validated_bandwidth(x1, self.rule_dim_)
        elif self.bandwidth == "cv_velocity":
            rng = require_rng(f"{self.name} (bandwidth 'cv_velocity')", rng)
            self.bandwidth_ = velocity_cv_bandwidth(x1, path, rng, float(self.t_max), self.rule_dim_)
        else:
            self.bandwidth_ = float(self.bandwidth)
        self.samples_ = x1.copy()

    def _predict(self, t: np.ndarray, x: np.ndarray) -> np.ndarray:
        a, b = self.path_.alpha(t), self.path_.beta(t)
        mean_y = gaussian_posterior_mean(x, self.samples_, b, likelihood_variance(a, b, self.bandwidth_))
        m1 = smoothing_split(a, b, self.bandwidth_, x, mean_y)
        return self.path_.velocity_from_posterior_mean(t, x, m1)
