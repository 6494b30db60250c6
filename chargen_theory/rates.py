"""Log-log rate fits with seed-bootstrap confidence intervals, and verdicts against the claims (docs/theory.md
section 4).

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
5. 95% CI: percentile bootstrap over seeds (resampled with replacement, the same draw at every level so that common
   random numbers stay paired), ``n_boot`` replicates from a generator seeded by (seed, group key), so the result
   does not depend on the order of the table. The percentiles are those of the expanded percentile interval
   (T. Hesterberg, The American Statistician 69 (2015) 371-386): with S seeds the tails are at
   Phi(-sqrt(S/(S-1)) t_{0.975,S-1}) instead of 2.5%, which restores ~95% coverage for the few seeds of a sweep
   (measured on lognormal noise: 93% at S = 5, 95% at S = 10; with S = 3 any bootstrap over seeds covers only about
   72%). With a single seed there is nothing to resample: the CI is the OLS standard-error interval (Student t,
   L - 2 degrees of freedom) and the verdict is "inconclusive".

rates.csv holds the contract's columns (experiment, quantity, variable, the parameter columns, claim_id,
claimed_slope, slope, ci_low, ci_high, r2, n_levels_used, n_levels_total, n_dropped_floor, n_diverged, verdict,
figure) and: varies_with (the columns that moved with the variable, e.g. "K"), group (the group's parameters as
text), claim_kind, claimed_slope_with_log (the slope the claim's log factor gives over the window used, see
``claimed_slope_with_log``), ci_method, slope_finest (between the two finest levels used), n_seeds, method (the ``<quantity>_method`` values), intercept,
level_min_used / level_max_used (the window) and note (why inconclusive, or the unmet hypotheses).

Verdicts (``verdict``), VERDICTS: "out of scope" when the group breaks a hypothesis of the claim
(``claims.scope``: target class, time regime, estimator class, bounded quantity; the slope and CI are still recorded
and ``note`` names the unmet hypotheses; never counted as consistent or contradicting); "inconclusive" when fewer
than 3 usable levels, fewer than 2 seeds, or a CI wider than ``max_ci_width_rel`` times |claimed slope| (default 1:
a CI of that width centred on the claim spans half to one and a half times the claimed exponent); otherwise
"consistent" when the claimed slope lies in the CI, and when the CI lies entirely on one side: "slower" (slower
decay than claimed: below the claim for h, above it for n) and, on the faster side, "faster than bound" for an
"upper bound" claim (the bound holds, but is not sharp here) or "faster" for a "rate" claim. Only "slower" and
"faster" (CONTRADICTIONS) contradict a claim. The claimed slope compared is the one the claim's log factors give
over the window used (``claimed_slope_with_log``; the pure exponent when there is none).

Bound verdicts (``bound_verdict``) judge an upper-bound claim from fits of a lower and an upper bound on the error
(``metrics.bracket``): "refuted" (the lower bound decays provably more slowly), "consistent" (the upper bound's slope
CI reaches the claim) or "inconclusive". ``fit_rates`` uses them for a bracket quantity Q: a declared quantity that
is not a column of the table while ``Q_lower`` and ``Q_upper`` are (chargen_vs_n's "w2_target"). Both bounds are
fitted like any quantity (the lower one windowed by ``Q_lower_floor``) and the row, with ci_method "bracket", holds
their slopes and CIs in lower_slope, lower_ci_low, lower_ci_high, upper_slope, upper_ci_low, upper_ci_high; its
slope, ci_low, ci_high, r2 and intercept are empty, n_levels_used and n_seeds are those of the weaker fit, the window
(level_min_used, level_max_used) is the union of both, over which the claim's log factor is taken. For a claim of
kind "rate" an upper bound decaying provably faster also refutes. "refuted" counts as a contradiction
(CONTRADICTIONS).
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

from . import _validate, cells, claims as _claims

VERDICTS = ("consistent", "faster than bound", "faster", "slower", "inconclusive", "out of scope")
CONTRADICTIONS = ("faster", "slower", "refuted")  # the verdicts that contradict a claim (refuted: bound_verdict)

# rates.csv: these columns, with the table's parameter columns (cells.COLUMNS) inserted after "variable"
RATES_COLUMNS = ("experiment", "quantity", "variable", "varies_with", "group", "claim_id", "claim_kind",
                 "claimed_slope", "claimed_slope_with_log", "slope", "ci_low", "ci_high", "ci_method", "slope_finest",
                 "r2",
                 "n_levels_used", "n_levels_total", "n_dropped_floor", "n_diverged", "n_seeds", "method", "intercept",
                 "level_min_used", "level_max_used", "lower_slope", "lower_ci_low", "lower_ci_high", "upper_slope",
                 "upper_ci_low", "upper_ci_high", "verdict", "note", "figure")


@dataclass(frozen=True)
class SlopeFit:
    """A log-log fit. Arrays are per level, in increasing level order: ``levels`` (L,), ``rms`` (L,) RMS over seeds
    (NaN where no seed has a value), ``rms_floor`` (L,) (0 where no floor), ``used`` (L,) bool window mask.
    ``intercept`` is log RMS at level 1, so the fitted line is exp(intercept) * level**slope. ``slope_finest`` is
    the slope between the two finest levels used (largest n, smallest h): when it is closer to a claim than
    ``slope``, the coarse end of the window may still be pre-asymptotic."""

    slope: float
    slope_finest: float
    intercept: float
    ci_low: float
    ci_high: float
    ci_method: str  # "bootstrap" | "ols" | "none"
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


def fit_slope(levels, values_by_seed, *, variable: str, rng: np.random.Generator, floors_by_seed=None,
              drop_first: int = 0, floor_factor: float = 3.0, n_boot: int = 2000) -> SlopeFit:
    """Fit log(RMS over seeds) against log(level) with a seed-bootstrap 95% CI.

    levels: (L,) distinct positive values of n or h. values_by_seed: (L, S) errors >= 0, column s = seed s at every
    level, NaN where missing. floors_by_seed: (L, S) or None, the estimation floor in the same units. variable:
    "n" or "h" (sets which end is coarse for ``drop_first``). rng: numpy Generator for the bootstrap.
    """
    _validate.choice("variable", variable, cells.COMPANIONS)
    _validate.generator("rng", rng)
    levels = _validate.finite_array("levels", levels, ndim=1)
    if np.any(levels <= 0) or len(np.unique(levels)) != len(levels):
        raise ValueError("levels: must be distinct and > 0")
    values = _seed_matrix("values_by_seed", values_by_seed, len(levels))
    floors = np.zeros_like(values) if floors_by_seed is None else _seed_matrix("floors_by_seed", floors_by_seed,
                                                                               len(levels))
    if not (isinstance(drop_first, (int, np.integer)) and drop_first >= 0):
        raise ValueError(f"drop_first: must be an integer >= 0, got {drop_first!r}")
    floor_factor = _validate.positive_float("floor_factor", floor_factor)
    n_boot = _validate.positive_int("n_boot", n_boot)

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
    slope = intercept = r2 = ci_low = ci_high = slope_finest = math.nan
    ci_method = "none"
    if len(x) >= 2:
        slope, intercept = np.polynomial.polynomial.polyfit(x, y, 1)[::-1]
        finest = slice(-2, None) if variable == "n" else slice(0, 2)
        slope_finest = (y[finest][1] - y[finest][0]) / (x[finest][1] - x[finest][0])
        resid = y - (intercept + slope * x)
        sst = np.sum((y - y.mean()) ** 2)
        r2 = 1.0 - np.sum(resid ** 2) / sst if sst > 0 else math.nan
        if len(seeds) >= 2:
            boot = _bootstrap_slopes(x, values[used][:, seeds], rng, n_boot)
            tail = _expanded_tail(len(seeds))
            ci_low, ci_high = np.nanquantile(boot, [tail, 1.0 - tail])
            ci_method = "bootstrap"
        elif len(x) >= 3:
            se = math.sqrt(np.sum(resid ** 2) / (len(x) - 2) / np.sum((x - x.mean()) ** 2))
            half = stats.t.ppf(0.975, len(x) - 2) * se
            ci_low, ci_high, ci_method = slope - half, slope + half, "ols"
    return SlopeFit(float(slope), float(slope_finest), float(intercept), float(ci_low), float(ci_high), ci_method,
                    float(r2),
                    int(used.sum()), len(levels), int(at_floor.sum()), int(dropped_first.sum()), len(seeds),
                    levels, rms, rms_floor, used)


def _seed_matrix(field, value, n_levels):
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] != n_levels:
        raise ValueError(f"{field}: must have shape ({n_levels}, n_seeds), got {arr.shape}")
    if np.any(np.isinf(arr)) or np.any(arr < 0):
        raise ValueError(f"{field}: errors must be finite and >= 0 (NaN marks a missing seed)")
    return arr


def _expanded_tail(n_seeds: int) -> float:
    """Tail probability of the expanded percentile interval (Hesterberg 2015) for a 95% CI from n_seeds resampled
    units: Phi^-1(tail) = -sqrt(S/(S-1)) t_{0.975, S-1}. It undoes the plug-in bootstrap's too-narrow spread with
    few seeds (plain 2.5% / 97.5% percentiles cover about 89% at S = 10; this about 95%)."""
    return float(stats.norm.cdf(-math.sqrt(n_seeds / (n_seeds - 1)) * stats.t.ppf(0.975, n_seeds - 1)))


def rms_over_seeds(values) -> np.ndarray:
    """RMS over the finite entries of the last axis (seeds); NaN where there is none. (..., S) -> (...)."""
    finite = np.isfinite(values)
    count = finite.sum(axis=-1)
    total = np.where(finite, values, 0.0) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt(total.sum(axis=-1) / count)


def _bootstrap_slopes(x, values, rng, n_boot):
    """Slopes of log RMS on x for n_boot resamples of the seed columns of values (L, S); NaN where < 2 levels."""
    n_seeds = values.shape[1]
    draws = rng.integers(0, n_seeds, size=(n_boot, n_seeds))
    with np.errstate(divide="ignore"):
        y = np.log(rms_over_seeds(values[:, draws]))  # (L, n_boot)
    w = np.isfinite(y)
    y = np.where(w, y, 0.0)
    count = w.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        x_mean = (w * x[:, None]).sum(axis=0) / count
        y_mean = y.sum(axis=0) / count
        dx = np.where(w, x[:, None] - x_mean, 0.0)
        slopes = (dx * (y - y_mean)).sum(axis=0) / (dx ** 2).sum(axis=0)
    return np.where(count >= 2, slopes, np.nan)


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


def verdict(fit: SlopeFit, claimed_slope: float, *, variable: str, kind: str = "rate",
            max_ci_width_rel: float = 1.0, tolerance: float = 0.0) -> tuple[str, str]:
    """(verdict, reason) of ``fit`` against ``claimed_slope`` for a claim of ``kind`` ("rate" | "upper bound");
    the reason is empty unless inconclusive.

    Consistent when [ci_low - tolerance, ci_high + tolerance] holds the claimed slope (the claim's
    ``slope_tolerance``; 0 for statistical rates). A CI wholly on the faster side is "faster than bound" for an
    upper bound (no contradiction) and "faster" for a rate; on the slower side it is "slower"."""
    _validate.choice("variable", variable, cells.COMPANIONS)
    _validate.choice("kind", kind, _claims.KINDS)
    max_ci_width_rel = _validate.positive_float("max_ci_width_rel", max_ci_width_rel)
    if fit.n_levels_used < 3:
        return "inconclusive", f"{fit.n_levels_used} usable level(s) (< 3)"
    if fit.n_seeds < 2:
        return "inconclusive", f"{fit.n_seeds} seed(s): OLS interval only, no seed bootstrap"
    if not (np.isfinite(fit.ci_low) and np.isfinite(fit.ci_high)):
        return "inconclusive", "no confidence interval"
    width, limit = fit.ci_high - fit.ci_low, max_ci_width_rel * abs(claimed_slope)
    if width > limit:
        return "inconclusive", f"CI width {width:.3g} > {max_ci_width_rel:g} x |claimed slope| = {limit:.3g}"
    if fit.ci_low - tolerance <= claimed_slope <= fit.ci_high + tolerance:
        return "consistent", ""
    below = fit.ci_high + tolerance < claimed_slope
    if below != (variable == "n"):
        return "slower", ""
    return ("faster than bound" if kind == "upper bound" else "faster"), ""


BOUND_VERDICTS = ("consistent", "refuted", "inconclusive")


def _bound_fit_problem(fit) -> str:
    """Why a bound's fit cannot be used for a verdict ("" when it can)."""
    if fit is None:
        return "no fit"
    if fit.n_levels_used < 3:
        return f"{fit.n_levels_used} usable level(s) (< 3)"
    if fit.n_seeds < 2:
        return f"{fit.n_seeds} seed(s): no seed bootstrap"
    if not (np.isfinite(fit.ci_low) and np.isfinite(fit.ci_high)):
        return "no confidence interval"
    return ""


def bound_verdict(lower_fit: SlopeFit | None, upper_fit: SlopeFit | None, claimed_slope: float, *,
                  variable: str = "n", max_ci_width_rel: float = 1.0) -> tuple[str, str]:
    """(verdict, reason) of an upper-bound claim, error <= C level^a, judged from fits of a lower and an upper bound
    on the error (e.g. ``w2_target_lower`` and ``w2_target_upper`` of ``metrics.bracket``); either fit may be None.

    Orientation: for variable "n" the claim decays (a < 0); for "h" it vanishes as h -> 0 (a > 0).
    - "refuted" when the lower bound's slope CI lies wholly on the slow side of a (n: ci_low > a; h: ci_high < a):
      the true error provably decays more slowly than the claim. Levels at the lower bound's estimation floor are
      outside its fit window (``fit_slope``'s ``floors_by_seed``), so a bound that flattens at its floor cannot
      refute; neither can a fit with < 3 levels, < 2 seeds or no CI.
    - "consistent" when the upper bound's slope CI reaches a (n: ci_low <= a; h: ci_high >= a) and is no wider than
      ``max_ci_width_rel`` x |a| (a wider CI reaches everything), or lies wholly on the fast side of a (n:
      ci_high < a; h: ci_low > a), whatever its width.
    - "inconclusive" otherwise; the reason says which bound is too loose or unusable.
    The reason is empty for a verdict that both bounds agree on.
    """
    _validate.choice("variable", variable, cells.COMPANIONS)
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

    def interval(fit):
        return (fit.ci_low, fit.ci_high) if sign > 0 else (-fit.ci_high, -fit.ci_low)

    def text(fit):
        return f"[{fit.ci_low:.3g}, {fit.ci_high:.3g}]"

    lower_problem, upper_problem = _bound_fit_problem(lower_fit), _bound_fit_problem(upper_fit)
    upper_reaches = not upper_problem and interval(upper_fit)[0] <= sign * a
    if not lower_problem and interval(lower_fit)[0] > sign * a:
        note = (f"the upper bound's slope CI {text(upper_fit)} also reaches the claimed {a:g}"
                if upper_reaches else "")
        return "refuted", note
    if upper_reaches:
        width, limit = upper_fit.ci_high - upper_fit.ci_low, max_ci_width_rel * abs(a)
        if width <= limit or interval(upper_fit)[1] < sign * a:  # wholly on the fast side: decided at any width
            return "consistent", ""
        upper_reason = (f"upper bound's slope CI {text(upper_fit)} is wider than {max_ci_width_rel:g} x |a| = "
                        f"{limit:.3g}")
    elif upper_problem:
        upper_reason = f"upper bound unusable: {upper_problem}"
    else:
        upper_reason = f"upper bound too loose: its slope CI {text(upper_fit)} does not reach the claimed {a:g}"
    lower_reason = (f"lower bound unusable: {lower_problem}" if lower_problem
                    else f"lower bound's slope CI {text(lower_fit)} does not exclude the claimed {a:g}")
    return "inconclusive", f"{upper_reason}; {lower_reason}"


def fit_rates(table: pd.DataFrame, fits=None, *, extra_claims=(), seed: int = 0, n_boot: int = 2000,
              drop_first: int = 0, floor_factor: float = 3.0, max_ci_width_rel: float = 1.0) -> pd.DataFrame:
    """Fit every declared (experiment, quantity, group) of a results table and judge it against each claim.

    table: the long results table (results.csv contract). fits: the fits to perform, mappings with keys
    experiment, quantity, variable ("n" | "h"), claims (claim ids) and optionally ``with`` (columns that vary
    together with the variable, e.g. ["m"] when m is zipped with n) -- run.json's "fits" entries plus ``with``;
    entries for the same (experiment, quantity, variable) are merged. None: the fits that the registered experiment
    kinds of the table declare. extra_claims: Claims that are not registered (a config's user claims). seed: root
    of the per-fit bootstrap generators. A claim is skipped for a group outside its dimension range; a group that
    breaks another of its hypotheses is fitted and judged "out of scope" (``claims.scope``).
    Returns one row per (group, applicable claim) with the columns of rates.csv (``figure`` empty).
    """
    if not isinstance(table, pd.DataFrame):
        raise ValueError("table: must be a pandas DataFrame (the results table)")
    missing = [c for c in ("experiment", "seed", "status") if c not in table.columns]
    if missing:
        raise ValueError(f"table: missing column(s) {', '.join(missing)}; see the results.csv contract")
    registry = _claim_registry(extra_claims)
    plan = _plan(table, fits, registry)
    params = [c for c in cells.COLUMNS if c in table.columns]
    out = []
    for (experiment, quantity, variable), (claim_ids, together) in plan.items():
        rows = table[table["experiment"] == experiment]
        bracket = is_bracket(rows, quantity)
        if (quantity not in rows.columns and not bracket) or variable not in rows.columns:
            continue
        for key, group in _groups(rows, variable, together):
            stream = f"{experiment}|{quantity}|{variable}|{key.get('target')}|{describe_group(key)}"
            if bracket:
                out += _bracket_rows(group, experiment, quantity, variable, key, together,
                                     [registry[c] for c in claim_ids], params, seed, stream, max_ci_width_rel,
                                     n_boot=n_boot, drop_first=drop_first, floor_factor=floor_factor)
                continue
            fit, n_diverged = _fit_group(group, quantity, variable, seed, stream,
                                         n_boot=n_boot, drop_first=drop_first, floor_factor=floor_factor)
            if fit is None:
                continue
            d, d_star = _dimension(key.get("D")), _dimension(key.get("d_star"))
            for claim in (registry[c] for c in claim_ids):
                if not claim.applies(d, d_star):
                    continue
                claimed = claim.exponent(d, d_star)
                with_log = claimed_slope_with_log(fit, claimed, claim.log_power, claim.loglog_power)
                label, reason = verdict(fit, with_log if np.isfinite(with_log) else claimed, variable=variable,
                                        kind=claim.kind, max_ci_width_rel=max_ci_width_rel,
                                        tolerance=claim.slope_tolerance)
                unmet = _claims.scope(claim, {**key, "varies_with": together}, quantity)
                if unmet:
                    label, reason = "out of scope", "; ".join(unmet)
                window = fit.levels[fit.used]
                out.append({
                    "experiment": experiment, "quantity": quantity, "variable": variable,
                    **{c: key.get(c, math.nan) for c in params}, "varies_with": ",".join(together),
                    "group": describe_group(key), "claim_id": claim.id, "claim_kind": claim.kind,
                    "claimed_slope": claimed,
                    "claimed_slope_with_log": with_log,
                    "slope": fit.slope, "ci_low": fit.ci_low, "ci_high": fit.ci_high, "ci_method": fit.ci_method,
                    "slope_finest": fit.slope_finest, "r2": fit.r2, "n_levels_used": fit.n_levels_used, "n_levels_total": fit.n_levels_total,
                    "n_dropped_floor": fit.n_dropped_floor, "n_diverged": n_diverged, "n_seeds": fit.n_seeds,
                    "method": _methods(group, quantity), "intercept": fit.intercept,
                    "level_min_used": window.min() if len(window) else math.nan,
                    "level_max_used": window.max() if len(window) else math.nan,
                    "verdict": label, "note": reason, "figure": "",
                })
    columns = list(RATES_COLUMNS[:3]) + params + list(RATES_COLUMNS[3:])
    return pd.DataFrame(out, columns=columns)


def is_bracket(table: pd.DataFrame, quantity: str) -> bool:
    """Whether ``quantity`` is a bracket in ``table``: not a column itself, while ``<quantity>_lower`` and
    ``<quantity>_upper`` are (bounds on it, e.g. w2_target_lower and w2_target_upper)."""
    return quantity not in table.columns and {f"{quantity}_lower", f"{quantity}_upper"} <= set(table.columns)


def _bracket_rows(group, experiment, quantity, variable, key, together, claims, params, seed, stream,
                  max_ci_width_rel, **options) -> list[dict]:
    """The rates rows of one group of a bracket quantity: both bounds fitted, each claim judged by
    ``bound_verdict`` (or "out of scope"); see the module docstring for the columns."""
    lower, n_diverged = _fit_group(group, f"{quantity}_lower", variable, seed, f"{stream}|lower", **options)
    upper, _ = _fit_group(group, f"{quantity}_upper", variable, seed, f"{stream}|upper", **options)
    fits = [fit for fit in (lower, upper) if fit is not None]
    if not fits:
        return []
    union = dataclasses.replace(fits[0], used=np.logical_or.reduce([fit.used for fit in fits]))
    window = union.levels[union.used]
    d, d_star = _dimension(key.get("D")), _dimension(key.get("d_star"))
    methods = f"lower: {_methods(group, f'{quantity}_lower')}; upper: {_methods(group, f'{quantity}_upper')}"
    out = []
    for claim in claims:
        if not claim.applies(d, d_star):
            continue
        claimed = claim.exponent(d, d_star)
        with_log = claimed_slope_with_log(union, claimed, claim.log_power, claim.loglog_power)
        compared = with_log if np.isfinite(with_log) else claimed
        if compared * (1 if variable == "h" else -1) > 0:
            label, reason = bound_verdict(lower, upper, compared, variable=variable, max_ci_width_rel=max_ci_width_rel)
            faster = upper is not None and not _bound_fit_problem(upper) and (
                upper.ci_high < compared if variable == "n" else upper.ci_low > compared)
            if claim.kind == "rate" and label != "refuted" and faster:  # an exact rate also fails when faster
                label, reason = "refuted", "the upper bound decays provably faster than the claimed exact rate"
        else:
            label, reason = "inconclusive", f"the claimed slope with its log factor is {compared:.3g} over the window"
        unmet = _claims.scope(claim, {**key, "varies_with": together}, quantity)
        if unmet:
            label, reason = "out of scope", "; ".join(unmet)
        out.append({
            "experiment": experiment, "quantity": quantity, "variable": variable,
            **{c: key.get(c, math.nan) for c in params}, "varies_with": ",".join(together),
            "group": describe_group(key), "claim_id": claim.id, "claim_kind": claim.kind, "claimed_slope": claimed,
            "claimed_slope_with_log": with_log, "ci_method": "bracket",
            "n_levels_used": min(fit.n_levels_used for fit in (lower, upper)) if len(fits) == 2 else 0,
            "n_levels_total": union.n_levels_total, "n_dropped_floor": lower.n_dropped_floor if lower else 0,
            "n_diverged": n_diverged, "n_seeds": min(fit.n_seeds for fit in fits), "method": methods,
            "level_min_used": window.min() if len(window) else math.nan,
            "level_max_used": window.max() if len(window) else math.nan,
            **{f"{side}_{column}": getattr(fit, column) if fit else math.nan
               for side, fit in (("lower", lower), ("upper", upper)) for column in ("slope", "ci_low", "ci_high")},
            "verdict": label, "note": reason, "figure": "",
        })
    return out


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
        from . import experiments

        kinds = [k for k in sorted(set(table["experiment"].dropna())) if k in experiments.names()]
        fits = [{"experiment": k, "quantity": f.quantity, "variable": f.variable, "claims": f.claims}
                for k in kinds for f in experiments.get(k).fits]
    plan: dict = {}
    for i, spec in enumerate(fits):
        if not isinstance(spec, dict) or not {"experiment", "quantity", "variable", "claims"} <= set(spec):
            raise ValueError(f"fits[{i}]: must be a mapping with keys experiment, quantity, variable, claims "
                             "(and optionally with)")
        variable = _validate.choice(f"fits[{i}].variable", spec["variable"], cells.COMPANIONS)
        ids, together = plan.get((spec["experiment"], spec["quantity"], variable), ((), cells.COMPANIONS[variable]))
        for claim_id in spec["claims"]:
            _validate.choice(f"fits[{i}].claims", claim_id, registry)
        ids += tuple(c for c in spec["claims"] if c not in ids)
        together += tuple(c for c in spec.get("with", ()) if c not in together and c != variable)
        plan[(spec["experiment"], spec["quantity"], variable)] = (ids, together)
    return dict(sorted(plan.items()))


def group_columns(table: pd.DataFrame, variable: str, together=()) -> list[str]:
    """The parameter columns of ``table`` that define a group when fitting against ``variable``: all but the
    variable, its companions (K for h) and the columns in ``together``."""
    skip = {variable, *cells.COMPANIONS[variable], *together}
    return [c for c in cells.COLUMNS if c in table.columns and c not in skip]


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
        if column == "target" or _is_empty(value) or value == "{}":
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


def _is_empty(value) -> bool:
    return value is None or (isinstance(value, str) and value == "") or (pd.api.types.is_scalar(value)
                                                                          and bool(pd.isna(value)))


def _dimension(value) -> float | None:
    return None if _is_empty(value) else float(value)


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


def _fit_group(group, quantity, variable, seed, stream: str, **options):
    levels, values, floors, _ = level_arrays(group, quantity, variable)
    n_diverged = int((group["status"] == "diverged").sum())
    if len(levels) == 0 or not np.isfinite(values).any():
        return None, n_diverged
    digest = hashlib.sha256(stream.encode()).digest()
    rng = np.random.default_rng([int(seed), int.from_bytes(digest[:8], "little")])
    return fit_slope(levels, values, variable=variable, rng=rng, floors_by_seed=floors, **options), n_diverged


def _methods(group, quantity) -> str:
    column = f"{quantity}_method"
    if column not in group.columns:
        return ""
    ok = group.loc[group["status"] == "ok", column].dropna().astype(str)
    return "|".join(sorted(set(ok) - {""}))
