"""Uniform boxes, smoothed or not: posterior mean / velocity against 1-D quadrature (every regime of the truncated
normal, t from 1e-9 to 1 - 1e-9) and Monte Carlo; log_prob against quadrature and its integral; samples."""
import numpy as np
import pytest
import scipy.integrate
import scipy.stats
from scipy.special import log_ndtr

import chargen_theory as ct
from chargen_theory.targets.box import truncated_normal_stats
from test_targets_mc import marginal_points, mc_posterior_mean

PATHS = ["linear", "follmer", "trig"]
LOW, HIGH = -0.5, 1.5
TIMES = [1e-9, 1e-4, 0.3, 0.9, 0.999, 1 - 1e-6, 1 - 1e-9]
X_1D = np.array([-3.0, -0.6, 0.2, 1.45, 2.0, 40.0])


def _ratio(log_f, lo, hi, points=()):
    """int y f / int f over [lo, hi] by quadrature, f = exp(log_f - max log_f) (the max taken on a grid)."""
    grid = np.linspace(lo, hi, 4001)
    top = np.max(log_f(grid))
    pts = [p for p in points if lo < p < hi] or None
    opts = dict(points=pts, limit=500, epsrel=1e-12)
    den = scipy.integrate.quad(lambda y: np.exp(log_f(y) - top), lo, hi, epsabs=0, **opts)[0]
    # the first moment may vanish: ask for an absolute accuracy of 1e-14 on the ratio
    num = scipy.integrate.quad(lambda y: y * np.exp(log_f(y) - top), lo, hi, epsabs=1e-14 * den, **opts)[0]
    return num / den


def quad_box_mean(a, b, x):
    """E[Y | a X0 + b Y = x], Y ~ U[LOW, HIGH], by quadrature. In v = (y - c) / sd, c = clip(x / b), sd = a / b, the
    log-likelihood relative to y = c is g v - v^2 / 2 with g = (x - b c) / a, free of cancellation."""
    c, sd = np.clip(x / b, LOW, HIGH), a / b
    g = (x - b * c) / a
    lo, hi = (LOW - c) / sd, (HIGH - c) / sd
    top = np.clip(g, lo, hi)  # where g v - v^2/2 is largest
    width = 40.0 / max(1.0, abs(g - top))
    lo, hi = max(lo, top - width), min(hi, top + width)
    return c + sd * _ratio(lambda v: g * v - 0.5 * v * v, lo, hi)


def log_smoothed_density(y, sigma):
    """log density of U[LOW, HIGH] * N(0, sigma^2): log(Phi(beta) - Phi(alpha)) / (HIGH - LOW) with log_ndtr on the
    side where the difference does not cancel."""
    al, be = (LOW - y) / sigma, (HIGH - y) / sigma
    with np.errstate(divide="ignore"):  # np.where evaluates both sides
        right = log_ndtr(-al) + np.log1p(-np.exp(log_ndtr(-be) - log_ndtr(-al)))  # y < midpoint: 1 - Phi differences
        left = log_ndtr(be) + np.log1p(-np.exp(log_ndtr(al) - log_ndtr(be)))
    return np.where(y < 0.5 * (LOW + HIGH), right, left) - np.log(HIGH - LOW)


def quad_smoothed_mean(a, b, x, sigma):
    """E[X1 | a X0 + b X1 = x] for X1 with the smoothed density, by quadrature over x1 (no splitting formula)."""
    c, sd = x / b, a / b
    lo, hi = max(LOW - 40 * sigma, c - 40 * sd), min(HIGH + 40 * sigma, c + 40 * sd)
    return _ratio(lambda y: log_smoothed_density(y, sigma) - (x - b * y) ** 2 / (2 * a * a), lo, hi, [c, LOW, HIGH])


@pytest.mark.parametrize("path", PATHS)
def test_unsmoothed_box_velocity_matches_quadrature(path):
    target = ct.targets.get("box", low=[LOW], high=[HIGH])
    p = ct.paths.get(path)
    for t in TIMES:
        a, b, da, db = (float(c) for c in p.coefficients(t))
        m1 = np.array([quad_box_mean(a, b, x) for x in X_1D])
        got = target.posterior_mean(a, b, X_1D[:, None])[:, 0]
        np.testing.assert_allclose(got, m1, rtol=1e-10, atol=1e-12, err_msg=f"t={t}")
        # the velocity compared where (x - b m1) / a loses no more than 1e-6 to cancellation
        if a > 1e-9:
            expected = da * (X_1D - b * m1) / a + db * m1
            np.testing.assert_allclose(target.velocity(t, X_1D[:, None], path)[:, 0], expected,
                                       rtol=1e-6, atol=1e-6, err_msg=f"t={t}")


def test_unsmoothed_box_at_t_one_is_the_nearest_point():
    target = ct.targets.get("box", low=[LOW], high=[HIGH])
    np.testing.assert_allclose(target.posterior_mean(0.0, 1.0, X_1D[:, None])[:, 0], np.clip(X_1D, LOW, HIGH),
                               rtol=1e-14)
    np.testing.assert_allclose(target.posterior_mean(1.0, 0.0, X_1D[:, None])[:, 0], 0.5 * (LOW + HIGH))


@pytest.mark.parametrize("path", PATHS)
def test_smoothed_box_velocity_matches_quadrature(path):
    sigma = 0.3
    target = ct.targets.get("box", low=[LOW], high=[HIGH], sigma=sigma)
    p = ct.paths.get(path)
    for t in [1e-6, 0.3, 0.9, 0.999, 1 - 1e-6]:
        a, b, da, db = (float(c) for c in p.coefficients(t))
        m1 = np.array([quad_smoothed_mean(a, b, x, sigma) for x in X_1D[:-1]])
        got = target.posterior_mean(a, b, X_1D[:-1, None])[:, 0]
        np.testing.assert_allclose(got, m1, rtol=1e-9, atol=1e-11, err_msg=f"t={t}")
        expected = da * (X_1D[:-1] - b * m1) / a + db * m1
        np.testing.assert_allclose(target.velocity(t, X_1D[:-1, None], path)[:, 0], expected,
                                   rtol=1e-6, atol=1e-6, err_msg=f"t={t}")
    np.testing.assert_allclose(target.posterior_mean(0.0, 1.0, X_1D[:, None]), X_1D[:, None], rtol=1e-13)


@pytest.mark.parametrize("sigma", [0.0, 0.4])
def test_two_dimensional_box_matches_monte_carlo(sigma):
    target = ct.targets.get("box", low=[-1.0, 0.0], high=[1.0, 0.5], sigma=sigma)
    y = target.sample(200_000, np.random.default_rng(20))
    for t in [0.4, 0.8]:
        x = marginal_points(target, 1 - t, t, 4, np.random.default_rng(21))
        est, se, ess = mc_posterior_mean(y, 1 - t, t, x)
        assert np.all(ess > 100)
        np.testing.assert_array_less(np.abs(target.posterior_mean(1 - t, t, x) - est), 5 * se + 1e-12)


def test_truncated_normal_stats_against_mpmath():
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 60
    for zmid in [-1e3, -40.0, -3.0, -0.5, 0.0, 0.3, 3.99, 4.01, 39.0]:
        for w in [1e-14, 1e-6, 0.1, 0.99, 1.01, 3.0, 100.0, 1e4]:
            log_mass, shift = truncated_normal_stats(np.array(zmid), np.array(w))
            z, width = mp.mpf(zmid), mp.mpf(w)
            lo, hi = z - width / 2, z + width / 2
            r = mp.sqrt(2)
            mass = (mp.erfc(lo / r) - mp.erfc(hi / r)) / 2 if zmid >= 0 else (mp.erfc(-hi / r) - mp.erfc(-lo / r)) / 2
            exact_shift = (mp.npdf(lo) - mp.npdf(hi)) / mass - z
            assert abs(float(log_mass) - float(mp.log(mass / width))) <= 1e-14 * max(1.0, abs(float(log_mass)))
            assert abs(float(shift) - float(exact_shift)) <= 1e-11 * abs(float(exact_shift))


def test_log_prob():
    unsmoothed = ct.targets.get("box", low=[LOW, 0.0], high=[HIGH, 0.25])
    x = np.array([[0.0, 0.1], [1.5, 0.25], [2.0, 0.1], [0.0, -0.01]])
    np.testing.assert_allclose(unsmoothed.log_prob(x), [np.log(2.0), np.log(2.0), -np.inf, -np.inf])
    sigma = 0.3
    smooth1 = ct.targets.get("box", low=[LOW], high=[HIGH], sigma=sigma)
    for y in [-2.0, 0.1, 1.6, 4.0]:  # convolution integral by quadrature
        conv = scipy.integrate.quad(lambda u: scipy.stats.norm.pdf(y, u, sigma) / (HIGH - LOW), LOW, HIGH,
                                    epsabs=0, epsrel=1e-12)[0]
        np.testing.assert_allclose(np.exp(smooth1.log_prob([[y]]))[0], conv, rtol=1e-10)
    smooth2 = ct.targets.get("box", low=[LOW, 0.0], high=[HIGH, 0.25], sigma=sigma)
    integrals = []
    for n in (201, 401):
        gx, gy = np.linspace(LOW - 3, HIGH + 3, n), np.linspace(-3, 3.25, n)
        xx, yy = np.meshgrid(gx, gy, indexing="ij")
        p = np.exp(smooth2.log_prob(np.column_stack([xx.ravel(), yy.ravel()]))).reshape(n, n)
        integrals.append(scipy.integrate.trapezoid(scipy.integrate.trapezoid(p, gy), gx))
    assert abs(integrals[1] - integrals[0]) < 1e-5
    assert abs(integrals[1] - 1.0) < 1e-5


def test_samples_match_the_moments():
    sigma, n = 0.3, 200_000
    target = ct.targets.get("box", low=[LOW, 0.0], high=[HIGH, 0.25], sigma=sigma)
    y = target.sample(n, np.random.default_rng(22))
    var = np.array([(HIGH - LOW) ** 2, 0.25 ** 2]) / 12 + sigma ** 2
    np.testing.assert_array_less(np.abs(y.mean(axis=0) - [0.5, 0.125]), 5 * np.sqrt(var / n))
    np.testing.assert_allclose(y.var(axis=0), var, rtol=0.02)
    def cdf(v):  # of U[LOW, HIGH] + sigma Z: sigma (G((v - LOW)/sigma) - G((v - HIGH)/sigma)) / (HIGH - LOW)
        g = lambda u: u * scipy.stats.norm.cdf(u) + scipy.stats.norm.pdf(u)
        return sigma * (g((v - LOW) / sigma) - g((v - HIGH) / sigma)) / (HIGH - LOW)
    assert scipy.stats.kstest(y[:, 0], cdf).pvalue > 1e-3


def test_validation():
    with pytest.raises(ValueError, match="^high:"):
        ct.targets.get("box", low=[0.0, 0.0], high=[1.0, 0.0])
    with pytest.raises(ValueError, match="^high:"):
        ct.targets.get("box", low=[0.0, 0.0], high=[1.0])
    with pytest.raises(ValueError, match="^sigma:"):
        ct.targets.get("box", low=[0.0], high=[1.0], sigma=-0.1)
