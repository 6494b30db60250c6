"""Gaussian target: velocity against the dense closed form and Monte Carlo, flow map against finite differences,
the OT map at t = 1 and the law N(b m, C_t)."""
import numpy as np
import pytest
import scipy.linalg
import scipy.stats

import chargen_theory as ct
from test_targets_mc import marginal_points, mc_posterior_mean

PATHS = ["linear", "follmer", "trig"]
MEAN = np.array([0.5, -1.0, 2.0])
_B = np.array([[1.0, 0.3, -0.2], [0.0, 0.8, 0.5], [0.4, 0.0, 0.6]])
FULL = _B @ _B.T
_V = np.array([[1.0, 2.0, 0.0], [0.5, -1.0, 1.0]]).T
SINGULAR = _V @ np.diag([0.8, 0.3]) @ _V.T  # rank 2 in R^3


def dense_velocity(t, x, path, m, s):
    """b' m + (a a' I + b b' S) C_t^{-1} (x - b m), by dense solves (docs/theory.md section 2)."""
    a, b, da, db = (float(c) for c in ct.paths.get(path).coefficients(t))
    c = a * a * np.eye(len(m)) + b * b * s
    return db * m + ((a * da * np.eye(len(m)) + b * db * s) @ np.linalg.solve(c, (x - b * m).T)).T


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("cov", [FULL, SINGULAR], ids=["full", "singular"])
def test_velocity_equals_dense_closed_form(path, cov):
    target = ct.targets.get("gaussian", mean=MEAN, cov=cov)
    x = np.random.default_rng(0).normal(size=(6, 3)) * 2
    for t in [0.0, 0.1, 0.5, 0.9, 0.999]:
        np.testing.assert_allclose(target.velocity(t, x, path), dense_velocity(t, x, path, MEAN, cov),
                                   rtol=1e-10, atol=1e-10)


def test_velocity_at_t_one_is_the_identity_limit_for_a_density():
    target = ct.targets.get("gaussian", mean=MEAN, cov=FULL)
    x = np.random.default_rng(1).normal(size=(5, 3))
    np.testing.assert_allclose(target.posterior_mean(0.0, 1.0, x), x, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(target.velocity(1.0, x, "linear"), x, rtol=1e-12, atol=1e-12)  # b'(1) = 1


def test_singular_posterior_mean_at_t_one_is_the_projection_on_the_support():
    target = ct.targets.get("gaussian", mean=MEAN, cov=SINGULAR)
    x = np.random.default_rng(2).normal(size=(4, 3))
    proj = _V @ np.linalg.solve(_V.T @ _V, _V.T)  # orthogonal projector onto range(S)
    np.testing.assert_allclose(target.posterior_mean(0.0, 1.0, x), MEAN + (x - MEAN) @ proj, atol=1e-10)


@pytest.mark.parametrize("t", [0.3, 0.7])
def test_singular_posterior_mean_matches_monte_carlo(t):
    target = ct.targets.get("gaussian", mean=MEAN, cov=SINGULAR)
    rng = np.random.default_rng(3)
    y = target.sample(200_000, rng)
    a, b = 1 - t, t
    x = marginal_points(target, a, b, 4, np.random.default_rng(4))
    est, se, ess = mc_posterior_mean(y, a, b, x)
    assert np.all(ess > 100)
    np.testing.assert_array_less(np.abs(target.posterior_mean(a, b, x) - est), 5 * se + 1e-12)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("cov", [FULL, SINGULAR], ids=["full", "singular"])
def test_flow_map_solves_the_ode(path, cov):
    """Central differences of t -> X_t(z) equal v(t, X_t(z))."""
    target = ct.targets.get("gaussian", mean=MEAN, cov=cov)
    z = np.random.default_rng(5).normal(size=(5, 3))
    h = 1e-5
    for t in [0.05, 0.5, 0.95]:
        deriv = (target.flow_map(z, t + h, path) - target.flow_map(z, t - h, path)) / (2 * h)
        vel = target.velocity(t, target.flow_map(z, t, path), path)
        np.testing.assert_allclose(deriv, vel, rtol=1e-6, atol=1e-6 * np.abs(vel).max())


@pytest.mark.parametrize("cov", [FULL, SINGULAR], ids=["full", "singular"])
def test_flow_map_endpoints(cov):
    target = ct.targets.get("gaussian", mean=MEAN, cov=cov)
    z = np.random.default_rng(6).normal(size=(5, 3))
    root = np.real(scipy.linalg.sqrtm(cov))
    for path in PATHS:
        np.testing.assert_allclose(target.flow_map(z, 1.0, path), MEAN + z @ root.T, atol=1e-7)
        np.testing.assert_allclose(target.flow_map(z, 0.0, path), z, atol=1e-14)


def test_flow_map_per_point_times():
    target = ct.targets.get("gaussian", mean=MEAN, cov=FULL)
    z = np.random.default_rng(7).normal(size=(3, 3))
    t = np.array([0.1, 0.6, 1.0])
    rows = np.vstack([target.flow_map(z[i:i + 1], t[i], "trig") for i in range(3)])
    np.testing.assert_allclose(target.flow_map(z, t, "trig"), rows, rtol=1e-13, atol=1e-13)


def test_flow_map_pushes_the_prior_to_the_law_of_x_t():
    target = ct.targets.get("gaussian", mean=MEAN, cov=SINGULAR)
    n = 100_000
    z = np.random.default_rng(8).standard_normal((n, 3))
    t, path = 0.6, "follmer"
    a, b = np.sqrt(1 - t * t), t
    cov_t = a * a * np.eye(3) + b * b * SINGULAR
    x = target.flow_map(z, t, path)
    mean_m, cov_m = target.marginal(t, path)
    np.testing.assert_allclose(mean_m, b * MEAN, atol=1e-14)
    np.testing.assert_allclose(cov_m, cov_t, atol=1e-14)
    se_mean = np.sqrt(np.diag(cov_t) / n)
    np.testing.assert_array_less(np.abs(x.mean(axis=0) - b * MEAN), 5 * se_mean)
    se_cov = np.sqrt((np.diag(cov_t)[:, None] * np.diag(cov_t)[None, :] + cov_t ** 2) / n)
    np.testing.assert_array_less(np.abs(np.cov(x.T) - cov_t), 5 * se_cov)


def test_log_prob_and_samples():
    target = ct.targets.get("gaussian", mean=MEAN, cov=FULL)
    x = np.random.default_rng(9).normal(size=(7, 3))
    np.testing.assert_allclose(target.log_prob(x), scipy.stats.multivariate_normal(MEAN, FULL).logpdf(x),
                               rtol=1e-12)
    y = target.sample(100_000, np.random.default_rng(10))
    assert y.shape == (100_000, 3) and y.dtype == np.float64
    np.testing.assert_array_less(np.abs(y.mean(axis=0) - MEAN), 5 * np.sqrt(np.diag(FULL) / 1e5))
    with pytest.raises(NotImplementedError):
        ct.targets.get("gaussian", mean=MEAN, cov=SINGULAR).log_prob(x)


def test_attributes():
    target = ct.targets.get("gaussian", mean=MEAN, cov=SINGULAR)
    assert (target.dim, target.intrinsic_dim, target.name) == (3, 2, "gaussian")
    np.testing.assert_array_equal(target.mean, MEAN)
    np.testing.assert_array_equal(target.cov, SINGULAR)
    with pytest.raises(ValueError, match="^t:"):
        target.marginal(1.5, "linear")
