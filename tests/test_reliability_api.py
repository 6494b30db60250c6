"""Issue 20, items 4, 10 and 16 (API parts): values at extreme scales, refused inputs, sizes checked before any
allocation, clear messages. Every expected value comes from an independent route: positive homogeneity of W2
(the same call on data at scale 1, multiplied back) or a closed form."""
import contextlib
import math
import warnings

import numpy as np
import pytest

import chargen_theory as ct
from chargen_theory import metrics
from chargen_theory.metrics import (bracket, coupling_upper, gaussian_quantile, gelbrich_lower, sliced_lower, w2,
                                    w2_gaussian)
from chargen_theory.metrics.w2 import MAX_WORK_ENTRIES

RNG = np.random.default_rng(0)
X = RNG.standard_normal((400, 2))
Y = RNG.standard_normal((400, 2)) * [1.0, 1.5] + [0.4, 0.0]


@contextlib.contextmanager
def no_warning():
    """Any warning is an error inside: a refusal must not also warn (complex input used to warn and go on)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# -- item 4 / 16: W2 is positively homogeneous, so scaled data give scaled bounds --------------------------------------
def _numbers(bound):
    return np.array([bound.value, bound.ci_low, bound.ci_high, bound.floor])


@pytest.mark.parametrize("scale", [1e-200, 1e200])
def test_coupling_upper_is_homogeneous_at_extreme_scales(scale):
    # issue: 1e-200 gave 0.0, 1e200 gave inf with a NaN interval
    unit = coupling_upper(X, Y)
    scaled = coupling_upper(X * scale, Y * scale)
    np.testing.assert_allclose(_numbers(scaled), _numbers(unit) * scale, rtol=1e-12)
    assert scaled.value > 0 and math.isfinite(scaled.ci_high)


SCALED_ROUTES = [(route, scale) for route in ("gelbrich_sample", "sliced_sample", "sliced_exact")
                 for scale in (1e-200, 1e200)]
SCALED_ROUTES += [("gelbrich_exact", 1e-150), ("gelbrich_exact", 1e150)]  # a covariance at 1e+-400 leaves float64


@pytest.mark.parametrize("route, scale", SCALED_ROUTES)
def test_lower_bounds_are_homogeneous_at_extreme_scales(route, scale):
    # issue: sliced_lower at 1e200 gave inf; gelbrich_lower(x * 1e200) said "S1: contains NaN"
    mean, cov = np.array([0.4, 0.0]), np.diag([1.0, 2.25])

    def run(s):
        rng = np.random.default_rng(5)
        if route == "gelbrich_exact":
            return gelbrich_lower(X * s, mean=mean * s, cov=cov * s * s, rng=rng)
        if route == "gelbrich_sample":
            return gelbrich_lower(X * s, Y * s, rng=rng)
        if route == "sliced_exact":  # the exact quantiles of the projected reference, times s
            unit_quantile = gaussian_quantile(mean, cov)
            return sliced_lower(X * s, quantile=lambda U, p: s * unit_quantile(U, p), rng=rng)
        return sliced_lower(X * s, Y * s, rng=rng)

    unit, scaled = run(1.0), run(scale)
    assert unit.value > 0
    np.testing.assert_allclose(_numbers(scaled), _numbers(unit) * scale, rtol=1e-9)


def test_w2_gaussian_with_a_huge_covariance():
    # W2(N(0, c I), N(0, I)) = |sqrt(c) - 1| sqrt(D) (commuting covariances): 1.4142e154 for c = 1e308, D = 2
    value = w2_gaussian(np.zeros(2), 1e308 * np.eye(2), np.zeros(2), np.eye(2))
    assert value == pytest.approx((math.sqrt(1e308) - 1.0) * math.sqrt(2.0), rel=1e-12)
    tiny = w2_gaussian(np.zeros(2), 1e-300 * np.eye(2), np.zeros(2), 4e-300 * np.eye(2))
    assert tiny == pytest.approx(1e-150 * math.sqrt(2.0), rel=1e-12)


# -- item 4: bracket with nothing to bound ---------------------------------------------------------------------------
def test_bracket_without_paired_target_or_reference_raises_one_error():
    with pytest.raises(ValueError, match=r"^paired, target, reference: nothing to bound"):
        bracket(X, rng=np.random.default_rng(1))


# -- item 4: inputs that are not real numbers, or have no coordinates -------------------------------------------------
NOT_REAL = [
    (X + 0j, "complex numbers"),
    (X + 1e-3j, "complex numbers"),
    (X > 0, "booleans"),
    (X.astype(str), "strings"),
    (np.array([[1.0, True], [0.5, 2.0]], dtype=object), "an entry True"),
    ([[1.0, "2"], [0.5, 2.0]], "strings"),
]
CALLS = {
    "w2": lambda x: w2(x, Y[:2]),
    "sliced_w2": lambda x: metrics.sliced_w2(x, Y[:2], rng=np.random.default_rng(0)),
    "coupling_upper": lambda x: coupling_upper(x, Y[:2]),
    "gelbrich_lower": lambda x: gelbrich_lower(x, Y, rng=np.random.default_rng(0)),
    "sliced_lower": lambda x: sliced_lower(np.vstack([x, x]), Y, rng=np.random.default_rng(0)),
    "bracket": lambda x: bracket(np.vstack([x, x]), reference=Y, rng=np.random.default_rng(0)),
}


@pytest.mark.parametrize("bad, what", NOT_REAL)
@pytest.mark.parametrize("call", CALLS)
def test_non_real_samples_are_refused_not_coerced(call, bad, what):
    # issue: complex input only warned and dropped the imaginary part; booleans and strings were read as numbers
    bad = bad[:2] if isinstance(bad, np.ndarray) else bad
    with no_warning(), pytest.raises(ValueError, match=rf"^x: must be an array of real numbers.*{what}"):
        CALLS[call](bad)


@pytest.mark.parametrize("call", CALLS)
def test_samples_without_coordinates_are_refused(call):
    # issue: (n, 0) data gave W2 = 0.0
    with pytest.raises(ValueError, match=r"^x: must have shape \(n, D\) with D >= 1 coordinates, got \(\d+, 0\)"):
        CALLS[call](np.zeros((2, 0)))


def test_w2_1d_and_w2_gaussian_refuse_non_real_input():
    with pytest.raises(ValueError, match="^x: must be an array of real numbers, got booleans"):
        metrics.w2_1d(np.array([True, False]), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="^S1: must be an array of real numbers, got complex numbers"):
        w2_gaussian(np.zeros(2), np.eye(2) + 0j, np.zeros(2), np.eye(2))


# -- item 4: predict far outside the float range of an estimator -------------------------------------------------------
@pytest.fixture(scope="module")
def fitted():
    target = ct.targets.get("8gaussians")
    x1 = target.sample(64, np.random.default_rng(2))
    oracle = ct.velocity.get("oracle", target=target).fit(x1, "linear")
    mlp = ct.velocity.get("mlp", width=8, depth=1, epochs=1).fit(x1, "linear", rng=np.random.default_rng(3))
    return {"oracle": oracle, "mlp": mlp}


def test_predict_never_returns_non_finite_velocities(fitted):
    # issue: predict at x = 1e200 returned NaN; the mixture velocity overflows there, so the oracle raises one
    # FloatingPointError naming the rows instead
    est = fitted["oracle"]
    far = np.array([[0.5, -0.5], [1e200, 1e200]])
    with no_warning(), pytest.raises(FloatingPointError, match=r"predict: the velocity is not finite at 1 of 2 "
                                                               r"points \(first: row 1, t = 0.5, largest \|x\| = "
                                                               r"1e\+200\)"):
        est.predict(0.5, far)
    assert np.all(np.isfinite(est.predict(0.5, far[:1] * 1e6)))  # far, but within reach: finite values


def test_the_network_is_finite_and_linear_far_out(fitted):
    # the ReLU network trains and predicts in float64 (training.DTYPE): piecewise linear, so at |x| = 1e200 it is
    # finite and positively homogeneous far out (the shared predict check would raise on a non-finite value, as for
    # the oracle above)
    est = fitted["mlp"]
    v1, v2 = est.predict(0.5, np.array([[1e199, 1e199]])), est.predict(0.5, np.array([[1e200, 1e200]]))
    assert np.all(np.isfinite(v2)) and np.allclose(v2, 10 * v1, rtol=1e-6)


@pytest.mark.parametrize("bad, what", [(np.ones((2, 2)) + 0j, "complex numbers"), (np.ones((2, 2)) > 0, "booleans")])
def test_predict_and_fit_refuse_non_real_input(fitted, bad, what):
    with pytest.raises(ValueError, match=rf"^x: must be an array of real numbers, got {what}"):
        fitted["oracle"].predict(0.5, bad)
    with pytest.raises(ValueError, match=rf"^x1: must be an array of real numbers, got {what}"):
        ct.velocity.get("oracle", target=ct.targets.get("8gaussians")).fit(bad, "linear")
    with pytest.raises(ValueError, match="^t: must be an array of real numbers, got booleans"):
        fitted["oracle"].predict(True, np.ones((2, 2)))


# -- item 10: sizes checked before allocating ------------------------------------------------------------------------
def test_w2_refuses_a_cost_matrix_beyond_the_limit_before_allocating():
    # issue: w2 on 60000 points raised a raw MemoryError (a 60000 x 60000 cost matrix is 26.8 GiB)
    x = np.zeros((60_000, 2))
    with pytest.raises(ValueError, match=r"^x, y: the n x m = 60000 x 60000 cost matrix = 3.6e\+09 float64 entries "
                                         r".*exceed the limit MAX_WORK_ENTRIES = 1e\+08"):
        w2(x, x)
    assert MAX_WORK_ENTRIES == 10_000 ** 2  # 10000 points per side, 0.75 GiB per n x m array


def test_sliced_w2_refuses_too_many_projections_before_allocating():
    # issue: sliced_w2(n_projections=10**12) raised a raw MemoryError
    with pytest.raises(ValueError, match=r"^n_projections: .* exceed the limit MAX_WORK_ENTRIES = 1e\+08 .*; use at "
                                         r"most 124688 projections"):
        metrics.sliced_w2(X, Y, n_projections=10 ** 12, rng=np.random.default_rng(0))
    assert metrics.sliced_w2(X, Y, n_projections=124_688 // 1000, rng=np.random.default_rng(0)) > 0


@pytest.mark.parametrize("call, field", [
    (lambda: sliced_lower(X, Y, rng=np.random.default_rng(0), n_directions=10 ** 12), "n_directions"),
    (lambda: sliced_lower(X, Y, rng=np.random.default_rng(0), n_boot=10 ** 12), "n_boot"),
    (lambda: gelbrich_lower(X, Y, rng=np.random.default_rng(0), n_boot=10 ** 12), "n_boot"),
])
def test_bound_sizes_are_refused_before_allocating(call, field):
    with pytest.raises(ValueError, match=rf"^{field}: .* exceed the limit MAX_WORK_ENTRIES = 1e\+08"):
        call()
