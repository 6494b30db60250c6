"""ODE solvers for the probability-flow ODE dZ/dt = v(t, Z) started at Z_0 = z.

A velocity is any callable ``velocity(t, x) -> (n, D)`` with ``t`` a Python float and ``x`` of shape (n, D); the
solvers always pass a float. Time grids are 0 = t_0 < t_1 < ... < t_K = T <= 1; the uniform grid has step
h = T / K (``step_size``, the one place h is defined). Fixed-step solvers:

- ``euler``: K velocity evaluations, first order in h;
- ``heun``: 2K velocity evaluations, second order in h;

and ``reference``: a tight-tolerance adaptive solve (scipy.integrate.solve_ivp) of all particles at once, the ground
truth where no closed-form flow map exists. ``gaussian_euler_map`` is the closed-form affine map of K Euler steps
with the exact velocity of a Gaussian target (docs/theory.md section 2). ``counted`` wraps a velocity to count its
function evaluations (NFE).
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np
from scipy.integrate import solve_ivp

from . import _validate
from .paths import Interpolant, get as get_path

Velocity = Callable[[float, np.ndarray], np.ndarray]

REFERENCE_METHODS = ("DOP853", "RK45", "RK23", "Radau", "BDF", "LSODA")


class DivergenceError(FloatingPointError):
    """The state of an ODE solve became non-finite (NaN or inf); the message names the step and the time."""


class CountedVelocity:
    """A velocity that counts its calls: ``nfe`` is the number of function evaluations so far."""

    def __init__(self, velocity: Velocity):
        self.velocity = velocity
        self.nfe = 0

    def __call__(self, t: float, x: np.ndarray) -> np.ndarray:
        self.nfe += 1
        return self.velocity(t, x)


def counted(velocity: Velocity) -> CountedVelocity:
    """Wrap ``velocity`` so that its number of evaluations is available as ``.nfe``."""
    return CountedVelocity(velocity)


def step_size(K: int, T: float = 1.0) -> float:
    """The uniform step h = T / K of K steps on [0, T]."""
    return _validate.end_time("T", T) / _validate.positive_int("K", K)


def uniform_grid(K: int, T: float = 1.0) -> np.ndarray:
    """The uniform grid t_k = k h, k = 0..K, h = T / K; shape (K + 1,), float64, last point exactly T."""
    h = step_size(K, T)
    grid = h * np.arange(K + 1, dtype=np.float64)
    grid[-1] = float(T)
    return grid


def time_grid(K: int | None = None, T: float | None = None, grid=None) -> np.ndarray:
    """Resolve a solver's time arguments to a grid of shape (K + 1,).

    Exactly one of ``K`` (uniform grid on [0, T], T defaults to 1) and ``grid`` (strictly increasing, starting at
    0, ending at most at 1; ``T``, if given, must equal its last point) must be given.
    """
    if (K is None) == (grid is None):
        raise ValueError("K, grid: give exactly one of K (uniform steps) and grid (explicit time grid)")
    if grid is None:
        return uniform_grid(K, 1.0 if T is None else T)
    grid = _validate.finite_array("grid", grid, ndim=1)
    if grid.shape[0] < 2 or grid[0] != 0.0 or np.any(np.diff(grid) <= 0.0) or grid[-1] > 1.0:
        raise ValueError("grid: must be a strictly increasing 1-D array of times with grid[0] = 0, grid[-1] <= 1 "
                         "and at least 2 points")
    if T is not None and _validate.end_time("T", T) != grid[-1]:
        raise ValueError(f"T: must equal grid[-1] = {grid[-1]!r} when a grid is given, got {T!r}")
    return grid


def _initial_state(z) -> np.ndarray:
    z = _validate.finite_array("z", z, ndim=2)
    return z.copy()


def _velocity_at(velocity: Velocity, t: float, x: np.ndarray) -> np.ndarray:
    v = np.asarray(velocity(float(t), x), dtype=np.float64)
    if v.shape != x.shape:
        raise ValueError(f"velocity: must return an array of shape {x.shape} (the state's), got {v.shape}")
    return v


def _euler_step(velocity: Velocity, t: float, h: float, x: np.ndarray) -> np.ndarray:
    return x + h * _velocity_at(velocity, t, x)


def _heun_step(velocity: Velocity, t: float, h: float, x: np.ndarray) -> np.ndarray:
    v0 = _velocity_at(velocity, t, x)
    v1 = _velocity_at(velocity, t + h, x + h * v0)
    return x + 0.5 * h * (v0 + v1)


def _integrate(solver: str, step, velocity, z, K, T, grid, return_path: bool) -> np.ndarray:
    grid = time_grid(K, T, grid)
    x = _initial_state(z)
    path = np.empty((grid.shape[0],) + x.shape) if return_path else None
    if return_path:
        path[0] = x
    for k in range(grid.shape[0] - 1):
        t, h = grid[k], grid[k + 1] - grid[k]
        x = step(velocity, t, h, x)
        if not np.all(np.isfinite(x)):
            raise DivergenceError(f"{solver}: the state became non-finite at step {k + 1} of {grid.shape[0] - 1} "
                                  f"(from t = {t:.6g} to t = {grid[k + 1]:.6g})")
        if return_path:
            path[k + 1] = x
    return path if return_path else x


def euler(velocity: Velocity, z, K: int | None = None, T: float | None = None, grid=None,
          return_path: bool = False) -> np.ndarray:
    """Explicit Euler: x_{k+1} = x_k + (t_{k+1} - t_k) v(t_k, x_k), exactly K velocity evaluations.

    Parameters
    ----------
    velocity : callable (t: float, x: (n, D)) -> (n, D)
    z : (n, D) initial states (prior draws), finite.
    K : number of uniform steps (h = T / K); or give ``grid`` instead.
    T : end time in (0, 1]; default 1 (with ``grid``: its last point).
    grid : (K + 1,) explicit strictly increasing time grid from 0.
    return_path : return the whole discrete characteristic instead of the end point.

    Returns
    -------
    (n, D) the state at T, or (K + 1, n, D) the states at every grid time (path[0] = z).

    Raises
    ------
    DivergenceError if the state becomes NaN or inf.
    """
    return _integrate("euler", _euler_step, velocity, z, K, T, grid, return_path)


def heun(velocity: Velocity, z, K: int | None = None, T: float | None = None, grid=None,
         return_path: bool = False) -> np.ndarray:
    """Heun's method (explicit trapezoid), second order, 2K velocity evaluations; arguments and return as ``euler``.

    Note that the last step evaluates the velocity at t = T itself (singular at t = 1 for targets on manifolds).
    """
    return _integrate("heun", _heun_step, velocity, z, K, T, grid, return_path)


def reference(velocity: Velocity, z, T: float = 1.0, t0: float = 0.0, rtol: float = 1e-10, atol: float = 1e-12,
              method: str = "DOP853", t_eval=None) -> np.ndarray:
    """Tight-tolerance adaptive solve of the ODE for all particles at once (one flattened state of size n D).

    Parameters
    ----------
    velocity : callable (t: float, x: (n, D)) -> (n, D)
    z : (n, D) states at time t0.
    T : end time in (t0, 1].
    t0 : start time in [0, T).
    rtol, atol : scipy.integrate.solve_ivp tolerances (error control over the whole flattened state).
    method : a solve_ivp method, one of REFERENCE_METHODS.
    t_eval : optional increasing times in [t0, T] at which to return the state.

    Returns
    -------
    (n, D) the state at T, or (len(t_eval), n, D) the states at ``t_eval``.

    Raises
    ------
    RuntimeError if solve_ivp fails; DivergenceError if the velocity or the result is not finite.
    """
    x0 = _initial_state(z)
    T = _validate.end_time("T", T)
    t0 = _validate.finite_array("t0", t0, ndim=0).item()
    if not 0.0 <= t0 < T:
        raise ValueError(f"t0: must be in [0, T) = [0, {T!r}), got {t0!r}")
    rtol = _validate.positive_float("rtol", rtol)
    atol = _validate.positive_float("atol", atol)
    method = _validate.choice("method", method, REFERENCE_METHODS)
    if t_eval is not None:
        t_eval = _validate.finite_array("t_eval", t_eval, ndim=1)
        if np.any(np.diff(t_eval) <= 0.0) or t_eval[0] < t0 or t_eval[-1] > T:
            raise ValueError(f"t_eval: must be strictly increasing times in [t0, T] = [{t0!r}, {T!r}]")

    shape = x0.shape

    def rhs(t, y):
        v = _velocity_at(velocity, t, y.reshape(shape))
        if not np.all(np.isfinite(v)):  # solve_ivp would shrink its step forever
            raise DivergenceError(f"reference: the velocity is not finite (NaN or inf) at t = {t:.6g}")
        return v.ravel()

    sol = solve_ivp(rhs, (t0, T), x0.ravel(), method=method, rtol=rtol, atol=atol, t_eval=t_eval)
    if not sol.success:
        raise RuntimeError(f"reference: solve_ivp ({method}, rtol={rtol:g}, atol={atol:g}) failed on "
                           f"[{t0:g}, {T:g}]: {sol.message}")
    if not np.all(np.isfinite(sol.y)):
        raise DivergenceError(f"reference: the solution became non-finite on [{t0:g}, {T:g}]")
    if t_eval is None:
        return sol.y[:, -1].reshape(shape)
    return sol.y.T.reshape((t_eval.shape[0],) + shape)


class AffineMap(NamedTuple):
    """The affine map x = z @ matrix.T + offset; the image of N(0, I) is N(offset, matrix @ matrix.T)."""

    matrix: np.ndarray  # (D, D)
    offset: np.ndarray  # (D,)

    def __call__(self, z) -> np.ndarray:
        """Apply to z of shape (n, D); returns (n, D)."""
        return np.asarray(z, dtype=np.float64) @ self.matrix.T + self.offset

    @property
    def covariance(self) -> np.ndarray:
        """matrix @ matrix.T, the covariance of the image of N(0, I); (D, D)."""
        return self.matrix @ self.matrix.T


def gaussian_euler_map(mean, cov, path: str | Interpolant, K: int | None = None, T: float | None = None,
                       grid=None) -> AffineMap:
    """The closed-form affine map z -> x_K of Euler steps with the exact velocity of the target N(mean, cov).

    With S = U diag(s) U^T and u = U^T x, the exact velocity is, per eigen-direction i,
    v_i = b' mu_i + g_i(t) (u_i - b mu_i), g_i = (a a' + b b' s_i) / (a^2 + b^2 s_i), mu = U^T mean, so one Euler step
    is the scalar affine recursion u <- (1 + h g_i) u + h (b' - g_i b) mu_i. Euler never evaluates at t = T, so
    a > 0 at every evaluation and singular covariances are allowed.

    Parameters
    ----------
    mean : (D,); cov : (D, D) symmetric positive semi-definite; path : a path or its name.
    K, T, grid : the time grid, as in ``euler``.

    Returns
    -------
    AffineMap with x_K = z @ matrix.T + offset, so the Euler output law is N(offset, matrix @ matrix.T).
    """
    mean = _validate.finite_array("mean", mean, ndim=1)
    D = mean.shape[0]
    cov = _validate.finite_array("cov", cov, shape=(D, D))
    path = get_path(path)
    grid = time_grid(K, T, grid)
    s, U = np.linalg.eigh(0.5 * (cov + cov.T))
    if s[0] < -1e-12 * max(1.0, s[-1]):
        raise ValueError(f"cov: must be positive semi-definite, smallest eigenvalue {s[0]!r}")
    s = np.clip(s, 0.0, None)
    mu = U.T @ mean
    gain = np.ones(D)
    shift = np.zeros(D)  # u_k = gain * u_0 + shift * mu
    for t, h in zip(grid[:-1], np.diff(grid)):
        a, b, da, db = (float(c) for c in path.coefficients(t))
        g = (a * da + b * db * s) / (a * a + b * b * s)
        gain, shift = (1.0 + h * g) * gain, (1.0 + h * g) * shift + h * (db - g * b)
    return AffineMap(matrix=(U * gain) @ U.T, offset=U @ (shift * mu))
