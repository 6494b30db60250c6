"""Spheres: the von Mises-Fisher posterior mean against angular quadrature (d* = 1), Langevin's closed form
A_3 = coth - 1/kappa (d* = 2) and Monte Carlo; the smoothed sphere's log_prob against quadrature and its integral;
limits (P x = 0, t -> 1) without NaN; Bessel helpers against mpmath."""
import numpy as np
import pytest
import scipy.integrate

import chargen_theory as ct
from chargen_theory.targets.sphere import bessel_ratio_over_kappa, log_vmf_normaliser
from test_targets_mc import marginal_points, mc_posterior_mean

PATHS = ["linear", "follmer", "trig"]


def quad_circle_mean(target, a, b, x):
    """E[Y | a X0 + b Y = x] for Y uniform on the circle r (V0 cos th + V1 sin th), by quadrature over th."""
    v, r = target.frame, target.radii[0]
    px = x @ v
    phi = np.arctan2(px[1], px[0])
    kappa = b * r * np.linalg.norm(px) / a ** 2
    log_w = lambda th: kappa * (np.cos(th - phi) - 1.0)  # b <x, y(th)> / a^2 minus its maximum
    half = min(np.pi, 40 / np.sqrt(kappa))  # outside, the integrand is below exp(-140)
    lo, hi = phi - half, phi + half
    opts = dict(points=[phi], limit=400, epsrel=1e-12)
    den = scipy.integrate.quad(lambda th: np.exp(log_w(th)), lo, hi, epsabs=0, **opts)[0]
    opts["epsabs"] = 1e-14 * den  # cos or sin moments may vanish
    cos = scipy.integrate.quad(lambda th: np.cos(th) * np.exp(log_w(th)), lo, hi, **opts)[0]
    sin = scipy.integrate.quad(lambda th: np.sin(th) * np.exp(log_w(th)), lo, hi, **opts)[0]
    return r * (v[:, 0] * cos + v[:, 1] * sin) / den


@pytest.mark.parametrize("path", PATHS)
def test_circle_in_three_dimensions_matches_quadrature(path):
    target = ct.targets.get("sphere", intrinsic_dim=1, dim=3, radius=1.5, seed=3)
    x = np.random.default_rng(30).normal(size=(4, 3)) * 1.5
    p = ct.paths.get(path)
    for t in [0.2, 0.6, 0.95, 0.999]:
        a, b, da, db = (float(c) for c in p.coefficients(t))
        m1 = np.array([quad_circle_mean(target, a, b, xi) for xi in x])
        np.testing.assert_allclose(target.posterior_mean(a, b, x), m1, rtol=1e-9, atol=1e-11, err_msg=f"t={t}")
        expected = da * (x - b * m1) / a + db * m1
        np.testing.assert_allclose(target.velocity(t, x, path), expected, rtol=1e-7, atol=1e-9)


def test_two_sphere_matches_langevin_closed_form():
    """For p = 3, A_3(kappa) = I_{3/2} / I_{1/2} = coth(kappa) - 1/kappa."""
    target = ct.targets.get("sphere", intrinsic_dim=2, dim=4, radius=0.8, seed=5)
    x = np.random.default_rng(31).normal(size=(5, 4))
    proj = target.frame @ target.frame.T
    for t in [0.1, 0.5, 0.9, 0.999, 1 - 1e-7]:
        a, b = 1 - t, t
        px = x @ proj
        rho = np.linalg.norm(px, axis=1, keepdims=True)
        kappa = b * 0.8 * rho / a ** 2
        expected = 0.8 * (1 / np.tanh(kappa) - 1 / kappa) * px / rho
        np.testing.assert_allclose(target.posterior_mean(a, b, x), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("spec", [dict(intrinsic_dim=2, dim=4, radius=0.8), dict(intrinsic_dim=2, dim=3, sigma=0.2),
                                  dict(intrinsic_dim=3, dim=5, radius=1.3, sigma=0.1)], ids=["sharp", "smooth", "S3"])
def test_sphere_matches_monte_carlo(spec):
    target = ct.targets.get("sphere", **spec)
    y = target.sample(200_000, np.random.default_rng(32))
    for t in [0.3, 0.7]:
        a, b = np.sqrt(1 - t * t), t  # follmer coefficients
        x = marginal_points(target, a, b, 4, np.random.default_rng(33))
        est, se, ess = mc_posterior_mean(y, a, b, x)
        assert np.all(ess > 100)
        np.testing.assert_array_less(np.abs(target.posterior_mean(a, b, x) - est), 5 * se + 1e-12)
    if target.sigma > 0:  # a density: the posterior at t = 1 is the point itself
        x = np.random.default_rng(38).normal(size=(5, target.dim))
        np.testing.assert_allclose(target.posterior_mean(0.0, 1.0, x), x, rtol=1e-12)


def test_limits_without_nan():
    target = ct.targets.get("sphere", intrinsic_dim=2, dim=4, radius=2.0, seed=1)
    v = target.frame
    normal = np.linalg.svd(v, full_matrices=True)[0][:, 3]  # orthogonal to the sphere's span
    centre = np.zeros((1, 4))  # P x = 0: the posterior mean is the sphere's centre for every t
    for t in [0.0, 0.5, 1 - 1e-12, 1.0]:
        for path in PATHS:
            if t == 1.0 and path == "follmer":  # alpha alpha' -> -1: needs the (singular) score, rejected
                with pytest.raises(ValueError, match="^t: "):
                    target.velocity(t, centre, path)
                continue
            assert np.all(np.isfinite(target.velocity(t, centre, path)))
        np.testing.assert_array_equal(target.posterior_mean(1 - t, t, centre), 0.0)
    on_axis = 0.7 * normal[None]  # P x = 0 up to round-off: m1 = O(b |P x| / a^2) while a is not tiny
    for t in [0.0, 0.5, 0.9]:
        np.testing.assert_allclose(target.posterior_mean(1 - t, t, on_axis), 0.0, atol=1e-12)
    x = np.random.default_rng(34).normal(size=(6, 4))
    px = x @ v @ v.T
    radial = 2.0 * px / np.linalg.norm(px, axis=1, keepdims=True)
    np.testing.assert_allclose(target.posterior_mean(0.0, 1.0, x), radial, rtol=1e-13)
    np.testing.assert_allclose(target.posterior_mean(1e-9, 1.0, x), radial, rtol=1e-12)  # kappa ~ 1e18
    np.testing.assert_allclose(target.posterior_mean(1.0, 0.0, x), 0.0, atol=1e-15)
    assert np.all(np.isfinite(target.velocity(1 - 1e-9, x, "follmer")))


def test_high_dimensional_sphere_is_finite_and_matches_the_small_kappa_limit():
    target = ct.targets.get("sphere", intrinsic_dim=60, dim=64, radius=1.0)
    x = np.random.default_rng(35).normal(size=(8, 64))
    for t in [1e-6, 0.5, 0.999, 1.0]:
        assert np.all(np.isfinite(target.velocity(t, x, "linear")))
    # kappa -> 0: A_p(kappa) ~ kappa / p, so m1 ~ r^2 b P x / (p a^2)
    a, b = 1.0, 1e-7
    px = x @ target.frame @ target.frame.T
    np.testing.assert_allclose(target.posterior_mean(a, b, x), b * px / 61, rtol=1e-10)


def test_smoothed_log_prob_matches_quadrature_and_integrates_to_one():
    sigma = 0.25
    circle = ct.targets.get("sphere", intrinsic_dim=1, dim=3, radius=1.2, sigma=sigma, seed=2)
    v = circle.frame
    for x in np.random.default_rng(36).normal(size=(3, 3)):
        dens = scipy.integrate.quad(lambda th: np.exp(-np.sum((x - 1.2 * (v[:, 0] * np.cos(th) + v[:, 1] * np.sin(th)))
                                                               ** 2) / (2 * sigma ** 2)), 0, 2 * np.pi,
                                    epsabs=0, epsrel=1e-12)[0] / (2 * np.pi * (2 * np.pi * sigma ** 2) ** 1.5)
        np.testing.assert_allclose(np.exp(circle.log_prob(x[None]))[0], dens, rtol=1e-10)
    two = ct.targets.get("sphere", intrinsic_dim=2, dim=3, radius=1.0, sigma=sigma)
    e = np.array([[0.6, 0.0, 0.8]])

    def radial_density(rho):
        return np.exp(two.log_prob(rho * e))[0]

    total = scipy.integrate.quad(lambda rho: 4 * np.pi * rho ** 2 * radial_density(rho), 0, 1 + 12 * sigma,
                                 epsabs=1e-13, epsrel=1e-11, points=[1.0])[0]
    assert abs(total - 1.0) < 1e-9
    flat = ct.targets.get("sphere", intrinsic_dim=1, dim=2, radius=1.0, sigma=sigma)
    g = np.linspace(-4, 4, 601)
    xx, yy = np.meshgrid(g, g, indexing="ij")
    p = np.exp(flat.log_prob(np.column_stack([xx.ravel(), yy.ravel()]))).reshape(g.size, g.size)
    assert abs(scipy.integrate.trapezoid(scipy.integrate.trapezoid(p, g), g) - 1.0) < 1e-8
    with pytest.raises(NotImplementedError):
        ct.targets.get("sphere", intrinsic_dim=1, dim=2).log_prob(e[:, :2])


def test_samples_are_uniform_on_the_sphere():
    target = ct.targets.get("sphere", intrinsic_dim=2, dim=5, radius=1.7, seed=4)
    n = 100_000
    y = target.sample(n, np.random.default_rng(37))
    v = target.frame
    np.testing.assert_allclose(np.linalg.norm(y @ v, axis=1), 1.7, rtol=1e-12)
    np.testing.assert_allclose(y - y @ v @ v.T, 0.0, atol=1e-12)
    cov = 1.7 ** 2 / 3 * v @ v.T  # E[u u^T] = I / p on the unit sphere in R^p
    np.testing.assert_array_less(np.abs(y.mean(axis=0)), 5 * np.sqrt(np.diag(cov) / n) + 1e-12)
    np.testing.assert_allclose(np.cov(y.T), cov, atol=0.02)
    np.testing.assert_allclose(v.T @ v, np.eye(3), atol=1e-14)


def test_bessel_helpers_against_mpmath():
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 40
    for nu in [0.0, 0.5, 1.0, 4.5, 31.5, 99.5]:
        for kappa in [0.0, 1e-12, 1e-3, 0.3, 2.0, 30.0, 1e3, 1e7, 1e9, 1e15]:
            k = mp.mpf(kappa)
            if kappa == 0:
                log_norm, ratio = mp.mpf(0), 1 / mp.mpf(2 * nu + 2)
            else:
                i_nu = mp.besseli(nu, k)
                log_norm = mp.log(mp.gamma(nu + 1) * (k / 2) ** (-nu) * i_nu)
                ratio = mp.besseli(nu + 1, k) / (k * i_nu)
            got_log = float(log_vmf_normaliser(nu, np.array([kappa]))[0])
            got_ratio = float(bessel_ratio_over_kappa(nu, np.array([kappa]))[0])
            assert abs(got_log - float(log_norm)) <= 1e-12 * max(1.0, abs(float(log_norm))), (nu, kappa)
            assert abs(got_ratio - float(ratio)) <= 1e-12 * float(ratio), (nu, kappa)


def test_validation():
    with pytest.raises(ValueError, match="intrinsic_dim"):
        ct.targets.get("sphere", intrinsic_dim=3, dim=3)
    with pytest.raises(ValueError, match="^intrinsic_dim:"):
        ct.targets.get("sphere", intrinsic_dim=201, dim=300)
    with pytest.raises(ValueError, match="^radius:"):
        ct.targets.get("sphere", intrinsic_dim=1, dim=2, radius=0.0)
    with pytest.raises(ValueError, match="^seed:"):
        ct.targets.get("sphere", intrinsic_dim=1, dim=2, seed=-1)
