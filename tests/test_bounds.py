"""Bounds on W2 (metrics.bounds) and the bound verdict (rates.bound_verdict), against independent routes: Bures by
scipy.linalg.sqrtm, 1-D W2 by quadrature of quantile differences (scipy.integrate.quad), quantiles by scipy.stats
and brentq, Monte Carlo of the estimators themselves for the floors, and synthetic slope series."""
import math
import time

import numpy as np
import pytest
from scipy import integrate, optimize, stats
from scipy.linalg import sqrtm

import chargen_theory as ct
from chargen_theory import rates
from chargen_theory.metrics import (bracket, bracket_columns, coupling_upper, gaussian_quantile, gelbrich_lower,
                                    mixture_quantile, sliced_lower, target_moments, target_quantile)


def random_spd(rng, D):
    A = rng.standard_normal((D, D))
    return A @ A.T + 0.2 * np.eye(D)


def sym_root(S):
    return np.real(sqrtm(S))


def bures_by_sqrtm(m1, S1, m2, S2):
    root2 = sym_root(S2)
    return math.sqrt(np.sum((m1 - m2) ** 2) + np.trace(S1 + S2 - 2.0 * sym_root(root2 @ S1 @ root2)))


def ot_map_matrix(S1, S2):
    """A with x -> m2 + A (x - m1) the OT map from N(m1, S1) to N(m2, S2)."""
    r1 = sym_root(S1)
    r1_inv = np.linalg.inv(r1)
    return r1_inv @ sym_root(r1 @ S2 @ r1) @ r1_inv


# -- exact W2 bracketed: Gaussians -------------------------------------------------------------------------------
@pytest.mark.parametrize("D", [2, 5])
def test_bracket_holds_for_two_gaussians(D):
    rng = np.random.default_rng(10 + D)
    m1, m2 = rng.standard_normal(D), rng.standard_normal(D)
    S1, S2 = random_spd(rng, D), random_spd(rng, D)
    exact = bures_by_sqrtm(m1, S1, m2, S2)
    assert exact == pytest.approx(ct.metrics.w2_gaussian(m1, S1, m2, S2), rel=1e-9)  # closed form vs sqrtm

    n = 40_000
    z = rng.standard_normal((n, D))
    x = m1 + z @ sym_root(S1)  # x_i = G(z_i)
    common = m2 + z @ sym_root(S2)  # T(z_i): a coupling of the two laws, not the optimal one
    optimal = m2 + (x - m1) @ ot_map_matrix(S1, S2).T

    upper = coupling_upper(x, common)
    assert upper.method == "coupling" and upper.n == n and upper.floor == 0.0
    # the cost of this coupling in closed form: E|m1 - m2 + (R1 - R2) z|^2 = |m1 - m2|^2 + |R1 - R2|_F^2 >= W2^2
    cost = math.sqrt(np.sum((m1 - m2) ** 2) + np.sum((sym_root(S1) - sym_root(S2)) ** 2))
    assert cost >= exact and upper.ci_low <= cost <= upper.ci_high
    best = coupling_upper(x, optimal)
    assert best.ci_low <= exact <= best.ci_high  # the OT coupling attains W2

    # Gelbrich is exact for Gaussians: the CI must hold W2, from exact moments and from a reference sample
    gel = gelbrich_lower(x, mean=m2, cov=S2, rng=rng)
    assert gel.method == "gelbrich" and gel.ci_low <= exact <= gel.ci_high
    y = m2 + rng.standard_normal((n, D)) @ sym_root(S2)
    gel_y = gelbrich_lower(x, y, rng=rng)
    assert gel_y.ci_low <= exact <= gel_y.ci_high

    sliced = sliced_lower(x, quantile=gaussian_quantile(m2, S2), rng=rng)
    assert sliced.method == "sliced" and sliced.ci_low <= exact
    assert sliced.value <= exact + 3 * sliced.floor

    row = bracket(x, paired=common, target=ct.targets.Gaussian(m2, S2), rng=rng)
    assert row["w2_target_lower_ci_low"] <= exact <= row["w2_target_upper_ci_high"]
    assert row["w2_target_lower"] <= row["w2_target_upper"]
    assert row["w2_target_upper_method"] == "coupling"
    assert row["w2_target_lower_method"] in ("gelbrich", "sliced")


def test_sliced_bound_is_tight_when_gaussians_differ_along_one_axis():
    # N(0, I) vs N((1, 0), diag(4, 1)): W2^2 = 1 + (2 - 1)^2 = 2, all of it along the first axis
    rng = np.random.default_rng(3)
    x = rng.standard_normal((100_000, 2))
    mean, cov = np.array([1.0, 0.0]), np.diag([4.0, 1.0])
    b = sliced_lower(x, quantile=gaussian_quantile(mean, cov), rng=rng)
    assert abs(b.direction[0]) > 0.999
    assert b.ci_low <= math.sqrt(2.0) <= b.ci_high
    assert b.value == pytest.approx(math.sqrt(2.0), abs=0.01)


def test_sliced_bound_finds_a_rotated_direction_from_samples():
    # 4-D: the laws differ along a random unit v only (shift 1, scale 2): W2^2 = 1 + 1 = 2
    rng = np.random.default_rng(4)
    v = rng.standard_normal(4)
    v /= np.linalg.norm(v)
    n = 100_000
    x = rng.standard_normal((n, 4))
    z = rng.standard_normal((n, 4))
    y = z + np.outer(z @ v + 1.0, v)  # along v: 2 g + 1; orthogonal: unchanged
    b = sliced_lower(x, y, rng=rng)
    assert abs(b.direction @ v) > 0.99
    assert b.ci_low <= math.sqrt(2.0) and b.value == pytest.approx(math.sqrt(2.0), abs=0.02)


# -- exact W2 bracketed: 1-D laws ----------------------------------------------------------------------------------
def exp_quantile(u):
    return -np.log1p(-u)


def normal_quantile(u, loc=1.0, scale=0.5):
    return stats.norm.ppf(u, loc, scale)


def exact_1d_w2():
    value, _ = integrate.quad(lambda u: (exp_quantile(u) - normal_quantile(u)) ** 2, 0.0, 1.0, limit=200)
    return math.sqrt(value)


def test_bracket_holds_for_one_dimensional_laws():
    exact = exact_1d_w2()
    rng = np.random.default_rng(5)
    n = 40_000
    u = rng.uniform(size=n)
    x = exp_quantile(u)[:, None]  # Exponential(1)
    monotone = normal_quantile(u)[:, None]  # the OT coupling in 1-D
    reversed_ = normal_quantile(1.0 - u)[:, None]  # the anti-monotone coupling

    best = coupling_upper(x, monotone)
    assert best.ci_low <= exact <= best.ci_high
    worst = coupling_upper(x, reversed_)
    assert worst.ci_low > exact

    y = normal_quantile(rng.uniform(size=n))[:, None]
    gel = gelbrich_lower(x, y, rng=rng)
    assert gel.ci_low <= exact and gel.value < exact  # not tight: Exponential is not Gaussian

    def quantile(directions, probs):  # projections of N(1, 0.25) onto u = +-1
        sign = np.sign(directions[:, :1])
        return np.where(sign > 0, normal_quantile(probs)[None], -normal_quantile(1.0 - probs)[None])

    sliced = sliced_lower(x, quantile=quantile, rng=rng)
    assert sliced.n == n and math.isnan(sliced.search_value)  # 1-D: no search, every row used
    assert sliced.ci_low <= exact <= sliced.ci_high + sliced.floor
    sliced_y = sliced_lower(x, y, rng=rng)
    assert sliced_y.value == pytest.approx(ct.metrics.w2_1d(x, y), rel=1e-12)
    assert sliced_y.ci_low <= exact <= sliced_y.ci_high + sliced_y.floor


# -- honesty of the direction search and meaning of the floors -----------------------------------------------------
def test_held_out_direction_search_is_not_biased_by_the_max():
    # two samples of the same 20-D law: W2 = 0. The held-out value stays at the floor; the max over the same number
    # of directions evaluated in-sample (computed here directly) is clearly larger.
    rng = np.random.default_rng(6)
    n, D = 4000, 20
    x, y = rng.standard_normal((n, D)), rng.standard_normal((n, D))
    b = sliced_lower(x, y, rng=rng, n_directions=200)
    assert b.value <= 1.5 * b.floor
    U = rng.standard_normal((200, D))
    U /= np.linalg.norm(U, axis=1, keepdims=True)
    in_sample = max(ct.metrics.w2_1d(x[: n // 2] @ u, y[: n // 2] @ u) for u in U)
    assert in_sample > 1.4 * b.floor and in_sample > 1.4 * b.value
    assert b.search_value > b.value


@pytest.mark.parametrize("route", ["gelbrich_exact", "gelbrich_sample", "sliced_exact", "sliced_sample"])
def test_floor_matches_the_estimator_between_samples_of_one_law(route):
    # Monte Carlo of the estimator itself when the two laws are equal: its RMS is what the floor claims
    D, n, S = 3, 2000, np.diag([1.0, 2.0, 0.5])
    values, floors = [], []
    for seed in range(16):
        rng = np.random.default_rng(200 + seed)
        x = rng.standard_normal((n, D)) @ np.sqrt(S)
        y = rng.standard_normal((n, D)) @ np.sqrt(S)
        if route == "gelbrich_exact":
            b = gelbrich_lower(x, mean=np.zeros(D), cov=S, rng=rng, n_boot=50)
        elif route == "gelbrich_sample":
            b = gelbrich_lower(x, y, rng=rng, n_boot=50)
        elif route == "sliced_exact":
            b = sliced_lower(x, quantile=gaussian_quantile(np.zeros(D), S), rng=rng, n_boot=50)
        else:
            b = sliced_lower(x, y, rng=rng, n_boot=50)
        values.append(b.value)
        floors.append(b.floor)
    ratio = np.mean(floors) / math.sqrt(np.mean(np.square(values)))
    assert 0.75 < ratio < 1.35


@pytest.mark.parametrize("which", ["gelbrich", "sliced"])
def test_subsampled_bootstrap_agrees_with_the_full_bootstrap(which):
    rng = np.random.default_rng(8)
    n = 40_000
    x = rng.standard_normal((n, 2)) * [1.0, 1.5]
    mean, cov = np.array([0.3, 0.0]), np.diag([1.0, 4.0])
    if which == "gelbrich":
        full = gelbrich_lower(x, mean=mean, cov=cov, rng=np.random.default_rng(1), n_boot=100, max_boot_rows=n)
        part = gelbrich_lower(x, mean=mean, cov=cov, rng=np.random.default_rng(1), n_boot=100, max_boot_rows=2000)
    else:
        q = gaussian_quantile(mean, cov)
        full = sliced_lower(x, quantile=q, rng=np.random.default_rng(1), n_boot=100, max_boot_rows=n)
        part = sliced_lower(x, quantile=q, rng=np.random.default_rng(1), n_boot=100, max_boot_rows=2000)
    assert part.value == full.value
    assert part.floor == pytest.approx(full.floor, rel=0.3)
    assert part.ci_high - part.ci_low == pytest.approx(full.ci_high - full.ci_low, rel=0.4)


# -- coverage: the lower bounds stay certified at W2 = 0, the upper one on skewed costs --------------------------------
LOWER_ROUTES = ("gelbrich_exact", "gelbrich_sample", "sliced_exact", "sliced_sample")


def lower_bounds(x, y, mean, cov, rng, n_boot=100):
    """The four lower bounds of x against N(mean, cov): exact moments / quantiles, and the reference sample y."""
    return {"gelbrich_exact": gelbrich_lower(x, mean=mean, cov=cov, rng=rng, n_boot=n_boot),
            "gelbrich_sample": gelbrich_lower(x, y, rng=rng, n_boot=n_boot),
            "sliced_exact": sliced_lower(x, quantile=gaussian_quantile(mean, cov), reference_moments=(mean, cov),
                                         rng=rng, n_boot=n_boot),
            "sliced_sample": sliced_lower(x, y, rng=rng, n_boot=n_boot)}


def equal_law_counts(D, n, repeats, first_seed):
    """Over ``repeats`` pairs of n-samples of one law N(0, S) in D dimensions (W2 = 0): per route, how often the
    interval covers 0 and how often the value is over 3 floors (it should not be)."""
    S = np.diag(np.linspace(0.5, 2.0, D))
    covered, above = dict.fromkeys(LOWER_ROUTES, 0), dict.fromkeys(LOWER_ROUTES, 0)
    for r in range(repeats):
        rng = np.random.default_rng(first_seed + r)
        x, y = rng.standard_normal((n, D)) * np.sqrt(np.diag(S)), rng.standard_normal((n, D)) * np.sqrt(np.diag(S))
        for route, b in lower_bounds(x, y, np.zeros(D), S, rng).items():
            covered[route] += b.ci_low <= 0.0 <= b.ci_high
            above[route] += b.value > 3 * b.floor
    return covered, above


@pytest.mark.parametrize("D", [2, 5])
def test_lower_intervals_cover_zero_on_equal_laws(D):
    # issue 20, item 5: the basic bootstrap interval of the plug-in (biased upwards near 0) excluded 0 in 27 (2-D)
    # to 70 (5-D) of 100 repeats; the triangle-inequality interval holds each end at 97.5 %: >= 95 of 100 here
    covered, above = equal_law_counts(D, n=400, repeats=100, first_seed=1000 * D)
    for route in LOWER_ROUTES:
        assert covered[route] >= 95, (route, covered[route])
        assert above[route] <= 5, (route, above[route])  # "over 3 floors" is the exception when W2 = 0


@pytest.mark.slow
@pytest.mark.parametrize("D", [2, 5])
def test_lower_intervals_cover_zero_on_equal_laws_many_repeats(D):
    covered, above = equal_law_counts(D, n=1000, repeats=200, first_seed=7000 * D)
    for route in LOWER_ROUTES:
        assert covered[route] >= 190, (route, covered[route])  # 95 % of 200 against a nominal 97.5 %
        assert above[route] <= 10, (route, above[route])


@pytest.mark.parametrize("D", [2, 5])
def test_lower_bounds_stay_useful_and_certified_when_w2_is_positive(D):
    # a Gaussian pair with a known Bures W2 (sqrtm route): the interval holds it, and the lower end is well above 0
    rng = np.random.default_rng(40 + D)
    m1, S1 = 0.3 * rng.standard_normal(D), random_spd(rng, D)
    exact = bures_by_sqrtm(m1, S1, np.zeros(D), np.eye(D))
    held, lows = dict.fromkeys(LOWER_ROUTES, 0), {route: [] for route in LOWER_ROUTES}
    for r in range(30):
        rng = np.random.default_rng(500 + r)
        x = m1 + rng.standard_normal((1500, D)) @ sym_root(S1)
        y = rng.standard_normal((1500, D))
        for route, b in lower_bounds(x, y, np.zeros(D), np.eye(D), rng).items():
            # Gelbrich is W2 for Gaussians (its interval holds it); a slice is only below W2
            held[route] += b.ci_low <= exact <= (b.ci_high if route.startswith("gelbrich") else math.inf)
            lows[route].append(b.ci_low)
    for route in LOWER_ROUTES:
        assert held[route] >= 28, (route, held[route])
    # measured: Gelbrich 0.87-0.90 W2, sliced 0.77-0.80 W2 (2-D) and 0.58-0.62 W2 (5-D, one direction of five)
    assert min(np.mean(lows["gelbrich_exact"]), np.mean(lows["gelbrich_sample"])) > 0.8 * exact
    assert min(np.mean(lows["sliced_exact"]), np.mean(lows["sliced_sample"])) > 0.5 * exact


def test_bracket_flags_below_floor_at_zero_and_resolves_a_perturbed_mixture():
    target = ct.targets.get("8gaussians")
    rng = np.random.default_rng(21)
    same = bracket(target.sample(2000, rng), target=target, rng=rng)  # W2 = 0
    assert same["w2_target_lower_above_floor"] == 0.0 and same["w2_target_lower_ci_low"] == 0.0
    z = target.sample(4000, rng)
    moved = bracket(1.1 * z + [0.3, 0.0], paired=z, target=target, rng=rng)  # W2 > 0, below the coupling's cost
    assert moved["w2_target_lower_above_floor"] == 1.0
    assert 0.0 < moved["w2_target_lower_ci_low"] <= moved["w2_target_upper_ci_high"]
    assert moved["w2_target_lower_ci_low"] > 0.5 * moved["w2_target_lower"]


def skewed_squares(name, n, rng):
    """Paired 1-D samples whose squared differences are chi-square(1) or lognormal(0, 1), and the true W2-cost."""
    if name == "chi2":
        return rng.standard_normal((n, 1)), 1.0
    return np.exp(0.5 * rng.standard_normal((n, 1))), math.exp(0.25)


@pytest.mark.parametrize("name, n", [("chi2", 50), ("lognormal", 200)])
def test_coupling_upper_limit_misses_near_its_nominal_rate_on_skewed_costs(name, n):
    # a plain t interval misses the true cost above its upper end 7.2 % (chi2, n = 50) and 5.9 % (lognormal,
    # n = 200) of the time, against 2.5 % nominal; Hall's skewness correction: 2.9 % and 3.4 % (4000 repeats)
    rng = np.random.default_rng(31)
    misses = 0
    for _ in range(2000):
        diff, cost = skewed_squares(name, n, rng)
        misses += coupling_upper(diff, np.zeros_like(diff)).ci_high < cost
    assert misses / 2000 < 0.045


# -- exact projected quantiles and moments -------------------------------------------------------------------------
def test_mixture_quantile_against_brentq_on_scipy_cdfs():
    rng = np.random.default_rng(9)
    K, D = 3, 2
    means = 2.0 * rng.standard_normal((K, D))
    covs = np.stack([random_spd(rng, D) for _ in range(K)])
    w = np.array([0.2, 0.5, 0.3])
    U = rng.standard_normal((3, D))
    U /= np.linalg.norm(U, axis=1, keepdims=True)
    probs = np.concatenate([rng.uniform(1e-6, 1 - 1e-6, 2000), [1e-9, 0.5, 1 - 1e-9]])
    Q = mixture_quantile(means, covs, w)(U, probs)
    for l, u in enumerate(U):
        mu, sd = means @ u, np.sqrt(np.einsum("d,kde,e->k", u, covs, u))

        def cdf(t):
            return float(np.sum(w * stats.norm.cdf(t, mu, sd)))

        for i in range(0, len(probs), 97):
            root = optimize.brentq(lambda t: cdf(t) - probs[i], -100, 100, xtol=1e-13)
            assert Q[l, i] == pytest.approx(root, abs=1e-9)


def test_mixture_quantile_with_a_point_mass_component():
    # component 1 is singular along u: a point mass 0.5 at u.m_1; the generalised inverse jumps over it
    means = np.array([[-2.0, 0.0], [0.0, 0.0], [2.0, 0.0]])
    covs = np.stack([np.eye(2), np.diag([0.0, 1.0]), np.eye(2)])
    q = mixture_quantile(means, covs, [0.25, 0.5, 0.25])(np.array([[1.0, 0.0]]), np.array([0.3, 0.5, 0.7, 0.76]))
    cdf_below_atom = 0.25 * stats.norm.cdf(2.0) + 0.25 * stats.norm.cdf(-2.0)  # = 0.25
    assert q[0, 0] == pytest.approx(0.0, abs=1e-9) and q[0, 1] == pytest.approx(0.0, abs=1e-9)
    assert q[0, 2] == pytest.approx(0.0, abs=1e-9)  # 0.7 < 0.25 + 0.5
    assert cdf_below_atom + 0.5 < 0.76 and q[0, 3] > 0.0


def test_gaussian_quantile_against_scipy_norm_ppf():
    rng = np.random.default_rng(11)
    m, S = rng.standard_normal(3), random_spd(rng, 3)
    U = rng.standard_normal((4, 3))
    probs = np.array([1e-6, 0.1, 0.5, 0.93])
    Q = gaussian_quantile(m, S)(U, probs)
    for l, u in enumerate(U):
        np.testing.assert_allclose(Q[l], stats.norm.ppf(probs, u @ m, math.sqrt(u @ S @ u)), rtol=1e-12)


def test_target_moments_and_quantiles():
    rng = np.random.default_rng(12)
    gauss = ct.targets.Gaussian([1.0, -1.0], [[2.0, 0.3], [0.3, 1.0]])
    mean, cov = target_moments(gauss)
    np.testing.assert_allclose(mean, [1.0, -1.0])
    np.testing.assert_allclose(cov, [[2.0, 0.3], [0.3, 1.0]])
    gmm = ct.targets.get("8gaussians")
    mean, cov = target_moments(gmm)
    sample = gmm.sample(400_000, rng)
    np.testing.assert_allclose(mean, sample.mean(axis=0), atol=0.02)
    np.testing.assert_allclose(cov, np.cov(sample, rowvar=False), rtol=0.02, atol=0.02)
    u = np.array([[0.6, 0.8]])
    probs = np.array([0.05, 0.3, 0.5, 0.9])
    np.testing.assert_allclose(target_quantile(gmm)(u, probs)[0], np.quantile(sample @ u[0], probs), atol=0.03)
    assert target_moments(ct.targets.get("sphere", intrinsic_dim=1, dim=2)) is None
    assert target_quantile(ct.targets.get("sphere", intrinsic_dim=1, dim=2)) is None


# -- bracket -------------------------------------------------------------------------------------------------------
def test_bracket_columns_and_missing_sides():
    rng = np.random.default_rng(13)
    x = rng.standard_normal((500, 2))
    with pytest.raises(ValueError, match="paired, target, reference: nothing to bound"):
        bracket(x, rng=rng)  # neither side: one error, not a row of NaN
    row = bracket(x, paired=x + 0.1, rng=rng)  # the upper side alone
    assert tuple(row) == bracket_columns()
    assert row["w2_target_lower_method"] == "" and row["w2_target_upper_method"] == "coupling"
    assert all(math.isnan(v) for k, v in row.items() if k.startswith("w2_target_lower") and not k.endswith("_method"))
    circle = ct.targets.get("sphere", intrinsic_dim=1, dim=2)  # no exact moments here: a sampled reference
    row = bracket(x, target=circle, rng=rng, prefix="total")
    assert tuple(row) == bracket_columns("total")
    assert row["total_lower_method"] in ("gelbrich", "sliced") and math.isnan(row["total_upper"])
    # the rule: the larger of the bounds clear of 3 floors, else the larger of the two
    parts = {m: (row[f"total_{m}"], row[f"total_{m}_floor"]) for m in ("gelbrich", "sliced")}
    clear = {m: v for m, (v, f) in parts.items() if v > 3 * f} or {m: v for m, (v, _) in parts.items()}
    chosen = max(clear, key=clear.get)
    assert row["total_lower_method"] == chosen and row["total_lower"] == parts[chosen][0]
    assert row["total_lower_above_floor"] == (row["total_lower"] > 3 * row["total_lower_floor"])
    assert row["total_lower_floor"] == parts[chosen][1]


@pytest.mark.slow
def test_bracket_speed_smoke_on_a_million_points():
    rng = np.random.default_rng(14)
    target = ct.targets.get("8gaussians")
    z = target.sample(10 ** 6, rng)
    x = 1.02 * z
    start = time.perf_counter()
    row = bracket(x, paired=z, target=target, rng=rng)
    print(f"bracket on 10^6 2-D points (8gaussians): {time.perf_counter() - start:.2f} s")
    assert row["w2_target_lower"] <= row["w2_target_upper_ci_high"]


# -- input validation ----------------------------------------------------------------------------------------------
X = np.random.default_rng(0).standard_normal((50, 2))
RNG = np.random.default_rng(0)
Q2 = gaussian_quantile(np.zeros(2), np.eye(2))


@pytest.mark.parametrize("call, field", [
    (lambda: coupling_upper(X, X[:, :1]), "y"),
    (lambda: coupling_upper(X[:1], X[:1]), "x"),
    (lambda: coupling_upper(X, X, level=1.5), "level"),
    (lambda: gelbrich_lower(X, rng=RNG), "y, mean and cov"),
    (lambda: gelbrich_lower(X, X, mean=np.zeros(2), cov=np.eye(2), rng=RNG), "y, mean and cov"),
    (lambda: gelbrich_lower(X, mean=np.zeros(2), rng=RNG), "cov"),
    (lambda: gelbrich_lower(X, mean=np.zeros(2), cov=np.diag([1.0, -1.0]), rng=RNG), "cov"),
    (lambda: gelbrich_lower(X, mean=np.zeros(3), cov=np.eye(2), rng=RNG), "mean"),
    (lambda: gelbrich_lower(X, X, rng=0), "rng"),
    (lambda: gelbrich_lower(X, X, rng=RNG, n_boot=0), "n_boot"),
    (lambda: sliced_lower(X, quantile=Q2, rng=RNG, holdout=1.0), "holdout"),
    (lambda: sliced_lower(X[:5], quantile=Q2, rng=RNG, holdout=0.1), "holdout"),
    (lambda: sliced_lower(X, quantile="normal", rng=RNG), "quantile"),
    (lambda: sliced_lower(X, quantile=lambda U, p: np.zeros(3), rng=RNG), "quantile"),
    (lambda: sliced_lower(X, rng=RNG), "y, quantile"),
    (lambda: sliced_lower(X, X[:, :1], rng=RNG), "y"),
    (lambda: sliced_lower(X, X, rng=RNG, n_directions=0), "n_directions"),
    (lambda: sliced_lower(X, X, rng=RNG, directions=[[0.0, 0.0]]), "directions"),
    (lambda: sliced_lower(X, X, rng=RNG, reference_moments=np.zeros(2)), "reference_moments"),
    (lambda: mixture_quantile(np.zeros((2, 2)), np.stack([np.eye(2)] * 2), [0.5, 0.6]), "weights"),
    (lambda: mixture_quantile(np.zeros((2, 2)), np.stack([np.eye(2)] * 2))(np.eye(2), [0.0, 0.5]), "probs"),
    (lambda: gaussian_quantile(np.zeros(2), [[1.0, 2.0], [2.0, 1.0]]), "cov"),
    (lambda: bracket(X, rng=RNG, prefix=""), "prefix"),
    (lambda: bracket(X, target=object(), rng=RNG), "target"),
    (lambda: bracket(X, paired=X[:10], rng=RNG), "paired"),
])
def test_validation_names_the_field(call, field):
    with pytest.raises(ValueError, match=rf"^{field}:"):
        call()


# -- bound verdicts on synthetic slope series ------------------------------------------------------------------------
N_LEVELS = 2.0 ** np.arange(6, 17)
H_LEVELS = 2.0 ** -np.arange(1, 9)


def series(levels, slope, rng, scale=1.0, noise=0.05, seeds=10):  # 10: rates.MIN_SEEDS_CONTRADICTION
    """(L, S) errors scale * level^slope with lognormal seed noise."""
    return scale * levels[:, None] ** slope * np.exp(noise * rng.standard_normal((len(levels), seeds)))


def fit(levels, values, variable, floors=None):
    return rates.fit_slope(levels, values, variable=variable, floors_by_seed=floors)


def test_bound_verdict_consistent_when_the_upper_bound_decays_as_claimed():
    rng = np.random.default_rng(20)
    lower, upper = fit(N_LEVELS, series(N_LEVELS, -0.5, rng, 0.5), "n"), fit(N_LEVELS, series(N_LEVELS, -0.5, rng), "n")
    assert rates.bound_verdict(lower, upper, -0.25) == ("consistent", "")
    assert rates.bound_verdict(None, upper, -0.25)[0] == "consistent"


def test_bound_verdict_refutes_when_the_lower_bound_decays_too_slowly():
    rng = np.random.default_rng(21)
    lower, upper = fit(N_LEVELS, series(N_LEVELS, -0.1, rng, 0.5), "n"), fit(N_LEVELS, series(N_LEVELS, -0.1, rng), "n")
    label, reason = rates.bound_verdict(lower, upper, -0.5)
    assert label == "refuted" and reason == ""
    assert rates.bound_verdict(lower, None, -0.5)[0] == "refuted"


def test_a_lower_bound_at_its_floor_never_refutes():
    # the true error decays like n^-1 (the claim n^-0.5 holds), but the lower bound's estimate flattens at its
    # estimation floor: fitted without the floor window it would wrongly refute
    rng = np.random.default_rng(22)
    true = series(N_LEVELS, -1.0, rng, 10.0, noise=0.0)
    floors = np.broadcast_to(0.02 * N_LEVELS[:, None] ** -0.05, true.shape)
    lower_values = np.sqrt(true ** 2 + floors ** 2) * np.exp(0.05 * rng.standard_normal(true.shape))
    upper = fit(N_LEVELS, series(N_LEVELS, -1.0, rng, 20.0), "n")
    assert rates.bound_verdict(fit(N_LEVELS, lower_values, "n"), upper, -0.5)[0] == "refuted"  # no floor window
    windowed = fit(N_LEVELS, lower_values, "n", floors=floors)
    assert windowed.n_dropped_floor > 0
    assert rates.bound_verdict(windowed, upper, -0.5)[0] != "refuted"


def test_bound_verdict_inconclusive_when_the_upper_bound_is_too_loose():
    rng = np.random.default_rng(23)
    lower, upper = fit(N_LEVELS, series(N_LEVELS, -0.5, rng, 0.5), "n"), fit(N_LEVELS, series(N_LEVELS, 0.0, rng), "n")
    label, reason = rates.bound_verdict(lower, upper, -0.5)
    assert label == "inconclusive" and "upper bound too loose" in reason and "lower bound" in reason
    # an upper-bound CI that reaches the claim only by being wide decides nothing
    wide = fit(N_LEVELS, series(N_LEVELS, -0.5, np.random.default_rng(23), noise=2.0, seeds=3), "n")
    assert wide.ci_low <= -0.5 and wide.ci_high - wide.ci_low > 0.5
    label, reason = rates.bound_verdict(None, wide, -0.5)
    assert label == "inconclusive" and "wider than 1 x |a|" in reason and "lower bound unusable: no fit" in reason


def test_bound_verdict_in_h_orientation():
    rng = np.random.default_rng(24)
    # claim error <= C h^1: an upper bound with slope 1 is consistent
    good = fit(H_LEVELS, series(H_LEVELS, 1.0, rng), "h")
    assert rates.bound_verdict(None, good, 1.0, variable="h")[0] == "consistent"
    # a lower bound with slope 0.5 vanishes too slowly as h -> 0: refuted (wholly BELOW the claimed 1)
    slow = fit(H_LEVELS, series(H_LEVELS, 0.5, rng, 0.5), "h")
    assert rates.bound_verdict(slow, good, 1.0, variable="h")[0] == "refuted"
    # the n-orientation would read the same lower bound the other way round
    loose = fit(H_LEVELS, series(H_LEVELS, 0.2, rng), "h")
    label, reason = rates.bound_verdict(fit(H_LEVELS, series(H_LEVELS, 1.0, rng, 0.5), "h"), loose, 1.0,
                                        variable="h")
    assert label == "inconclusive" and "upper bound too loose" in reason


@pytest.mark.parametrize("kwargs, field", [
    ({"claimed_slope": 0.5}, "claimed_slope"),
    ({"claimed_slope": -0.5, "variable": "h"}, "claimed_slope"),
    ({"claimed_slope": -0.5, "variable": "t"}, "variable"),
    ({"claimed_slope": -0.5, "lower_fit": "fit"}, "lower_fit"),
    ({"claimed_slope": float("nan")}, "claimed_slope"),
])
def test_bound_verdict_validation(kwargs, field):
    args = {"lower_fit": None, "upper_fit": None, **kwargs}
    with pytest.raises(ValueError, match=rf"^{field}:"):
        rates.bound_verdict(args.pop("lower_fit"), args.pop("upper_fit"), args.pop("claimed_slope"), **args)
