"""The empirical velocity: the exact velocity of the empirical measure (1/n) sum_i delta_{y_i} of the samples.

Its posterior over the sample index is softmax_i(-|x - b y_i|^2 / (2 a^2)), so m1 = sum_i w_i y_i. At t = 1 it
maps every point to a training sample (the flow reproduces the training set): a negative control for
generalisation, and the limit of the kernel estimators as their bandwidths go to 0.
"""
from __future__ import annotations

import numpy as np

from .base import VelocityEstimator
from .kernels import gaussian_posterior_mean


class EmpiricalVelocity(VelocityEstimator):
    """Exact velocity of the empirical measure of the fitted samples (no hyperparameters).

    Fitted attributes: ``samples_`` (n, D).
    """

    name = "empirical"
    claim_classes = {"kernel": {}, "empirical": {}}  # kernel score at the path's own noise

    def __init__(self):
        pass

    def _fit(self, x1, path, rng) -> None:
        self.samples_ = x1.copy()

    def _predict(self, t: np.ndarray, x: np.ndarray) -> np.ndarray:
        a, b = self.path_.alpha(t), self.path_.beta(t)
        m1 = gaussian_posterior_mean(x, self.samples_, b, a * a)
        return self.path_.velocity_from_posterior_mean(t, x, m1)
