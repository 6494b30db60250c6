"""The error ledger: columns recomputed independently, Minkowski per row, the law of X_T, determinism."""
import numpy as np
import pytest

import chargen_theory as ct
from chargen_theory.error_ledger import _MarginalAt

pytestmark = pytest.mark.usefixtures("one_torch_thread")

MEAN = np.array([1.0, -0.5])
COV = np.array([[2.0, 0.6], [0.6, 0.5]])
SMALL = dict(width=32, depth=2, epochs=5)
TIMING = ("train_seconds",)


def gaussian_flow(z, t):
    """Closed-form linear-path characteristic of N(MEAN, COV): X_t(z) = t m + ((1 - t)^2 I + t^2 S)^{1/2} z."""
    lam, vecs = np.linalg.eigh(COV)
    return t * MEAN + (z @ vecs * np.sqrt((1 - t) ** 2 + t ** 2 * lam)) @ vecs.T


def rms(x, y):
    return float(np.sqrt(np.mean(np.sum((x - y) ** 2, axis=1))))


def small_ledger(target, estimator, seed=0, **kw):
    options = dict(n=200, m=300, K=4, T=0.9, n_test=500, w2_n=200, n_eval=500, floor_repeats=2,
                   generator_options=SMALL)
    options.update(kw)
    return ct.error_ledger.ledger_run(target, "linear", estimator, rng=np.random.default_rng(seed), **options)


@pytest.fixture(scope="module")
def gaussian():
    return ct.targets.get("gaussian", mean=MEAN, cov=COV)


@pytest.fixture(scope="module")
def oracle_row(gaussian):
    return small_ledger(gaussian, "oracle")


def test_columns_agree_with_direct_computations(gaussian, oracle_row):
    record = oracle_row.record
    z, gen, est = oracle_row.z_test, oracle_row.generator, oracle_row.estimator
    flow = gaussian_flow(z, 0.9)
    np.testing.assert_allclose(oracle_row.flow, flow, rtol=1e-12, atol=1e-12)
    exact_velocity = lambda t, x: gaussian.velocity(t, x, "linear")  # noqa: E731
    euler = ct.solvers.euler(exact_velocity, z, K=4, T=0.9)
    euler_hat = ct.solvers.euler(est, z, K=4, T=0.9)
    one_step = gen.map(z)
    assert record["euler_error"] == pytest.approx(rms(euler, flow), rel=1e-12)
    assert record["euler_hat_error"] == pytest.approx(rms(euler_hat, flow), rel=1e-12)
    assert record["fit_error"] == pytest.approx(rms(one_step, euler_hat), rel=1e-12)
    assert record["total_coupling"] == pytest.approx(rms(one_step, flow), rel=1e-12)
    # the oracle is the exact velocity: the two Euler columns coincide
    assert record["euler_hat_error"] == pytest.approx(record["euler_error"], rel=1e-12)
    assert record["velocity_l2"] == pytest.approx(0.0, abs=1e-10)
    assert (record["n"], record["m"], record["K"], record["T"]) == (200, 300, 4, 0.9)
    assert (record["target"], record["path"], record["estimator"]) == ("gaussian", "linear", "oracle")
    assert record["flow_map_method"] == "closed_form" and record["total_w2_method"] == "emd"
    assert record["nfe_per_sample"] == 1 and record["nfe_fit"] == 300 * 4
    assert record["generator"] == "characteristic" and record["train_steps"] == gen.train_steps_ > 0
    assert record["train_seconds"] == gen.train_seconds_
    assert record["total_w2"] > 0 and record["total_w2_floor"] > 0
    assert record["semigroup_violation"] > 0


def test_law_of_x_t_is_the_gaussian_marginal(gaussian):
    """The law the W2 columns compare with at T < 1: N(b m, a^2 I + b^2 S), checked by Monte Carlo moments."""
    x = _MarginalAt(gaussian, ct.paths.get("linear"), 0.9).sample(200_000, np.random.default_rng(0))
    np.testing.assert_allclose(x.mean(axis=0), 0.9 * MEAN, atol=0.01)
    np.testing.assert_allclose(np.cov(x.T), 0.01 * np.eye(2) + 0.81 * COV, atol=0.02)


def test_triangle_inequality_per_row(gaussian, oracle_row):
    rows = [oracle_row.record,
            small_ledger(gaussian, "kde", seed=1, K=3, T=1.0).record,
            small_ledger(ct.targets.get("8gaussians"), "oracle", seed=2, K=3, n_test=200).record]
    assert rows[2]["flow_map_method"] == "reference"
    for row in rows:
        # Minkowski in L2(z_test): both directions of the triangle inequality
        assert row["total_coupling"] <= (row["fit_error"] + row["euler_hat_error"]) * (1 + 1e-12)
        assert abs(row["total_coupling"] - row["euler_hat_error"]) <= row["fit_error"] * (1 + 1e-12)
    assert rows[1]["velocity_l2"] > 0 and rows[1]["estimator"] == "kde"


def test_deterministic_record(gaussian, oracle_row):
    again = small_ledger(gaussian, "oracle").record
    first = oracle_row.record
    for key in first:
        if key not in TIMING:
            assert again[key] == first[key] or (np.isnan(again[key]) and np.isnan(first[key])), key


def test_fitted_estimator_is_used_as_given(gaussian):
    est = ct.velocity.get("oracle", target=gaussian).fit(gaussian.sample(10, np.random.default_rng(0)), "linear")
    record = small_ledger(gaussian, est, m=100, n_test=100, w2_n=50, generator="endpoint",
                          generator_options=dict(SMALL, epochs=1)).record
    assert record["estimator"] == est.name and record["endpoint_only"] and np.isnan(record["semigroup_violation"])
    with pytest.raises(ValueError, match="estimator_options"):
        small_ledger(gaussian, est, estimator_options={"bandwidth": 0.1})


def test_user_errors(gaussian):
    with pytest.raises(ValueError, match="^T"):
        small_ledger(gaussian, "oracle", T=0.0)
    with pytest.raises(ValueError, match="rng"):
        ct.ledger(gaussian, "linear", "oracle", n=10, m=10, K=2, rng=0)
