"""Log-log rate fits with seed-t confidence intervals, and verdicts against the claims whose error rates are
measured by simulation (docs/theory.md section 4: 4.5 the interval, 4.6 and 4.7 the rules, 4.8 their measured error
rates; ``calibration`` for the measurement).

One fit per (experiment, quantity, group). The fits to perform are declared by the experiment kinds
(``chargen_theory.experiments``: quantity, variable, claim ids) or passed in, e.g. from run.json's "fits". A group
is one setting of the parameter columns other than the variable and the columns that vary together with it (K with
h; keys zipped with the variable in the config, such as m with n):

1. only rows with status "ok"; one value per (level, seed), where the level is the value of n or h;
2. seeds are aggregated first: RMS over seeds per level, i.e. (E err^2)^(1/2), the form in which W2 bounds are
   stated (E W2^2);
3. window: a level is dropped when its RMS is within ``floor_factor`` (3) times the RMS of ``<quantity>_floor``
   (the estimator's own error between two samples of the reference law; absent or empty means floor 0), and the
   first ``drop_first`` levels from the coarse end (smallest n, largest h) may be dropped as pre-asymptotic;
4. slope and intercept: least squares of log RMS on log level over the window; R^2 of that fit;
5. 95% CI (seed-t): the slope -+ t_{0.975,S-1} sd(per-seed slopes) / sqrt(S), each seed's own least-squares slope
   over the window; seeds are independent, so this is exact for lognormal noise at any S >= 2 with or without
   common random numbers across levels (measured: 95-97% at S = 3, 5, 10, where the expanded percentile seed
   bootstrap used before covered 74-85% at S = 3; ``calibration.coverage``). With a single seed the CI is the OLS
   standard-error interval (Student t, L - 2 degrees of freedom) and the verdict is "inconclusive";
6. the same fit over the finest max(3, ceil(L/2)) levels (the tail) and the per-seed drift tail - window slope.

rates.csv holds the contract's columns (experiment, quantity, variable, the parameter columns, claim_id,
claimed_slope, slope, ci_low, ci_high, r2, n_levels_used, n_levels_total, n_dropped_floor, n_diverged, verdict,
figure) and: varies_with (the columns that moved with the variable, e.g. "K"), group (the group's parameters as
text), claim_kind, claimed_slope_with_log (the slope the claim's log factor gives over the window used, see
``claimed_slope_with_log``; the middle of a log-power range), log_power_range ("1" for a stated power, "0..2
(unknown)" for a range), ci_method ("seed-t", "ols", "none" or "bracket"), slope_finest (between the two finest
levels used), local_slopes (between consecutive used levels, coarse to fine, ";"-separated), n_seeds, method (the
``<quantity>_method`` values), intercept, level_min_used / level_max_used (the window), detectable_gap (the slope
gap this design detects with 80% power, ``detectable_gap``), seeds_needed (seeds that would bring it to 0.1, NaN
when decided, ``seeds_needed``) and note (why not decided, or the unmet hypotheses).

Verdicts (VERDICTS; rules in ``verdict``, ``bound_verdict`` and docs/theory.md 4.6-4.7): supporting (SUPPORTING)
"consistent" and "faster than bound" (an upper bound not sharp here); contradicting (CONTRADICTIONS) "slower",
"faster" (an exact rate) and "refuted" (a bracket); neither: "pre-asymptotic" (the window excludes the claim but
the local slopes over the finest levels move toward it), "underpowered" (too few seeds or levels to confirm; a
contradiction needs MIN_SEEDS_CONTRADICTION = 10 seeds), "inconclusive" (too few levels or seeds, an interval too
wide, a size cap binding, an agreement that the finest levels leave, or a verdict that differs across a claim's
log-power range) and "out of scope" (the group breaks a hypothesis of the claim, ``claims.scope``, or no group of
the fit is in the claim's dimension range; the slope and CI are still recorded and ``note`` says why). A slope gap
counts only beyond the allowance ``slope_allowance``: max(slope_tolerance, log(CONSTANT_DRIFT) / log range of the
window), the room the claim's unknown constants leave. A claim with a log factor is judged on the data divided by
it (``judge_series``), against the pure exponent.

Bound verdicts judge a claim from fits of a lower and an upper bound on the error (``metrics.bracket``,
``judge_bracket``): "refuted" (the lower bound decays provably and stably more slowly, or for an exact rate the
upper bound faster), "consistent" (the upper bound's slope CI reaches the claim), else "pre-asymptotic",
"underpowered" or "inconclusive". ``fit_rates`` uses them for a bracket quantity Q: a declared quantity that is not
a column of the table while ``Q_lower`` and ``Q_upper`` are (chargen_vs_n's "w2_target"). Both bounds are fitted
like any quantity (the lower one windowed by ``Q_lower_floor``) and the row, with ci_method "bracket", holds their
slopes and CIs in lower_slope, lower_ci_low, lower_ci_high, upper_slope, upper_ci_low, upper_ci_high; its slope,
ci_low, ci_high, r2 and intercept are empty, n_levels_used and n_seeds are those of the weaker fit, local_slopes,
slope_finest and detectable_gap are the lower bound's, and the window (level_min_used, level_max_used) is the union
of both, over which the claim's log factor is taken.
"""
from __future__ import annotations

import dataclasses
import hashlib
import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .. import _validate
from ..study import parameters
from ..study import claims as _claims

SUPPORTING = ("consistent", "faster than bound")  # the verdicts that support a claim
CONTRADICTIONS = ("faster", "slower", "refuted")  # the verdicts that contradict a claim (refuted: bound_verdict)
VERDICTS = ("consistent", "faster than bound", "faster", "slower", "pre-asymptotic", "underpowered", "inconclusive",
            "out of scope")
MIN_SEEDS_CONTRADICTION = 10  # a contradiction needs at least this many seeds; fewer: "underpowered"
CONSTANT_DRIFT = 1.2  # "up to constants": the claim's constant may drift by this factor over a fit window
POWER = 0.8  # detectable_gap: the gap detected with this probability by the two-sided 95% seed-t test
TARGET_GAP = 0.1  # seeds_needed: seeds that bring detectable_gap down to this slope gap
MAX_DETECTABLE_REL = 0.25  # "consistent" needs detectable_gap <= max(this x |claimed slope|, TARGET_GAP)
_LOG_POWER_STEPS = 5  # claimed slopes checked across a claim's log_power_range (the ends included)

# rates.csv: these columns, with the table's parameter columns (parameters.COLUMNS) inserted after "variable"
RATES_COLUMNS = ("experiment", "quantity", "variable", "varies_with", "group", "claim_id", "claim_kind",
                 "claimed_slope", "claimed_slope_with_log", "log_power_range", "slope", "ci_low", "ci_high",
                 "ci_method", "slope_finest", "local_slopes", "r2",
                 "n_levels_used", "n_levels_total", "n_dropped_floor", "n_diverged", "n_seeds", "method", "intercept",
                 "level_min_used", "level_max_used", "lower_slope", "lower_ci_low", "lower_ci_high", "upper_slope",
                 "upper_ci_low", "upper_ci_high", "detectable_gap", "seeds_needed", "verdict", "note", "figure")


@dataclass(frozen=True)
class SlopeFit:
    """A log-log fit. Arrays are per level, in increasing level order: ``levels`` (L,), ``rms`` (L,) RMS over seeds
    (NaN where no seed has a value), ``rms_floor`` (L,) (0 where no floor), ``used`` (L,) bool window mask.
    ``intercept`` is log RMS at level 1, so the fitted line is exp(intercept) * level**slope. ``slope_finest`` is
    the slope between the two finest levels used (largest n, smallest h); ``local_slopes`` (L_used - 1,) the slopes
    between consecutive used levels, coarse to fine.

    Seed-t intervals (95%): ``ci_low``/``ci_high`` = slope -+ t_{0.975,S-1} ``slope_se``, where slope_se is the
    standard deviation of the per-seed slopes over sqrt(S). ``tail_*``: the same fit over the finest ``n_tail``
    used levels (max(3, ceil(L_used / 2)); 0 and NaN with < 4 used levels). ``trend_low``/``trend_high``: the
    seed-t interval of tail slope - window slope (per seed), which excludes 0 when the local slopes drift."""

    slope: float
    slope_finest: float
    intercept: float
    ci_low: float
    ci_high: float
    ci_method: str  # "seed-t" | "ols" | "none"
    r2: float
    n_levels_used: int
    n_levels_total: int
    n_dropped_floor: int
    n_dropped_first: int
    n_seeds: int
    levels: np.ndarray
    rms: np.ndarray
    rms_floor: np.ndarray
    used: np.ndarray
    slope_se: float = math.nan
    local_slopes: np.ndarray = dataclasses.field(default_factory=lambda: np.empty(0))
    n_tail: int = 0
    tail_slope: float = math.nan
    tail_ci_low: float = math.nan
    tail_ci_high: float = math.nan
    tail_se: float = math.nan
    tail_seed_sd: float = math.nan  # sd of the per-seed tail slopes (for seeds_needed)
    trend_low: float = math.nan
    trend_high: float = math.nan

    @property
    def log_span(self) -> float:
        """log(finest / coarsest level) of the window in absolute value (0 with < 2 used levels)."""
        window = self.levels[self.used]
        return float(np.log(window.max() / window.min())) if len(window) >= 2 else 0.0


def fit_slope(levels, values_by_seed, *, variable: str, floors_by_seed=None, drop_first: int = 0,
              floor_factor: float = 3.0) -> SlopeFit:
    """Fit log(RMS over seeds) against log(level) with a seed-t 95% CI and its finest-levels (tail) counterpart.

    levels: (L,) distinct positive values of n or h. values_by_seed: (L, S) errors >= 0, column s = seed s at every
    level, NaN where missing. floors_by_seed: (L, S) or None, the estimation floor in the same units. variable:
    "n" or "h" (sets which end is coarse for ``drop_first`` and the tail). The fit is deterministic (no random
    draws): the interval is seed-t, its coverage measured in ``calibration``.
    """
    _validate.choice("variable", variable, parameters.COMPANIONS)
    levels = _validate.finite_array("levels", levels, ndim=1)
    if np.any(levels <= 0) or len(np.unique(levels)) != len(levels):
        raise ValueError("levels: must be distinct and > 0")
    values = _seed_matrix("values_by_seed", values_by_seed, len(levels))
    floors = np.zeros_like(values) if floors_by_seed is None else _seed_matrix("floors_by_seed", floors_by_seed,
                                                                               len(levels))
    if not (isinstance(drop_first, (int, np.integer)) and drop_first >= 0):
        raise ValueError(f"drop_first: must be an integer >= 0, got {drop_first!r}")
    floor_factor = _validate.positive_float("floor_factor", floor_factor)

    order = np.argsort(levels)
    levels, values, floors = levels[order], values[order], floors[order]
    rms = rms_over_seeds(values)
    rms_floor = np.nan_to_num(rms_over_seeds(floors), nan=0.0)
    has_data = np.isfinite(rms) & (rms > 0)
    coarse_first = np.flatnonzero(has_data) if variable == "n" else np.flatnonzero(has_data)[::-1]
    dropped_first = np.zeros(len(levels), bool)
    dropped_first[coarse_first[:drop_first]] = True
    at_floor = has_data & ~dropped_first & (rms <= floor_factor * rms_floor)
    used = has_data & ~dropped_first & ~at_floor
    seeds = np.flatnonzero(np.isfinite(values[used]).any(axis=0))

    x, y = np.log(levels[used]), np.log(rms[used])
    slope = intercept = r2 = ci_low = ci_high = slope_finest = se = math.nan
    ci_method = "none"
    tail: dict = {}
    local = np.diff(y) / np.diff(x) if len(x) >= 2 else np.empty(0)
    if variable == "h":
        local = local[::-1]  # coarse (large h) to fine
    if len(x) >= 2:
        slope, intercept = np.polynomial.polynomial.polyfit(x, y, 1)[::-1]
        slope_finest = local[-1]
        resid = y - (intercept + slope * x)
        sst = np.sum((y - y.mean()) ** 2)
        r2 = 1.0 - np.sum(resid ** 2) / sst if sst > 0 else math.nan
        with np.errstate(divide="ignore"):
            logs = np.log(values[used][:, seeds])  # (L_used, S); -inf (an error of 0) is treated as missing
        per_seed = seed_slopes(x, logs)
        if np.isfinite(per_seed).sum() >= 2:
            ci_low, ci_high, se = _seed_t(slope, per_seed)
            ci_method = "seed-t"
            tail = _tail(x, y, logs, per_seed, variable)
        elif len(x) >= 3:
            se = math.sqrt(np.sum(resid ** 2) / (len(x) - 2) / np.sum((x - x.mean()) ** 2))
            half = stats.t.ppf(0.975, len(x) - 2) * se
            ci_low, ci_high, ci_method = slope - half, slope + half, "ols"
    return SlopeFit(float(slope), float(slope_finest), float(intercept), float(ci_low), float(ci_high), ci_method,
                    float(r2),
                    int(used.sum()), len(levels), int(at_floor.sum()), int(dropped_first.sum()), len(seeds),
                    levels, rms, rms_floor, used, slope_se=float(se), local_slopes=local, **tail)


def seed_slopes(x, logs) -> np.ndarray:
    """OLS slope of each seed's log error on x: x (L,), logs (..., L, S) with non-finite entries missing ->
    (..., S); NaN for a seed with fewer than 2 finite levels."""
    w = np.isfinite(logs)
    y = np.where(w, logs, 0.0)
    xs = np.broadcast_to(np.asarray(x, dtype=np.float64)[:, None], w.shape)
    count = w.sum(axis=-2)
    with np.errstate(invalid="ignore", divide="ignore"):
        x_mean = (w * xs).sum(axis=-2) / count
        y_mean = y.sum(axis=-2) / count
        dx = np.where(w, xs - x_mean[..., None, :], 0.0)
        slopes = (dx * (y - y_mean[..., None, :])).sum(axis=-2) / (dx ** 2).sum(axis=-2)
    return np.where(count >= 2, slopes, np.nan)


def _seed_t(centre: float, per_seed) -> tuple[float, float, float]:
    """(low, high, se): centre -+ t_{0.975, S-1} se, se = sd(per_seed) / sqrt(S) over the finite per-seed values."""
    finite = per_seed[np.isfinite(per_seed)]
    se = float(np.std(finite, ddof=1) / math.sqrt(len(finite)))
    half = float(stats.t.ppf(0.975, len(finite) - 1)) * se
    return centre - half, centre + half, se


def _tail(x, y, logs, per_seed, variable) -> dict:
    """The tail fields of SlopeFit: the fit over the finest max(3, ceil(L/2)) of the L >= 4 used levels."""
    if len(x) < 4:
        return {}
    k = max(3, math.ceil(len(x) / 2))
    rows = slice(len(x) - k, None) if variable == "n" else slice(0, k)
    slope = float(np.polynomial.polynomial.polyfit(x[rows], y[rows], 1)[1])
    tail_seeds = seed_slopes(x[rows], logs[rows])
    if np.isfinite(tail_seeds).sum() < 2:
        return {"n_tail": k, "tail_slope": slope}
    low, high, se = _seed_t(slope, tail_seeds)
    both = np.isfinite(tail_seeds) & np.isfinite(per_seed)
    trend_low = trend_high = math.nan
    if both.sum() >= 2:
        diff = tail_seeds[both] - per_seed[both]
        trend_low, trend_high, _ = _seed_t(float(np.mean(diff)), diff)
    return {"n_tail": k, "tail_slope": slope, "tail_ci_low": low, "tail_ci_high": high, "tail_se": se,
            "tail_seed_sd": float(np.std(tail_seeds[np.isfinite(tail_seeds)], ddof=1)),
            "trend_low": trend_low, "trend_high": trend_high}


def _seed_matrix(field, value, n_levels):
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] != n_levels:
        raise ValueError(f"{field}: must have shape ({n_levels}, n_seeds), got {arr.shape}")
    if np.any(np.isinf(arr)) or np.any(arr < 0):
        raise ValueError(f"{field}: errors must be finite and >= 0 (NaN marks a missing seed)")
    return arr


def rms_over_seeds(values) -> np.ndarray:
    """RMS over the finite entries of the last axis (seeds); NaN where there is none. (..., S) -> (...)."""
    finite = np.isfinite(values)
    count = finite.sum(axis=-1)
    total = np.where(finite, values, 0.0) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt(total.sum(axis=-1) / count)


def claimed_slope_with_log(fit: SlopeFit, exponent: float, log_power: float, loglog_power: float = 0.0) -> float:
    """The log-log slope that level**exponent * |log level|**log_power * (log|log level|)**loglog_power has by least
    squares over the fit's window: exponent + log_power * slope of log|log level| + loglog_power * slope of
    log log|log level|, both on log level (equal to ``exponent`` when both powers are 0)."""
    if log_power == 0 and loglog_power == 0:
        return float(exponent)
    x = np.log(fit.levels[fit.used])
    if len(x) < 2:
        return math.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.log(np.abs(x))
        zz = np.log(z) if loglog_power else np.zeros_like(z)
    if not (np.all(np.isfinite(z)) and np.all(np.isfinite(zz))):
        return math.nan
    slope = np.polynomial.polynomial.polyfit(x, log_power * z + loglog_power * zz, 1)[1]
    return float(exponent + slope)


def slope_allowance(fit: SlopeFit, tolerance: float = 0.0, constant_drift: float = CONSTANT_DRIFT) -> float:
    """The slope gap that a claim's constants allow over the fit's window: max(tolerance, log(constant_drift) /
    log span of the window). A claim "C level^a up to constants" is not contradicted by a fitted curve that leaves
    C level^a by less than the factor ``constant_drift`` across the window; ``tolerance`` is the claim's
    ``slope_tolerance`` (a deterministic order's pre-asymptotic bias). inf for a window of one level."""
    span = fit.log_span
    drift = math.log(constant_drift) / span if span > 0 else math.inf
    return max(float(tolerance), drift)


def detectable_gap(fit: SlopeFit, allowance: float) -> float:
    """Smallest |true slope - claimed slope| that a contradiction test on ``fit`` detects with probability POWER:
    allowance + (t_{0.975,S-1} + t_{POWER,S-1}) se, where se is the standard error of the finest levels' slope
    (the test that binds; the window's when there is no tail fit). inf when there is no seed interval."""
    se = fit.tail_se if math.isfinite(fit.tail_se) else fit.slope_se
    if fit.n_seeds < 2 or not math.isfinite(se):
        return math.inf
    df = fit.n_seeds - 1
    return float(allowance + (stats.t.ppf(0.975, df) + stats.t.ppf(POWER, df)) * se)


def seeds_needed(fit: SlopeFit, allowance: float, target_gap: float = TARGET_GAP) -> float:
    """Seeds (at least MIN_SEEDS_CONTRADICTION) that bring ``detectable_gap`` down to ``target_gap`` at the same
    levels, from the spread of this fit's per-seed tail slopes; inf when the allowance alone exceeds target_gap
    (more levels are needed, not seeds), NaN when the spread is unknown (fewer than 2 seeds)."""
    sd = fit.tail_seed_sd if math.isfinite(fit.tail_seed_sd) else fit.slope_se * math.sqrt(fit.n_seeds)
    if fit.n_seeds < 2 or not math.isfinite(sd):
        return math.nan
    if allowance >= target_gap:
        return math.inf
    s = np.arange(MIN_SEEDS_CONTRADICTION, 100_001)
    gap = allowance + (stats.t.ppf(0.975, s - 1) + stats.t.ppf(POWER, s - 1)) * sd / np.sqrt(s)
    return float(s[np.argmax(gap <= target_gap)]) if np.any(gap <= target_gap) else math.inf


def _oriented(fit: SlopeFit, sign: float, low: str, high: str) -> tuple[float, float]:
    """An interval of ``fit`` (attribute names) in the orientation where larger means slower decay."""
    pair = sorted((sign * getattr(fit, low), sign * getattr(fit, high)))
    return pair[0], pair[1]


def _usable(fit: SlopeFit) -> str:
    """Why ``fit`` cannot be judged ("" when it can)."""
    if fit.n_levels_used < 3:
        return f"{fit.n_levels_used} usable level(s) (< 3)"
    if fit.n_seeds < 2:
        return f"{fit.n_seeds} seed(s): no seed interval"
    if not (np.isfinite(fit.ci_low) and np.isfinite(fit.ci_high)):
        return "no confidence interval"
    return ""


def _stands(fit: SlopeFit, a: float, allowance: float, sign: float, side: int) -> tuple[str, str]:
    """Whether a window interval that excludes the claimed slope ``a`` (oriented by ``sign``) on ``side`` (+1: the
    slow side, -1: the fast side) by more than ``allowance`` is a contradiction: ("", "") when it is, else
    ("pre-asymptotic" | "underpowered", why). It is one when the finest levels' interval also excludes a on that
    side, the local slopes do not drift significantly toward a, and there are MIN_SEEDS_CONTRADICTION seeds.
    "pre-asymptotic": the local slopes drift significantly toward a (the per-seed interval of tail minus window
    slope excludes 0 on a's side), or the finest levels do not exclude a and their slope is within the allowance of
    it; "underpowered": the finest levels do not exclude a for want of precision, or too few seeds."""
    if fit.n_tail == 0:
        return "underpowered", f"{fit.n_levels_used} used levels: the local slopes' stability needs >= 4"
    if not np.isfinite(fit.tail_ci_low):
        return "underpowered", "no seed interval over the finest levels"
    a_o, full, tail = sign * a, sign * fit.slope, sign * fit.tail_slope
    tail_low, tail_high = _oriented(fit, sign, "tail_ci_low", "tail_ci_high")
    tail_text = (f"slope over the finest {fit.n_tail} levels {fit.tail_slope:.3g} "
                 f"[{fit.tail_ci_low:.3g}, {fit.tail_ci_high:.3g}]")
    trend_low, trend_high = _oriented(fit, sign, "trend_low", "trend_high")
    drifts = np.isfinite(trend_low) and (trend_low > 0 if a_o > full else trend_high < 0)
    if not (tail_low - allowance > a_o if side > 0 else tail_high + allowance < a_o):
        if abs(tail - a_o) <= allowance or drifts:
            return "pre-asymptotic", (f"local slopes move toward the claim: {tail_text} reaches {a:.3g} "
                                      f"+- {allowance:.3g}")
        return "underpowered", f"{tail_text} reaches {a:.3g} +- {allowance:.3g}: too few seeds or levels to confirm"
    if drifts:
        return "pre-asymptotic", (f"local slopes drift toward the claim: finest-levels minus window slope "
                                  f"[{fit.trend_low:.3g}, {fit.trend_high:.3g}] per seed")
    if fit.n_seeds < MIN_SEEDS_CONTRADICTION:
        return "underpowered", f"{fit.n_seeds} seeds (< {MIN_SEEDS_CONTRADICTION} for a contradiction)"
    return "", ""


def verdict(fit: SlopeFit, claimed_slope: float, *, variable: str, kind: str = "rate",
            max_ci_width_rel: float = 1.0, tolerance: float = 0.0, constant_drift: float = CONSTANT_DRIFT,
            relative_to: float | None = None) -> tuple[str, str]:
    """(verdict, reason) of ``fit`` against ``claimed_slope`` for a claim of ``kind`` ("rate" | "upper bound");
    the reason is empty for a decided verdict. Rules (docs/theory.md 4.6), with the allowance
    d = ``slope_allowance(fit, tolerance, constant_drift)``:

    - "inconclusive": < 3 used levels, < 2 seeds, no CI, or a CI wider than ``max_ci_width_rel`` x |claim|
      (|``relative_to``| when given: the claimed slope with its log factor when ``fit`` is of detrended data);
    - "consistent": [ci_low - d, ci_high + d] holds the claim, and so does the finest levels' interval widened by d
      (on the slow side for an upper bound; otherwise "inconclusive": the agreement is not stable), and the design
      detects a gap of max(MAX_DETECTABLE_REL |claim|, TARGET_GAP) (``detectable_gap``; otherwise "underpowered");
    - a window interval wholly on the fast side of an upper bound: "faster than bound" (no contradiction);
    - otherwise the interval excludes the claim by more than d: "slower" (n: slope above the claim; h: below) or
      "faster" (a rate) when ``_stands`` (stable finest levels, no drift toward the claim, >= 10 seeds), else
      "pre-asymptotic" or "underpowered".
    """
    _validate.choice("variable", variable, parameters.COMPANIONS)
    _validate.choice("kind", kind, _claims.KINDS)
    max_ci_width_rel = _validate.positive_float("max_ci_width_rel", max_ci_width_rel)
    problem = _usable(fit)
    if problem:
        return "inconclusive", problem
    scale = abs(claimed_slope if relative_to is None else relative_to)
    width, limit = fit.ci_high - fit.ci_low, max_ci_width_rel * scale
    if width > limit:
        return "inconclusive", f"CI width {width:.3g} > {max_ci_width_rel:g} x |claimed slope| = {limit:.3g}"
    allowance = slope_allowance(fit, tolerance, constant_drift)
    sign = 1.0 if variable == "n" else -1.0
    a_o = sign * claimed_slope
    low, high = _oriented(fit, sign, "ci_low", "ci_high")
    tail_low, tail_high = ((_oriented(fit, sign, "tail_ci_low", "tail_ci_high")) if np.isfinite(fit.tail_ci_low)
                           else (-math.inf, math.inf))
    tail_slow, tail_fast = tail_low - allowance > a_o, tail_high + allowance < a_o
    unstable = (f"the finest {fit.n_tail} levels' slope {fit.tail_slope:.3g} [{fit.tail_ci_low:.3g}, "
                f"{fit.tail_ci_high:.3g}] leaves the claim {claimed_slope:.3g} +- {allowance:.3g}")
    if low - allowance <= a_o <= high + allowance:
        if tail_slow or (tail_fast and kind == "rate"):
            return "inconclusive", f"the window agrees but {unstable}"
        gap, limit = detectable_gap(fit, allowance), max(MAX_DETECTABLE_REL * scale, TARGET_GAP)
        if gap > limit:
            return "underpowered", (f"the interval holds the claim, but this design detects only slope gaps >= "
                                    f"{gap:.3g} (> {limit:.3g})")
        return "consistent", ""
    side = 1 if low - allowance > a_o else -1
    if side < 0 and kind == "upper bound":
        return ("inconclusive", f"the window is faster but {unstable}") if tail_slow else ("faster than bound", "")
    label, reason = _stands(fit, claimed_slope, allowance, sign, side)
    if label:
        return label, reason
    return ("slower" if side > 0 else "faster"), ""


def log_factor(levels, log_power: float, loglog_power: float = 0.0) -> np.ndarray:
    """|log level|^log_power (log|log level|)^loglog_power per level, (L,); ones where that is undefined or not
    positive at some level (a level of 1, or |log level| <= e with a loglog power), as ``claimed_slope_with_log``
    falls back to the pure exponent."""
    levels = np.asarray(levels, dtype=np.float64)
    if log_power == 0 and loglog_power == 0:
        return np.ones(len(levels))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.abs(np.log(levels))
        factor = z ** log_power * (np.log(z) ** loglog_power if loglog_power else 1.0)
    return factor if np.all(np.isfinite(factor) & (factor > 0)) else np.ones(len(levels))


def judge_series(levels, values, exponent: float, *, variable: str, kind: str = "rate", log_powers=(0.0,),
                 loglog_power: float = 0.0, tolerance: float = 0.0, floors=None, max_ci_width_rel: float = 1.0,
                 **fit_options) -> tuple[str, str]:
    """(verdict, reason) of the claim error ~ level^exponent |log level|^p (log|log level|)^loglog_power on one
    group: levels (L,), values and floors (L, S) as for ``fit_slope``. For each p of ``log_powers`` (one for a
    stated power, several across an unknown range) the values and floors are divided by the claim's log factor
    (``log_factor``) and the fit of what remains is judged by ``verdict`` against the pure exponent, so that the
    window, finest-levels and drift tests all compare like with like; the common verdict when all powers agree,
    else "inconclusive" with a note listing them."""
    results = []
    for p in log_powers:
        factor = log_factor(levels, p, loglog_power)[:, None]
        fit = fit_slope(levels, np.asarray(values, dtype=np.float64) / factor, variable=variable,
                        floors_by_seed=None if floors is None else np.asarray(floors, dtype=np.float64) / factor,
                        **fit_options)
        results.append(verdict(fit, exponent, variable=variable, kind=kind, max_ci_width_rel=max_ci_width_rel,
                               tolerance=tolerance, relative_to=claimed_slope_with_log(fit, exponent, p,
                                                                                       loglog_power)))
    return _agree(results, log_powers)


def judge_bracket(levels, lower, upper, exponent: float, *, variable: str, kind: str = "upper bound",
                  log_powers=(0.0,), loglog_power: float = 0.0, tolerance: float = 0.0, lower_floors=None,
                  max_ci_width_rel: float = 1.0, **fit_options) -> tuple[str, str]:
    """``judge_series`` for a claim judged on a bracket: lower and upper (L, S) bounds on the error (None: absent),
    each divided by the claim's log factor and judged by ``bound_verdict``; for a claim of kind "rate" an upper
    bound decaying faster than the claim (a stable contradiction, ``_stands``) also refutes."""
    sign = 1.0 if variable == "n" else -1.0
    results = []
    for p in log_powers:
        factor = log_factor(levels, p, loglog_power)[:, None]
        fits = [None if v is None else fit_slope(levels, np.asarray(v, dtype=np.float64) / factor, variable=variable,
                                                 floors_by_seed=f if f is None else np.asarray(f) / factor,
                                                 **fit_options)
                for v, f in ((lower, lower_floors), (upper, None))]
        low_fit, up_fit = fits
        with_log = claimed_slope_with_log(_union(low_fit, up_fit), exponent, p, loglog_power)
        if sign * with_log >= 0:
            results.append(("inconclusive", f"the claimed slope with its log factor is {with_log:.3g} over the window"))
            continue
        label, reason = bound_verdict(low_fit, up_fit, exponent, variable=variable, tolerance=tolerance,
                                      max_ci_width_rel=max_ci_width_rel * abs(with_log / exponent))
        if kind == "rate" and label != "refuted" and up_fit is not None and not _usable(up_fit):
            allowance = slope_allowance(up_fit, tolerance)
            if _oriented(up_fit, sign, "ci_low", "ci_high")[1] + allowance < sign * exponent:
                stands, why = _stands(up_fit, exponent, allowance, sign, -1)
                label, reason = ((stands, f"upper bound faster than the claimed exact rate, but {why}") if stands else
                                 ("refuted", "the upper bound decays provably faster than the claimed exact rate"))
        results.append((label, reason))
    return _agree(results, log_powers)


def _agree(results, log_powers) -> tuple[str, str]:
    labels = [label for label, _ in results]
    if len(set(labels)) == 1:
        return results[0]
    if set(labels) <= set(SUPPORTING):  # the bound holds at every power; it is sharp at some of them
        spread = ", ".join(f"{p:.3g}" for p, label in zip(log_powers, labels) if label == "consistent")
        return "consistent", f"supported at every log power of the range; sharp at p = {spread}"
    spread = "; ".join(f"p = {p:.3g}: {label}" for p, label in zip(log_powers, labels))
    return "inconclusive", f"the verdict depends on the unknown log power ({spread})"


BOUND_VERDICTS = ("consistent", "refuted", "pre-asymptotic", "underpowered", "inconclusive")


def bound_verdict(lower_fit: SlopeFit | None, upper_fit: SlopeFit | None, claimed_slope: float, *,
                  variable: str = "n", max_ci_width_rel: float = 1.0, tolerance: float = 0.0,
                  constant_drift: float = CONSTANT_DRIFT) -> tuple[str, str]:
    """(verdict, reason) of an upper-bound claim, error <= C level^a, judged from fits of a lower and an upper bound
    on the error (e.g. ``w2_target_lower`` and ``w2_target_upper`` of ``metrics.bracket``); either fit may be None.

    Orientation: for variable "n" the claim decays (a < 0); for "h" it vanishes as h -> 0 (a > 0). d is each fit's
    ``slope_allowance`` (constants may drift by ``constant_drift`` over its window; at least ``tolerance``).
    - "refuted" when the lower bound's slope CI lies wholly on the slow side of a by more than d (n: ci_low - d > a;
      h: ci_high + d < a) and that stands (``_stands``: the finest levels agree, no drift toward a, >= 10 seeds):
      the true error provably decays more slowly than the claim. Otherwise such a lower bound gives
      "pre-asymptotic" or "underpowered". Levels at the lower bound's estimation floor are outside its fit window
      (``fit_slope``'s ``floors_by_seed``), so a bound that flattens at its floor cannot refute; neither can a fit
      with < 3 levels, < 2 seeds or no CI.
    - "consistent" when the upper bound's slope CI reaches a (n: ci_low <= a; h: ci_high >= a) and is no wider than
      ``max_ci_width_rel`` x |a| (a wider CI reaches everything), or lies wholly on the fast side of a (n:
      ci_high < a; h: ci_low > a), whatever its width.
    - "inconclusive" otherwise; the reason says which bound is too loose or unusable.
    The reason is empty for a verdict that both bounds agree on.
    """
    _validate.choice("variable", variable, parameters.COMPANIONS)
    max_ci_width_rel = _validate.positive_float("max_ci_width_rel", max_ci_width_rel)
    try:
        a = float(claimed_slope)
    except (TypeError, ValueError):
        raise ValueError(f"claimed_slope: must be a finite number, got {claimed_slope!r}") from None
    if not math.isfinite(a) or (a >= 0 if variable == "n" else a <= 0):
        raise ValueError(f"claimed_slope: must be {'< 0' if variable == 'n' else '> 0'} for variable "
                         f"{variable!r} (error <= C {variable}^a), got {claimed_slope!r}")
    for name, fit in (("lower_fit", lower_fit), ("upper_fit", upper_fit)):
        if fit is not None and not isinstance(fit, SlopeFit):
            raise ValueError(f"{name}: must be a rates.SlopeFit or None, got {type(fit).__name__}")

    # orient so that a larger slope means a slower decay: for h the slopes and CI flip sign
    sign = 1.0 if variable == "n" else -1.0

    def text(fit):
        return f"[{fit.ci_low:.3g}, {fit.ci_high:.3g}]"

    lower_problem, upper_problem = _bound_fit_problem(lower_fit), _bound_fit_problem(upper_fit)
    upper_reaches = not upper_problem and _oriented(upper_fit, sign, "ci_low", "ci_high")[0] <= sign * a
    if not lower_problem:
        allowance = slope_allowance(lower_fit, tolerance, constant_drift)
        if _oriented(lower_fit, sign, "ci_low", "ci_high")[0] - allowance > sign * a:
            label, note = _stands(lower_fit, a, allowance, sign, 1)
            also = (f"the upper bound's slope CI {text(upper_fit)} also reaches the claimed {a:g}"
                    if upper_reaches else "")
            return (label or "refuted"), "; ".join(t for t in (f"lower bound: {note}" if note else "", also) if t)
    if upper_reaches:
        width, limit = upper_fit.ci_high - upper_fit.ci_low, max_ci_width_rel * abs(a)
        if width <= limit or _oriented(upper_fit, sign, "ci_low", "ci_high")[1] < sign * a:
            return "consistent", ""  # wholly on the fast side: decided at any width
        upper_reason = (f"upper bound's slope CI {text(upper_fit)} is wider than {max_ci_width_rel:g} x |a| = "
                        f"{limit:.3g}")
    elif upper_problem:
        upper_reason = f"upper bound unusable: {upper_problem}"
    else:
        upper_reason = f"upper bound too loose: its slope CI {text(upper_fit)} does not reach the claimed {a:g}"
    lower_reason = (f"lower bound unusable: {lower_problem}" if lower_problem
                    else f"lower bound's slope CI {text(lower_fit)} does not exclude the claimed {a:g} "
                         f"+- {slope_allowance(lower_fit, tolerance, constant_drift):.3g}")
    return "inconclusive", f"{upper_reason}; {lower_reason}"


def _bound_fit_problem(fit) -> str:
    """Why a bound's fit cannot be used for a verdict ("" when it can)."""
    return "no fit" if fit is None else _usable(fit)


def fit_rates(table: pd.DataFrame, fits=None, *, extra_claims=(), drop_first: int = 0, floor_factor: float = 3.0,
              max_ci_width_rel: float = 1.0) -> pd.DataFrame:
    """Fit every declared (experiment, quantity, group) of a results table and judge it against each claim.

    table: the long results table (results.csv contract). fits: the fits to perform, mappings with keys
    experiment, quantity, variable ("n" | "h"), claims (claim ids) and optionally ``with`` (columns that vary
    together with the variable, e.g. ["m"] when m is zipped with n) -- run.json's "fits" entries plus ``with``;
    entries for the same (experiment, quantity, variable) are merged. None: the fits that the registered experiment
    kinds of the table declare. extra_claims: Claims that are not registered (a config's user claims). The result
    depends on the table alone (seed-t intervals, no random draws). A claim is skipped for a group outside its
    dimension range, unless it applies to no group of the fit: then every group gets an "out of scope" row whose
    note names the claim's dimension range. A group that breaks another of its hypotheses is
    fitted and judged "out of scope" (``claims.scope``); one whose used levels hit a size cap (``capped``) is
    "inconclusive". Returns one row per (group, claim) with the columns of rates.csv (``figure`` empty).
    """
    if not isinstance(table, pd.DataFrame):
        raise ValueError("table: must be a pandas DataFrame (the results table)")
    missing = [c for c in ("experiment", "seed", "status") if c not in table.columns]
    if missing:
        raise ValueError(f"table: missing column(s) {', '.join(missing)}; see the results.csv contract")
    registry = _claim_registry(extra_claims)
    plan = _plan(table, fits, registry)
    params = [c for c in parameters.COLUMNS if c in table.columns]
    options = {"drop_first": drop_first, "floor_factor": floor_factor}
    out = []
    for (experiment, quantity, variable), (claim_ids, together) in plan.items():
        rows = table[table["experiment"] == experiment]
        bracket = is_bracket(rows, quantity)
        if (quantity not in rows.columns and not bracket) or variable not in rows.columns:
            continue
        applied, skipped = set(), []
        for key, group in _groups(rows, variable, together):
            if bracket:
                lower, n_diverged, lower_data = _fit_group(group, f"{quantity}_lower", variable, **options)
                upper, _, upper_data = _fit_group(group, f"{quantity}_upper", variable, **options)
                fit = _union(lower, upper)
            else:
                fit, n_diverged, data = _fit_group(group, quantity, variable, **options)
                lower = upper = None
            if fit is None:
                continue
            window = fit.levels[fit.used]
            tested = lower if bracket else fit  # the fit a contradiction is tested on
            base = {"experiment": experiment, "quantity": quantity, "variable": variable,
                    **{c: key.get(c, math.nan) for c in params}, "varies_with": ",".join(together),
                    "group": describe_group(key), "n_diverged": n_diverged,
                    "level_min_used": window.min() if len(window) else math.nan,
                    "level_max_used": window.max() if len(window) else math.nan, "figure": ""}
            base |= _bracket_columns(group, quantity, lower, upper) if bracket else _fit_columns(group, quantity, fit)
            d, d_star = _dimension(key.get("D")), _dimension(key.get("d_star"))
            for claim in (registry[c] for c in claim_ids):
                if not claim.applies(d, d_star):
                    skipped.append((claim, base, tested, d if claim.uses == "d" else d_star))
                    continue
                applied.add(claim.id)
                claimed = claim.exponent(d, d_star)
                powers = _log_powers(claim)
                common = {"variable": variable, "kind": claim.kind, "log_powers": powers,
                          "loglog_power": claim.loglog_power, "tolerance": claim.slope_tolerance,
                          "max_ci_width_rel": max_ci_width_rel, **options}
                if bracket:
                    levels = fit.levels
                    label, reason = judge_bracket(levels, _on(levels, lower_data, 1), _on(levels, upper_data, 1),
                                                  claimed, lower_floors=_on(levels, lower_data, 2), **common)
                else:
                    label, reason = judge_series(data[0], data[1], claimed, floors=data[2], **common)
                unmet = _claims.scope(claim, {**key, "varies_with": together}, quantity)
                capped = _capped(group, variable, window)
                if unmet:
                    label, reason = "out of scope", "; ".join(unmet)
                elif capped:
                    label, reason = "inconclusive", capped
                allowance = slope_allowance(tested, claim.slope_tolerance) if tested else math.inf
                slopes = [claimed_slope_with_log(fit, claimed, p, claim.loglog_power) for p in powers]
                out.append({**base, **_claim_columns(claim, claimed, [a if np.isfinite(a) else claimed
                                                                      for a in slopes]),
                            "detectable_gap": detectable_gap(tested, allowance) if tested else math.inf,
                            "seeds_needed": (seeds_needed(tested, allowance) if tested and label not in
                                             (*SUPPORTING, *CONTRADICTIONS, "out of scope") else math.nan),
                            "verdict": label, "note": reason})
        for claim, base, tested, dim in skipped:
            if claim.id in applied:
                continue
            allowance = slope_allowance(tested, claim.slope_tolerance) if tested else math.inf
            lo, hi = claim.dims
            out.append({**base, **_claim_columns(claim, math.nan, [math.nan]),
                        "detectable_gap": detectable_gap(tested, allowance) if tested else math.inf,
                        "seeds_needed": math.nan, "verdict": "out of scope",
                        "note": f"made for {claim.uses} in [{lo:g}, {hi:g}]; this group has {claim.uses} = "
                                f"{'unknown' if dim is None else format_value(dim)}, and no group of this fit is "
                                "in that range"})
    columns = list(RATES_COLUMNS[:3]) + params + list(RATES_COLUMNS[3:])
    return pd.DataFrame(out, columns=columns)


def _log_powers(claim) -> list[float]:
    """The log powers a claim is judged at: its stated one, or _LOG_POWER_STEPS evenly spaced across its range."""
    if claim.log_power_range is None:
        return [float(claim.log_power)]
    return [float(p) for p in np.linspace(*claim.log_power_range, _LOG_POWER_STEPS)]


def _on(levels, data, index):
    """Item ``index`` (1: values, 2: floors) of a group's level arrays, on the given levels (NaN rows where that
    bound has no such level); None when the bound is absent."""
    if data is None or data[index] is None:
        return None
    out = np.full((len(levels), data[index].shape[1]), np.nan)
    out[np.searchsorted(levels, data[0])] = data[index]
    return out


def _claim_columns(claim, claimed: float, slopes) -> dict:
    """The rates columns naming the claim; claimed_slope_with_log is the middle of ``slopes``."""
    power = (format_value(float(claim.log_power)) if claim.log_power_range is None
             else f"{format_value(claim.log_power_range[0])}..{format_value(claim.log_power_range[1])} (unknown)")
    return {"claim_id": claim.id, "claim_kind": claim.kind, "claimed_slope": claimed,
            "claimed_slope_with_log": slopes[len(slopes) // 2], "log_power_range": power}


def _local_text(fit: SlopeFit | None) -> str:
    return "" if fit is None else ";".join(f"{v:.3f}" for v in fit.local_slopes)


def _fit_columns(group, quantity, fit: SlopeFit) -> dict:
    return {"slope": fit.slope, "ci_low": fit.ci_low, "ci_high": fit.ci_high, "ci_method": fit.ci_method,
            "slope_finest": fit.slope_finest, "local_slopes": _local_text(fit), "r2": fit.r2,
            "n_levels_used": fit.n_levels_used, "n_levels_total": fit.n_levels_total,
            "n_dropped_floor": fit.n_dropped_floor, "n_seeds": fit.n_seeds, "method": _methods(group, quantity),
            "intercept": fit.intercept}


def _bracket_columns(group, quantity, lower: SlopeFit | None, upper: SlopeFit | None) -> dict:
    """A bracket row's fit columns: both bounds' slopes and CIs; local_slopes and slope_finest are the lower
    bound's (the fit a refutation is tested on)."""
    fits = [fit for fit in (lower, upper) if fit is not None]
    return {"ci_method": "bracket", "local_slopes": _local_text(lower),
            "slope_finest": lower.slope_finest if lower else math.nan,
            "n_levels_used": min(fit.n_levels_used for fit in (lower, upper)) if len(fits) == 2 else 0,
            "n_levels_total": fits[0].n_levels_total, "n_dropped_floor": lower.n_dropped_floor if lower else 0,
            "n_seeds": min(fit.n_seeds for fit in fits),
            "method": f"lower: {_methods(group, f'{quantity}_lower')}; upper: {_methods(group, f'{quantity}_upper')}",
            **{f"{side}_{column}": getattr(fit, column) if fit else math.nan
               for side, fit in (("lower", lower), ("upper", upper)) for column in ("slope", "ci_low", "ci_high")}}


def _union(lower: SlopeFit | None, upper: SlopeFit | None) -> SlopeFit | None:
    """A bracket's window: the union of both bounds' windows (over which a claim's log factor is taken)."""
    fits = [fit for fit in (lower, upper) if fit is not None]
    if not fits:
        return None
    return dataclasses.replace(fits[0], used=np.logical_or.reduce([fit.used for fit in fits]))


def _capped(group, variable, window) -> str:
    """A note naming the size caps that bind at the window's levels ("" when none; no ``capped`` column: none)."""
    if "capped" not in group.columns:
        return ""
    levels = _floats(group[variable])
    text = group["capped"].fillna("").astype(str).str.strip()
    hit = text.ne("") & np.isin(levels, window) & (group["status"] == "ok").to_numpy()
    if not hit.any():
        return ""
    at = ", ".join(format_value(v) for v in np.unique(levels[hit.to_numpy()]))
    caps = "; ".join(sorted(set(text[hit])))
    return f"a size cap binds at {variable} = {at}: {caps}"


def is_bracket(table: pd.DataFrame, quantity: str) -> bool:
    """Whether ``quantity`` is a bracket in ``table``: not a column itself, while ``<quantity>_lower`` and
    ``<quantity>_upper`` are (bounds on it, e.g. w2_target_lower and w2_target_upper)."""
    return quantity not in table.columns and {f"{quantity}_lower", f"{quantity}_upper"} <= set(table.columns)


def _claim_registry(extra_claims) -> dict:
    registry = {name: _claims.get(name) for name in _claims.names()}
    for claim in extra_claims:
        if not isinstance(claim, _claims.Claim):
            raise ValueError(f"extra_claims: must be chargen_theory.claims.Claim objects, got {type(claim).__name__}")
        if claim.id in registry and registry[claim.id] != claim:
            raise ValueError(f"extra_claims: id {claim.id!r} is already registered with different content")
        registry[claim.id] = claim
    return registry


def _plan(table, fits, registry) -> dict:
    """{(experiment, quantity, variable): (claim ids, columns varying with the variable)}, sorted by key."""
    if fits is None:
        from ..study import experiments

        kinds = [k for k in sorted(set(table["experiment"].dropna())) if k in experiments.names()]
        fits = [{"experiment": k, "quantity": f.quantity, "variable": f.variable, "claims": f.claims}
                for k in kinds for f in experiments.get(k).fits]
    plan: dict = {}
    for i, spec in enumerate(fits):
        if not isinstance(spec, dict) or not {"experiment", "quantity", "variable", "claims"} <= set(spec):
            raise ValueError(f"fits[{i}]: must be a mapping with keys experiment, quantity, variable, claims "
                             "(and optionally with)")
        variable = _validate.choice(f"fits[{i}].variable", spec["variable"], parameters.COMPANIONS)
        ids, together = plan.get((spec["experiment"], spec["quantity"], variable),
                                 ((), parameters.COMPANIONS[variable]))
        for claim_id in spec["claims"]:
            _validate.choice(f"fits[{i}].claims", claim_id, registry)
        ids += tuple(c for c in spec["claims"] if c not in ids)
        together += tuple(c for c in spec.get("with", ()) if c not in together and c != variable)
        plan[(spec["experiment"], spec["quantity"], variable)] = (ids, together)
    return dict(sorted(plan.items()))


def group_columns(table: pd.DataFrame, variable: str, together=()) -> list[str]:
    """The parameter columns of ``table`` that define a group when fitting against ``variable``: all but the
    variable, its companions (K for h) and the columns in ``together``."""
    skip = {variable, *parameters.COMPANIONS[variable], *together}
    return [c for c in parameters.COLUMNS if c in table.columns and c not in skip]


def _groups(rows, variable, together):
    """(key, rows) per group; key maps each group column to its value (NaN where empty)."""
    columns = group_columns(rows, variable, together)
    if not columns:
        yield {}, rows
        return
    for values, group in rows.groupby(columns, dropna=False, sort=True):
        yield dict(zip(columns, values)), group


_LONG_VALUE = 48  # characters; longer parameter values are shortened to a prefix and a content hash


def describe_group(key: dict) -> str:
    """A group as text, "path=linear; T=0.99; D=2", leaving out the target (reported in its own column), empty
    parameters and empty JSON objects; values longer than 48 characters become a prefix plus an 8-digit SHA-256,
    which keeps the description unique."""
    parts = []
    for column, value in key.items():
        if column == "target" or is_empty(value) or value == "{}":
            continue
        text = format_value(value)
        if len(text) > _LONG_VALUE:  # a model named inside (``"regressor": "..."``) stays in front of the prefix
            model = re.search(r'"regressor":"([^"]+)"', text)
            lead = f"{model.group(1)} " if model else ""
            text = f"{lead}{text[:24]}...#{hashlib.sha256(text.encode()).hexdigest()[:8]}"
        parts.append(f"{column}={text}")
    return "; ".join(parts)


def format_value(value) -> str:
    """Numbers as short text (integral floats without ".0"); anything else as str."""
    if isinstance(value, (int, np.integer)):
        return str(value)
    if isinstance(value, (float, np.floating)):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.4g}"
    return str(value)


def is_empty(value) -> bool:
    """Whether a table cell holds no value: None, "", or a missing scalar (NaN, NA)."""
    return value is None or (isinstance(value, str) and value == "") or (pd.api.types.is_scalar(value)
                                                                          and bool(pd.isna(value)))


def _dimension(value) -> float | None:
    return None if is_empty(value) else float(value)


def level_arrays(group: pd.DataFrame, quantity: str, variable: str):
    """(levels (L,), values (L, S), floors (L, S) or None, seeds (S,)) of one group: every level present in any
    row, values and floors of "ok" rows only (NaN elsewhere)."""
    levels = np.unique(_floats(group[variable].dropna()))
    seeds = np.unique(_floats(group["seed"]))
    ok = group[(group["status"] == "ok") & group[variable].notna()]
    if ok.duplicated(["seed", variable]).any():
        raise ValueError(f"table: several ok rows for the same (group, {variable}, seed); cells must be unique")
    li = np.searchsorted(levels, _floats(ok[variable]))
    si = np.searchsorted(seeds, _floats(ok["seed"]))

    def matrix(column):
        out = np.full((len(levels), len(seeds)), np.nan)
        vals = _floats(ok[column])
        out[li, si] = np.where(np.isfinite(vals), vals, np.nan)
        return out

    floor = f"{quantity}_floor"
    floors = matrix(floor) if floor in ok.columns else None
    return levels, matrix(quantity), floors, seeds


def _floats(column: pd.Series) -> np.ndarray:
    """A column as float64 (text that is not a number and missing values become NaN)."""
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _fit_group(group, quantity, variable, **options):
    """(SlopeFit, number of diverged rows, (levels, values, floors)) of one group's ``quantity``; the fit and the
    arrays are None when no level has a value."""
    levels, values, floors, _ = level_arrays(group, quantity, variable)
    n_diverged = int((group["status"] == "diverged").sum())
    if len(levels) == 0 or not np.isfinite(values).any():
        return None, n_diverged, None
    fit = fit_slope(levels, values, variable=variable, floors_by_seed=floors, **options)
    return fit, n_diverged, (levels, values, floors)


def _methods(group, quantity) -> str:
    column = f"{quantity}_method"
    if column not in group.columns:
        return ""
    ok = group.loc[group["status"] == "ok", column].dropna().astype(str)
    return "|".join(sorted(set(ok) - {""}))
