"""Wasserstein-2 distances: exact (Gaussian / Bures, 1-D quantiles), converged empirical OT, the coupling bound,
sliced W2, and the estimation floor of an empirical estimator (docs/theory.md section 3).

Every function returns W2 itself (a distance, in the units of x), never W2^2, unless its docstring says otherwise.
W2 is positively homogeneous, so every function divides the data by a common power of two near their largest
magnitude (exact, no rounding) and multiplies the result back: data at 1e-200 or 1e200 give the same relative
accuracy as data at 1, never an underflow to 0 or an overflow to inf; a W2 beyond float64 raises ValueError.
"""
from __future__ import annotations

import os
import warnings

import numpy as np

# Only POT's numpy backend is used here. Without this, ``import ot`` also imports torch for its torch backend,
# which costs seconds in every fresh sweep worker. Set before the first import of POT; a user's own setting wins.
os.environ.setdefault("POT_BACKEND_DISABLE_PYTORCH", "1")
import ot  # noqa: E402

from scipy.spatial.distance import cdist  # noqa: E402

from .. import _validate

ESTIMATORS = ("emd", "sliced")
MAX_WORK_ENTRIES = 100_000_000
"""The largest float64 work array ``w2`` (n x m cost matrix) and ``sliced_w2`` ((n + m) x n_projections
projections) may allocate: 10^8 entries, 800 MB each (POT holds a few such arrays at once). Larger calls are
refused before any allocation, naming the argument and this limit."""


class OTNotConvergedError(RuntimeError):
    """The network simplex stopped before optimality (iteration cap reached or solver failure); no value is
    returned in that case, because an unconverged EMD overestimates W2."""


def _sample_pair(x, y) -> tuple[np.ndarray, np.ndarray]:
    """Validate two point clouds of shapes (n, D) and (m, D) with the same D."""
    x = _validate.sample("x", x)
    y = _validate.sample("y", y)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"y: must have the same dimension D as x ({x.shape[1]}), got shape {y.shape}")
    return x, y


def _check_work(field: str, entries: int, what: str, advice: str) -> None:
    """ValueError naming ``field`` when a work array of ``entries`` float64 entries exceeds ``MAX_WORK_ENTRIES``."""
    if entries > MAX_WORK_ENTRIES:
        raise ValueError(f"{field}: {what} = {entries:.3g} float64 entries ({entries * 8 / 2**30:.3g} GiB) exceed "
                         f"the limit MAX_WORK_ENTRIES = {MAX_WORK_ENTRIES:.0e} ({MAX_WORK_ENTRIES * 8 / 2**30:.2g} "
                         f"GiB); {advice}")


def _scale(*arrays: np.ndarray) -> float:
    """A power of two within a factor 2 of the largest |entry| of ``arrays`` (1 if all vanish): dividing by it is
    exact and brings every entry into [-2, 2]."""
    top = max((float(np.max(np.abs(a))) for a in arrays if a.size), default=0.0)
    return 1.0 if top == 0.0 else float(np.ldexp(1.0, np.frexp(top)[1] - 1))


def _unscaled(value: float, scale: float) -> float:
    """``value * scale``, a distance computed on data divided by ``scale``; ValueError if it overflows float64."""
    result = float(value) * scale
    if not np.isfinite(result):
        raise ValueError(f"x, y: W2 = {float(value):.6g} * {scale:.6g} exceeds the float64 range")
    return result


def _norm(d: np.ndarray) -> float:
    """The root sum of squares of ``d``, rescaled so that tiny entries do not underflow when squared."""
    scale = _scale(d)
    return float(np.sqrt(np.sum((d / scale) ** 2))) * scale


def _psd_sqrt(field: str, S: np.ndarray) -> np.ndarray:
    """Symmetric PSD square root via eigh; tiny negative eigenvalues (round-off) are clipped to 0."""
    w, V = np.linalg.eigh(S)
    scale = max(1.0, float(np.max(np.abs(w))))
    if w[0] < -1e-10 * scale:
        raise ValueError(f"{field}: must be positive semi-definite, smallest eigenvalue {float(w[0]):.6g}")
    return (V * np.sqrt(np.clip(w, 0.0, None))) @ V.T


def _covariance(field: str, S, D: int) -> np.ndarray:
    S = _validate.finite_array(field, S, shape=(D, D))
    if not np.allclose(S, S.T, rtol=1e-10, atol=1e-12 * max(1.0, float(np.max(np.abs(S))))):
        raise ValueError(f"{field}: must be a symmetric matrix")
    return 0.5 * S + 0.5 * S.T  # not 0.5 * (S + S.T), which overflows for entries near the float64 maximum


def w2_gaussian(m1, S1, m2, S2) -> float:
    """W2 (not squared) between N(m1, S1) and N(m2, S2), by the Bures formula.

    W2^2 = |m1 - m2|^2 + tr(S1 + S2 - 2 (S2^{1/2} S1 S2^{1/2})^{1/2}). Singular covariances are allowed: square
    roots are taken by eigh with round-off negative eigenvalues clipped, and W2^2 is clipped at 0 before the root.
    The absolute accuracy of W2^2 is about machine epsilon times tr(S1 + S2).

    Parameters
    ----------
    m1, m2 : (D,) means; S1, S2 : (D, D) symmetric positive semi-definite covariances.
    """
    m1 = _validate.finite_array("m1", m1, ndim=1)
    D = m1.shape[0]
    m2 = _validate.finite_array("m2", m2, shape=(D,))
    S1 = _covariance("S1", S1, D)
    S2 = _covariance("S2", S2, D)
    scale = _scale(m1, m2, np.sqrt(np.abs(S1)), np.sqrt(np.abs(S2)))  # means scale like x, covariances like x^2
    m1, m2, S1, S2 = m1 / scale, m2 / scale, S1 / scale / scale, S2 / scale / scale
    _psd_sqrt("S1", S1)  # validates S1 as PSD
    root2 = _psd_sqrt("S2", S2)
    cross = root2 @ S1 @ root2
    cross_eigs = np.clip(np.linalg.eigvalsh(0.5 * (cross + cross.T)), 0.0, None)
    bures_squared = np.trace(S1) + np.trace(S2) - 2.0 * np.sum(np.sqrt(cross_eigs))
    return _unscaled(np.hypot(_norm(m1 - m2), np.sqrt(max(bures_squared, 0.0))), scale)


def _one_dim(field: str, x) -> np.ndarray:
    x = _validate.finite_array(field, x)
    if x.ndim == 2 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 1 or x.shape[0] == 0:
        raise ValueError(f"{field}: must be a non-empty 1-D sample of shape (n,) or (n, 1), got shape {x.shape}")
    return x


def w2_1d(x, y) -> float:
    """Exact W2 (not squared) between the uniform empirical measures of two 1-D samples.

    W2^2 = int_0^1 |F^{-1}(u) - G^{-1}(u)|^2 du with the empirical quantile functions, which are piecewise constant
    with breaks at i/n and j/m; the breaks are merged in integer units of 1/(n m), so unequal sizes are exact.

    Parameters
    ----------
    x : (n,) or (n, 1); y : (m,) or (m, 1).
    """
    x = np.sort(_one_dim("x", x))
    y = np.sort(_one_dim("y", y))
    scale = _scale(x, y)
    x, y = x / scale, y / scale
    n, m = x.shape[0], y.shape[0]
    if n == m:
        return _unscaled(_norm(x - y) / np.sqrt(n), scale)
    breaks = np.union1d(np.arange(1, n + 1, dtype=np.int64) * m, np.arange(1, m + 1, dtype=np.int64) * n)
    weights = np.diff(breaks, prepend=0) / (n * m)
    gaps = x[(breaks - 1) // m] - y[(breaks - 1) // n]
    return _unscaled(_norm(np.sqrt(weights) * gaps), scale)


def default_num_itermax(n: int, m: int) -> int:
    """The default iteration cap of ``w2``: max(10^7, 10 n m), far above what converged problems need."""
    return max(10_000_000, 10 * n * m)


def w2(x, y, num_itermax: int | None = None) -> float:
    """Exact W2 (not squared) between the uniform empirical measures of x and y, by converged network simplex.

    Uses POT ``ot.emd2`` on the squared Euclidean cost (scipy ``cdist``, summed squared differences: no
    cancellation for nearby points), so W2 = sqrt(emd2); 1-D data go to ``w2_1d``.
    Cost O(n^3 log n) time and O(n m) memory; n m above ``MAX_WORK_ENTRIES`` is refused (ValueError) before any
    allocation.

    Parameters
    ----------
    x : (n, D); y : (m, D), finite.
    num_itermax : network simplex iteration cap; default ``default_num_itermax(n, m)``.

    Raises
    ------
    OTNotConvergedError if the solver stops before optimality; an unconverged value is never returned.
    """
    x, y = _sample_pair(x, y)
    cap = default_num_itermax(x.shape[0], y.shape[0]) if num_itermax is None \
        else _validate.positive_int("num_itermax", num_itermax)
    if x.shape[1] == 1:
        return w2_1d(x, y)
    _check_work("x, y", x.shape[0] * y.shape[0], f"the n x m = {x.shape[0]} x {y.shape[0]} cost matrix",
                "compare subsamples, or use sliced_w2 or metrics.bounds (sliced_lower, gelbrich_lower)")
    scale = _scale(x, y)
    a = np.full(x.shape[0], 1.0 / x.shape[0])
    b = np.full(y.shape[0], 1.0 / y.shape[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # POT only warns on non-convergence; we raise instead
        cost, log = ot.emd2(a, b, cdist(x / scale, y / scale, "sqeuclidean"), numItermax=cap, log=True)
    if log["result_code"] != 1:
        raise OTNotConvergedError(f"w2: exact OT did not converge (POT result_code {log['result_code']}: "
                                  f"{log['warning']}; num_itermax={cap}, n={x.shape[0]}, m={y.shape[0]})")
    return _unscaled(np.sqrt(max(float(cost), 0.0)), scale)


def coupling_error(x, y) -> float:
    """(mean_i |x_i - y_i|^2)^{1/2} (a root mean square, not squared) for paired samples x_i, y_i.

    If (x_i, y_i) are draws of a coupling of two laws, its expectation bounds their W2 from above; with
    x_i = G(z_i), y_i = T(z_i) on the same prior draws it is the Monte Carlo coupling bound of docs/theory.md section 3.

    Parameters
    ----------
    x, y : (n, D), paired row by row.
    """
    x, y = _sample_pair(x, y)
    if x.shape != y.shape:
        raise ValueError(f"y: must have the same shape as x {x.shape} (paired samples), got {y.shape}")
    scale = _scale(x, y)
    return _unscaled(_norm(x / scale - y / scale) / np.sqrt(x.shape[0]), scale)


def sliced_w2(x, y, n_projections: int = 200, *, rng: np.random.Generator) -> float:
    """Monte Carlo sliced W2 (not squared): (mean over directions theta of W2^2(theta#x, theta#y))^{1/2}.

    Directions are uniform on the unit sphere, drawn from ``rng``; computed by POT
    ``ot.sliced_wasserstein_distance(p=2)``, which returns this root-mean-square (not its square). Since every
    projection is 1-Lipschitz, sliced_w2 <= w2 for the same samples.

    Parameters
    ----------
    x : (n, D); y : (m, D); n_projections : number of random directions, with (n + m + D) n_projections at most
    ``MAX_WORK_ENTRIES`` (ValueError otherwise, before any allocation); rng : numpy Generator.
    """
    x, y = _sample_pair(x, y)
    n_projections = _validate.positive_int("n_projections", n_projections)
    _check_work("n_projections", (x.shape[0] + y.shape[0] + x.shape[1]) * n_projections,
                f"(n + m + D) x n_projections = ({x.shape[0]} + {y.shape[0]} + {x.shape[1]}) x {n_projections}",
                f"use at most {MAX_WORK_ENTRIES // (x.shape[0] + y.shape[0] + x.shape[1])} projections")
    directions = _validate.generator("rng", rng).standard_normal((x.shape[1], n_projections))
    directions /= np.linalg.norm(directions, axis=0, keepdims=True)
    scale = _scale(x, y)
    return _unscaled(ot.sliced_wasserstein_distance(x / scale, y / scale, projections=directions, p=2), scale)


def estimation_floor(target, n: int, rng: np.random.Generator, method: str = "emd", repeats: int = 5,
                     return_std: bool = False):
    """The estimation floor of an empirical W2 estimator: the estimator between two independent n-samples of
    the target, below which an empirical W2 at sample size n resolves nothing.

    Parameters
    ----------
    target : any object with ``.sample(n, rng) -> (n, D)``.
    n : sample size of each of the two samples.
    rng : numpy Generator (draws the samples, and the directions for "sliced").
    method : "emd" (``w2``, exact OT; 1-D data use ``w2_1d``) or "sliced" (``sliced_w2``).
    repeats : number of independent pairs of samples.
    return_std : also return the sample standard deviation (ddof = 1; 0 when repeats = 1) of the repeats.

    Returns
    -------
    float, the arithmetic mean of the W2 values (not W2^2) over ``repeats`` independent pairs of n-samples;
    (mean, std) if ``return_std``.
    """
    if not callable(getattr(target, "sample", None)):
        raise ValueError("target: must be an object with a .sample(n, rng) method")
    n = _validate.positive_int("n", n)
    repeats = _validate.positive_int("repeats", repeats)
    method = _validate.choice("method", method, ESTIMATORS)
    rng = _validate.generator("rng", rng)
    values = np.empty(repeats)
    for r in range(repeats):
        x, y = target.sample(n, rng), target.sample(n, rng)
        values[r] = w2(x, y) if method == "emd" else sliced_w2(x, y, rng=rng)
    mean = float(np.mean(values))
    if not return_std:
        return mean
    return mean, (float(np.std(values, ddof=1)) if repeats > 1 else 0.0)
