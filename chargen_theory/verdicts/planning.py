"""Plan the next run from a pilot: which judged groups more seeds (or levels) would decide, at what cost, within a
time budget (``chargen-theory plan DIR --budget SECONDS``).

The pilot is a finished run folder (results.csv, run.json). Its groups are fitted and judged as the report does
(``rates.fit_rates``); for each group with an undecided in-scope verdict ("underpowered", "pre-asymptotic",
"inconclusive") the plan takes

- the seeds that would bring the group's detectable gap down to ``rates.TARGET_GAP`` (``seeds_needed``, from the
  spread of its per-seed slopes over the finest levels), at least ``rates.MIN_SEEDS_CONTRADICTION``;
- the cost of one more seed: the sum over the group's levels of the median wall time of one cell (results.csv's
  ``seconds``), so the extra seeds cost (needed - have) x that;
- or, when the constants' allowance alone exceeds the target gap (seeds cannot decide it), the range of levels that
  would bring the allowance to half the target: log(CONSTANT_DRIFT) / (TARGET_GAP / 2) in log level.

Groups are then taken cheapest first until the budget is spent (``in_budget``). Groups that no number of seeds
decides at these levels, or whose cost is unknown, are listed last with their advice.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from . import rates, run_folder

UNDECIDED = ("underpowered", "pre-asymptotic", "inconclusive")
PLAN_COLUMNS = ("experiment", "quantity", "group", "claims", "verdicts", "n_seeds", "seeds_needed", "extra_seeds",
                "seconds_per_seed", "cost_s", "in_budget", "advice")


def plan(folder, budget_s: float) -> pd.DataFrame:
    """The plan for a pilot run folder (results.csv and run.json, read as the report reads them) and a time budget
    in seconds: one row per undecided group (PLAN_COLUMNS), cheapest first, ``in_budget`` marking those whose
    cumulative cost fits the budget."""
    folder = Path(folder)
    if not (isinstance(budget_s, (int, float)) and not isinstance(budget_s, bool) and math.isfinite(budget_s)
            and budget_s > 0):
        raise ValueError(f"budget: must be a number of seconds > 0, got {budget_s!r}")
    if not (folder / "results.csv").is_file():
        raise ValueError(f"dir: {str(folder)!r} holds no results.csv; give the output folder of a finished run")
    judged = run_folder.judge(folder)  # the report's reading of a run folder: the same fits as rates.csv
    table, fitted = judged.table, judged.fits
    undecided = fitted[fitted["verdict"].isin(UNDECIDED)]
    rows = []
    for (experiment, quantity, group), claims_rows in undecided.groupby(["experiment", "quantity", "group"],
                                                                         sort=True):
        first = claims_rows.iloc[0]
        have = int(first["n_seeds"])
        needed = float(claims_rows["seeds_needed"].max())
        per_seed = _seconds_per_seed(table, first)
        extra = max(needed - have, 0.0) if math.isfinite(needed) else math.nan
        rows.append({"experiment": experiment, "quantity": quantity, "group": group,
                     "claims": ";".join(claims_rows["claim_id"]), "verdicts": ";".join(claims_rows["verdict"]),
                     "n_seeds": have, "seeds_needed": needed, "extra_seeds": extra,
                     "seconds_per_seed": per_seed, "cost_s": extra * per_seed,
                     "advice": _advice(first, needed, extra)})
    out = pd.DataFrame(rows, columns=[c for c in PLAN_COLUMNS if c != "in_budget"])
    out = out.sort_values("cost_s", na_position="last", kind="stable").reset_index(drop=True)
    spent = out["cost_s"].fillna(math.inf).cumsum()
    out.insert(PLAN_COLUMNS.index("in_budget"), "in_budget", (spent <= budget_s) & out["cost_s"].notna())
    return out


def _seconds_per_seed(table: pd.DataFrame, row: pd.Series) -> float:
    """Wall seconds one more seed of the group of a rates ``row`` costs: the sum over its levels of the median
    ``seconds`` of its ok cells (NaN when the table has no timings)."""
    if "seconds" not in table.columns:
        return math.nan
    together = [c for c in str(row["varies_with"]).split(",") if c]
    columns = rates.group_columns(table, row["variable"], together)
    rows = table[(table["experiment"] == row["experiment"]) & (table["status"] == "ok")]
    for column in columns:
        value = row.get(column, math.nan)
        rows = rows[rows[column].isna()] if pd.isna(value) else rows[rows[column] == value]
    seconds = pd.to_numeric(rows["seconds"], errors="coerce")
    per_level = seconds.groupby(rows[row["variable"]]).median()
    return float(per_level.sum()) if len(per_level) else math.nan


def _advice(row: pd.Series, needed: float, extra: float) -> str:
    if math.isnan(needed):
        return "no seed spread measured (fewer than 2 seeds): run at least 2 seeds first"
    if math.isinf(needed):
        span = math.log(rates.CONSTANT_DRIFT) / (rates.TARGET_GAP / 2)
        return (f"seeds cannot decide it at these levels: widen the window to a {math.exp(span):.0f}x range of "
                f"{row['variable']} (now {row['level_min_used']:g} .. {row['level_max_used']:g})")
    if extra == 0:
        return f"enough seeds for a gap of {rates.TARGET_GAP:g}; the verdict is {row['verdict']}: {row['note']}"
    return f"run {int(needed)} seeds (now {int(row['n_seeds'])})"


def format_plan(table: pd.DataFrame, budget_s: float) -> str:
    """The plan as text for the terminal: one line per group, then the budget used."""
    if table.empty:
        return "Nothing to plan: every in-scope group of the pilot is decided."
    lines = []
    for _, r in table.iterrows():
        cost = "cost unknown" if np.isnan(r["cost_s"]) else f"{r['cost_s']:.0f} s"
        mark = "+" if r["in_budget"] else "-"
        lines.append(f"{mark} {r['experiment']} {r['quantity']} [{r['group']}] ({r['verdicts']}; {r['claims']}): "
                     f"{r['advice']}; {cost}")
    used = table.loc[table["in_budget"], "cost_s"].sum()
    lines.append(f"{int(table['in_budget'].sum())} of {len(table)} undecided group(s) fit the budget: {used:.0f} s "
                 f"of {budget_s:g} s (+: in the budget).")
    return "\n".join(lines)
