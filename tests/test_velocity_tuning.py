"""Tuning rules that name their dimension (ambient D, an integer such as the intrinsic d*, or an estimate), the
config's "intrinsic", and the kde bandwidth cross-validated on the velocity-matching loss."""
import textwrap

import numpy as np
import pytest

import chargen_theory as ct
from chargen_theory.study.experiments import build
from chargen_theory.velocity.base import estimated_dimension
from chargen_theory.velocity.kde import CV_GRID, scott_bandwidth


def test_rules_use_the_dimension_they_are_given():
    x1 = np.random.default_rng(0).standard_normal((400, 6))
    sigma = np.sqrt(x1.var(axis=0, ddof=1).mean())
    for dim, d in (("ambient", 6), (2, 2)):
        kde = ct.velocity.get("kde", dim=dim).fit(x1, "linear")
        assert kde.rule_dim_ == d and kde.bandwidth_ == pytest.approx(sigma * 400 ** (-1 / (d + 4)), rel=1e-12)
        knn = ct.velocity.get("knn", dim=dim, pairs_per_sample=2).fit(x1, "linear", rng=np.random.default_rng(1))
        assert knn.k_ == int(np.ceil(800 ** (2 / (d + 3))))
        nw = ct.velocity.get("nadaraya_watson", dim=dim, pairs_per_sample=2).fit(x1, "linear",
                                                                               rng=np.random.default_rng(1))
        covariates = nw.covariates_
        rate = 800 ** (-1 / (d + 5))
        assert nw.bandwidth_t_ == pytest.approx(covariates[:, 0].std() * rate, rel=1e-12)


def test_estimated_dimension_finds_the_intrinsic_dimension_of_a_sphere():
    target = ct.targets.get("sphere", intrinsic_dim=2, dim=6)
    estimate = estimated_dimension(target.sample(3000, np.random.default_rng(0)))
    assert 1.7 < estimate < 2.3  # ambient D = 6; the rule would otherwise use 6
    kde = ct.velocity.get("kde", dim="estimated").fit(target.sample(500, np.random.default_rng(1)), "linear")
    assert 1.5 < kde.rule_dim_ < 2.5


def test_config_intrinsic_is_the_targets_d_star():
    cfg = ct.config.loads(textwrap.dedent("""
        [[experiment]]
        kind = "intrinsic_dim"
        target = "sphere"
        d_star = 2
        D = 5
        estimator = { name = "kde", dim = "intrinsic" }
        n = [100, 200]
        """))
    cell = cfg.experiments[0].cells[0]
    assert cell["estimator_params"] == {"dim": "intrinsic"}  # the table records the rule as written
    est = build.estimator(cell, build.target(cell))
    assert est.dim == 2
    with pytest.raises(ValueError, match="dim: unknown value 'intrinsic'"):
        ct.velocity.get("kde", dim="intrinsic")  # the API needs the integer


def test_velocity_cross_validation_beats_the_ends_of_its_grid():
    target, path = ct.targets.get("8gaussians"), "linear"
    x1 = target.sample(400, np.random.default_rng(2))
    scott = scott_bandwidth(x1)

    def error(bandwidth):
        est = ct.velocity.get("kde", bandwidth=bandwidth).fit(x1, path, rng=np.random.default_rng(3))
        return ct.metrics.velocity_l2(est, target, path, T=0.9, n_eval=3000, rng=np.random.default_rng(4)).value

    chosen = ct.velocity.get("kde", bandwidth="cv_velocity").fit(x1, path, rng=np.random.default_rng(3))
    assert scott * CV_GRID[0] <= chosen.bandwidth_ <= scott * CV_GRID[-1]
    assert error(chosen.bandwidth_) < min(error(scott * CV_GRID[0]), error(scott * CV_GRID[-1]))
    with pytest.raises(ValueError, match="rng"):
        ct.velocity.get("kde", bandwidth="cv_velocity").fit(x1, path)
