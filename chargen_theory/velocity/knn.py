"""k-nearest-neighbour velocity: the mean conditional target of the k regression pairs nearest in (t, X_t).

Same regression pairs as Nadaraya-Watson (``Interpolant.training_pairs``: ``pairs_per_sample`` fresh t ~ U[0, t_max],
X0 ~ N(0, I) per sample; Y = alpha'(t) X0 + beta'(t) X1). Time is rescaled by sigma_x / sigma_t (standard
deviations of the X_t coordinates, pooled, and of t) so that a unit of scaled t spreads like a unit of x.
"""
from __future__ import annotations

import numpy as np

from .. import _validate
from .base import VelocityEstimator, check_dimension, pairs_bytes, require_rng, rule_dimension, rule_or_value

K_RULES = ("rule",)


def rule_neighbours(n_pairs: int, dim: float) -> int:
    """k = ceil(N^(2/(d + 3))): the k ~ N^(2/(p + 2)) balance of squared bias (k/N)^(2/p) against variance 1/k
    for a Lipschitz regression function of p = d + 1 covariates, N = number of pairs, d the rule's dimension."""
    return int(np.ceil(n_pairs ** (2.0 / (dim + 3))))


class KNNVelocity(VelocityEstimator):
    """k-nearest-neighbour regression velocity (scikit-learn KNeighborsRegressor, uniform weights).

    Parameters
    ----------
    k : int >= 1 or "rule" (``rule_neighbours``); capped at the number of pairs.
    pairs_per_sample : regression pairs (t, X0) drawn per target sample.
    t_max : pair times are uniform on [0, t_max], t_max in (0, 1].
    dim : the dimension d of the rule: "ambient" (D), "estimated" (TwoNN on the samples) or an integer; only with
        k = "rule" (refused otherwise, where it would be ignored).

    Fitted attributes: ``rule_dim_`` (the d used), ``k_`` (int), ``time_scale_`` (float, the factor on t), ``regressor_`` (the fitted
    KNeighborsRegressor on (time_scale_ t, X_t)), ``capped_`` (text when k exceeded the pairs and was capped: the
    estimate is then the mean response, whatever n; "" otherwise).
    """

    name = "knn"
    claim_classes = {"kernel": {}}

    def __init__(self, k: int | str = "rule", pairs_per_sample: int = 8, t_max: float = 0.999,
                 dim: int | str = "ambient"):
        rule_or_value("k", k, K_RULES, _validate.positive_int)
        _validate.positive_int("pairs_per_sample", pairs_per_sample)
        _validate.end_time("t_max", t_max)
        check_dimension(dim)
        if k != "rule" and dim != "ambient":
            raise ValueError(f"dim: used by the rule for k only; with k = {k!r} leave it out")
        self.k = k
        self.pairs_per_sample = pairs_per_sample
        self.t_max = t_max
        self.dim = dim

    def _fit(self, x1, path, rng) -> None:
        from sklearn.neighbors import KNeighborsRegressor

        rng = require_rng(self.name, rng)
        times, points, responses = path.training_pairs(x1, float(self.t_max), self.pairs_per_sample, rng)
        n_pairs = times.shape[0]
        self.rule_dim_ = rule_dimension(self.dim, x1) if self.k == "rule" else float(x1.shape[1])
        k = rule_neighbours(n_pairs, self.rule_dim_) if self.k == "rule" else int(self.k)
        self.k_ = min(k, n_pairs)
        self.capped_ = f"k {k} > pairs_per_sample {self.pairs_per_sample} x n {x1.shape[0]} = {n_pairs} pairs" \
            if k > n_pairs else ""
        sigma_x = float(np.sqrt(points.var(axis=0).mean()))
        self.time_scale_ = sigma_x / float(times.std()) if sigma_x > 0 and times.std() > 0 else 1.0
        self.regressor_ = KNeighborsRegressor(n_neighbors=self.k_)
        self.regressor_.fit(np.hstack([self.time_scale_ * times[:, None], points]), responses)

    def _predict(self, t: np.ndarray, x: np.ndarray) -> np.ndarray:
        return self.regressor_.predict(np.hstack([self.time_scale_ * t[:, None], x]))

    def memory_terms(self, n: int, dim: int) -> dict[str, tuple[int, str]]:
        """The n x pairs_per_sample regression pairs and the neighbour tree over them."""
        return {"pairs_per_sample": (pairs_bytes(n, dim, self.pairs_per_sample) + 16 * n * self.pairs_per_sample,
                                     "the n x pairs_per_sample regression pairs and their tree")}
