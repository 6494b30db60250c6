"""The run report: OUT/results.csv + OUT/run.json -> OUT/rates.csv, OUT/figures/*.png, OUT/report.md.

Everything is computed from those two files alone: the fits and their claims from run.json's "fits" (the
experiment kinds' declarations when absent), the user claims from its config's ``claim`` entries, the keys that
vary together with n or h from the config's ``zip`` lists, the bootstrap seed from ``root_seed``. Both files are
checked first (one ValueError naming the file and the problem; a results.csv whose SHA-256 differs from run.json's
``results_sha256`` belongs to another run and is refused); the outputs are written atomically
(chargen_theory.outputs) while the folder is locked.
"""
from __future__ import annotations

import hashlib
import io
import json
import math
import re
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from . import cells, claims as _claims, outputs, plots, rates as _rates

_MAX_MESSAGES = 15
_STAMP = re.compile(r"(^|_)(start|started|end|ended|finish|finished)(_|$)")


def write_report(out_dir, *, drop_first: int = 0, n_boot: int = 2000, floor_factor: float = 3.0,
                 max_ci_width_rel: float = 1.0) -> Path:
    """Fit the rates of ``out_dir``/results.csv, draw the figures and write ``out_dir``/report.md; returns its path.

    Writes rates.csv (one row per fit and claim; the options are those of ``chargen_theory.rates.fit_rates``),
    figures/rate_*.png, figures/bracket_*.png (bounds on W2 to the target), figures/slope_vs_dstar_*.png
    (intrinsic_dim runs; figures of these names left by an earlier report and not redrawn are removed afterwards) and
    report.md, which links figures/panel_*.png made elsewhere. ValueError if results.csv is missing or either file is
    malformed or they do not belong together.
    """
    out = Path(out_dir)
    table, run = read_run(out)
    with outputs.locked(out):
        return _write(out, table, run, drop_first, n_boot, floor_factor, max_ci_width_rel)


def _write(out: Path, table: pd.DataFrame, run: dict, drop_first, n_boot, floor_factor, max_ci_width_rel) -> Path:
    config = run.get("config") or {}
    extra_claims = [_claims.from_dict(spec) for spec in config.get("claim", [])]
    options = {"drop_first": drop_first, "n_boot": n_boot, "floor_factor": floor_factor,
               "max_ci_width_rel": max_ci_width_rel}

    fits = _rates.fit_rates(table, _declared_fits(run), extra_claims=extra_claims,
                            seed=int(run.get("root_seed") or 0), **options)
    figures = outputs.subfolder(out, "figures")
    earlier = {p.name for p in [*figures.glob("rate_*.png"), *figures.glob("bracket_*.png"),
                                *figures.glob("slope_vs_dstar_*.png")] if p.is_file() and not p.is_symlink()}
    bracket = fits["ci_method"] == "bracket"
    names = plots.rate_figures(table, fits[~bracket], figures) | plots.bracket_figures(table, fits[bracket], figures)
    keys = zip(fits["experiment"], fits["quantity"], fits["variable"], fits["target"].astype(str),
               plots.text_column(fits["group"]))
    fits["figure"] = [f"figures/{names[k]}" if k in names else "" for k in keys]
    slope_figures = plots.slope_vs_intrinsic_dim(fits, figures)
    outputs.write_atomic(out / "rates.csv", lambda f: fits.to_csv(f, index=False))

    claim_by_id = {c: _claims.get(c) for c in _claims.names()} | {c.id: c for c in extra_claims}
    panels = sorted(p.name for p in figures.glob("panel_*.png"))
    text = "\n".join([
        f"# Rate report: {out.name}", "",
        "Made by `chargen_theory.report.write_report` from results.csv and run.json alone; the fits are in "
        "[rates.csv](rates.csv).", "",
        *_run_section(run, table),
        *_verdict_section(fits),
        *_findings_section(fits, claim_by_id, options),
        *_bracket_section(fits, table),
        *_claims_section(fits, claim_by_id),
        *_figures_section(fits, slope_figures, panels),
    ])
    path = out / "report.md"
    outputs.write_text(path, text + "\n")
    for stale in earlier - set(names.values()) - set(slope_figures):  # drawn by an earlier report, not this one
        (figures / stale).unlink(missing_ok=True)
    return path


_TEXT_COLUMNS = ("experiment", "cell_id", "status", "message", "target", "target_params", "path", "estimator",
                 "estimator_params", "generator", "generator_params", "options", "resolved")


def read_run(out) -> tuple[pd.DataFrame, dict]:
    """The results table and the run.json record ({} when absent) of the run folder ``out``, checked: one
    ValueError naming the file and what is wrong (not a table, a missing or mistyped column, not a run record, a
    table that another run wrote)."""
    out = Path(out)
    if not (out / "results.csv").is_file():
        raise ValueError(f"out_dir: no results.csv in {out}")
    try:
        data = (out / "results.csv").read_bytes()
    except OSError as err:
        raise ValueError(f"results.csv: cannot read it in {out}: {err.strerror}") from None
    run = _read_sidecar(out / "run.json") if (out / "run.json").is_file() else {}
    if "results_sha256" in run and hashlib.sha256(data).hexdigest() != run["results_sha256"]:
        raise ValueError(f"results.csv: does not match run.json in {out} (run.json's results_sha256 differs): the "
                         f"two files come from different runs (e.g. a run killed between writing them); run the "
                         f"sweep again to rewrite both")
    try:
        table = pd.read_csv(io.BytesIO(data), dtype={"message": str}, keep_default_na=True, encoding="utf-8")
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as err:  # EmptyDataError is a ValueError
        raise ValueError(f"results.csv: not a results table ({' '.join(str(err).split())})") from None
    missing = [c for c in ("experiment", "seed", "status") if c not in table.columns]
    if missing:
        raise ValueError(f"results.csv: missing column(s) {', '.join(missing)}; see the results.csv contract")
    if "message" in table.columns:
        table["message"] = table["message"].fillna("")
    for column in table.columns:
        text = column in _TEXT_COLUMNS or column.endswith("_method")
        if not text and not (pd.api.types.is_numeric_dtype(table[column]) or table[column].isna().all()
                             or _numbers_or_schedules(column, table[column])):
            raise ValueError(f"results.csv: column {column!r} must hold numbers")
        if pd.api.types.is_numeric_dtype(table[column]) and not pd.api.types.is_bool_dtype(table[column]):
            infinite = np.flatnonzero(np.isinf(table[column].to_numpy(dtype=float)))
            if infinite.size:
                raise ValueError(f"results.csv: column {column!r} holds {table[column].iloc[infinite[0]]} in row "
                                 f"{infinite[0] + 1}; a results table holds finite numbers (a unit that failed has "
                                 f"an empty value and its status)")
    seeds = table["seed"]
    if not pd.api.types.is_numeric_dtype(seeds) or seeds.isna().any() or (seeds % 1 != 0).any():
        raise ValueError("results.csv: column 'seed' must hold integers")
    _check_fit_columns(table, run)
    return table, run


def _check_fit_columns(table: pd.DataFrame, run: dict) -> None:
    """ValueError naming the column when a fit of the run (run.json's "fits", else the kinds' own) lacks its
    variable column, or when an experiment with rows in the table has none of its fits' quantity columns (nor both
    bounds of a bracket): its rates would silently be empty."""
    from . import experiments

    fits = run.get("fits")
    if fits is None:
        fits = [{"experiment": kind, "quantity": fit.quantity, "variable": fit.variable}
                for kind in sorted(set(table["experiment"].dropna().astype(str))) if kind in experiments.names()
                for fit in experiments.get(kind).fits]
    present = set(table["experiment"].dropna().astype(str))
    measured: dict[str, list[str]] = {}
    for fit in fits:
        if fit["experiment"] not in present:
            continue
        quantity, variable = fit["quantity"], fit["variable"]
        if variable not in table.columns:
            raise ValueError(f"results.csv: column {variable!r} is missing; the {fit['experiment']} fit of {quantity} "
                             f"vs {variable} needs it (see the results.csv contract)")
        found = quantity in table.columns or {f"{quantity}_lower", f"{quantity}_upper"} <= set(table.columns)
        measured.setdefault(fit["experiment"], []).append("" if found else quantity)
    for experiment, quantities in measured.items():
        if all(quantities):
            raise ValueError(f"results.csv: column {quantities[0]!r} is missing; the {experiment} fit of "
                             f"{quantities[0]} needs it, and no fit of {experiment} has its column (see the "
                             f"results.csv contract)")


def _numbers_or_schedules(column: str, values: pd.Series) -> bool:
    """Whether a schedulable parameter column (T, K, m) holds numbers and schedules (``{"schedule": ...}`` JSON)."""
    from . import schedules

    if column not in cells.PARAMETERS or not cells.PARAMETERS[column].schedulable:
        return False
    for value in values.dropna():
        try:
            float(value)
            continue
        except (TypeError, ValueError):
            pass
        try:
            if not schedules.is_schedule(json.loads(value)):
                return False
        except (TypeError, ValueError):
            return False
    return True


def _read_sidecar(path: Path) -> dict:
    """run.json, checked where the report reads it (fits, config, root_seed, results_sha256)."""
    try:
        run = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as err:
        raise ValueError(f"run.json: not a JSON record of a run ({' '.join(str(err).split())[:200]})") from None
    if not isinstance(run, dict):
        raise ValueError(f"run.json: must be a JSON object, got {type(run).__name__}")
    _expect("run.json: root_seed", run.get("root_seed", 0), lambda v: isinstance(v, int) and not isinstance(v, bool)
            and v >= 0, "an integer >= 0")
    _expect("run.json: results_sha256", run.get("results_sha256", ""), lambda v: isinstance(v, str), "a string")
    config = run.get("config", {})
    _expect("run.json: config", config, lambda v: isinstance(v, dict), "an object")
    for key in ("experiment", "claim"):
        _expect(f"run.json: config.{key}", config.get(key, []),
                lambda v: isinstance(v, list) and all(isinstance(e, dict) for e in v), "a list of objects")
    for j, entry in enumerate(config.get("claim", [])):
        try:
            _claims.from_dict(entry)
        except (ValueError, TypeError) as err:
            raise ValueError(f"run.json: config.claim[{j}]: {' '.join(str(err).split())}") from None
    _expect("run.json: fits", run.get("fits", []), lambda v: isinstance(v, list), "a list")
    for j, fit in enumerate(run.get("fits", [])):
        _expect(f"run.json: fits[{j}]", fit, lambda v: isinstance(v, dict), "an object")
        for key in ("experiment", "quantity", "variable"):
            _expect(f"run.json: fits[{j}].{key}", fit.get(key), lambda v: isinstance(v, str), "a string")
        _expect(f"run.json: fits[{j}].claims", fit.get("claims", []),
                lambda v: isinstance(v, list) and all(isinstance(c, str) for c in v), "a list of claim ids")
    return run


def _expect(field: str, value, ok, what: str) -> None:
    if not ok(value):
        raise ValueError(f"{field}: must be {what}, got {_short(repr(value), 80)}")


def _declared_fits(run: dict) -> list[dict] | None:
    """run.json's fits, each with ``with``: the keys zipped with its variable (or with K for h) in its block."""
    if "fits" not in run:
        return None
    blocks = (run.get("config") or {}).get("experiment") or []
    declared = []
    for fit in run["fits"]:
        block = fit.get("block")
        zipped = blocks[block].get("zip", []) if isinstance(block, int) and 0 <= block < len(blocks) else []
        linked = {fit["variable"], *cells.COMPANIONS.get(fit["variable"], ())}
        together = sorted({key for keys in zipped if linked & set(keys) for key in keys} - {fit["variable"]})
        declared.append({**fit, "with": together})
    return declared


def _run_section(run: dict, table: pd.DataFrame) -> list[str]:
    lines = ["## Run", "", "| item | value |", "| --- | --- |"]
    for key, value in _flatten({k: v for k, v in run.items() if k not in ("config", "fits")}):
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            value = " ".join(value)
        lines.append(f"| {_cell(key)} | {_cell(_short(value, 160))} |")
    wall = _wall_time(run)
    if wall is not None:
        lines.append(f"| wall time (end - start) | {wall:.1f} s |")
    if "seconds" in table.columns:
        lines.append(f"| sum of cell times | {pd.to_numeric(table['seconds'], errors='coerce').sum():.1f} s |")
    if not run:
        lines.append("| run.json | missing |")
    if "config" in run:
        config = dict(run["config"])
        blocks = config.pop("experiment", [])
        lines += ["", "Configuration (as parsed; one experiment block a line):", "", "```json",
                  json.dumps(config, default=str), *(json.dumps(block, default=str) for block in blocks), "```"]
    lines.append("")
    lines += ["### Cells by status", ""]
    if table.empty:
        return lines + ["The results table has no rows.", ""]
    counts = table.pivot_table(index="experiment", columns="status", values="seed", aggfunc="count", fill_value=0)
    statuses = [s for s in ("ok", "diverged", "error") if s in counts.columns] + \
               sorted(set(counts.columns) - {"ok", "diverged", "error"})
    lines += ["| experiment | " + " | ".join(statuses) + " |", "| --- |" + " --- |" * len(statuses)]
    for experiment, row in counts.iterrows():
        lines.append(f"| {experiment} | " + " | ".join(str(int(row[s])) for s in statuses) + " |")
    lines.append("| **all** | " + " | ".join(str(int(counts[s].sum())) for s in statuses) + " |")
    failed = table[table["status"] != "ok"]
    if not failed.empty and "message" in failed.columns:
        first_line = failed["message"].str.split("\n").str[0].map(lambda m: _short(m, 120))
        summary = failed.assign(first=first_line).groupby(["experiment", "status", "first"]).size()
        summary = summary.sort_values(ascending=False)
        lines += ["", "Messages of the rows that did not finish (first line, most frequent first):", "",
                  "| experiment | status | rows | message |", "| --- | --- | --- | --- |"]
        for (experiment, status, message), count in summary.head(_MAX_MESSAGES).items():
            lines.append(f"| {experiment} | {status} | {count} | {_cell(message) or '(empty)'} |")
        if len(summary) > _MAX_MESSAGES:
            lines.append(f"| ... | | | {len(summary) - _MAX_MESSAGES} more distinct messages |")
    return lines + [""]


def _verdict_section(fits: pd.DataFrame) -> list[str]:
    lines = ["## Verdicts", ""]
    if fits.empty:
        return lines + ["No rate could be fitted (no declared quantity was measured).", ""]
    judged, outside = _split(fits)
    lines += ["Slopes are log-log slopes of the RMS over seeds; the interval is a 95% seed-bootstrap CI "
              "(`ols`: one seed, OLS interval). Points: levels used / levels measured. The claimed slope is the "
              "exponent; in brackets, the slope its log factor gives over the window (what the verdict uses).", ""]
    header = ("| experiment | target | group | quantity | claim | claimed slope | measured slope [95% CI] | R^2 | "
              "points | diverged | {} | figure |")
    lines += ["### In scope", ""]
    if judged.empty:
        lines.append("No fitted group meets the hypotheses of a claim it was fitted against.")
    else:
        lines += [header.format("verdict"), "|" + " --- |" * 12]
        lines += [_verdict_row(r, f"**{r['verdict']}**") for _, r in judged.iterrows()]
    lines += ["", "### Out of scope (fitted, not judged)", ""]
    if outside.empty:
        lines.append("None.")
    else:
        lines += ["These groups break a hypothesis of the claim; their slopes are recorded, never counted as "
                  "consistent or contradicting.", "", header.format("unmet hypotheses"), "|" + " --- |" * 12]
        lines += [_verdict_row(r, _cell(r["note"])) for _, r in outside.iterrows()]
    return lines + [""]


def _verdict_row(r, last: str) -> str:
    ci = f"{_num(r['slope'])} [{_num(r['ci_low'])}, {_num(r['ci_high'])}]"
    if r["ci_method"] == "bracket":
        ci = f"lower {_bound_slope(r, 'lower')}; upper {_bound_slope(r, 'upper')}"
    elif r["ci_method"] == "ols":
        ci += " ols"
    figure = f"[png]({r['figure']})" if r["figure"] else ""
    return (f"| {r['experiment']} | {_cell(_text(r.get('target')))} | {_cell(r['group'])} | {r['quantity']} vs "
            f"{r['variable']} | {r['claim_id']} | {_claimed(r)} | {ci} | {_num(r['r2'])} | "
            f"{int(r['n_levels_used'])}/{int(r['n_levels_total'])} | {int(r['n_diverged'])} | {last} | {figure} |")


def _bound_slope(r, side: str) -> str:
    """A bracket row's fitted slope of one bound with its 95% CI, e.g. "-0.210 [-0.260, -0.170]"."""
    return f"{_num(r[f'{side}_slope'])} [{_num(r[f'{side}_ci_low'])}, {_num(r[f'{side}_ci_high'])}]"


def _split(fits: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(in-scope rows, out-of-scope rows)."""
    outside = fits["verdict"] == "out of scope"
    return fits[~outside], fits[outside]


def _claimed(r) -> str:
    text = _num(r["claimed_slope"])
    with_log = r["claimed_slope_with_log"]
    if np.isfinite(with_log) and abs(with_log - r["claimed_slope"]) > 5e-4:
        text += f" ({_num(with_log)})"
    return text


def _compared(r) -> float:
    """The claimed slope the verdict used: with the claim's log factor over the window, where there is one."""
    with_log = r["claimed_slope_with_log"]
    return with_log if np.isfinite(with_log) else r["claimed_slope"]


def _findings_section(fits: pd.DataFrame, claim_by_id: dict, options: dict) -> list[str]:
    lines = ["## Findings", ""]
    if fits.empty:
        return lines + ["Nothing to judge.", ""]
    judged, outside = _split(fits)
    counts = fits["verdict"].value_counts()
    in_scope = [v for v in dict.fromkeys(_rates.VERDICTS + _rates.BOUND_VERDICTS) if v != "out of scope"]
    lines += [f"{len(fits)} fit(s) against a claim. In scope ({len(judged)}): "
              + ", ".join(f"{int(counts.get(v, 0))} {v}" for v in in_scope)
              + f". Out of scope, not judged: {len(outside)}.", ""]
    refuted = judged[judged["verdict"].isin(_rates.CONTRADICTIONS)]
    lines += ["### Where the data contradict a claim", ""]
    if refuted.empty:
        lines.append("None: no in-scope confidence interval lies wholly on the contradicting side of a claimed slope "
                     "(slower than any claim, or faster than an exact rate).")
    for _, r in refuted.iterrows():
        lines.append("- " + _refutation(r, claim_by_id[r["claim_id"]]))
    not_sharp = judged[judged["verdict"] == "faster than bound"]
    lines += ["", "### Faster than an upper bound (no contradiction)", ""]
    if not_sharp.empty:
        lines.append("None.")
    for _, r in not_sharp.iterrows():
        lines.append(f"- {_where(r)}: slope {_num(r['slope'])} (95% CI [{_num(r['ci_low'])}, {_num(r['ci_high'])}]) "
                     f"decays faster than the bound {_claimed(r)} of **{r['claim_id']}**: the bound holds here, its "
                     "exponent is not sharp for this setting.")
    consistent = judged[judged["verdict"] == "consistent"]
    lines += ["", "### Consistent with the claim", ""]
    if consistent.empty:
        lines.append("None.")
    for _, r in consistent.iterrows():
        claim = claim_by_id[r["claim_id"]]
        if r["ci_method"] == "bracket":
            lines.append(f"- {_where(r)}: the upper bound's slope {_bound_slope(r, 'upper')} reaches the claimed "
                         f"{_claimed(r)} (**{r['claim_id']}**); the lower bound's is {_bound_slope(r, 'lower')}.")
            continue
        inside = r["ci_low"] <= _compared(r) <= r["ci_high"]
        how = "contains" if inside else f"comes within the claim's slope tolerance {claim.slope_tolerance:g} of"
        lines.append(f"- {_where(r)}: measured slope {_num(r['slope'])} (95% CI [{_num(r['ci_low'])}, "
                     f"{_num(r['ci_high'])}]) {how} the claimed {_claimed(r)} (**{r['claim_id']}**).")
    inconclusive = judged[judged["verdict"] == "inconclusive"]
    lines += ["", "### Inconclusive", ""]
    if inconclusive.empty:
        lines.append("None.")
    for _, r in inconclusive.iterrows():
        slope = (f"bound slopes: lower {_bound_slope(r, 'lower')}, upper {_bound_slope(r, 'upper')}"
                 if r["ci_method"] == "bracket" else f"point slope {_num(r['slope'])}")
        lines.append(f"- {_where(r)}, **{r['claim_id']}**: {r['note']}; {slope}.")
    lines += ["", "### Out of scope (not judged)", ""]
    if outside.empty:
        lines.append("None.")
    for (claim_id, note), rows in outside.groupby(["claim_id", "note"], sort=True):
        where = ", ".join(sorted({f"{e} / {_text(t)}" for e, t in zip(rows["experiment"], rows["target"])}))
        lines.append(f"- **{claim_id}** ({claim_by_id[claim_id].standing}), {len(rows)} group(s) in {where}: {note}.")
    diverged = fits.drop_duplicates(subset=["experiment", "quantity", "target", "group"])
    diverged = diverged[diverged["n_diverged"] > 0]
    if not diverged.empty:
        lines += ["", "### Diverged rows inside fitted groups", "",
                  "Diverged rows are left out of the fits; a fit that lost rows at its finest levels can look faster "
                  "than it is."]
        for _, r in diverged.iterrows():
            lines.append(f"- {_where(r)}: {int(r['n_diverged'])} diverged row(s).")
    lines += ["", "### How the verdicts are made", "",
              "Each claim carries its hypotheses (target classes, time regime, estimator classes, the quantity it "
              "bounds); a group that breaks one is fitted but judged *out of scope*, with the unmet hypotheses "
              "named. Only rows with status ok are used. Seeds are aggregated first (RMS per level, i.e. "
              "(E err^2)^(1/2)); log RMS is regressed on log n or log h by least squares. Levels whose RMS is "
              f"within {options['floor_factor']:g}x the RMS of the quantity's estimation floor are dropped "
              f"(n_dropped_floor in rates.csv), as are the first {options['drop_first']} level(s) from the coarse "
              f"end. The 95% CI is a percentile bootstrap over seeds ({options['n_boot']} replicates, the same "
              "seed draw at every level, expanded percentiles for few seeds; with fewer than about 5 seeds it is "
              "still too narrow). The claimed slope compared is the exponent plus the slope the claim's log factor "
              "has over the window. Verdict: *consistent* when it is inside the CI; *slower* when the CI lies "
              "wholly on the slower side (a contradiction over the measured range); on the faster side, *faster "
              "than bound* for an upper-bound claim (the bound holds, not sharp here) and *faster* for an exact "
              "rate (a contradiction); *inconclusive* with fewer than 3 usable levels, fewer than 2 seeds, or a CI "
              f"wider than {options['max_ci_width_rel']:g} x |claimed slope|. A slope measured over a finite range "
              "can differ from the asymptotic one (pre-asymptotic regime, lower-order terms). W2 to the target is "
              "judged from a certified lower and upper bound (quantity w2_target; both fitted, the lower one "
              "without the levels within the factor above of its floor): *refuted* (a contradiction) when the "
              "lower bound's slope CI lies wholly on the slower side of the claim, *consistent* when the upper "
              "bound's slope CI reaches the claim and is no wider than the limit above, else *inconclusive*.", ""]
    return lines


def _refutation(r, claim) -> str:
    if r["ci_method"] == "bracket":
        window = f"{r['variable']} in [{_text(r['level_min_used'])}, {_text(r['level_max_used'])}]"
        return (f"{_where(r)}: the certified lower bound decays **more slowly** than **{r['claim_id']}** claims "
                f"({claim.kind}, {claim.standing}): lower-bound slope {_bound_slope(r, 'lower')}, claimed "
                f"{_claimed(r)} = {claim.formula}, over {window}. The true W2 to the target is at least this bound, "
                "so it decays more slowly too: this refutes the claim over the measured range.")
    faster = r["verdict"] == "faster"
    window = f"{r['variable']} in [{_text(r['level_min_used'])}, {_text(r['level_max_used'])}]"
    text = (f"{_where(r)}: the error decays **{'faster' if faster else 'more slowly'}** than **{r['claim_id']}** "
            f"claims ({claim.kind}, {claim.standing}): slope {_num(r['slope'])}, 95% CI [{_num(r['ci_low'])}, "
            f"{_num(r['ci_high'])}], claimed {_claimed(r)} = {claim.formula}, over {window}. ")
    if faster:
        text += "This contradicts the claimed exact rate over the measured range."
    else:
        text += "This contradicts the claim over the measured range (it may still hold further out)."
    finest = r["slope_finest"]
    if np.isfinite(finest) and abs(finest - _compared(r)) < abs(r["slope"] - _compared(r)):
        text += (f" The slope between the two finest levels, {_num(finest)}, is closer to the claim: the coarse end "
                 "of the window may still be pre-asymptotic (drop_first, or finer levels).")
    return text


def _claims_section(fits: pd.DataFrame, claim_by_id: dict) -> list[str]:
    used = sorted(set(fits["claim_id"])) if not fits.empty else []
    if not used:
        return []
    lines = ["## Claims tested", "",
             "Standing: " + "; ".join(f"*{k}*: {v}" for k, v in _claims.STANDINGS.items()) + ".", "",
             "| claim | claimed order | kind | standing | hypotheses | conditions | source | what was read |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for claim_id in used:
        c = claim_by_id[claim_id]
        source = c.citation + (f" [{c.source_ref}]" if c.source_ref else "")
        lines.append(f"| {c.id} | {c.law} ({c.quantity}) | {c.kind} | {c.standing} | "
                     f"{_cell(c.hypotheses)} | {_cell(c.conditions)} | {_cell(source)} | {_cell(c.verified)} |")
    return lines + [""]


def _bracket_section(fits: pd.DataFrame, table: pd.DataFrame) -> list[str]:
    """W2 to the target: per bracket group its bounds at the largest level, the verdicts and the figure."""
    rows = fits[fits["ci_method"] == "bracket"] if not fits.empty else fits
    if rows.empty:
        return []
    lines = ["## W2 to the target: lower and upper bounds", "",
             "The one-step generator's W2 to the target itself (not to the law of X_T) lies between a certified "
             "lower bound (Gelbrich with the target's exact moments, or the held-out max-sliced bound against its "
             "exact 1-D quantiles; estimation floor drawn where it is) and a Monte Carlo coupling upper bound "
             "(g(0, T, z) against the exact characteristic X_1(z) on common prior draws). total_w2 is the EMD W2 "
             "to the law of X_T, with its floor; early_stopping_upper bounds W2(law of X_T, target). Columns: RMS "
             "over seeds at the largest level.", "",
             "| experiment | target | group | lower | upper | early stopping | total_w2 (floor) | claim: verdict | "
             "figure |", "|" + " --- |" * 9]
    for (experiment, target, group), part in rows.groupby(["experiment", "target", "group"], sort=True,
                                                          dropna=False):
        r = part.iloc[0]
        at = _largest_level(table, r)
        verdicts = "; ".join(f"{c}: **{v}**" for c, v in zip(part["claim_id"], part["verdict"]))
        figure = f"[png]({r['figure']})" if r["figure"] else ""
        lines.append(f"| {experiment} | {_cell(_text(target))} | {_cell(r['group'])} | "
                     f"{_num(at('w2_target_lower'))} | {_num(at('w2_target_upper'))} | "
                     f"{_num(at('early_stopping_upper'))} | {_num(at('total_w2'))} ({_num(at('total_w2_floor'))}) | "
                     f"{verdicts} | {figure} |")
    lines.append("")
    for figure in dict.fromkeys(f for f in rows["figure"] if f):
        lines += [f"![{Path(figure).stem}]({figure})", ""]
    return lines


def _largest_level(table: pd.DataFrame, r):
    """column -> RMS over seeds of the ok rows of r's group at its largest level used (NaN if absent)."""
    rows = table[(table["experiment"] == r["experiment"]) & (table["status"] == "ok")]
    targets, groups = plots._row_keys(rows, r["variable"], [c for c in str(r["varies_with"]).split(",") if c])
    rows = rows[(targets == _text(r["target"])) & (groups == r["group"])
                & (pd.to_numeric(rows[r["variable"]], errors="coerce") == r["level_max_used"])]

    def at(column: str) -> float:
        if column not in rows.columns or rows.empty:
            return math.nan
        return float(_rates.rms_over_seeds(pd.to_numeric(rows[column], errors="coerce").to_numpy(float)))

    return at


def _figures_section(fits: pd.DataFrame, slope_figures: list[str], panels: list[str]) -> list[str]:
    lines = ["## Figures", ""]
    rate_figures = (list(dict.fromkeys(f for f in fits.loc[fits["ci_method"] != "bracket", "figure"] if f))
                    if not fits.empty else [])
    for figure in rate_figures + [f"figures/{name}" for name in slope_figures]:
        lines += [f"![{Path(figure).stem}]({figure})", ""]
    if not rate_figures and not slope_figures:
        lines += ["No figures.", ""]
    if panels:
        lines += ["### Sample panels", ""] + [f"- [{name}](figures/{name})" for name in panels] + [""]
    return lines


def _where(r) -> str:
    group = f" ({r['group']})" if r["group"] else ""
    return f"{r['experiment']} / {_text(r.get('target'))}{group}, {r['quantity']} vs {r['variable']}"


def _flatten(mapping: dict, prefix: str = ""):
    for key, value in mapping.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _wall_time(run: dict) -> float | None:
    """end - start in seconds from the first keys of run.json naming a start and an end time (ISO text or epoch)."""
    stamps = {}
    for key, value in _flatten(run):
        match = _STAMP.search(key.rsplit(".", 1)[-1].lower())
        if match:
            kind = "start" if match.group(2).startswith("start") else "end"
            stamps.setdefault(kind, _seconds(value))
    if stamps.get("start") is None or stamps.get("end") is None:
        return None
    return stamps["end"] - stamps["start"]


def _seconds(value) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    try:
        return datetime.fromisoformat(str(value)).timestamp()
    except ValueError:
        return None


def _num(x) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{x:.3f}"


def _text(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return _rates.format_value(value)


def _short(value, width: int) -> str:
    text = str(value).replace("\n", " ")
    return text if len(text) <= width else text[:width - 3] + "..."


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")
