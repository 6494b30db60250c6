"""Gaussian smoothing in the posterior: the formulas shared by smoothed targets and the kernel estimators.

For X1 = Y + sigma E (E ~ N(0, I) independent of Y) observed through x = a X0 + b X1, the likelihood of Y is Gaussian
with variance s^2 = a^2 + b^2 sigma^2 per coordinate, and the posterior mean of X1 follows from that of Y
(docs/theory.md section 2). Targets (box, sphere) and the kde estimator (a Gaussian-smoothed empirical measure) use
these; this module sits below both so that neither imports the other.
"""
from __future__ import annotations

import numpy as np

VARIANCE_FLOOR = 1e-200
"""Floor on the likelihood variance a^2 (+ b^2 sigma^2). It only acts where that variance is below 1e-200, i.e. at
t = 1 (a = 0) for measures without a density, and there it turns the a -> 0 limit (the posterior concentrates on the
nearest point of the support) into finite arithmetic instead of 0 / 0."""


def likelihood_variance(a: np.ndarray, b: np.ndarray, sigma: float) -> np.ndarray:
    """s^2 = a^2 + b^2 sigma^2, the variance of x given the unsmoothed Y (floored at VARIANCE_FLOOR); shape (n,)."""
    return np.maximum(a * a + (b * sigma) ** 2, VARIANCE_FLOOR)


def smoothing_split(a: np.ndarray, b: np.ndarray, sigma: float, x: np.ndarray, mean_y: np.ndarray) -> np.ndarray:
    """E[X1 | x] for X1 = Y + sigma E, E ~ N(0, I), from E[Y | x] (``mean_y``); a, b (n,), x and mean_y (n, D).

    Given Y, x - b Y = a X0 + b sigma E has variance s^2 = a^2 + b^2 sigma^2 and E[E | x, Y] = b sigma (x - b Y) / s^2,
    so E[X1 | x] = E[Y | x] + (b sigma^2 / s^2) (x - b E[Y | x]).
    """
    if sigma == 0.0:
        return mean_y
    s2 = likelihood_variance(a, b, sigma)
    gain = (b * sigma * sigma / s2)[:, None]
    return mean_y + gain * (x - b[:, None] * mean_y)
