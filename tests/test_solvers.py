"""Solvers: Euler / Heun / reference against closed forms for a Gaussian target, NFE counts, grids, validation.

The Gaussian velocity and flow map are written here directly from docs/theory.md section 2 (dense linear solves and
scipy.linalg.sqrtm), an independent route from the eigenbasis recursion of ``gaussian_euler_map``.
"""
import numpy as np
import pytest
from scipy.linalg import sqrtm

import chargen_theory as ct
from chargen_theory.solvers import DivergenceError

PATHS = ("linear", "follmer", "trig")


def gaussian_velocity(mean, cov, path):
    """v(t, x) = b' m + (a a' I + b b' S) C_t^{-1} (x - b m), C_t = a^2 I + b^2 S (dense solve)."""
    path = ct.paths.get(path)
    eye = np.eye(len(mean))

    def velocity(t, x):
        assert isinstance(t, float)
        a, b, da, db = (float(c) for c in path.coefficients(t))
        C = a * a * eye + b * b * cov
        gain = np.linalg.solve(C, (a * da * eye + b * db * cov)).T  # gain = (a a' I + b b' S) C^{-1}, symmetric
        return db * mean + (x - b * mean) @ gain.T

    return velocity


def gaussian_flow_map(mean, cov, path, z, T):
    """X_T(z) = b m + C_T^{1/2} z (symmetric square root by scipy.linalg.sqrtm)."""
    a, b, _, _ = (float(c) for c in ct.paths.get(path).coefficients(T))
    root = np.real(sqrtm(a * a * np.eye(len(mean)) + b * b * cov))
    return b * mean + z @ root.T


@pytest.fixture
def gaussian():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((3, 3))
    return np.array([1.0, -2.0, 0.5]), A @ A.T + 0.2 * np.eye(3), rng.standard_normal((50, 3))


@pytest.fixture
def singular_gaussian():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((3, 2))
    return np.array([0.3, 0.0, -1.0]), A @ A.T, rng.standard_normal((50, 3))  # rank 2


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("T", [1.0, 0.9])
def test_euler_equals_closed_form_gaussian_map(gaussian, path, T):
    mean, cov, z = gaussian
    K = 16
    x = ct.solvers.euler(gaussian_velocity(mean, cov, path), z, K=K, T=T)
    affine = ct.solvers.gaussian_euler_map(mean, cov, path, K=K, T=T)
    np.testing.assert_allclose(x, affine(z), rtol=0, atol=1e-10)


@pytest.mark.parametrize("path", PATHS)
def test_euler_equals_closed_form_gaussian_map_singular_cov(singular_gaussian, path):
    mean, cov, z = singular_gaussian
    x = ct.solvers.euler(gaussian_velocity(mean, cov, path), z, K=12, T=1.0)
    np.testing.assert_allclose(x, ct.solvers.gaussian_euler_map(mean, cov, path, K=12)(z), rtol=0, atol=1e-10)


def test_gaussian_euler_map_one_linear_step_by_hand():
    # linear path, K = 1: v(0, x) = m - x, so x_1 = z + (m - z) = m for every z: matrix 0, offset m.
    mean = np.array([2.0, -1.0])
    affine = ct.solvers.gaussian_euler_map(mean, np.diag([4.0, 0.5]), "linear", K=1)
    np.testing.assert_allclose(affine.matrix, 0.0, atol=1e-15)
    np.testing.assert_allclose(affine.offset, mean, atol=1e-15)


def test_euler_on_explicit_nonuniform_grid_matches_closed_form(gaussian):
    mean, cov, z = gaussian
    grid = np.array([0.0, 0.05, 0.2, 0.3, 0.6, 0.65, 0.9, 1.0])
    x = ct.solvers.euler(gaussian_velocity(mean, cov, "trig"), z, grid=grid)
    np.testing.assert_allclose(x, ct.solvers.gaussian_euler_map(mean, cov, "trig", grid=grid)(z), atol=1e-10)


def test_explicit_uniform_grid_equals_K_grid(gaussian):
    mean, cov, z = gaussian
    v = gaussian_velocity(mean, cov, "linear")
    grid = ct.solvers.uniform_grid(10, 0.8)
    assert grid.shape == (11,) and grid[0] == 0.0 and grid[-1] == 0.8
    np.testing.assert_allclose(np.diff(grid), ct.solvers.step_size(10, 0.8), rtol=1e-14)
    np.testing.assert_array_equal(ct.solvers.euler(v, z, K=10, T=0.8), ct.solvers.euler(v, z, grid=grid))
    np.testing.assert_array_equal(ct.solvers.heun(v, z, K=10, T=0.8), ct.solvers.heun(v, z, grid=grid))


def test_nfe_counts(gaussian):
    mean, cov, z = gaussian
    for solver, per_step in ((ct.solvers.euler, 1), (ct.solvers.heun, 2)):
        v = ct.solvers.counted(gaussian_velocity(mean, cov, "linear"))
        solver(v, z, K=7)
        assert v.nfe == 7 * per_step


def test_return_path(gaussian):
    mean, cov, z = gaussian
    v = gaussian_velocity(mean, cov, "follmer")
    for solver in (ct.solvers.euler, ct.solvers.heun):
        path = solver(v, z, K=5, T=0.7, return_path=True)
        assert path.shape == (6,) + z.shape
        np.testing.assert_array_equal(path[0], z)
        np.testing.assert_array_equal(path[-1], solver(v, z, K=5, T=0.7))
    # the k-th state of the Euler path is the k-step Euler map on the grid truncated at t_k
    grid = ct.solvers.uniform_grid(5, 0.7)
    affine = ct.solvers.gaussian_euler_map(mean, cov, "follmer", grid=grid[:4])
    np.testing.assert_allclose(ct.solvers.euler(v, z, K=5, T=0.7, return_path=True)[3], affine(z), atol=1e-10)


def test_euler_does_not_modify_input(gaussian):
    mean, cov, z = gaussian
    z0 = z.copy()
    ct.solvers.euler(gaussian_velocity(mean, cov, "linear"), z, K=3)
    np.testing.assert_array_equal(z, z0)


@pytest.mark.parametrize("path", PATHS)
def test_heun_is_second_order(gaussian, path):
    mean, cov, z = gaussian
    v = gaussian_velocity(mean, cov, path)
    T = 0.9 if path == "follmer" else 1.0  # Heun evaluates at t = T, where follmer's alpha' is infinite
    exact = gaussian_flow_map(mean, cov, path, z, T)
    Ks = np.array([16, 32, 64, 128])
    errors = [ct.metrics.coupling_error(ct.solvers.heun(v, z, K=K, T=T), exact) for K in Ks]
    slope = np.polyfit(np.log(T / Ks), np.log(errors), 1)[0]
    assert abs(slope - 2.0) < 0.1, (slope, errors)
    assert errors[-1] < 1e-3


@pytest.mark.parametrize("path", PATHS)
def test_reference_matches_gaussian_flow_map(gaussian, path):
    mean, cov, z = gaussian
    T = 0.95 if path == "follmer" else 1.0
    x = ct.solvers.reference(gaussian_velocity(mean, cov, path), z, T=T)
    np.testing.assert_allclose(x, gaussian_flow_map(mean, cov, path, z, T), rtol=0, atol=1e-8)


def test_reference_t0_and_t_eval(gaussian):
    mean, cov, z = gaussian
    v = gaussian_velocity(mean, cov, "trig")
    times = np.array([0.25, 0.5, 1.0])
    states = ct.solvers.reference(v, z, t_eval=times)
    assert states.shape == (3,) + z.shape
    for t, state in zip(times, states):
        np.testing.assert_allclose(state, gaussian_flow_map(mean, cov, "trig", z, t), atol=1e-8)
    # restarting from the exact state at t0 = 0.5 reaches the same end point
    x_half = gaussian_flow_map(mean, cov, "trig", z, 0.5)
    np.testing.assert_allclose(ct.solvers.reference(v, x_half, t0=0.5), states[-1], atol=1e-8)


def test_reference_default_tolerance_is_tight():
    import inspect
    defaults = inspect.signature(ct.solvers.reference).parameters
    assert defaults["rtol"].default <= 1e-9 and defaults["atol"].default <= 1e-10


def test_divergence_raises_dedicated_error():
    z = np.ones((4, 2))

    def exploding(t, x):
        with np.errstate(over="ignore"):
            return 1e300 * x * x

    with pytest.raises(DivergenceError, match=r"step 2 of 5 .*t = 0\.2"):
        ct.solvers.euler(exploding, z, K=5)
    assert issubclass(DivergenceError, FloatingPointError)
    with pytest.raises(DivergenceError, match="heun"):
        ct.solvers.heun(exploding, z, K=5)


def test_velocity_with_wrong_shape_is_rejected():
    with pytest.raises(ValueError, match="velocity"):
        ct.solvers.euler(lambda t, x: x[:, :1], np.ones((3, 2)), K=2)


@pytest.mark.parametrize("kwargs, field", [
    (dict(K=0), "K"), (dict(K=-1), "K"), (dict(K=2.5), "K"),
    (dict(K=4, T=0.0), "T"), (dict(K=4, T=1.5), "T"), (dict(K=4, T=float("nan")), "T"),
    (dict(), "K, grid"), (dict(K=4, grid=[0.0, 1.0]), "K, grid"),
    (dict(grid=[0.1, 0.5, 1.0]), "grid"), (dict(grid=[0.0, 0.5, 0.5, 1.0]), "grid"),
    (dict(grid=[0.0, 0.5, 1.2]), "grid"), (dict(grid=[0.0]), "grid"), (dict(grid=[[0.0, 1.0]]), "grid"),
    (dict(grid=[0.0, 0.5], T=1.0), "T"),
])
@pytest.mark.parametrize("solver", ["euler", "heun"])
def test_time_arguments_are_validated(solver, kwargs, field):
    with pytest.raises(ValueError, match=rf"^{field}:"):
        getattr(ct.solvers, solver)(lambda t, x: x, np.ones((3, 2)), **kwargs)


@pytest.mark.parametrize("z", [np.array([[0.0, np.nan]]), np.array([[np.inf, 0.0]]), np.ones(3), np.ones((2, 2, 2))])
def test_initial_state_is_validated(z):
    for solve in (lambda: ct.solvers.euler(lambda t, x: x, z, K=2), lambda: ct.solvers.reference(lambda t, x: x, z)):
        with pytest.raises(ValueError, match=r"^z:"):
            solve()


@pytest.mark.parametrize("kwargs, field", [
    (dict(T=0.0), "T"), (dict(T=1.5), "T"), (dict(t0=1.0), "t0"), (dict(t0=-0.1), "t0"),
    (dict(rtol=0.0), "rtol"), (dict(atol=-1.0), "atol"), (dict(method="euler"), "method"),
    (dict(t_eval=[0.5, 0.2]), "t_eval"), (dict(t_eval=[0.5, 1.5]), "t_eval"),
])
def test_reference_arguments_are_validated(kwargs, field):
    with pytest.raises(ValueError, match=rf"^{field}:"):
        ct.solvers.reference(lambda t, x: x, np.ones((3, 2)), **kwargs)


def test_reference_failure_raises():
    # dx/dt = x^2 from x = 2 blows up at t = 1/2: the adaptive solver cannot pass it
    with pytest.raises(RuntimeError, match=r"reference: solve_ivp .* failed"):
        ct.solvers.reference(lambda t, x: x * x, np.full((1, 1), 2.0), T=1.0)


def test_gaussian_euler_map_rejects_indefinite_cov():
    with pytest.raises(ValueError, match=r"^cov:"):
        ct.solvers.gaussian_euler_map([0.0, 0.0], [[1.0, 0.0], [0.0, -1.0]], "linear", K=4)


# -- against the Gaussian target of chargen_theory.targets ---------------------------------------------------------
@pytest.mark.parametrize("path", PATHS)
def test_euler_with_target_velocity_equals_gaussian_euler_map(gaussian, path):
    mean, cov, z = gaussian
    target = ct.targets.get("gaussian", mean=mean, cov=cov)
    x = ct.solvers.euler(lambda t, x: target.velocity(t, x, path), z, K=20, T=1.0)
    np.testing.assert_allclose(x, ct.solvers.gaussian_euler_map(mean, cov, path, K=20)(z), rtol=0, atol=1e-10)


@pytest.mark.parametrize("path", PATHS)
def test_reference_matches_target_flow_map(gaussian, path):
    mean, cov, z = gaussian
    target = ct.targets.get("gaussian", mean=mean, cov=cov)
    T = 0.95 if path == "follmer" else 1.0
    x = ct.solvers.reference(lambda t, x: target.velocity(t, x, path), z, T=T)
    np.testing.assert_allclose(x, target.flow_map(z, T, path), rtol=0, atol=1e-8)
