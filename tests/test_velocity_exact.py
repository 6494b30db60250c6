"""Exact estimators against independent routes: the empirical and KDE velocities against the Gaussian-mixture
target's velocity (a different code path: per-component eigenbasis algebra), the blocked kernels against dense
numpy/scipy evaluation, and the KDE cross-validation against scikit-learn."""
import numpy as np
import pytest
from scipy.special import logsumexp, softmax

import chargen_theory as ct
from chargen_theory.velocity import kernels
from chargen_theory.velocity.kde import CV_GRID, cross_validated_bandwidth, scott_bandwidth

PATHS = ["linear", "follmer", "trig"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _queries(rng, m=300, dim=2):
    """Times on [0, 1] including both ends, points from N(0, 2^2 I).

    Near t = 1 the velocity (x - b m1) / a amplifies round-off by ~|x| / a in both routes (at t = 1 - 1e-6 they
    differ by 3e-10), so the 1e-10 comparisons stop at t = 0.999 (a = 1e-3) apart from t = 1 itself (a = 0).
    """
    t = np.concatenate([[0.0, 1.0, 0.999], rng.uniform(0.0, 0.999, m - 3)])
    return t, 2.0 * rng.standard_normal((m, dim))


@pytest.mark.parametrize("path", PATHS)
def test_empirical_velocity_equals_gmm_with_zero_covariances(path):
    rng = np.random.default_rng(0)
    y = rng.standard_normal((60, 2)) * [1.0, 0.5] + [0.3, 0.0]
    gmm = ct.targets.get("gmm", means=y, covs=np.zeros((60, 2, 2)))
    est = ct.velocity.get("empirical").fit(y, path)
    t, x = _queries(rng)
    before_one = t < 1.0  # at t = 1 both are the nearest-sample limit; compared separately below
    t, x = t[before_one], x[before_one]
    np.testing.assert_allclose(est.predict(t, x), gmm.velocity(t, x, path), rtol=1e-10, atol=1e-10)


def test_empirical_velocity_at_t_one_is_the_nearest_sample():
    rng = np.random.default_rng(1)
    y = rng.standard_normal((40, 2))
    x = rng.standard_normal((100, 2))
    nearest = y[np.argmin(((x[:, None] - y[None]) ** 2).sum(-1), axis=1)]
    est = ct.velocity.get("empirical").fit(y, "linear")
    np.testing.assert_array_equal(est.predict(1.0, x), nearest)  # v = b' m1 = nearest sample at a = 0


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("bandwidth", [0.05, 0.4])
def test_kde_velocity_equals_gmm_with_isotropic_covariances(path, bandwidth):
    rng = np.random.default_rng(2)
    y = rng.standard_normal((50, 3))
    gmm = ct.targets.get("gmm", means=y, covs=np.broadcast_to(bandwidth ** 2 * np.eye(3), (50, 3, 3)))
    est = ct.velocity.get("kde", bandwidth=bandwidth).fit(y, path)
    t, x = _queries(rng, dim=3)
    if ct.paths.get(path).singular_at_one:  # both reject t = 1 there (the velocity needs the score)
        for velocity in (est.predict, lambda t, x: gmm.velocity(t, x, path)):
            with pytest.raises(ValueError, match="t = 1"):
                velocity(t, x)
        t, x = t[t < 1.0], x[t < 1.0]
    np.testing.assert_allclose(est.predict(t, x), gmm.velocity(t, x, path), rtol=1e-10, atol=1e-10)


def test_kde_scott_rule_constant():
    x1 = np.random.default_rng(3).standard_normal((729, 2)) * [1.0, 3.0]
    sigma = np.sqrt((np.var(x1[:, 0], ddof=1) + np.var(x1[:, 1], ddof=1)) / 2)
    est = ct.velocity.get("kde").fit(x1, "linear")
    assert est.bandwidth_ == pytest.approx(sigma * 729 ** (-1 / 6), rel=1e-12)


def test_kde_log_density_matches_dense_logsumexp():
    rng = np.random.default_rng(4)
    y, x = rng.standard_normal((70, 2)), 3.0 * rng.standard_normal((40, 2))
    h = 0.2
    dense = (logsumexp(-((x[:, None] - y[None]) ** 2).sum(-1) / (2 * h * h), axis=1)
             - np.log(70) - np.log(2 * np.pi * h * h))
    np.testing.assert_allclose(kernels.gaussian_kde_log_density(x, y, h), dense, rtol=1e-12, atol=1e-12)


def test_kde_cv_bandwidth_agrees_with_sklearn_grid_search():
    from sklearn.model_selection import GridSearchCV
    from sklearn.neighbors import KernelDensity

    x1 = ct.targets.get("8gaussians").sample(400, np.random.default_rng(5))
    search = GridSearchCV(KernelDensity(), {"bandwidth": scott_bandwidth(x1) * CV_GRID}, cv=5).fit(x1)
    assert cross_validated_bandwidth(x1) == search.best_params_["bandwidth"]
    assert ct.velocity.get("kde", bandwidth="cv").fit(x1, "linear").bandwidth_ == search.best_params_["bandwidth"]


# -- blocked kernels ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("query_block, sample_block", [(1, 1), (3, 5), (7, 64), (1000, 1000)])
def test_blocked_softmax_average_equals_dense(query_block, sample_block):
    rng = np.random.default_rng(6)
    q, k, v = 4.0 * rng.standard_normal((37, 3)), rng.standard_normal((53, 3)), rng.standard_normal((53, 2))
    # sort keys so that each row's largest logits come late: the running maximum must be rescaled across blocks
    k = k[np.argsort(k[:, 0])]
    dense = softmax(q @ k.T, axis=1) @ v
    average, log_norm = kernels.softmax_average(q, k, v, query_block=query_block, sample_block=sample_block,
                                                return_log_normaliser=True)
    np.testing.assert_allclose(average, dense, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(log_norm, logsumexp(q @ k.T, axis=1), rtol=1e-13)


def test_blocked_posterior_mean_equals_dense_at_small_variance():
    """s2 down to 1e-8 (t near 1): logits of order 1e8, still equal to the dense softmax of -|x - b y|^2 / 2 s2."""
    rng = np.random.default_rng(7)
    x, y = rng.standard_normal((30, 2)), rng.standard_normal((45, 2))
    b, s2 = rng.uniform(0.0, 1.0, 30), 10.0 ** rng.uniform(-8, 1, 30)
    dense = softmax(-((x[:, None] - b[:, None, None] * y[None]) ** 2).sum(-1) / (2 * s2[:, None]), axis=1) @ y
    for blocks in ((2, 4), (kernels.QUERY_BLOCK, kernels.SAMPLE_BLOCK)):
        queries = np.hstack([x * (b / s2)[:, None], (-0.5 * b * b / s2)[:, None]])
        keys = np.hstack([y, (y * y).sum(1)[:, None]])
        blocked = kernels.softmax_average(queries, keys, y, query_block=blocks[0], sample_block=blocks[1])
        np.testing.assert_allclose(blocked, dense, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(kernels.gaussian_posterior_mean(x, y, b, s2), dense, rtol=1e-9, atol=1e-9)


def test_kernel_regression_equals_dense_product_kernel():
    rng = np.random.default_rng(8)
    points, centers, responses = rng.standard_normal((25, 3)), rng.standard_normal((80, 3)), rng.normal(size=(80, 2))
    h = np.array([0.1, 0.5, 0.3])
    w = np.exp(-0.5 * (((points[:, None] - centers[None]) / h) ** 2).sum(-1))
    dense = (w @ responses) / w.sum(1, keepdims=True)
    np.testing.assert_allclose(kernels.gaussian_kernel_regression(points, centers, responses, h), dense,
                               rtol=1e-11, atol=1e-12)


def test_nadaraya_watson_pairs_follow_the_path():
    """The stored regression pairs are X_t = alpha X0 + beta X1 and Y = alpha' X0 + beta' X1 for the same X0: with
    X1 recovered from the linear path (X1 = X_t + (1 - t) Y) every pair returns to a training sample."""
    rng = np.random.default_rng(9)
    x1 = rng.standard_normal((20, 2))
    est = ct.velocity.get("nadaraya_watson", pairs_per_sample=3, t_max=0.5).fit(x1, "linear", rng=rng)
    t, xt = est.covariates_[:, 0], est.covariates_[:, 1:]
    assert t.min() >= 0.0 and t.max() <= 0.5 and est.covariates_.shape == (60, 3)
    np.testing.assert_allclose(xt + (1 - t)[:, None] * est.responses_, np.repeat(x1, 3, axis=0), atol=1e-12)
