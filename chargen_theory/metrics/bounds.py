"""Bounds on W2 between the law of a sample and a reference law, each with a confidence interval and, for the
lower bounds, the estimation floor below which a value resolves nothing (docs/theory.md section 3).

- ``coupling_upper``: W2(law x, law y) <= (E|X - Y|^2)^(1/2) for paired draws of any coupling (x_i = G(z_i),
  y_i = T(z_i) on common prior draws). Monte Carlo precision n^(-1/2) in any dimension; no floor.
- ``gelbrich_lower``: W2^2 >= |m1 - m2|^2 + Bures^2(S1, S2) (Gelbrich 1990) from the means and covariances.
- ``sliced_lower``: W2(mu, nu) >= W2(u#mu, u#nu) for every unit vector u (a projection is 1-Lipschitz); the
  direction is chosen on one part of the samples and the 1-D W2 evaluated on the held-out rest.
- ``bracket``: both sides for a results row, as flat columns (``bracket_columns``).

Every value is W2 itself (a distance in the units of x), never W2^2.

Confidence intervals of the lower bounds come from the triangle inequality, so that they hold whatever W2 is, 0
included. Both lower bounds are distances d(P_hat, Q_hat) between estimates of the two laws (Gaussians with the
sample moments; 1-D empirical laws along a direction), and d is a metric, so |d(P_hat, Q_hat) - d(P, Q)| <= e with
the estimation error e = d(P_hat, P) + d(Q_hat, Q) (0 for an exact reference). The bootstrap gives the law of e:
a replicate is the same distance between a resample and the sample it came from. With q the (1 + level) / 2
quantile of those replicates, the interval is [max(v - q, 0), v + q]: each end holds with probability
(1 + level) / 2 as the ends of a two-sided interval at ``level`` do, and both together hold with at least that
probability. Near W2 = 0 the plug-in value is all estimation error (a positive bias, the max of a norm), and the
basic bootstrap interval of earlier versions excluded 0 in up to 70 % of repeats; this one covers it.

Above ``max_boot_rows`` rows the bootstrap runs on a random subsample of k rows and its replicates are rescaled by
(k / n)^(1/2) (m-out-of-n bootstrap; W2 estimates fluctuate like n^(-1/2), up to the log log n of a Gaussian's 1-D
floor). The floor is the RMS of the error replicates: "the same estimator between a sample and its own law", with
the squared floors of the two sides added when the reference is a sample too. A value within ``FLOOR_FACTOR``
floors resolves nothing (``bracket`` flags it); windows of rate fits drop such levels (``rates.fit_slope``).

W2 and every bound are positively homogeneous, so each function divides the data by a power of two near their
largest magnitude (exact) and multiplies the results back: data at 1e-200 or 1e200 give the same relative accuracy
as data at 1.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from scipy import stats
from scipy.optimize import elementwise
from scipy.special import ndtr, ndtri

from .. import _validate
from ..targets.mixture import GaussianMixture, mixture_weights, psd_eigh
from .w2 import _check_work, _covariance, _psd_sqrt, _sample_pair, _scale, _unscaled, w2_1d, w2_gaussian

METHODS = ("coupling", "gelbrich", "sliced")
MAX_BOOT_ROWS = 65_536  # rows a bootstrap replicate resamples; beyond, m-out-of-n with rescaling
FLOOR_FACTOR = 3.0  # a lower bound resolves W2 above this many floors (rates.fit_slope's default window)


@dataclass(frozen=True)
class Bound:
    """One bound on W2 (not W2^2), in the units of the samples.

    value : point estimate; ci_low, ci_high : confidence interval at ``level`` (for the lower bounds, each end
    holds with probability (1 + level) / 2 whatever W2 is; see the module).
    method : "coupling" (upper bound), "gelbrich" or "sliced" (lower bounds).
    n : rows of x the value is computed from (the held-out part for "sliced").
    floor : estimation floor of the value (0 for "coupling"): what the estimator reads when the two laws are equal.
    level : confidence level of the interval.
    """

    value: float
    ci_low: float
    ci_high: float
    method: str
    n: int
    floor: float = 0.0
    level: float = 0.95


@dataclass(frozen=True, eq=False)
class SlicedBound(Bound):
    """A ``Bound`` from ``sliced_lower`` with its search record: ``direction`` (D,) the unit vector chosen on the
    search part; ``search_value`` the largest 1-D W2 over the candidates on the search part (biased upwards by the
    max, a diagnostic only; NaN in 1-D, where there is no search); ``n_candidates`` directions tried."""

    direction: np.ndarray = field(default_factory=lambda: np.zeros(0))
    search_value: float = math.nan
    n_candidates: int = 0


# -- argument checks ---------------------------------------------------------------------------------------------
def _level(level, field: str = "level") -> float:
    """A number in (0, 1): a confidence level, or a share such as the held-out fraction."""
    try:
        v = float(level)
    except (TypeError, ValueError):
        raise ValueError(f"{field}: must be a number in (0, 1), got {level!r}") from None
    if not 0.0 < v < 1.0:
        raise ValueError(f"{field}: must be a number in (0, 1), got {level!r}")
    return v


def _rows(field_name: str, x, at_least: int) -> np.ndarray:
    return _validate.sample(field_name, x, at_least)


def _reference_kind(y, exact, exact_name: str) -> str:
    """"sample" or "exact": which of the two reference routes was given (exactly one is allowed)."""
    if y is not None and exact is not None:
        raise ValueError(f"y, {exact_name}: give either a reference sample y or {exact_name}, not both")
    if y is None and exact is None:
        raise ValueError(f"y, {exact_name}: give a reference sample y or {exact_name}")
    return "sample" if y is not None else "exact"


def _triangle_interval(value: float, errors: np.ndarray, level: float) -> tuple[float, float]:
    """[max(v - q, 0), v + q] with q the (1 + level) / 2 quantile of the bootstrap replicates (B,) of the estimation
    error e: the true distance lies within e of the value v (triangle inequality). q is the k-th smallest replicate,
    k = ceil(p (B + 1)) for p = (1 + level) / 2 (the largest if k > B): an error exchangeable with B replicates is
    at most that one with probability k / (B + 1) >= p, where an interpolated quantile falls short by about 1 / B."""
    k = math.ceil((0.5 + level / 2) * (len(errors) + 1))
    q = float(np.partition(errors, min(k, len(errors)) - 1)[min(k, len(errors)) - 1])
    return max(value - q, 0.0), value + q


def _rescaled(bound: Bound, scale: float, **more) -> Bound:
    """``bound`` computed on data divided by ``scale``, in the units of the data (``_unscaled``: ValueError if a
    number leaves float64)."""
    return dataclasses.replace(bound, value=_unscaled(bound.value, scale), ci_low=_unscaled(bound.ci_low, scale),
                               ci_high=_unscaled(bound.ci_high, scale), floor=_unscaled(bound.floor, scale), **more)


def _subsample(rng: np.random.Generator, n: int, cap: int) -> tuple[np.ndarray | None, float]:
    """Rows for an m-out-of-n bootstrap: (None, 1) when n <= cap, else (k = cap sorted row indices, k / n)."""
    if n <= cap:
        return None, 1.0
    return np.sort(rng.choice(n, cap, replace=False)), cap / n


def _sorted_resample(rng: np.random.Generator, n: int) -> np.ndarray:
    """Indices of a bootstrap resample of n rows, in increasing order (n,): a sorted sample stays sorted."""
    idx = rng.integers(0, n, n)
    idx.sort()
    return idx


# -- upper bound: coupling ---------------------------------------------------------------------------------------
def coupling_upper(x, y, level: float = 0.95) -> Bound:
    """Monte Carlo coupling bound: W2(law of x, law of y) <= (E|X - Y|^2)^(1/2) for paired draws (X, Y).

    x, y : (n, D) paired row by row, n >= 2 (x_i = G(z_i), y_i = T(z_i) on the same prior draws z_i).
    Returns ``Bound(value=(mean_i |x_i - y_i|^2)^(1/2), method="coupling", floor=0)``; the interval is a
    skewness-corrected Student-t interval on the mean of the squared norms (clipped at 0), then square-rooted. It
    is an interval for the coupling's cost, which is >= W2, so ci_high is an upper confidence limit for W2.
    Precision n^(-1/2) in any D.

    The squared norms are right-skewed (a chi-square for Gaussian differences), and a plain t interval then misses
    on the upper side two to three times as often as it should. The interval inverts Hall's transformation of the
    Studentized mean T, g(T) = T + a T^2 + a^2 T^3 / 3 + a / 2 with a = skewness / (3 n^(1/2)) (Hall, J. R. Statist.
    Soc. B 54 (1992) 221-228), whose law is N(0, 1) up to O(1/n): mean - sd n^(-1/2) g^(-1)(+-t), t the Student
    quantile, g^(-1)(u) = ((1 + 3 a (u - a / 2))^(1/3) - 1) / a.
    """
    x, y = _sample_pair(x, y)
    if x.shape != y.shape:
        raise ValueError(f"y: must have the same shape as x {x.shape} (paired samples), got {y.shape}")
    n = x.shape[0]
    if n < 2:
        raise ValueError(f"x: need at least 2 paired rows for a confidence interval, got {n}")
    level = _level(level)
    scale = _scale(x, y)
    diff = x / scale - y / scale
    squares = np.einsum("ij,ij->i", diff, diff)
    mean = float(squares.mean())
    sd = float(squares.std(ddof=1))
    a = float(stats.skew(squares, bias=False)) / (3.0 * math.sqrt(n)) if n > 2 and sd > 0 else 0.0
    t = float(stats.t.ppf(0.5 + level / 2, n - 1))

    def inverse(u: float) -> float:  # g^(-1)(u)
        return u if a == 0.0 else (float(np.cbrt(1.0 + 3.0 * a * (u - a / 2.0))) - 1.0) / a

    low, high = mean - sd * inverse(t) / math.sqrt(n), mean - sd * inverse(-t) / math.sqrt(n)
    return _rescaled(Bound(math.sqrt(mean), math.sqrt(max(low, 0.0)), math.sqrt(max(high, 0.0)), "coupling", n,
                           0.0, level), scale)


# -- lower bound: Gelbrich ---------------------------------------------------------------------------------------
def _moments(x: np.ndarray, centre: np.ndarray | None = None):
    """Mean (D,) and covariance (D, D) (divisor n - 1) of rows x (n, D), accumulated about ``centre``."""
    centre = x[0] if centre is None else centre
    xt = np.ascontiguousarray((x - centre).T)
    m, S = _centred_moments(xt, np.full(x.shape[0], 1.0 / x.shape[0]))
    return m + centre, S


def _centred_moments(xt: np.ndarray, weights: np.ndarray):
    """Weighted mean (D,) and covariance (D, D) (divisor n - 1) of the columns of xt (D, n), weights summing to 1.
    Small D use einsum: a threaded BLAS product of such thin matrices is slow on a loaded machine (12 ms instead of
    0.1 ms for D = 1, n = 40000, measured)."""
    n = xt.shape[1]
    m = np.einsum("ik,k->i", xt, weights)
    second = np.einsum("ik,jk->ij", xt * weights, xt) if xt.shape[0] <= 8 else (xt * weights) @ xt.T
    cov = (second - np.outer(m, m)) * (n / (n - 1))
    return m, 0.5 * (cov + cov.T)


def _psd(S: np.ndarray) -> np.ndarray:
    """Nearest PSD matrices (eigenvalues clipped at 0) of symmetric (..., D, D)."""
    w, V = np.linalg.eigh(S)
    return (V * np.clip(w, 0.0, None)[..., None, :]) @ np.swapaxes(V, -1, -2)


def _gelbrich_squared(m1, S1, m2, S2) -> np.ndarray:
    """|m1 - m2|^2 + Bures^2(S1, S2) for stacks (..., D) and (..., D, D) of PSD matrices (clipped at 0)."""
    w, V = np.linalg.eigh(S2)
    root2 = (V * np.sqrt(np.clip(w, 0.0, None))[..., None, :]) @ np.swapaxes(V, -1, -2)
    cross = root2 @ S1 @ root2
    cross_eigs = np.clip(np.linalg.eigvalsh(0.5 * (cross + np.swapaxes(cross, -1, -2))), 0.0, None)
    trace = np.trace(S1, axis1=-2, axis2=-1) + np.trace(S2, axis1=-2, axis2=-1)
    value = np.sum((m1 - m2) ** 2, axis=-1) + trace - 2.0 * np.sqrt(cross_eigs).sum(axis=-1)
    return np.maximum(value, 0.0)


def _moment_replicates(x: np.ndarray, n_boot: int, rng, cap: int):
    """Bootstrap replicates of (mean, covariance) of x (n, D): (B, D), (B, D, D). Above ``cap`` rows the
    replicates of a k-row subsample are moved to x's own moments with their spread scaled by (k / n)^(1/2)."""
    n, D = x.shape
    m_full, S_full = _moments(x)
    rows, ratio = _subsample(rng, n, cap)
    xt = np.ascontiguousarray((x if rows is None else x[rows]).T - m_full[:, None])
    k = xt.shape[1]
    m_sub, S_sub = _centred_moments(xt, np.full(k, 1.0 / k))
    scale = math.sqrt(ratio)
    means, covs = np.empty((n_boot, D)), np.empty((n_boot, D, D))
    for b in range(n_boot):
        weights = np.bincount(rng.integers(0, k, k), minlength=k) / k
        m_b, S_b = _centred_moments(xt, weights)
        means[b] = m_full + scale * (m_b - m_sub)
        covs[b] = S_full + scale * (S_b - S_sub)
    return (m_full, S_full), means, _psd(covs)


def gelbrich_lower(x, y=None, *, mean=None, cov=None, rng: np.random.Generator, level: float = 0.95,
                   n_boot: int = 200, max_boot_rows: int = MAX_BOOT_ROWS) -> Bound:
    """Gelbrich lower bound W2(law of x, reference) >= (|m1 - m2|^2 + Bures^2(S1, S2))^(1/2) (W2, not W2^2).

    x : (n, D) sample, n >= 2. Reference: a sample y (m, D), m >= 2, or its exact ``mean`` (D,) and ``cov`` (D, D)
    (e.g. ``target_moments(target)``); never both. Sample moments use the divisor n - 1; the value is computed by
    ``w2_gaussian`` (exact Bures formula). rng : numpy Generator for the bootstrap; n_boot replicates.

    The value is a plug-in estimate, biased upwards by the sampling error of the moments: ``floor`` estimates that
    bias (the value between two samples of the same law; O(n^(-1/2)), growing like D with the D^2 covariance
    entries) and a value within a few floors only says that the bound is below the floor. The interval is
    [v - q, v + q] (clipped at 0; see the module): the Gelbrich distance is a metric on (mean, covariance), so the
    true one lies within the Gelbrich distance between the sample moments and the true ones (plus the same for a
    sample y), whose (1 + level) / 2 quantile q the bootstrap gives.
    """
    x = _rows("x", x, 2)
    D = x.shape[1]
    rng = _validate.generator("rng", rng)
    level = _level(level)
    n_boot = _validate.positive_int("n_boot", n_boot)
    max_boot_rows = _validate.positive_int("max_boot_rows", max_boot_rows)
    if max_boot_rows < 2:
        raise ValueError(f"max_boot_rows: must be an integer >= 2, got {max_boot_rows}")
    _check_work("n_boot", n_boot * D * (D + 1), f"n_boot x D x (D + 1) = {n_boot} x {D} x {D + 1} bootstrap moments",
                "use fewer replicates")
    if (mean is None) != (cov is None):
        raise ValueError(f"{'cov' if cov is None else 'mean'}: give the exact mean and cov together")
    kind = _reference_kind(y, mean, "mean and cov")
    if kind == "sample":
        y = _rows("y", y, 2)
        if y.shape[1] != D:
            raise ValueError(f"y: must have the same dimension D as x ({D}), got shape {y.shape}")
        scale = _scale(x, y)
    else:
        mean = _validate.finite_array("mean", mean, shape=(D,))
        cov = _covariance("cov", cov, D)
        scale = _scale(x, mean, np.sqrt(np.abs(cov)))  # a covariance scales like x^2
        cov = cov / scale / scale
        _psd_sqrt("cov", cov)  # raises unless PSD
    (m1, S1), boot_m1, boot_S1 = _moment_replicates(x / scale, n_boot, rng, max_boot_rows)
    errors_sq = _gelbrich_squared(boot_m1, boot_S1, m1, S1)
    errors = np.sqrt(errors_sq)
    if kind == "sample":
        (m2, S2), boot_m2, boot_S2 = _moment_replicates(y / scale, n_boot, rng, max_boot_rows)
        more_sq = _gelbrich_squared(boot_m2, boot_S2, m2, S2)
        errors_sq, errors = errors_sq + more_sq, errors + np.sqrt(more_sq)
    else:
        m2, S2 = mean / scale, cov
    value = w2_gaussian(m1, S1, m2, S2)
    low, high = _triangle_interval(value, errors, level)
    return _rescaled(Bound(value, low, high, "gelbrich", x.shape[0], float(math.sqrt(errors_sq.mean())), level),
                     scale)


# -- exact 1-D quantile functions of projected targets -----------------------------------------------------------
QuantileFunction = Callable[[np.ndarray, np.ndarray], np.ndarray]


def gaussian_quantile(mean, cov) -> QuantileFunction:
    """Quantiles of the projections of N(mean, cov): q(directions (L, D), probs (k,)) -> (L, k).

    u#N(m, S) = N(u.m, u^T S u), so q = u.m + (u^T S u)^(1/2) Phi^{-1}(p) (scipy.special.ndtri, the function behind
    scipy.stats.norm.ppf). mean : (D,); cov : (D, D) symmetric PSD.
    """
    mean = _validate.finite_array("mean", mean, ndim=1)
    D = mean.shape[0]
    cov = _validate.finite_array("cov", cov, shape=(D, D))
    psd_eigh("cov", cov[None])
    return _projected_mixture(mean[None], cov[None], np.ones(1))


def mixture_quantile(means, covs, weights=None) -> QuantileFunction:
    """Quantiles of the projections of sum_k w_k N(m_k, S_k): q(directions (L, D), probs (k,)) -> (L, k).

    u#mu is the 1-D mixture sum_k w_k N(u.m_k, u^T S_k u); its quantile at p lies between the smallest and the largest
    component quantile, and is found in that bracket by scipy's vectorised root-finder
    (``scipy.optimize.elementwise.find_root``, Chandrupatla) on the mixture cdf. Components with u^T S_k u = 0 are
    point masses (step cdf). One component: the closed form, no root-finding.
    means : (K, D); covs : (K, D, D) symmetric PSD; weights : (K,) >= 0 summing to 1, None for uniform.
    """
    means = _validate.finite_array("means", means, ndim=2)
    K, D = means.shape
    if K < 1 or D < 1:
        raise ValueError(f"means: must have shape (K, D) with K, D >= 1, got {means.shape}")
    covs = _validate.finite_array("covs", covs, shape=(K, D, D))
    psd_eigh("covs", covs)
    return _projected_mixture(means, covs, mixture_weights("weights", weights, K))


_COARSE_STRIDE = 8  # level lists longer than 8 x this are first solved at every 8th level, which brackets the rest


def _projected_mixture(means, covs, w) -> QuantileFunction:
    keep = w > 0
    means, covs, w = means[keep], 0.5 * (covs[keep] + np.swapaxes(covs[keep], 1, 2)), w[keep] / w[keep].sum()
    D = means.shape[1]

    def quantile(directions, probs):
        U = _validate.finite_array("directions", directions, shape=(None, D))
        p = _validate.finite_array("probs", probs, ndim=1)
        if np.any(p <= 0) or np.any(p >= 1):
            raise ValueError("probs: must lie in the open interval (0, 1)")
        mu = U @ means.T  # (L, K)
        sd = np.sqrt(np.clip(np.einsum("ld,kde,le->lk", U, covs, U), 0.0, None))
        if len(w) == 1:
            return mu + sd * ndtri(p)
        order = np.argsort(p, kind="stable")
        out = np.empty((len(U), len(p)))
        out[:, order] = _mixture_quantile_sorted(mu, sd, w, p[order])
        return out

    return quantile


def _mixture_quantile_sorted(mu, sd, w, p) -> np.ndarray:
    """Quantiles (L, k) of the 1-D mixtures sum_k w_k N(mu[l, k], sd[l, k]^2) at increasing levels p (k,).

    Each quantile is bracketed by the smallest and largest component quantile; for long level lists the quantiles
    at every ``_COARSE_STRIDE``-th level (and the last) are found first, recursively, and bracket the others
    (quantiles increase with p), so that the root-finder starts from narrow brackets."""
    k = len(p)
    if k > 8 * _COARSE_STRIDE:
        coarse_at = np.union1d(np.arange(0, k, _COARSE_STRIDE), [k - 1])
        coarse = _mixture_quantile_sorted(mu, sd, w, p[coarse_at])
        right = np.searchsorted(coarse_at, np.arange(k))  # first coarse level at or after each level
        left = np.where(coarse_at[np.minimum(right, len(coarse_at) - 1)] == np.arange(k), right, right - 1)
        low, high = coarse[:, left], coarse[:, right]
    else:
        comp = mu[:, None, :] + sd[:, None, :] * ndtri(p)[None, :, None]  # component quantiles (L, k, K)
        low, high = comp.min(axis=2), comp.max(axis=2)
    out = low.copy()
    todo = high > low
    if not todo.any():
        return out
    row = np.broadcast_to(np.arange(len(mu))[:, None], low.shape)[todo]
    target = np.broadcast_to(p, low.shape)[todo]
    pad = 1e-12 * (1.0 + np.abs(high[todo]) + np.abs(low[todo]))
    atoms = bool(np.any(sd == 0))
    inv_sd = 1.0 / np.where(sd > 0, sd, 1.0)
    single = len(mu) == 1

    def excess(q, r, t):  # mixture cdf minus the target probability, elementwise
        if single:
            m, inv, s = mu[0], inv_sd[0], sd[0]
        else:
            r = r.astype(np.intp)
            m, inv, s = mu[r], inv_sd[r], sd[r]
        diff = q[:, None] - m
        cdf = ndtr(diff * inv)
        if atoms:  # point-mass components: a step cdf
            cdf = np.where(s > 0, cdf, (diff >= 0).astype(float))
        return cdf @ w - t

    result = elementwise.find_root(excess, (low[todo] - pad, high[todo] + pad), args=(row, target))
    out[todo] = result.x
    return out


def target_moments(target) -> tuple[np.ndarray, np.ndarray] | None:
    """Exact (mean (D,), covariance (D, D)) of a Gaussian or Gaussian-mixture target; None for other targets."""
    if not isinstance(target, GaussianMixture):
        return None
    mean = target.weights @ target.means
    dev = target.means - mean
    cov = np.einsum("k,kde->de", target.weights, target.covs) + (dev * target.weights[:, None]).T @ dev
    return mean, 0.5 * (cov + cov.T)


def target_quantile(target) -> QuantileFunction | None:
    """Exact quantile function of the projections of a Gaussian or Gaussian-mixture target (``mixture_quantile``);
    None for other targets."""
    if not isinstance(target, GaussianMixture):
        return None
    return mixture_quantile(target.means, target.covs, target.weights)


# -- lower bound: (max-)sliced -----------------------------------------------------------------------------------
def _unit_rows(field_name: str, U, D: int) -> np.ndarray:
    U = _validate.finite_array(field_name, U, shape=(None, D))
    norms = np.linalg.norm(U, axis=1)
    if np.any(norms == 0):
        raise ValueError(f"{field_name}: directions must be non-zero")
    return U / norms[:, None]


def _candidates(D, n_directions, rng, extra, x_search, ref_moments) -> np.ndarray:
    """Candidate unit directions (L, D): the axes, the caller's, the mean difference and the eigenvectors of the
    covariance difference (from the search part and the reference's moments), then n_directions uniform ones."""
    parts = [np.eye(D)]
    if extra is not None:
        parts.append(extra)
    if ref_moments is not None:
        m_x, S_x = _moments(x_search)
        m_ref, S_ref = ref_moments
        shift = m_x - m_ref
        if np.linalg.norm(shift) > 0:
            parts.append(shift[None] / np.linalg.norm(shift))
        parts.append(np.linalg.eigh(0.5 * (S_x - S_ref + (S_x - S_ref).T))[1].T)
    random = rng.standard_normal((n_directions, D))
    parts.append(random / np.linalg.norm(random, axis=1, keepdims=True))
    return np.concatenate(parts)


def _search(U, xs, ys, quantile, grid) -> np.ndarray:
    """W2^2 of every candidate direction (L,) on the search parts: sorted projections of equal-size xs, ys matched
    rank by rank, or xs's empirical quantiles against the exact ones at ``grid`` mid-point levels."""
    k = xs.shape[0]
    chunk = max(1, (1 << 22) // k)
    out = np.empty(len(U))
    if quantile is not None:
        probs = (np.arange(grid) + 0.5) / grid
        at = np.floor(probs * k).astype(np.intp)
    for start in range(0, len(U), chunk):
        Uc = U[start:start + chunk]
        px = Uc @ xs.T
        px.sort(axis=1)
        if quantile is None:
            py = Uc @ ys.T
            py.sort(axis=1)
            out[start:start + chunk] = np.mean((px - py) ** 2, axis=1)
        else:
            q = _checked_quantile(quantile, Uc, probs)
            out[start:start + chunk] = np.mean((px[:, at] - q) ** 2, axis=1)
    return out


def _checked_quantile(quantile, U, probs) -> np.ndarray:
    q = np.asarray(quantile(U, probs), dtype=np.float64)
    if q.shape != (len(U), len(probs)) or not np.all(np.isfinite(q)):
        raise ValueError(f"quantile: must return finite values of shape (L, k) = {(len(U), len(probs))}, "
                         f"got shape {q.shape}")
    return q


def _divided(quantile: QuantileFunction, scale: float) -> QuantileFunction:
    """The quantile function of the projections of the reference divided by ``scale``."""
    return lambda directions, probs: _checked_quantile(quantile, directions, probs) / scale


def _resample_errors(rng, p: np.ndarray, n_boot: int, cap: int) -> np.ndarray:
    """Bootstrap replicates (n_boot,) of the estimation error of the empirical law of sorted 1-D values p: W2
    between a resample and the sample it came from (sorted, matched rank by rank). Above ``cap`` values, on a
    random subsample of k = cap values, scaled by (k / n)^(1/2) (m-out-of-n)."""
    rows, ratio = _subsample(rng, len(p), cap)
    part = p if rows is None else p[rows]
    errors = np.empty(n_boot)
    for b in range(n_boot):
        errors[b] = math.sqrt(np.mean((part[_sorted_resample(rng, len(part))] - part) ** 2))
    return math.sqrt(ratio) * errors


def sliced_lower(x, y=None, *, quantile: QuantileFunction | None = None, rng: np.random.Generator,
                 n_directions: int = 200, holdout: float = 0.5, level: float = 0.95, n_boot: int = 200,
                 directions=None, reference_moments=None, max_search: int = 32_768,
                 max_boot_rows: int = MAX_BOOT_ROWS) -> SlicedBound:
    """Held-out max-sliced lower bound: W2(law of x, reference) >= W2(u#law x, u#reference) for any unit u.

    x : (n, D). Reference: a sample y (m, D), or ``quantile(directions (L, D), probs (k,)) -> (L, k)``, the exact
    quantile function of the projected reference (``gaussian_quantile``, ``mixture_quantile``, ``target_quantile``);
    exactly one. rng : numpy Generator (row split, random directions, bootstrap).

    Direction search: rows are split at random; on the search part (a share 1 - ``holdout``, at most ``max_search``
    rows per side) the 1-D W2 is computed along every candidate direction -- the D axes, the caller's ``directions``
    (k, D), the mean difference and the eigenvectors of the covariance difference (search part against y's search
    part or against ``reference_moments`` = (mean, cov)), and ``n_directions`` uniform random ones -- and the largest
    is kept. The reported value is the 1-D W2 along that direction on the held-out rows only, so the max over
    directions does not bias it upwards. With an exact quantile the held-out value is
    (mean_i (x_(i) - Q((i - 1/2) / n))^2)^(1/2) over the sorted projections x_(i) (the search uses 1024 levels); with
    a sample, ``w2_1d`` (exact). In 1-D there is nothing to search: all rows are used.

    Cost O(L k log k + n log n) for L candidates and k search rows, plus the bootstrap (n_boot x ``max_boot_rows``).
    ``floor`` (see the module) is the value two samples of one law give; ``n`` counts the held-out rows of x.
    """
    x = _rows("x", x, 4)
    n, D = x.shape
    rng = _validate.generator("rng", rng)
    n_directions = _validate.positive_int("n_directions", n_directions)
    holdout = _level(holdout, "holdout")
    level = _level(level)
    n_boot = _validate.positive_int("n_boot", n_boot)
    max_search = _validate.positive_int("max_search", max_search)
    max_boot_rows = _validate.positive_int("max_boot_rows", max_boot_rows)
    if max_boot_rows < 2:
        raise ValueError(f"max_boot_rows: must be an integer >= 2, got {max_boot_rows}")
    _check_work("n_directions", (n_directions + D) * (D + 1),
                f"(n_directions + D) x (D + 1) = ({n_directions} + {D}) x {D + 1} candidate directions",
                "use fewer directions")
    _check_work("n_boot", 2 * n_boot, f"2 x n_boot = 2 x {n_boot} bootstrap replicates", "use fewer replicates")
    kind = _reference_kind(y, quantile, "quantile")
    if kind == "sample":
        y = _rows("y", y, 4)
        if y.shape[1] != D:
            raise ValueError(f"y: must have the same dimension D as x ({D}), got shape {y.shape}")
    elif not callable(quantile):
        raise ValueError("quantile: must be callable as quantile(directions (L, D), probs (k,)) -> (L, k)")
    extra = None if directions is None else _unit_rows("directions", directions, D)
    if reference_moments is not None:
        try:
            ref_mean, ref_cov = reference_moments
        except (TypeError, ValueError):
            raise ValueError("reference_moments: must be a pair (mean (D,), cov (D, D))") from None
        reference_moments = (_validate.finite_array("reference_moments", ref_mean, shape=(D,)),
                             _validate.finite_array("reference_moments", ref_cov, shape=(D, D)))

    # work on data divided by a power of two (exact): the exact quantiles and moments are divided alike
    scale = _scale(x) if kind == "exact" else _scale(x, y)
    x = x / scale
    if kind == "sample":
        y = y / scale
    else:
        quantile = _divided(quantile, scale)
    if reference_moments is not None:
        reference_moments = (reference_moments[0] / scale, reference_moments[1] / scale / scale)

    def split(rows: int, field_name: str):
        if D == 1:
            return None, np.arange(rows)
        order = rng.permutation(rows)
        n_hold = int(round(holdout * rows))
        if n_hold < 2 or rows - n_hold < 2:
            raise ValueError(f"holdout: leaves fewer than 2 rows of {field_name} ({rows} rows) on one side")
        return order[n_hold:], order[:n_hold]

    search_x, hold_x = split(n, "x")
    search_y, hold_y = split(y.shape[0], "y") if kind == "sample" else (None, None)

    if D == 1:
        u, U, search_value = np.ones(1), np.ones((1, 1)), math.nan
    else:
        k = min(len(search_x), max_search) if kind == "exact" else min(len(search_x), len(search_y), max_search)
        xs = x[np.sort(search_x[:k])]
        ys = None if kind == "exact" else y[np.sort(search_y[:k])]
        moments = _moments(ys) if ys is not None else reference_moments
        U = _candidates(D, n_directions, rng, extra, xs, moments)
        scores = _search(U, xs, ys, quantile, min(k, 1024))
        best = int(np.argmax(scores))
        u, search_value = U[best], float(math.sqrt(max(scores[best], 0.0)))

    px = np.sort((x @ u)[hold_x])
    n_hold = len(px)
    if kind == "sample":
        py = np.sort((y @ u)[hold_y])
        value = w2_1d(px, py)
    else:
        q = _checked_quantile(quantile, u[None], (np.arange(n_hold) + 0.5) / n_hold)[0]
        value = float(math.sqrt(np.mean((px - q) ** 2)))

    # bootstrap of the estimation error of each empirical side along u (m-out-of-n above max_boot_rows rows)
    errors_x = _resample_errors(rng, px, n_boot, max_boot_rows)
    errors_y = _resample_errors(rng, py, n_boot, max_boot_rows) if kind == "sample" else np.zeros(n_boot)
    low, high = _triangle_interval(value, errors_x + errors_y, level)
    floor = float(math.sqrt(np.mean(errors_x ** 2) + np.mean(errors_y ** 2)))
    bound = SlicedBound(value, low, high, "sliced", n_hold, floor, level, direction=u, search_value=search_value,
                        n_candidates=len(U))
    return _rescaled(bound, scale, search_value=search_value * scale)


# -- both sides for a results row --------------------------------------------------------------------------------
def bracket_columns(prefix: str = "w2_target") -> tuple[str, ...]:
    """The flat results-row columns ``bracket`` fills, in order (P = prefix):

    P_lower, P_lower_method ("gelbrich" | "sliced" | ""), P_lower_ci_low, P_lower_ci_high, P_lower_floor,
    P_lower_above_floor (1.0 when P_lower > FLOOR_FACTOR x P_lower_floor, i.e. the lower bound resolves W2; 0.0:
    "below floor", only P_lower_ci_low, usually 0, is certified; NaN without a lower bound);
    P_upper, P_upper_method ("coupling" | ""), P_upper_ci_low, P_upper_ci_high;
    P_gelbrich, P_gelbrich_floor, P_sliced, P_sliced_floor (both lower bounds, so that either can be fitted).
    ``<quantity>_floor`` and ``<quantity>_method`` follow the results contract that ``rates.fit_slope`` windows on.
    """
    return tuple(f"{prefix}_{c}" for c in (
        "lower", "lower_method", "lower_ci_low", "lower_ci_high", "lower_floor", "lower_above_floor",
        "upper", "upper_method", "upper_ci_low", "upper_ci_high",
        "gelbrich", "gelbrich_floor", "sliced", "sliced_floor"))


def bracket(x, *, paired=None, target=None, reference=None, rng: np.random.Generator, level: float = 0.95,
            n_directions: int = 200, n_boot: int = 200, n_reference: int | None = None,
            prefix: str = "w2_target") -> dict:
    """Lower and upper bounds on W2(law of x, target) as one flat dict with the keys of ``bracket_columns(prefix)``.

    x : (n, D) generated sample. paired : (n, D) T(z_i) on the same prior draws as x_i = G(z_i) -> upper bound
    ``coupling_upper`` (NaN and method "" without it). Lower bounds need the reference law: for a Gaussian or
    Gaussian-mixture ``target`` its exact moments and projected quantiles; otherwise a reference sample,
    ``reference`` (m, D) or ``target.sample(n_reference or n, rng)``; NaN and method "" with neither. With none of
    paired, target and reference there is nothing to bound: ValueError.
    The lower bound is the larger of ``gelbrich_lower`` and ``sliced_lower`` among those whose value exceeds
    ``FLOOR_FACTOR`` (3) floors (the window of ``rates.fit_slope``; P_lower_above_floor 1), else the larger of
    the two (P_lower_above_floor 0); its CI and floor come with it. Each lower bound's ci_low holds with
    probability (1 + level) / 2, so the chosen one's holds with probability at least ``level`` (union bound).
    """
    if not isinstance(prefix, str) or not prefix:
        raise ValueError(f"prefix: must be a non-empty string, got {prefix!r}")
    rng = _validate.generator("rng", rng)
    x = _rows("x", x, 4)
    if paired is None and target is None and reference is None:
        raise ValueError("paired, target, reference: nothing to bound; give paired (n, D) for the upper bound, "
                         "and/or target or reference (m, D) for the lower bounds")
    if paired is not None:
        paired = _validate.finite_array("paired", paired, shape=x.shape)
    row = dict.fromkeys(bracket_columns(prefix), math.nan)
    row[f"{prefix}_lower_method"] = row[f"{prefix}_upper_method"] = ""
    if paired is not None:
        upper = coupling_upper(x, paired, level)
        row.update({f"{prefix}_upper": upper.value, f"{prefix}_upper_method": upper.method,
                    f"{prefix}_upper_ci_low": upper.ci_low, f"{prefix}_upper_ci_high": upper.ci_high})
    moments = target_moments(target)
    if moments is not None:
        gel = gelbrich_lower(x, mean=moments[0], cov=moments[1], rng=rng, level=level, n_boot=n_boot)
        sli = sliced_lower(x, quantile=target_quantile(target), reference_moments=moments, rng=rng,
                           n_directions=n_directions, level=level, n_boot=n_boot)
    elif reference is not None or target is not None:
        if reference is None:
            if not callable(getattr(target, "sample", None)):
                raise ValueError("target: must be an object with a .sample(n, rng) method")
            count = x.shape[0] if n_reference is None else _validate.positive_int("n_reference", n_reference)
            reference = target.sample(count, rng)
        gel = gelbrich_lower(x, reference, rng=rng, level=level, n_boot=n_boot)
        sli = sliced_lower(x, reference, rng=rng, n_directions=n_directions, level=level, n_boot=n_boot)
    else:
        return row
    clear = [b for b in (gel, sli) if b.value > FLOOR_FACTOR * b.floor]
    lower = max(clear or (gel, sli), key=lambda b: b.value)
    row.update({f"{prefix}_lower": lower.value, f"{prefix}_lower_method": lower.method,
                f"{prefix}_lower_ci_low": lower.ci_low, f"{prefix}_lower_ci_high": lower.ci_high,
                f"{prefix}_lower_floor": lower.floor, f"{prefix}_lower_above_floor": float(bool(clear)),
                f"{prefix}_gelbrich": gel.value, f"{prefix}_gelbrich_floor": gel.floor,
                f"{prefix}_sliced": sli.value, f"{prefix}_sliced_floor": sli.floor})
    return row
