"""The named 2-D sets: layout, checkerboard against product quadrature, rings against angular quadrature, Monte
Carlo for the smoothed versions, log_prob integrals and the t = 1 limit."""
import numpy as np
import pytest
import scipy.integrate

import chargen_theory as ct
from test_targets_mc import marginal_points, mc_posterior_mean

PATHS = ["linear", "follmer", "trig"]


def grid_integral(target, half=4.0, n=201):
    g = np.linspace(-half, half, n)
    xx, yy = np.meshgrid(g, g, indexing="ij")
    p = np.exp(target.log_prob(np.column_stack([xx.ravel(), yy.ravel()]))).reshape(n, n)
    return scipy.integrate.trapezoid(scipy.integrate.trapezoid(p, g), g)


def test_layouts():
    eight = ct.targets.get("8gaussians")
    np.testing.assert_allclose(np.linalg.norm(eight.means, axis=1), 2.0)
    np.testing.assert_allclose(eight.covs, np.broadcast_to(0.04 * np.eye(2), (8, 2, 2)))
    assert eight.params == {"radius": 2.0, "std": 0.2} and eight.name == "8gaussians"
    four = ct.targets.get("8gaussians", radius=4.0, std=0.5)
    np.testing.assert_allclose(np.sort(four.means[:, 0])[[0, -1]], [-4.0, 4.0])
    grid = ct.targets.get("grid")
    assert grid.means.shape == (25, 2)
    np.testing.assert_allclose(np.unique(grid.means[:, 0]), [-2, -1, 0, 1, 2])
    board = ct.targets.get("checkerboard")
    assert board.lows.shape == (8, 2)
    np.testing.assert_allclose(board.highs - board.lows, 1.0)
    assert np.all((board.lows + 2).sum(axis=1) % 2 == 0)
    rings = ct.targets.get("rings")
    assert (rings.dim, rings.intrinsic_dim) == (2, 1)
    y = rings.sample(1000, np.random.default_rng(40))
    assert set(np.round(np.linalg.norm(y, axis=1), 12)) <= {0.5, 1.0, 1.5, 2.0}


def test_eight_gaussians_matches_monte_carlo():
    target = ct.targets.get("8gaussians")
    y = target.sample(200_000, np.random.default_rng(41))
    for t in [0.3, 0.8]:
        x = marginal_points(target, 1 - t, t, 5, np.random.default_rng(42))
        est, se, ess = mc_posterior_mean(y, 1 - t, t, x)
        assert np.all(ess > 100)
        np.testing.assert_array_less(np.abs(target.posterior_mean(1 - t, t, x) - est), 5 * se + 1e-12)


def quad_checkerboard_mean(board, a, b, x, sigma):
    """E[X1 | x] for the (smoothed) checkerboard: over squares, products of 1-D quadratures of the uniform density
    times the Gaussian likelihood of Y (scale s), shifted by its value e at the square's nearest point."""
    s = np.sqrt(a * a + (b * sigma) ** 2)
    log_w, means = [], []
    for lo, hi in zip(board.lows, board.highs):
        log_mass, mean = 0.0, np.zeros(2)
        for d in range(2):
            c = np.clip(x[d] / b, lo[d], hi[d])
            e = (x[d] - b * c) ** 2
            f = lambda y, k: y ** k * np.exp(-((x[d] - b * y) ** 2 - e) / (2 * s * s))
            # the integrand decays from y = c on the scale min(s / b, s^2 / (b |x - b c|)): integrate 40 scales
            scale = s / b if e == 0 else min(s / b, s * s / (b * np.sqrt(e)))
            left, right = max(lo[d], c - 40 * scale), min(hi[d], c + 40 * scale)
            opts = dict(points=[c] if left < c < right else None, limit=200, epsabs=0, epsrel=1e-11)
            mass = scipy.integrate.quad(f, left, right, args=(0,), **opts)[0]
            mean[d] = scipy.integrate.quad(f, left, right, args=(1,), **opts)[0] / mass
            log_mass += np.log(mass) - e / (2 * s * s)
        log_w.append(log_mass)
        means.append(mean)
    w = np.exp(np.array(log_w) - max(log_w))
    mean_y = w @ np.array(means) / w.sum()
    return mean_y + b * sigma ** 2 / s ** 2 * (x - b * mean_y)  # the Gaussian part of X1 = Y + sigma E


@pytest.mark.parametrize("sigma", [0.0, 0.15])
def test_checkerboard_matches_product_quadrature(sigma):
    board = ct.targets.get("checkerboard", sigma=sigma)
    x = np.array([[0.3, 0.4], [-0.2, 1.5], [2.4, -2.2], [0.0, 0.0], [-1.1, 0.05]])
    for path in PATHS:
        p = ct.paths.get(path)
        for t in [1e-6, 0.3, 0.8, 0.99, 0.999]:
            a, b, da, db = (float(c) for c in p.coefficients(t))
            m1 = np.array([quad_checkerboard_mean(board, a, b, xi, sigma) for xi in x])
            np.testing.assert_allclose(board.posterior_mean(a, b, x), m1, rtol=1e-9, atol=1e-10,
                                       err_msg=f"{path} t={t}")
            np.testing.assert_allclose(board.velocity(t, x, path), da * (x - b * m1) / a + db * m1,
                                       rtol=1e-7, atol=1e-8)


def test_smoothed_checkerboard_matches_monte_carlo():
    """Checks the split E[X1|x] = E[Y|x] + (b sigma^2 / s^2)(x - b E[Y|x]) that the quadrature above reuses."""
    board = ct.targets.get("checkerboard", sigma=0.3)
    y = board.sample(200_000, np.random.default_rng(43))
    for t in [0.5, 0.85]:
        x = marginal_points(board, 1 - t, t, 5, np.random.default_rng(44))
        est, se, ess = mc_posterior_mean(y, 1 - t, t, x)
        assert np.all(ess > 100)
        np.testing.assert_array_less(np.abs(board.posterior_mean(1 - t, t, x) - est), 5 * se + 1e-12)


def test_checkerboard_at_t_one():
    board = ct.targets.get("checkerboard")
    x = np.array([[0.5, 0.5], [-1.5, -1.5], [0.5, -0.5], [2.9, 2.2]])  # in, in, white square, outside
    m1 = board.posterior_mean(0.0, 1.0, x)
    np.testing.assert_allclose(m1[:2], x[:2], rtol=1e-14)
    assert np.all(np.isfinite(m1))
    np.testing.assert_allclose(m1[3], [2.0, 2.0])  # the nearest black square's corner
    np.testing.assert_allclose(np.exp(board.log_prob(x)), [1 / 8, 1 / 8, 0, 0])
    smooth = ct.targets.get("checkerboard", sigma=0.2)
    np.testing.assert_allclose(smooth.posterior_mean(0.0, 1.0, x), x, rtol=1e-13)
    assert abs(grid_integral(smooth) - 1.0) < 1e-6


def quad_rings_mean(rings, a, b, x):
    """E[Y | x] for concentric circles by angular quadrature on each ring (weights include the ring integrals)."""
    phi = np.arctan2(x[1], x[0])
    terms = []
    for r, w in zip(rings.radii, rings.weights):
        log_like = lambda th: -np.sum((x - b * r * np.array([np.cos(th), np.sin(th)])) ** 2) / (2 * a * a)
        top = log_like(phi)
        half = min(np.pi, 40 * a / np.sqrt(b * r * np.linalg.norm(x)))  # the peak's width is a / sqrt(b r |x|)
        lo, hi = phi - half, phi + half
        opts = dict(points=[phi], limit=400, epsrel=1e-11)
        f = lambda th, g: g(th) * np.exp(log_like(th) - top) / (2 * np.pi)
        mass = scipy.integrate.quad(f, lo, hi, args=(lambda th: 1.0,), epsabs=0, **opts)[0]
        opts["epsabs"] = 1e-13 * mass  # a coordinate of the first moment may vanish
        cx = scipy.integrate.quad(f, lo, hi, args=(lambda th: r * np.cos(th),), **opts)[0]
        cy = scipy.integrate.quad(f, lo, hi, args=(lambda th: r * np.sin(th),), **opts)[0]
        terms.append((np.log(w) + top, mass, np.array([cx, cy])))
    ref = max(lw for lw, _, _ in terms)
    den = sum(np.exp(lw - ref) * m for lw, m, _ in terms)
    return sum(np.exp(lw - ref) * c for lw, _, c in terms) / den


def test_rings_match_angular_quadrature():
    rings = ct.targets.get("rings", weights=[0.1, 0.2, 0.3, 0.4])
    x = np.array([[0.3, 0.1], [-0.9, 0.6], [1.2, -1.4], [0.0, -2.6]])
    for path in PATHS:
        p = ct.paths.get(path)
        for t in [0.1, 0.5, 0.9, 0.99, 0.999]:
            a, b, da, db = (float(c) for c in p.coefficients(t))
            m1 = np.array([quad_rings_mean(rings, a, b, xi) for xi in x])
            np.testing.assert_allclose(rings.posterior_mean(a, b, x), m1, rtol=1e-9, atol=1e-11,
                                       err_msg=f"{path} t={t}")
            np.testing.assert_allclose(rings.velocity(t, x, path), da * (x - b * m1) / a + db * m1,
                                       rtol=1e-7, atol=1e-9)
    nearest = rings.posterior_mean(0.0, 1.0, x)  # t = 1: radial projection on the nearest ring
    radius = np.array([0.5, 1.0, 1.5, 2.0])[[0, 1, 3, 3]]
    np.testing.assert_allclose(nearest, radius[:, None] * x / np.linalg.norm(x, axis=1, keepdims=True),
                               rtol=1e-12, atol=1e-12)


def test_smoothed_rings():
    rings = ct.targets.get("rings", sigma=0.1)
    assert abs(grid_integral(rings) - 1.0) < 1e-6
    y = rings.sample(200_000, np.random.default_rng(45))
    for t in [0.4, 0.8]:
        x = marginal_points(rings, 1 - t, t, 5, np.random.default_rng(46))
        est, se, ess = mc_posterior_mean(y, 1 - t, t, x)
        assert np.all(ess > 100)
        np.testing.assert_array_less(np.abs(rings.posterior_mean(1 - t, t, x) - est), 5 * se + 1e-12)
    x = np.random.default_rng(47).normal(size=(5, 2))
    np.testing.assert_allclose(rings.posterior_mean(0.0, 1.0, x), x, rtol=1e-12)
    # samples against the density: the mean radius, E|X1|, from samples and from a polar integral of log_prob
    radial = scipy.integrate.quad(lambda r: 2 * np.pi * r * r * np.exp(rings.log_prob([[r, 0.0]]))[0], 0, 3.5,
                                  points=[0.5, 1.0, 1.5, 2.0], limit=200)[0]
    norms = np.linalg.norm(y, axis=1)
    assert abs(norms.mean() - radial) < 5 * norms.std() / np.sqrt(norms.size)


@pytest.mark.parametrize("name, params, field", [
    ("8gaussians", dict(std=0.0), "std"),
    ("grid", dict(size=0), "size"),
    ("checkerboard", dict(size=1), "size"),
    ("checkerboard", dict(sigma=-1.0), "sigma"),
    ("rings", dict(radii=[1.0, -1.0]), "radii"),
    ("rings", dict(weights=[0.5, 0.5]), "weights"),
])
def test_validation(name, params, field):
    with pytest.raises(ValueError, match=f"^{field}:"):
        ct.targets.get(name, **params)
