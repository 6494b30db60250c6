"""Gaussian mixtures: posterior mean and velocity against 1-D quadrature and Monte Carlo (singular components
included), log_prob against scipy and its integral, samples against the mixture moments."""
import numpy as np
import pytest
import scipy.integrate
import scipy.stats

import chargen_theory as ct
from test_targets_mc import marginal_points, mc_posterior_mean

PATHS = ["linear", "follmer", "trig"]

MEANS_1D = np.array([[-2.0], [0.5], [3.0]])
VARS_1D = np.array([0.3, 1.0, 0.05])
WEIGHTS_1D = np.array([0.2, 0.5, 0.3])

MEANS_2D = np.array([[1.0, 0.0], [-1.0, 1.0], [0.0, -1.5]])
COVS_2D = np.array([[[0.3, 0.1], [0.1, 0.2]],
                    [[0.5, 0.5], [0.5, 0.5]],  # rank 1: a Gaussian on the line through (-1, 1) along (1, 1)
                    [[0.0, 0.0], [0.0, 0.0]]])  # a Dirac at (0, -1.5)
WEIGHTS_2D = np.array([0.5, 0.3, 0.2])


def quad_posterior_mean_1d(a, b, x):
    """E[X1 | X_t = x] for the 1-D mixture by quadrature of y p(y) N(x; b y, a^2) over y."""
    def prior(y):
        return np.sum(WEIGHTS_1D * scipy.stats.norm.pdf(y, MEANS_1D[:, 0], np.sqrt(VARS_1D)))

    def like(y):
        return np.exp(-(x - b * y) ** 2 / (2 * a * a))

    lo, hi = -15.0, 15.0  # the prior's mass outside is < 1e-100
    if b > 0:  # the likelihood's mass lies within 12 sd (a / b) of x / b
        lo, hi = max(lo, (x - 12 * a) / b), min(hi, (x + 12 * a) / b)
    opts = dict(points=[m for m in MEANS_1D[:, 0] if lo < m < hi] or None, limit=400, epsabs=0, epsrel=1e-12)
    num = scipy.integrate.quad(lambda y: y * prior(y) * like(y), lo, hi, **opts)[0]
    den = scipy.integrate.quad(lambda y: prior(y) * like(y), lo, hi, **opts)[0]
    return num / den


@pytest.mark.parametrize("path", PATHS)
def test_one_dimensional_velocity_matches_quadrature(path):
    target = ct.targets.get("gmm", means=MEANS_1D, covs=VARS_1D[:, None, None], weights=WEIGHTS_1D)
    x = np.array([[-2.5], [-0.3], [1.2], [3.1]])
    p = ct.paths.get(path)
    for t in [0.0, 0.2, 0.6, 0.95, 0.999]:
        a, b, da, db = (float(c) for c in p.coefficients(t))
        m1 = np.array([[quad_posterior_mean_1d(a, b, xi)] for xi in x[:, 0]])
        np.testing.assert_allclose(target.posterior_mean(a, b, x), m1, rtol=1e-9, atol=1e-9)
        expected = da * (x - b * m1) / a + db * m1
        np.testing.assert_allclose(target.velocity(t, x, path), expected, rtol=1e-8, atol=1e-8)


def test_density_limit_at_t_one():
    target = ct.targets.get("gmm", means=MEANS_1D, covs=VARS_1D[:, None, None], weights=WEIGHTS_1D)
    x = np.array([[-2.5], [0.3], [7.0]])
    np.testing.assert_allclose(target.posterior_mean(0.0, 1.0, x), x, rtol=1e-13)
    np.testing.assert_allclose(target.velocity(1.0, x, "trig"), 0.0, atol=1e-15)  # b'(1) = 0 for trig
    with pytest.raises(ValueError, match="^t: .*follmer.*score"):
        target.velocity(1.0, x, "follmer")


def test_follmer_velocity_near_t_one_tends_to_x_plus_score():
    """follmer: alpha alpha' -> -1, so v(t, x) -> x + grad log p(x) as t -> 1 (score by finite differences)."""
    target = ct.targets.get("gmm", means=MEANS_1D, covs=VARS_1D[:, None, None], weights=WEIGHTS_1D)
    x = np.array([[-2.5], [0.3], [1.7]])
    eps = 1e-5
    score = (target.log_prob(x + eps) - target.log_prob(x - eps)) / (2 * eps)
    np.testing.assert_allclose(target.velocity(1 - 1e-9, x, "follmer")[:, 0], x[:, 0] + score, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("t", [0.25, 0.6, 0.85])
def test_singular_mixture_velocity_matches_monte_carlo(t):
    target = ct.targets.get("gmm", means=MEANS_2D, covs=COVS_2D, weights=WEIGHTS_2D)
    y = target.sample(300_000, np.random.default_rng(11))
    for path in PATHS:
        a, b, da, db = (float(c) for c in ct.paths.get(path).coefficients(t))
        x = marginal_points(target, a, b, 4, np.random.default_rng(12))
        est, se, ess = mc_posterior_mean(y, a, b, x)
        assert np.all(ess > 100)
        np.testing.assert_array_less(np.abs(target.posterior_mean(a, b, x) - est), 5 * se + 1e-12)
        v_est = da * (x - b * est) / a + db * est
        v_se = abs(db - da * b / a) * se
        np.testing.assert_array_less(np.abs(target.velocity(t, x, path) - v_est), 5 * v_se + 1e-12)


def test_singular_mixture_at_t_one_returns_the_nearest_point_of_the_support():
    """a -> 0 limit: x itself where a full-rank component has density, else the nearest point of the support."""
    target = ct.targets.get("gmm", means=MEANS_2D, covs=COVS_2D, weights=WEIGHTS_2D)
    x = np.array([[-1.0, 1.0], [0.0, 2.0], [-2.5, -0.5], [0.05, -1.45]])
    np.testing.assert_allclose(target.posterior_mean(0.0, 1.0, x), x, atol=1e-9)
    lower_dim = ct.targets.get("gmm", means=MEANS_2D[1:], covs=COVS_2D[1:], weights=[0.5, 0.5])
    assert lower_dim.intrinsic_dim == 1
    x = np.array([[0.05, -1.45], [0.0, 2.0], [1.0, 1.0], [-2.0, -0.5], [-1.0, -1.0]])
    on_line = lambda p: np.array([-1.0, 1.0]) + ((p - [-1.0, 1.0]) @ [0.5, 0.5]) * np.array([1.0, 1.0])
    # (-1, -1) is 1.41 from the line and 1.12 from the Dirac
    expected = np.array([[0.0, -1.5], [0.0, 2.0], on_line(x[2]), on_line(x[3]), [0.0, -1.5]])
    np.testing.assert_allclose(lower_dim.posterior_mean(0.0, 1.0, x), expected, atol=1e-9)
    x = np.random.default_rng(13).normal(size=(50, 2)) * 3
    for t in [1.0, 1 - 1e-12]:
        assert np.all(np.isfinite(lower_dim.velocity(t, x, "linear")))
    assert np.all(np.isfinite(target.velocity(1 - 1e-12, x, "follmer")))
    assert target.intrinsic_dim == 2


def mixture_density(x):
    return sum(w * scipy.stats.multivariate_normal(m, c).pdf(x)
               for w, m, c in zip(WEIGHTS_2D, MEANS_2D, [COVS_2D[0], np.eye(2) * 0.4, np.diag([0.2, 0.7])]))


def test_log_prob_matches_scipy_and_integrates_to_one():
    covs = np.array([COVS_2D[0], np.eye(2) * 0.4, np.diag([0.2, 0.7])])
    target = ct.targets.get("gmm", means=MEANS_2D, covs=covs, weights=WEIGHTS_2D)
    x = np.random.default_rng(14).normal(size=(9, 2))
    np.testing.assert_allclose(np.exp(target.log_prob(x)), mixture_density(x), rtol=1e-12)
    integrals = []
    for n in (301, 601):  # trapezoid on [-8, 8]^2; the difference between resolutions bounds the error
        g = np.linspace(-8, 8, n)
        xx, yy = np.meshgrid(g, g, indexing="ij")
        p = np.exp(target.log_prob(np.column_stack([xx.ravel(), yy.ravel()]))).reshape(n, n)
        integrals.append(scipy.integrate.trapezoid(scipy.integrate.trapezoid(p, g), g))
    assert abs(integrals[1] - integrals[0]) < 1e-6
    assert abs(integrals[1] - 1.0) < 1e-6
    # samples against the density: the mean and second moments from samples and from the grid integral
    moments = [scipy.integrate.trapezoid(scipy.integrate.trapezoid(p * f, g), g)
               for f in (xx, yy, xx * xx, yy * yy, xx * yy)]
    y = target.sample(100_000, np.random.default_rng(17))
    sample_moments = [y[:, 0], y[:, 1], y[:, 0] ** 2, y[:, 1] ** 2, y[:, 0] * y[:, 1]]
    for exact, values in zip(moments, sample_moments):
        assert abs(values.mean() - exact) < 5 * values.std() / np.sqrt(values.size)
    with pytest.raises(NotImplementedError):
        ct.targets.get("gmm", means=MEANS_2D, covs=COVS_2D, weights=WEIGHTS_2D).log_prob(x)


def test_samples_have_the_mixture_moments():
    target = ct.targets.get("gmm", means=MEANS_2D, covs=COVS_2D, weights=WEIGHTS_2D)
    n = 200_000
    y = target.sample(n, np.random.default_rng(15))
    mean = WEIGHTS_2D @ MEANS_2D
    second = np.einsum("k,kij->ij", WEIGHTS_2D, COVS_2D + MEANS_2D[:, :, None] * MEANS_2D[:, None, :])
    cov = second - np.outer(mean, mean)
    np.testing.assert_array_less(np.abs(y.mean(axis=0) - mean), 5 * np.sqrt(np.diag(cov) / n))
    np.testing.assert_allclose(np.cov(y.T), cov, atol=0.02)
    on_dirac = np.all(y == MEANS_2D[2], axis=1).mean()
    assert abs(on_dirac - WEIGHTS_2D[2]) < 5 * np.sqrt(0.2 * 0.8 / n)


def test_zero_weight_component_is_ignored():
    with_zero = ct.targets.get("gmm", means=MEANS_2D, covs=COVS_2D, weights=[0.6, 0.4, 0.0])
    without = ct.targets.get("gmm", means=MEANS_2D[:2], covs=COVS_2D[:2], weights=[0.6, 0.4])
    x = np.random.default_rng(16).normal(size=(6, 2))
    np.testing.assert_allclose(with_zero.velocity(0.4, x, "linear"), without.velocity(0.4, x, "linear"),
                               rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("kwargs, field", [
    (dict(weights=[0.5, 0.6, -0.1]), "weights"),
    (dict(weights=[0.5, 0.3, 0.3]), "weights"),
    (dict(weights=[0.5, 0.5]), "weights"),
    (dict(covs=COVS_2D + np.array([[0, 0.1], [0, 0]])), "covs"),
    (dict(covs=COVS_2D - 0.5 * np.eye(2)), "covs"),
    (dict(covs=COVS_2D[:2]), "covs"),
    (dict(means=np.array([[np.nan, 0.0], [0, 0], [1, 1]])), "means"),
    (dict(means=[1.0, 2.0, 3.0]), "means"),
])
def test_validation_names_the_field(kwargs, field):
    params = dict(means=MEANS_2D, covs=COVS_2D, weights=WEIGHTS_2D) | kwargs
    with pytest.raises(ValueError, match=f"^{field}:"):
        ct.targets.get("gmm", **params)
