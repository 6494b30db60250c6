"""The velocity-matching error: the L2 distance between an estimated and the exact velocity along the path.

velocity_l2 = ( integral_0^T E_{x ~ p_t} |v_hat(t, x) - v(t, x)|^2 dt )^(1/2), in units of velocity (x per unit
time), the quantity the paper's velocity-matching bound controls (docs/theory.md section 1, item 6).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import _validate
from ..paths import Interpolant, get as get_path
from ..targets.base import Target


@dataclass(frozen=True, eq=False)
class VelocityL2:
    """Result of ``velocity_l2``.

    value : the L2 error (integral_0^T E|v_hat - v|^2 dt)^(1/2), units of velocity.
    stderr : Monte Carlo standard error of ``value`` (delta method: stderr of the integral / (2 value)).
    relative : value / (integral_0^T E|v|^2 dt)^(1/2), over the same draws.
    t_edges : (n_slices + 1,) edges of the equal time slices of [0, T].
    slice_l2 : (n_slices,) per-slice RMS error ((1/|slice|) integral_slice E|v_hat - v|^2 dt)^(1/2), so that
        value^2 = T * mean(slice_l2^2); shows where the error grows (towards t = 1 on manifold targets).
    T : end time; n_eval : number of (t, x) draws used (a multiple of n_slices).
    """

    value: float
    stderr: float
    relative: float
    t_edges: np.ndarray
    slice_l2: np.ndarray
    T: float
    n_eval: int


N_SLICES = 10
"""Default number of time slices of ``velocity_l2`` (it needs n_eval >= 2 n_slices)."""


def velocity_l2(est, target: Target, path: str | Interpolant, T: float = 1.0, n_eval: int = 4000,
                rng: np.random.Generator | None = None, n_slices: int = N_SLICES) -> VelocityL2:
    """L2 error of a velocity estimate against the target's exact velocity, by stratified Monte Carlo.

    t is stratified: [0, T] is cut into n_eval' = n_slices * (n_eval // n_slices) equal strata with one uniform
    draw in each; x = alpha(t) X0 + beta(t) X1 with X0 ~ N(0, I) and fresh X1 = target.sample (so x ~ p_t); the
    exact v = target.velocity(t, x, path). The standard error treats each of the n_slices slices as a stratum
    with independent draws, which overstates the variance of the finer stratification (conservative).

    Parameters
    ----------
    est : a fitted velocity estimator, or any callable est(t, x) with t (N,), x (N, D) -> (N, D).
    target : the Target the estimator learned; path : path name or Interpolant.
    T : end time in (0, 1]; n_eval : draws (>= 2 n_slices); rng : numpy Generator; n_slices : time slices.

    Returns
    -------
    VelocityL2 (value in units of velocity). Raises FloatingPointError if ``est`` returns NaN or inf.
    """
    if not isinstance(target, Target):
        raise ValueError(f"target: must be a chargen_theory Target, got {type(target).__name__}")
    path = get_path(path)
    T = _validate.end_time("T", T)
    n_slices = _validate.positive_int("n_slices", n_slices)
    n_eval = _validate.positive_int("n_eval", n_eval)
    if n_eval < 2 * n_slices:
        raise ValueError(f"n_eval: must be >= 2 * n_slices = {2 * n_slices}, got {n_eval}")
    _validate.generator("rng", rng)
    per_slice = n_eval // n_slices
    n = per_slice * n_slices
    t = T * (np.arange(n) + rng.uniform(size=n)) / n
    a, b = path.alpha(t), path.beta(t)
    x = a[:, None] * rng.standard_normal((n, target.dim)) + b[:, None] * target.sample(n, rng)
    v = target.velocity(t, x, path)
    v_hat = np.asarray(est(t, x), dtype=np.float64)
    if v_hat.shape != v.shape:
        raise ValueError(f"est: must return shape {v.shape} for x of shape {x.shape}, got {v_hat.shape}")
    bad = ~np.isfinite(v_hat).all(axis=1)
    if bad.any():
        raise FloatingPointError(f"est: returned NaN or inf at {int(bad.sum())} of {n} points "
                                 f"(first at t = {t[bad][0]:.6g})")
    sq_err = np.sum((v_hat - v) ** 2, axis=1).reshape(n_slices, per_slice)
    slice_mean = sq_err.mean(axis=1)
    integral = T * slice_mean.mean()
    integral_var = np.sum((T / n_slices) ** 2 * sq_err.var(axis=1, ddof=1) / per_slice)
    value = float(np.sqrt(integral))
    stderr = float(np.sqrt(integral_var) / (2.0 * value)) if value > 0 else 0.0
    v_norm = np.sqrt(T * np.mean(np.sum(v * v, axis=1)))
    return VelocityL2(value=value, stderr=stderr, relative=float(value / v_norm) if v_norm > 0 else float("nan"),
                      t_edges=np.linspace(0.0, T, n_slices + 1), slice_l2=np.sqrt(slice_mean), T=T, n_eval=n)
