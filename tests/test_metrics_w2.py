"""W2 metrics against independent routes: scipy.linalg.sqrtm Bures, 1-D closed forms, bare POT calls,
translates, the coupling and projection inequalities, and the n^(-1/2) decay of the 1-D estimation floor."""
import numpy as np
import ot
import pytest
from scipy.linalg import sqrtm

import chargen_theory as ct
from chargen_theory.metrics import OTNotConvergedError


def random_spd(rng, D, rank=None):
    A = rng.standard_normal((D, rank or D))
    return A @ A.T + (0.0 if rank else 0.1 * np.eye(D))


def bures_by_sqrtm(m1, S1, m2, S2):
    root2 = np.real(sqrtm(S2))
    cross = np.real(sqrtm(root2 @ S1 @ root2))
    return np.sqrt(np.sum((m1 - m2) ** 2) + np.trace(S1 + S2 - 2.0 * cross))


# -- w2_gaussian -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("D", [2, 5])
def test_w2_gaussian_against_sqrtm_and_pot(D):
    rng = np.random.default_rng(D)
    for _ in range(5):
        m1, m2 = rng.standard_normal(D), rng.standard_normal(D)
        S1, S2 = random_spd(rng, D), random_spd(rng, D)
        value = ct.metrics.w2_gaussian(m1, S1, m2, S2)
        assert value == pytest.approx(bures_by_sqrtm(m1, S1, m2, S2), rel=1e-9)
        # POT 0.9.7 returns W2 itself (not W2^2): checked on a hand example below
        assert value == pytest.approx(float(ot.gaussian.bures_wasserstein_distance(m1, m2, S1, S2)), rel=1e-9)


def test_pot_bures_returns_w2_not_squared():
    # N(0, I) vs N((1, 0), 4 I) in 2-D: W2^2 = 1 + 2 (2 - 1)^2 = 3
    assert float(ot.gaussian.bures_wasserstein_distance(np.zeros(2), np.array([1.0, 0.0]), np.eye(2),
                                                         4.0 * np.eye(2))) == pytest.approx(np.sqrt(3.0))
    assert ct.metrics.w2_gaussian(np.zeros(2), np.eye(2), np.array([1.0, 0.0]), 4.0 * np.eye(2)) \
        == pytest.approx(np.sqrt(3.0), rel=1e-14)


def test_w2_gaussian_one_dimensional_closed_form():
    for m1, s1, m2, s2 in [(0.0, 1.0, 0.0, 1.0), (1.0, 2.0, -0.5, 0.3), (3.0, 0.0, 1.0, 1.5)]:
        expected = np.sqrt((m1 - m2) ** 2 + (s1 - s2) ** 2)
        assert ct.metrics.w2_gaussian([m1], [[s1 ** 2]], [m2], [[s2 ** 2]]) == pytest.approx(expected, abs=1e-12)


def test_w2_gaussian_singular_covariances():
    rng = np.random.default_rng(3)
    # commuting (diagonal) singular covariances: W2^2 = |dm|^2 + sum (sqrt(s1) - sqrt(s2))^2
    s1, s2 = np.array([2.0, 0.0, 0.5]), np.array([0.0, 0.0, 1.5])
    m1, m2 = rng.standard_normal(3), rng.standard_normal(3)
    expected = np.sqrt(np.sum((m1 - m2) ** 2) + np.sum((np.sqrt(s1) - np.sqrt(s2)) ** 2))
    assert ct.metrics.w2_gaussian(m1, np.diag(s1), m2, np.diag(s2)) == pytest.approx(expected, rel=1e-12)
    # a rank-2 covariance in 4-D against itself: 0 up to round-off (no NaN from negative eigenvalues)
    S = random_spd(rng, 4, rank=2)
    assert ct.metrics.w2_gaussian(m1[:1].repeat(4), S, m1[:1].repeat(4), S) < 1e-6
    # non-commuting rank-deficient pair against sqrtm
    S1, S2 = random_spd(rng, 4, rank=2), random_spd(rng, 4, rank=3)
    m = np.zeros(4)
    assert ct.metrics.w2_gaussian(m, S1, m, S2) == pytest.approx(bures_by_sqrtm(m, S1, m, S2), rel=1e-6)


@pytest.mark.parametrize("args, field", [
    (([0.0, 0.0], np.eye(2), [0.0], np.eye(2)), "m2"),
    (([0.0, 0.0], np.eye(3), [0.0, 0.0], np.eye(2)), "S1"),
    (([0.0, 0.0], np.eye(2), [0.0, 0.0], [[1.0, 0.5], [0.0, 1.0]]), "S2"),
    (([0.0, 0.0], np.diag([1.0, -1.0]), [0.0, 0.0], np.eye(2)), "S1"),
    (([0.0, np.nan], np.eye(2), [0.0, 0.0], np.eye(2)), "m1"),
])
def test_w2_gaussian_validation(args, field):
    with pytest.raises(ValueError, match=rf"^{field}:"):
        ct.metrics.w2_gaussian(*args)


# -- w2_1d and w2 ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n, m", [(40, 40), (30, 45), (17, 50)])
def test_w2_1d_against_bare_emd_and_pot_1d(n, m):
    rng = np.random.default_rng(n + m)
    x, y = rng.standard_normal(n), 2.0 * rng.standard_exponential(m)
    emd = np.sqrt(ot.emd2(np.full(n, 1 / n), np.full(m, 1 / m), (x[:, None] - y[None, :]) ** 2, numItermax=10 ** 7))
    assert ct.metrics.w2_1d(x, y) == pytest.approx(emd, rel=1e-10)
    # POT's wasserstein_1d returns W_p^p, so its square root is W2
    assert ct.metrics.w2_1d(x, y) == pytest.approx(np.sqrt(ot.wasserstein_1d(x, y, p=2)), rel=1e-10)
    assert ct.metrics.w2(x[:, None], y[:, None]) == ct.metrics.w2_1d(x, y)


def test_w2_1d_hand_example():
    # quantiles: x = {0, 1} (1/2 each), y = {0, 0, 3} (1/3 each): on (0,1/3] 0-0, (1/3,1/2] 0-0, (1/2,2/3] 1-0,
    # (2/3,1] 1-3 -> W2^2 = (1/6) 1 + (1/3) 4 = 1.5
    assert ct.metrics.w2_1d([0.0, 1.0], [3.0, 0.0, 0.0]) == pytest.approx(np.sqrt(1.5), rel=1e-14)


def test_w2_against_converged_bare_emd_2d():
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((300, 2)), rng.standard_normal((200, 2)) + [1.0, 0.0]
    cost, log = ot.emd2(np.full(300, 1 / 300), np.full(200, 1 / 200), ot.dist(x, y), numItermax=10 ** 8, log=True)
    assert log["result_code"] == 1
    assert ct.metrics.w2(x, y) == pytest.approx(np.sqrt(cost), rel=1e-12)


def test_w2_of_translate_is_shift_length():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((400, 3))
    shift = np.array([0.3, -1.2, 2.0])
    assert ct.metrics.w2(x, x + shift) == pytest.approx(np.linalg.norm(shift), rel=1e-10)


def test_w2_raises_when_not_converged():
    rng = np.random.default_rng(7)
    x, y = rng.standard_normal((500, 2)), rng.standard_normal((500, 2))
    with pytest.raises(OTNotConvergedError, match="did not converge"):
        ct.metrics.w2(x, y, num_itermax=10)
    assert issubclass(OTNotConvergedError, RuntimeError)
    assert ct.metrics.default_num_itermax(500, 500) >= 10 ** 7


def test_coupling_error_bounds_w2_and_sliced_is_below():
    rng = np.random.default_rng(8)
    for D in (1, 2, 4):
        x = rng.standard_normal((250, D))
        y = x ** 2 + 0.5 * rng.standard_normal((250, D))
        exact = ct.metrics.w2(x, y)
        assert ct.metrics.coupling_error(x, y) >= exact
        assert ct.metrics.coupling_error(x, y) == pytest.approx(np.sqrt(np.mean(np.sum((x - y) ** 2, 1))))
        assert ct.metrics.sliced_w2(x, y, rng=rng) <= exact * (1 + 1e-12)


def test_sliced_w2_is_not_squared():
    rng = np.random.default_rng(9)
    x, y = rng.standard_normal((100, 1)), rng.standard_normal((80, 1)) + 3.0
    # in 1-D every projection is +-1, so sliced W2 is exactly W2
    assert ct.metrics.sliced_w2(x, y, n_projections=10, rng=rng) == pytest.approx(ct.metrics.w2_1d(x, y), rel=1e-10)
    # isotropic 2-D translate by s: each projection has W2 = |<theta, s>|, so sliced W2^2 -> |s|^2 / 2
    x = rng.standard_normal((200, 2))
    assert ct.metrics.sliced_w2(x, x + [2.0, 0.0], n_projections=5000, rng=rng) == pytest.approx(np.sqrt(2.0),
                                                                                                  rel=0.02)


# -- estimation floor ----------------------------------------------------------------------------------------------
class Uniform01:
    def sample(self, n, rng):
        return rng.random((n, 1))


def test_estimation_floor_decays_like_inverse_sqrt_n_in_1d():
    rng = np.random.default_rng(10)
    ns = np.array([100, 400, 1600, 6400])
    floors = [ct.metrics.estimation_floor(Uniform01(), n, rng, repeats=100) for n in ns]
    slope = np.polyfit(np.log(ns), np.log(floors), 1)[0]
    assert -0.56 < slope < -0.44, (slope, floors)
    # scale: n E W2^2 -> 2 * int_0^1 u (1 - u) du = 1/3 for two independent uniform samples
    assert floors[-1] * np.sqrt(ns[-1]) == pytest.approx(np.sqrt(1 / 3), rel=0.25)


def test_estimation_floor_methods_and_std():
    rng = np.random.default_rng(11)
    target = type("Gauss2", (), {"sample": staticmethod(lambda n, rng: rng.standard_normal((n, 2)))})()
    mean, std = ct.metrics.estimation_floor(target, 200, rng, method="emd", repeats=4, return_std=True)
    assert mean > 0 and std > 0
    sliced = ct.metrics.estimation_floor(target, 200, rng, method="sliced", repeats=4)
    assert 0 < sliced < mean


@pytest.mark.parametrize("call, field", [
    (lambda: ct.metrics.w2(np.ones((3, 2)), np.ones((3, 3))), "y"),
    (lambda: ct.metrics.w2(np.ones(3), np.ones((3, 1))), "x"),
    (lambda: ct.metrics.w2(np.ones((3, 2)), np.full((3, 2), np.nan)), "y"),
    (lambda: ct.metrics.w2(np.ones((3, 2)), np.ones((3, 2)), num_itermax=0), "num_itermax"),
    (lambda: ct.metrics.w2_1d(np.ones((3, 2)), np.ones(3)), "x"),
    (lambda: ct.metrics.coupling_error(np.ones((3, 2)), np.ones((4, 2))), "y"),
    (lambda: ct.metrics.sliced_w2(np.ones((3, 2)), np.ones((3, 2)), rng=0), "rng"),
    (lambda: ct.metrics.sliced_w2(np.ones((3, 2)), np.ones((3, 2)), 0, rng=np.random.default_rng()),
     "n_projections"),
    (lambda: ct.metrics.estimation_floor(object(), 10, np.random.default_rng()), "target"),
    (lambda: ct.metrics.estimation_floor(Uniform01(), 10, np.random.default_rng(), method="sinkhorn"), "method"),
    (lambda: ct.metrics.estimation_floor(Uniform01(), 0, np.random.default_rng()), "n"),
])
def test_metric_validation(call, field):
    with pytest.raises(ValueError, match=rf"^{field}:"):
        call()
