"""Calibration of the verdict rules (``rates``) by simulation: synthetic error series from known laws, and the
measured rates at which each rule calls a contradiction on them (docs/theory.md 4.8).

A series is one group of a sweep: errors e[l, s] at levels l (n or h) and seeds s,

    e = C level^a (1 + c u^b) |log level|^p exp(sigma z[l, s] + sigma_seed w[s]),   u = 1/n or h,

with z, w independent standard normals: sigma is the independent lognormal noise of each (level, seed) cell, and
sigma_seed a seed effect shared by all levels (common random numbers, as in the Euler experiments, where one seed
draws the same particles at every step size). c u^b is the pre-asymptotic term; |log level|^p the log factor.

The noise levels are those measured on the committed tables (``NOISE``: the median over groups and levels of the
standard deviation of log error across seeds, from results/paper/results.csv and results/quick/results.csv; for
euler_vs_h split into the seed effect and the independent part by a two-way decomposition of log error).

``error_rates`` runs the real rule (``rates.judge_series``, or ``rates.judge_bracket`` on a lower/upper pair: the
code path of ``rates.fit_rates``) on every series and returns the share of each verdict; ``contradiction_rate``
sums the shares of rates.CONTRADICTIONS. ``coverage`` measures how often a 95% slope interval holds the true
slope, for the seed-t interval of ``rates`` and, for comparison, the expanded percentile seed bootstrap it replaced.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
from scipy import stats

from . import rates

# sd of log error across seeds, measured on the committed tables (median over groups and levels)
NOISE = {
    "w2_floor w2": 0.053,                   # paper (quick: 0.062); upper quartile 0.19
    "velocity_vs_n velocity_l2": 0.035,     # paper (quick: 0.022); upper quartile 0.072
    "intrinsic_dim velocity_l2": 0.012,     # paper
    "chargen_vs_n w2_target_lower": 0.085,  # paper (quick: 0.060)
    "chargen_vs_n w2_target_upper": 0.069,  # paper (quick: 0.046)
    "euler_vs_h euler_error": 0.025,        # paper, across seeds at one h (quick: 0.039) ...
    "euler_vs_h euler_error independent": 0.0042,  # ... of which this part is not shared across h (paper)
}
N_LEVELS = 250.0 * 2.0 ** np.arange(7)          # n = 250 ... 16000, the suite's velocity_vs_n levels
N_LEVELS_4 = 250.0 * 4.0 ** np.arange(4)        # n = 250, 1000, 4000, 16000 (intrinsic_dim, chargen_vs_n)
H_LEVELS = 0.9 / (16.0 * 2.0 ** np.arange(6))   # h = T / K, T = 0.9, K = 16 ... 512 (euler_vs_h)


@dataclass(frozen=True)
class Law:
    """A synthetic error law: exponent a, pre-asymptotic term c u^b, log power p, noise (see the module text)."""

    exponent: float
    c: float = 0.0
    b: float = 0.5
    log_power: float = 0.0
    sigma: float = NOISE["w2_floor w2"]
    sigma_seed: float = 0.0
    scale: float = 1.0


def synthetic_errors(law: Law, levels, *, variable: str, n_seeds: int, n_series: int,
                     rng: np.random.Generator) -> np.ndarray:
    """(n_series, L, n_seeds) errors of ``law`` at ``levels`` (L,) of ``variable`` ("n" | "h")."""
    levels = np.asarray(levels, dtype=np.float64)
    u = 1.0 / levels if variable == "n" else levels
    mean = (law.scale * levels ** law.exponent * (1.0 + law.c * u ** law.b)
            * np.abs(np.log(levels)) ** law.log_power)
    noise = (law.sigma * rng.standard_normal((n_series, len(levels), n_seeds))
             + law.sigma_seed * rng.standard_normal((n_series, 1, n_seeds)))
    return mean[None, :, None] * np.exp(noise)


@dataclass(frozen=True)
class Rule:
    """A verdict rule as fit_rates applies it: claim kind, slope_tolerance, and the log powers it is judged at (a
    stated one, or several across an unknown range). ``bracket``: judged on a lower/upper pair of bounds."""

    name: str
    kind: str = "rate"
    tolerance: float = 0.0
    log_powers: tuple[float, ...] = (0.0,)
    bracket: bool = False


def error_rates(rule: Rule, errors, levels, claimed_exponent: float, *, variable: str,
                upper_errors=None) -> dict[str, float]:
    """Share of each verdict of ``rule`` (``rates.judge_series``, or ``rates.judge_bracket``: the code path of
    ``rates.fit_rates``) over the series of ``errors`` (n_series, L, S) against the claimed exponent; for a
    bracket rule ``errors`` are the lower bound's series and ``upper_errors`` the upper bound's."""
    options = {"variable": variable, "kind": rule.kind, "tolerance": rule.tolerance, "log_powers": rule.log_powers}
    counts: dict[str, int] = {}
    for i in range(errors.shape[0]):
        if rule.bracket:
            label, _ = rates.judge_bracket(levels, errors[i], upper_errors[i], claimed_exponent, **options)
        else:
            label, _ = rates.judge_series(levels, errors[i], claimed_exponent, **options)
        counts[label] = counts.get(label, 0) + 1
    return {label: count / errors.shape[0] for label, count in sorted(counts.items())}


def contradiction_rate(shares: dict[str, float]) -> float:
    """The share of contradicting verdicts (rates.CONTRADICTIONS) in an ``error_rates`` result."""
    return float(sum(shares.get(label, 0.0) for label in rates.CONTRADICTIONS))


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact two-sided ``level`` interval for a binomial proportion from k successes in n trials."""
    alpha = 1.0 - level
    low = 0.0 if k == 0 else float(stats.beta.ppf(alpha / 2, k, n - k + 1))
    high = 1.0 if k == n else float(stats.beta.ppf(1 - alpha / 2, k + 1, n - k))
    return low, high


def bootstrap_interval(x, values, rng: np.random.Generator, n_boot: int = 1000) -> tuple[float, float]:
    """The expanded percentile seed bootstrap 95% interval of the slope of log RMS on x (T. Hesterberg, The American
    Statistician 69 (2015) 371-386), the interval ``rates`` used before the seed-t one: seeds resampled with
    replacement, the same draw at every level, tails at Phi(-sqrt(S/(S-1)) t_{0.975,S-1}). values: (L, S)."""
    n_seeds = values.shape[1]
    draws = rng.integers(0, n_seeds, size=(n_boot, n_seeds))
    y = np.log(rates.rms_over_seeds(values[:, draws]))  # (L, n_boot)
    slopes = np.polynomial.polynomial.polyfit(x, y, 1)[1]
    tail = stats.norm.cdf(-math.sqrt(n_seeds / (n_seeds - 1)) * stats.t.ppf(0.975, n_seeds - 1))
    low, high = np.quantile(slopes, [tail, 1.0 - tail])
    return float(low), float(high)


def coverage(errors, levels, true_slope: float, *, variable: str, rng: np.random.Generator,
             n_boot: int = 1000) -> dict[str, float]:
    """Share of the series of ``errors`` (n_series, L, S) whose 95% slope interval holds ``true_slope``: "seed-t"
    (``rates.fit_slope``) and "bootstrap" (``bootstrap_interval``)."""
    x = np.log(np.asarray(levels, dtype=np.float64))
    held = {"seed-t": 0, "bootstrap": 0}
    for values in errors:
        fit = rates.fit_slope(levels, values, variable=variable)
        held["seed-t"] += fit.ci_low <= true_slope <= fit.ci_high
        low, high = bootstrap_interval(x, values, rng, n_boot)
        held["bootstrap"] += low <= true_slope <= high
    return {method: count / len(errors) for method, count in held.items()}


# The calibration grid: per rule, the claimed exponent, the levels, and the pre-asymptotic terms of consistent
# series (c, b). False claims: the true exponent is off by GAPS on the slow side (and the fast side for exact rates)
# with the same pre-asymptotic terms.
GAPS = (0.05, 0.1)
PRE_ASYMPTOTIC = ((0.0, 0.5), (2.0, 0.5), (-0.5, 0.5), (1.0, 0.25), (-0.3, 0.25))
EULER_PRE_ASYMPTOTIC = ((0.0, 1.0), (4.0, 1.0), (-2.0, 1.0), (1.0, 0.5))


@dataclass(frozen=True)
class Setting:
    """One calibration setting: a rule, the claimed exponent, the design (levels, seeds) and the true law."""

    rule: Rule
    claimed: float
    levels: np.ndarray
    variable: str
    law: Law
    n_seeds: int = rates.MIN_SEEDS_CONTRADICTION
    upper_scale: float = 0.0  # bracket: the upper bound is upper_scale x the true error (lower: 0.5 x)

    def run(self, n_series: int, rng: np.random.Generator) -> dict[str, float]:
        """``error_rates`` of the rule over n_series series of the law (for a bracket: a lower bound 0.5 x and an
        upper bound upper_scale x the law, with independent noise)."""
        def draw(law):
            return synthetic_errors(law, self.levels, variable=self.variable, n_seeds=self.n_seeds,
                                    n_series=n_series, rng=rng)

        if not self.rule.bracket:
            return error_rates(self.rule, draw(self.law), self.levels, self.claimed, variable=self.variable)
        lower, upper = (draw(replace(self.law, scale=scale)) for scale in (0.5, self.upper_scale))
        return error_rates(self.rule, lower, self.levels, self.claimed, variable=self.variable, upper_errors=upper)


RULES = {
    "rate": Rule("rate"),
    "upper bound": Rule("upper bound", kind="upper bound"),
    "rate, log power unknown in [0, 1]": Rule("rate, log power unknown",
                                              log_powers=tuple(np.linspace(0.0, 1.0, rates._LOG_POWER_STEPS))),
    "bracket (upper bound)": Rule("bracket", kind="upper bound", bracket=True),
    "deterministic order (Euler, slope_tolerance 0.05)": Rule("deterministic", tolerance=0.05),
}


def settings(rule_name: str, gap: float = 0.0, *, sigma: float | None = None, levels=None,
             n_seeds: int = rates.MIN_SEEDS_CONTRADICTION) -> list[Setting]:
    """The settings of one rule at one slope gap (0: consistent; > 0: the true exponent decays more slowly than
    claimed by ``gap``; < 0: faster), one per pre-asymptotic term. Defaults: the suite's design and noise."""
    rule = RULES[rule_name]
    if rule.tolerance > 0:  # Euler: first order in h, common random numbers across h
        levels = H_LEVELS if levels is None else levels
        law = dict(sigma=NOISE["euler_vs_h euler_error independent"] if sigma is None else sigma,
                   sigma_seed=NOISE["euler_vs_h euler_error"])
        return [Setting(rule, 1.0, levels, "h", Law(1.0 - gap, c=c, b=b, **law), n_seeds)
                for c, b in EULER_PRE_ASYMPTOTIC]
    if rule.bracket:
        levels = N_LEVELS_4 if levels is None else levels
        sigma = NOISE["chargen_vs_n w2_target_lower"] if sigma is None else sigma
        return [Setting(rule, -0.25, levels, "n", Law(-0.25 + gap, c=c, b=b, sigma=sigma), n_seeds, upper_scale=2.0)
                for c, b in PRE_ASYMPTOTIC]
    levels = N_LEVELS if levels is None else levels
    sigma = NOISE["w2_floor w2"] if sigma is None else sigma
    # an unknown log power: the law's power is the middle of the range, or for a false claim the end of the range
    # on the gap's side (so the gap is measured from the nearest slope the range allows)
    powers = rule.log_powers
    power = powers[-1] if gap > 0 else powers[0] if gap < 0 else (powers[0] + powers[-1]) / 2
    return [Setting(rule, -0.5, levels, "n", Law(-0.5 + gap, c=c, b=b, log_power=power, sigma=sigma), n_seeds)
            for c, b in PRE_ASYMPTOTIC]


def calibrate(rule_name: str, gap: float, n_series: int, rng: np.random.Generator, **design) -> dict:
    """The contradiction rate of one rule at one gap, per pre-asymptotic term and pooled: {"worst": max over the
    terms, "pooled": over all series, "k": contradictions, "n": series, "shares": pooled verdict shares}."""
    per, pooled = [], {}
    grid = settings(rule_name, gap, **design)
    for setting in grid:
        shares = setting.run(n_series, rng)
        per.append(contradiction_rate(shares))
        for label, share in shares.items():
            pooled[label] = pooled.get(label, 0.0) + share / len(grid)
    n = n_series * len(grid)
    rate = contradiction_rate(pooled)
    return {"worst": max(per), "pooled": rate, "k": int(round(rate * n)), "n": n, "shares": pooled}
