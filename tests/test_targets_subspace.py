"""Subspace embeddings: posterior mean against Monte Carlo in the ambient space and against the equivalent
singular Gaussian, flow map against finite differences, log_prob only in full dimension, frames."""
import json

import numpy as np
import pytest
import scipy.linalg
import scipy.stats

import chargen_theory as ct
from chargen_theory.targets.subspace import orthonormal_frame
from test_targets_mc import marginal_points, mc_posterior_mean

PATHS = ["linear", "follmer", "trig"]
BASE_MEAN = np.array([0.4, -0.3])
BASE_COV = np.array([[0.5, 0.2], [0.2, 0.3]])


@pytest.mark.parametrize("base, params", [("8gaussians", {}), ("rings", {"sigma": 0.05})])
def test_embedded_posterior_mean_matches_monte_carlo(base, params):
    target = ct.targets.get("subspace", base=base, base_params=params, dim=4, seed=7)
    assert (target.dim, target.intrinsic_dim) == (4, target.base.intrinsic_dim)
    y = target.sample(200_000, np.random.default_rng(50))
    for t in [0.35, 0.75]:
        a, b = np.cos(np.pi * t / 2), np.sin(np.pi * t / 2)
        x = marginal_points(target, a, b, 4, np.random.default_rng(51))
        est, se, ess = mc_posterior_mean(y, a, b, x)
        assert np.all(ess > 100)
        np.testing.assert_array_less(np.abs(target.posterior_mean(a, b, x) - est), 5 * se + 1e-12)


@pytest.mark.parametrize("path", PATHS)
def test_embedded_gaussian_equals_the_singular_gaussian(path):
    base = ct.targets.get("gaussian", mean=BASE_MEAN, cov=BASE_COV)
    target = ct.targets.get("subspace", base=base, dim=5, seed=2)
    q = target.frame
    flat = ct.targets.get("gaussian", mean=q @ BASE_MEAN, cov=q @ BASE_COV @ q.T)
    x = np.random.default_rng(52).normal(size=(6, 5))
    for t in [0.0, 0.2, 0.7, 0.99]:
        np.testing.assert_allclose(target.velocity(t, x, path), flat.velocity(t, x, path), rtol=1e-9, atol=1e-10)
        np.testing.assert_allclose(target.flow_map(x, t, path), flat.flow_map(x, t, path), rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("path", PATHS)
def test_flow_map_solves_the_ode(path):
    target = ct.targets.get("subspace", base="gaussian", base_params={"mean": BASE_MEAN, "cov": BASE_COV}, dim=4)
    z = np.random.default_rng(53).normal(size=(5, 4))
    h = 1e-5
    for t in [0.05, 0.5, 0.95]:
        deriv = (target.flow_map(z, t + h, path) - target.flow_map(z, t - h, path)) / (2 * h)
        vel = target.velocity(t, target.flow_map(z, t, path), path)
        np.testing.assert_allclose(deriv, vel, rtol=1e-6, atol=1e-6 * np.abs(vel).max())
    q = target.frame
    root = scipy.linalg.sqrtm(BASE_COV).real
    np.testing.assert_allclose(target.flow_map(z, 1.0, path), (BASE_MEAN + z @ q @ root) @ q.T, atol=1e-10)


def test_log_prob_only_in_full_dimension():
    base = ct.targets.get("gaussian", mean=BASE_MEAN, cov=BASE_COV)
    rotated = ct.targets.get("subspace", base=base, dim=2, seed=9)
    x = np.random.default_rng(54).normal(size=(5, 2))
    q = rotated.frame
    np.testing.assert_allclose(rotated.log_prob(x),
                               scipy.stats.multivariate_normal(q @ BASE_MEAN, q @ BASE_COV @ q.T).logpdf(x), rtol=1e-11)
    with pytest.raises(NotImplementedError):
        ct.targets.get("subspace", base=base, dim=3).log_prob(np.zeros((1, 3)))
    with pytest.raises(NotImplementedError):
        ct.targets.get("subspace", base="rings", dim=3).flow_map(np.zeros((1, 3)), 0.5, "linear")


def test_frames_and_params():
    q = orthonormal_frame(6, 3, seed=11)
    np.testing.assert_allclose(q.T @ q, np.eye(3), atol=1e-14)
    np.testing.assert_array_equal(q, orthonormal_frame(6, 3, seed=11))
    assert not np.allclose(q, orthonormal_frame(6, 3, seed=12))
    target = ct.targets.get("subspace", base="checkerboard", base_params={"sigma": 0.1}, dim=3, seed=4)
    params = json.loads(json.dumps(target.params))
    assert params == {"base": "checkerboard", "base_params": {"size": 4, "cell": 1.0, "sigma": 0.1}, "dim": 3,
                      "seed": 4}
    again = ct.targets.get("subspace", **params)
    x = np.random.default_rng(55).normal(size=(4, 3))
    np.testing.assert_array_equal(again.velocity(0.5, x, "linear"), target.velocity(0.5, x, "linear"))


def test_validation():
    with pytest.raises(ValueError, match="^dim:"):
        ct.targets.get("subspace", base="8gaussians", dim=1)
    with pytest.raises(ValueError, match="^base:"):
        ct.targets.get("subspace", base="nope", dim=3)
    with pytest.raises(ValueError, match="^base:"):
        ct.targets.get("subspace", base=3, dim=3)
    with pytest.raises(ValueError, match="^base_params:"):
        ct.targets.get("subspace", base=ct.targets.get("grid"), base_params={"size": 3}, dim=3)
