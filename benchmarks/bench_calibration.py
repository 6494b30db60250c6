"""Verdict rules calibrated by simulation: false-contradiction rate and power per rule, coverage of the slope CI."""
from __future__ import annotations

import numpy as np

from _runner import Row, judge
from chargen_theory import calibration as cal

NAME, ORDER = "calibration", 90

WHY = ("a false-contradiction rate above 5% means a rule calls consistent series (true exponent = claim, with the "
       "grid's pre-asymptotic terms) contradictions: tighten the stability test or the constant-drift allowance "
       "(rates.CONSTANT_DRIFT). Power below 80% at a gap of 0.1 with the default design means the finest-levels test "
       "or the drift test is too strict for this noise, or the design (seeds, levels) too small: rates.seeds_needed "
       "says how many seeds would reach it.")


def _rate_row(what: str, result: dict, goal: str, bound: float) -> Row:
    """A measured rate against ``bound`` (ratio = rate / bound), with its Clopper-Pearson 95% interval."""
    rate = result["pooled"] if "pooled" in result else result["rate"]
    low, high = cal.clopper_pearson(result["k"], result["n"])
    shares = ", ".join(f"{label} {share:.2f}" for label, share in result["shares"].items())
    return Row(NAME, what, f"{rate:.3f} (95% CI {low:.3f}-{high:.3f}, {result['n']} series)", f"limit {bound:g}",
               rate / bound, None, goal, judge(rate / bound, goal), f"verdict shares: {shares}", why=WHY)


def rows(settings):
    n_series = settings.pick(full=150, quick=30)
    rng = settings.rng(900)
    out = []
    for rule in cal.RULES:
        design = "h = 0.9/K, K = 16..512" if rule.startswith("deterministic") else (
            "n = 250..4000 by 4x (4 levels)" if rule.startswith("bracket") else "n = 250..16000 by 2x (7 levels)")
        consistent = cal.calibrate(rule, 0.0, n_series, rng)
        out.append(_rate_row(f"{rule}: false-contradiction rate, consistent series, 10 seeds, {design}, pooled over "
                             f"{len(cal.settings(rule))} pre-asymptotic terms (worst term {consistent['worst']:.3f})",
                             consistent, "<= 1.0x", 0.05))
        sides = (0.1, -0.1) if rule.startswith(("rate", "deterministic")) else (0.1,)
        for gap in sides:
            clean = cal.settings(rule, gap)[0]  # no pre-asymptotic term
            shares = clean.run(n_series, rng)
            rate = cal.contradiction_rate(shares)
            result = {"rate": rate, "k": round(rate * n_series), "n": n_series, "shares": shares}
            goal = "-" if "unknown" in rule else ">= 1.0x"
            out.append(_rate_row(f"{rule}: power at a slope gap of {gap:+g}, no pre-asymptotic term, 10 seeds",
                                 result, goal, 0.8))
        for gap in (0.05, 0.1):
            pooled = cal.calibrate(rule, gap, n_series, rng)
            out.append(_rate_row(f"{rule}: power at a slope gap of {gap:+g}, pooled over the pre-asymptotic terms",
                                 pooled, "-", 0.8))
    for n_seeds in (3, 5, 10):
        errors = cal.synthetic_errors(cal.Law(-0.5, sigma=0.1), cal.N_LEVELS, variable="n", n_seeds=n_seeds,
                                      n_series=n_series * 2, rng=rng)
        covered = cal.coverage(errors, cal.N_LEVELS, -0.5, variable="n", rng=rng, n_boot=1000)
        n = n_series * 2
        low, high = cal.clopper_pearson(round(covered["seed-t"] * n), n)
        out.append(Row(NAME, f"95% slope CI coverage, {n_seeds} seeds, 7 levels, lognormal noise 0.1: seed-t "
                             "(rates) vs expanded percentile seed bootstrap (the former interval)",
                       f"{covered['seed-t']:.3f} (95% CI {low:.3f}-{high:.3f})",
                       f"bootstrap: {covered['bootstrap']:.3f}",
                       covered["seed-t"] / 0.95, None, "-", None))
    return out
