"""The run report: OUT/results.csv + OUT/run.json -> OUT/rates.csv, OUT/figures/*.png, OUT/report.md.

Everything is computed from those two files alone, read and judged by ``chargen_theory.verdicts.run_folder`` (the
fits and their claims from run.json's "fits", the kinds' declarations when absent; the user claims from its
config's ``claim`` entries; the keys that vary together with n or h from the config's ``zip`` lists); the outputs
are written atomically (chargen_theory.outputs) while the folder is locked.
"""
from __future__ import annotations

import json
import math
import re
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from ..study import experiments, outputs
from ..study import claims as _claims
from ..verdicts import rates as _rates, run_folder, summary as _summary
from . import labels as _labels, plots
from .. import training

_MAX_MESSAGES = 15
_STAMP = re.compile(r"(^|_)(start|started|end|ended|finish|finished)(_|$)")


def write_report(out_dir, *, drop_first: int = 0, floor_factor: float = 3.0, max_ci_width_rel: float = 1.0) -> Path:
    """Fit the rates of ``out_dir``/results.csv, draw the figures and write ``out_dir``/report.md; returns its path.

    Writes rates.csv (one row per fit and claim, with the group's short ``label``; the options are those of
    ``chargen_theory.rates.fit_rates``), the figures of ``chargen_theory.plots`` (rate_*, bracket_*,
    slope_vs_dstar_*; file names carry the group labels and run.json's config_name) and report.md, which opens
    with the per-claim summary (``chargen_theory.summary``) and links figures/panel_*.png made elsewhere. The
    figures it wrote are listed in figures/report_figures.json; a later report removes only figures listed there
    that it does not redraw, never other files. ValueError if results.csv is missing or either file is malformed or
    they do not belong together.
    """
    out = Path(out_dir)
    options = {"drop_first": drop_first, "floor_factor": floor_factor, "max_ci_width_rel": max_ci_width_rel}
    judged = run_folder.judge(out, **options)
    with outputs.locked(out):
        return _write(out, judged, options)


class Drawn(NamedTuple):
    """What ``write_all`` wrote: the sample panels, the generator comparison (generators.md and its figures), the
    report's path, and why the panels were not drawn ("" when they were, or when the run has none to draw)."""

    panels: list[Path]
    comparison: list[Path]
    report: Path
    panels_skipped: str


def write_all(out, cfg=None) -> Drawn:
    """Draw everything a run draws in its folder ``out``, under the folder's lock: the sample panels
    (``panels.sweep_panels``), the generators side by side (``comparison.write_comparison``) and the report
    (``write_report``: rates.csv, the figures, report.md). ``chargen-theory run`` and ``chargen-theory report DIR``
    both call it.

    The panels refit cells of the sweep, so they need its config: ``cfg`` (a Config), else the one run.json records
    (its ``config`` and ``config_name``), validated again here. When that cannot be done (run.json records no
    config, or the config names an estimator, target, generator or kind that is not registered in this process: a
    plugin's not loaded here, which ``report DIR --plugin MODULE`` loads; or a cell the machine cannot hold), the
    panels are not drawn, the earlier ones are left as they are, ``panels_skipped`` says why, and everything else is
    drawn. A plugin that was edited since the run would refit another generator: rerun the sweep instead.
    ValueError as ``write_report``.
    """
    from . import comparison, panels

    out = Path(out)
    _, run = run_folder.read_run(out)  # checked before any refit
    skipped = ""
    if cfg is None:
        cfg, skipped = _recorded_config(out, run)
    with outputs.locked(out):
        drawn = panels.sweep_panels(cfg, out) if cfg is not None else []
        compared = comparison.write_comparison(out)
        return Drawn(drawn, compared, write_report(out), skipped)


def _recorded_config(out: Path, run: dict):
    """(the Config that run.json records, "") or (None, why it cannot be rebuilt)."""
    from ..study import config

    if not run.get("config"):
        return None, "run.json records no config"
    try:
        return config.validate(run["config"], source=f"{out / 'run.json'}",
                               name=str(run.get("config_name") or out.resolve().name)), ""
    except ValueError as err:
        return None, (f"the config recorded in run.json cannot be rebuilt here ({config.one_line(err)}); give the "
                      f"run's plugins (chargen-theory report DIR --plugin MODULE) to redraw them")


MANIFEST = "report_figures.json"  # under figures/: the figures the last report wrote (the only ones it may delete)


def _write(out: Path, judged: run_folder.Judged, options: dict) -> Path:
    table, run, declared, extra_claims, fits = (judged.table, judged.run, judged.declared, judged.extra_claims,
                                                judged.fits.copy())
    legend = _labels.group_labels(fits)
    keys = _labels.group_keys(fits)
    fits.insert(fits.columns.get_loc("group") + 1, "label", keys.map(dict(zip(legend["key"], legend["label"]))))
    compact = keys.map(dict(zip(legend["key"], legend["compact"])))
    claim_by_id = {c: _claims.get(c) for c in _claims.names()} | {c.id: c for c in extra_claims}
    laws = {c: claim.law for c, claim in claim_by_id.items()}
    config_name = str(run.get("config_name") or out.resolve().name)

    figures = outputs.subfolder(out, "figures")
    earlier = _manifest(figures)
    drawn = fits.assign(compact=compact)
    bracket = fits["ci_method"] == "bracket"
    names = (plots.rate_figures(table, drawn[~bracket], figures, config=config_name, laws=laws)
             | plots.bracket_figures(table, drawn[bracket], figures, config=config_name, laws=laws))
    fits["figure"] = [f"figures/{names[plots._key(r)]}" if plots._key(r) in names else ""
                      for _, r in fits.iterrows()]
    slope_figures = [name for kind in map(experiments.get, experiments.names()) if kind.dimension_figure
                     for name in plots.slope_vs_intrinsic_dim(fits, figures, kind.name, config=config_name, laws=laws)]
    outputs.write_atomic(out / "rates.csv", lambda f: fits.to_csv(f, index=False))

    fits = fits.assign(compact=compact, _number=fits["label"].str[1:].astype(int))
    fits = fits.sort_values(["experiment", "quantity", "_number", "claim_id"], kind="stable").drop(columns="_number")
    unmatched = _unmatched_claims(fits, table, declared, claim_by_id)
    panels = sorted(p.name for p in figures.glob("panel_*.png"))
    text = "\n".join([
        f"# Rate report: {config_name}", "",
        "Made by `chargen_theory.report.write_report` from results.csv and run.json alone; the fits are in "
        "[rates.csv](rates.csv), one row per fitted group and claim. Groups are named by short labels (G1, G2, "
        "...); the [group legend](#groups) gives their parameters.", "",
        *_summary_section(fits, claim_by_id, unmatched),
        *_groups_section(fits, legend),
        *_attention_section(fits, table),
        *_verdict_section(fits),
        *_findings_section(fits, claim_by_id, options, unmatched),
        *_bracket_section(fits, table),
        *_claims_section(fits, claim_by_id, unmatched),
        *_figures_section(fits, slope_figures, panels),
        *_run_section(run, table),
    ])
    path = out / "report.md"
    outputs.write_text(path, text + "\n")
    current = set(names.values()) | set(slope_figures)
    for stale in earlier - current:  # written by an earlier report (listed in its manifest), not redrawn now
        victim = figures / stale
        if victim.is_file() and not victim.is_symlink():
            victim.unlink()
    outputs.write_text(figures / MANIFEST, json.dumps(sorted(current), indent=0) + "\n")
    return path


def _manifest(figures: Path) -> set[str]:
    """The figure names listed in figures/MANIFEST by the previous report (plain names only; {} when absent or
    unreadable)."""
    try:
        names = json.loads((figures / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    if not isinstance(names, list):
        return set()
    return {n for n in names if isinstance(n, str) and n == Path(n).name and n.endswith(".png")}



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
    lines.append(f"| network rows | trained in {training.DTYPE}: the same seed reproduces them to a relative "
                 f"{training.REPRODUCIBLE_RTOL:g} on any x86 CPU and thread count (training.REPRODUCIBLE_RTOL) |")
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


def _summary_section(fits: pd.DataFrame, claim_by_id: dict, unmatched: list[dict]) -> list[str]:
    """The per-claim table that opens the report (status rule: chargen_theory.summary)."""
    lines = ["## Per-claim summary", "",
             "Status per claim over its groups: *refuted* if any in-scope group contradicts it; else *supported* if "
             "any group supports it (k of m in-scope groups); else *pre-asymptotic* if the local slopes move toward "
             "it; else *undecidable* (in scope, but underpowered or inconclusive); else *not judged here* (every "
             "group out of scope, or none it applies to). Evidence: the deciding group's slope with its 95% CI "
             "against the claimed slope (in brackets: with the claim's log factor over the window, what the "
             "verdict compares), its seeds and, where rates.csv has it, the smallest slope gap its design "
             "detects.", "",
             "| claim | standing | source | where judged | status | strongest evidence |",
             "| --- | --- | --- | --- | --- | --- |"]
    ids = list(dict.fromkeys([*fits["claim_id"], *(u["claim_id"] for u in unmatched)])) if not fits.empty \
        else list(dict.fromkeys(u["claim_id"] for u in unmatched))
    if not ids:
        return lines[:2] + ["No claim was fitted.", ""]
    rows = []
    for claim_id in ids:
        claim, mine = claim_by_id[claim_id], fits[fits["claim_id"] == claim_id] if not fits.empty else fits
        state = _summary.status(mine["verdict"]) if len(mine) else "not judged here"
        judged = mine[mine["verdict"] != "out of scope"] if len(mine) else mine
        if state == "supported":
            k = judged.loc[judged["verdict"].isin(_summary.SUPPORTING), "label"].nunique()
            state_text = f"**supported** ({k} of {judged['label'].nunique()} groups)"
        else:
            state_text = f"**{state}**"
        decisive = _summary.deciding_row(mine, state) if len(mine) else None
        evidence = _evidence(decisive) if decisive is not None else ""
        rows.append((_summary.STATUSES.index(state), claim_id,
                     f"| {claim_id} ({_cell(claim.law)}) | {_cell(_summary.standing_text(claim))} | "
                     f"{_cell(_summary.short_citation(claim.citation))} | "
                     f"{_cell(_where_judged(mine, claim_id, unmatched))} | {state_text} | {_cell(evidence)} |"))
    lines += [row for _, _, row in sorted(rows)]
    return lines + [""]


def _where_judged(rows: pd.DataFrame, claim_id: str, unmatched: list[dict]) -> str:
    parts = []
    judged = rows[rows["verdict"] != "out of scope"] if len(rows) else rows
    for experiment, part in judged.groupby("experiment", sort=True) if len(judged) else ():
        parts.append(f"{experiment} {_label_list(part['label'])}")
    total = rows.drop_duplicates(["experiment", "label"]) if len(rows) else rows
    text = "; ".join(parts)
    if len(rows):
        n_in = len(judged.drop_duplicates(["experiment", "label"]))
        notes = list(dict.fromkeys(str(n) for n in rows["note"].dropna()))
        text = (f"{text} ({n_in} of {len(total)} fitted groups in scope)" if parts
                else f"nowhere in scope ({len(total)} fitted group(s), all out of scope: "
                     f"{_short(notes[0] if notes else 'see Findings', 120)}"
                     f"{f'; {len(notes) - 1} other reason(s)' if len(notes) > 1 else ''})")
    missing = [u for u in unmatched if u["claim_id"] == claim_id]
    if missing:
        text += ("; " if text else "") + "; ".join(f"no group of {u['experiment']} / {u['quantity']}: {u['why']}"
                                                   for u in missing)
    return text


def _label_list(labels) -> str:
    """Labels "G1", "G2", "G3", "G7" as "G1-G3, G7"."""
    numbers = sorted({int(label[1:]) for label in labels if re.fullmatch(r"G\d+", str(label))})
    runs, start = [], None
    for i, n in enumerate(numbers):
        start = n if start is None else start
        if i + 1 == len(numbers) or numbers[i + 1] != n + 1:
            runs.append(f"G{start}" if start == n else f"G{start}-G{n}")
            start = None
    return ", ".join(runs)


def _evidence(r) -> str:
    """The deciding row as one phrase: label, slope [CI] vs claimed, seeds, detectable gap, verdict."""
    if r["ci_method"] == "bracket":
        slope = f"lower-bound slope {_bound_slope(r, 'lower')}, upper {_bound_slope(r, 'upper')}"
    else:
        slope = f"slope {_num(r['slope'])} [{_num(r['ci_low'])}, {_num(r['ci_high'])}]"
    text = f"{r['label']} ({r['experiment']}, {r['compact']}): {slope} vs claimed {_claimed(r)}"
    text += f", {int(r['n_seeds'])} seeds" if np.isfinite(r["n_seeds"]) else ""
    gap = _float(r.get("detectable_gap"))
    text += f", detectable gap {gap:.3f}" if np.isfinite(gap) else ""
    return text + f": {r['verdict']}"


def _float(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _groups_section(fits: pd.DataFrame, legend: pd.DataFrame) -> list[str]:
    if legend.empty:
        return []
    lines = ["## Groups", "",
             "Each label names one fitted group: one setting of every parameter but the fitted variable (and what "
             "moves with it). *Short* lists only what tells the group apart within its experiment; *parameters* "
             "lists them all (as in rates.csv's columns).", "",
             "| label | experiment | fitted against | short | parameters |", "| --- | --- | --- | --- | --- |"]
    for _, g in legend.iterrows():
        experiment, variable, _, _ = g["key"]
        moving = fits.loc[fits["label"] == g["label"], "varies_with"].astype(str).iloc[0]
        against = variable + (f" (with {moving.replace(',', ', ')})" if moving and moving != "nan" else "")
        lines.append(f"| {g['label']} | {experiment} | {against} | {_cell(g['compact'])} | "
                     f"{_cell(g['parameters'])} |")
    return lines + [""]


def _attention_section(fits: pd.DataFrame, table: pd.DataFrame) -> list[str]:
    """Capped groups (a size cap of an estimator bound at a used level) and underpowered groups."""
    lines = ["## Capped and underpowered groups", ""]
    capped = _capped_groups(fits, table)
    lines += ["Capped (a size cap of the estimator bound; a fit over capped levels is not judged):", ""]
    lines += [f"- {c}" for c in capped] or ["- None."]
    weak = fits[fits["verdict"] == "underpowered"] if not fits.empty else fits
    lines += ["", "Underpowered (the design cannot detect the observed gap; seeds_needed: seeds that would bring "
              "the detectable gap to 0.1 or decide the group):", ""]
    for _, r in weak.iterrows():
        need = _float(r.get("seeds_needed"))
        lines.append(f"- {r['label']} ({r['experiment']}, {r['compact']}), {r['quantity']} vs {r['variable']}, "
                     f"**{r['claim_id']}**: {int(r['n_seeds'])} seeds, detectable gap "
                     f"{_num(_float(r.get('detectable_gap')))}, seeds needed "
                     f"{'n/a' if not np.isfinite(need) else format(math.ceil(need), 'd')}"
                     + (f"; {r['note']}" if isinstance(r.get("note"), str) and r["note"] else ""))
    if weak.empty:
        lines.append("- None.")
    return lines + [""]


def _capped_groups(fits: pd.DataFrame, table: pd.DataFrame) -> list[str]:
    """One line per group with capped rows: its label, the levels and the caps that bound."""
    if "capped" not in table.columns or fits.empty:
        return []
    capped = table["capped"].astype(object).fillna("").astype(str).str.strip() != ""
    if not capped.any():
        return []
    out = []
    for (experiment, variable, together), part in fits.groupby(["experiment", "variable", "varies_with"],
                                                               dropna=False, sort=True):
        rows = table[(table["experiment"] == experiment) & capped]
        if rows.empty:
            continue
        moving = [c for c in str(together).split(",") if c and c != "nan"]
        targets, groups = plots._row_keys(rows, variable, moving)
        lookup = {(str(t), "" if pd.isna(g) else str(g)): (lab, comp) for t, g, lab, comp in
                  zip(part["target"], part["group"], part["label"], part["compact"])}
        found: dict = {}
        for (t, g), level, cap in zip(zip(targets, groups), rows[variable], rows["capped"].astype(str)):
            if (t, g) in lookup:
                entry = found.setdefault(lookup[(t, g)], (set(), set()))
                entry[0].add(_text(level))
                entry[1].add(cap)
        for (label, comp), (levels, caps) in sorted(found.items()):
            out.append(f"{label} ({experiment}, {comp}): at {variable} = "
                       f"{', '.join(sorted(levels, key=lambda v: _float(v)))}: {_cell('; '.join(sorted(caps)))}")
    return out


def _verdict_section(fits: pd.DataFrame) -> list[str]:
    lines = ["## Verdicts", ""]
    if fits.empty:
        return lines + ["No rate could be fitted (no declared quantity was measured).", ""]
    judged, outside = _split(fits)
    lines += ["Slopes are log-log slopes of the RMS over seeds; the interval is the 95% CI the verdict uses "
              "(rates.csv's ci_method; `ols`: one seed, OLS interval). Levels: used / measured. The claimed slope "
              "is the exponent; in brackets, the slope its log factor gives over the window (what the verdict "
              "uses). Local slopes: between consecutive used levels, coarse to fine. Gap: the smallest slope gap "
              "the design detects.", ""]
    header = ("| group | experiment | quantity | claim | claimed slope | measured slope [95% CI] | local slopes | "
              "seeds | gap | levels | {} | figure |")
    lines += ["### In scope", ""]
    if judged.empty:
        lines.append("No fitted group meets the hypotheses of a claim it was fitted against.")
    else:
        lines += [header.format("verdict"), "|" + " --- |" * 12]
        lines += [_verdict_row(r, f"**{r['verdict']}**" + (f" ({_cell(r['note'])})" if r["verdict"]
                                                            in ("inconclusive", "underpowered", "pre-asymptotic")
                                                            and isinstance(r["note"], str) and r["note"] else ""))
                  for _, r in judged.iterrows()]
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
    local = r.get("local_slopes")
    local = local.replace(";", ", ") if isinstance(local, str) else ""
    seeds = int(r["n_seeds"]) if np.isfinite(r["n_seeds"]) else "n/a"
    return (f"| {r['label']} | {r['experiment']} | {r['quantity']} vs {r['variable']} | {r['claim_id']} | "
            f"{_claimed(r)} | {ci} | {local} | {seeds} | {_num(_float(r.get('detectable_gap')))} | "
            f"{int(r['n_levels_used'])}/{int(r['n_levels_total'])} | {last} | {figure} |")


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
    return _summary.compared(r)


def _unmatched_claims(fits: pd.DataFrame, table: pd.DataFrame, declared, claim_by_id: dict) -> list[dict]:
    """Claims selected for a fit that gave no rates row for it (made for none of its groups' dimensions, or the
    quantity was never measured): {experiment, quantity, claim_id, why} each."""
    if declared is None:
        kinds = [k for k in sorted(set(table["experiment"].dropna())) if k in experiments.names()]
        declared = [{"experiment": k, "quantity": f.quantity, "variable": f.variable, "claims": f.claims}
                    for k in kinds for f in experiments.get(k).fits]
    out, seen = [], set()
    for spec in declared:
        experiment, quantity = spec["experiment"], spec["quantity"]
        mine = fits[(fits["experiment"] == experiment) & (fits["quantity"] == quantity)] if not fits.empty else fits
        for claim_id in spec.get("claims", []):
            if (experiment, quantity, claim_id) in seen or claim_id not in claim_by_id:
                continue
            seen.add((experiment, quantity, claim_id))
            if len(mine) and (mine["claim_id"] == claim_id).any():
                continue
            claim = claim_by_id[claim_id]
            if mine.empty:
                why = f"no fitted group measured {quantity} (no ok rows, or the column is missing)"
            else:
                column, name = ("D", "D") if claim.uses == "d" else ("d_star", "d*")
                values = (sorted({_text(v) for v in mine[column].dropna()}, key=_float)
                          if column in mine.columns else [])
                lo, hi = claim.dims
                why = (f"made for {name} in [{lo:g}, {hi:g}]; the fitted groups have {name} = "
                       f"{', '.join(values) or 'unknown'}")
            out.append({"experiment": experiment, "quantity": quantity, "claim_id": claim_id, "why": why})
    return out


def _findings_section(fits: pd.DataFrame, claim_by_id: dict, options: dict, unmatched: list[dict]) -> list[str]:
    lines = ["## Findings", ""]
    if fits.empty and not unmatched:
        return lines + ["Nothing to judge.", ""]
    judged, outside = _split(fits) if not fits.empty else (fits, fits)
    counts = fits["verdict"].value_counts() if not fits.empty else pd.Series(dtype=int)
    in_scope = [v for v in dict.fromkeys(_rates.VERDICTS + _rates.BOUND_VERDICTS) if v != "out of scope"]
    lines += [f"{len(fits)} fit(s) against a claim. In scope ({len(judged)}): "
              + ", ".join(f"{int(counts.get(v, 0))} {v}" for v in in_scope)
              + f". Out of scope, not judged: {len(outside)}.", ""]
    refuted = judged[judged["verdict"].isin(_rates.CONTRADICTIONS)]
    lines += ["### Where the data contradict a claim", ""]
    if refuted.empty:
        lines.append("None: no in-scope group contradicts a claim.")
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
    for verdict, title in (("pre-asymptotic", "Pre-asymptotic (moving toward the claim; no contradiction)"),
                           ("underpowered", "Underpowered (too small a design to decide; no contradiction)"),
                           ("inconclusive", "Inconclusive")):
        rows = judged[judged["verdict"] == verdict]
        if verdict != "inconclusive" and rows.empty:
            continue
        lines += ["", f"### {title}", ""]
        if rows.empty:
            lines.append("None.")
        for _, r in rows.iterrows():
            slope = (f"bound slopes: lower {_bound_slope(r, 'lower')}, upper {_bound_slope(r, 'upper')}"
                     if r["ci_method"] == "bracket" else
                     f"slope {_num(r['slope'])} [{_num(r['ci_low'])}, {_num(r['ci_high'])}] vs claimed {_claimed(r)}")
            local = r.get("local_slopes")
            local = f"; local slopes {local.replace(';', ', ')}" if isinstance(local, str) and local else ""
            note = f": {r['note']}" if isinstance(r["note"], str) and r["note"] else ""
            lines.append(f"- {_where(r)}, **{r['claim_id']}**{note}; {slope}{local}.")
    lines += ["", "### Out of scope (not judged)", ""]
    if outside.empty:
        lines.append("None.")
    for (claim_id, note), rows in outside.groupby(["claim_id", "note"], sort=True):
        where = "; ".join(f"{e} {_label_list(part['label'])}" for e, part in rows.groupby("experiment", sort=True))
        lines.append(f"- **{claim_id}** ({claim_by_id[claim_id].standing}), {len(rows)} group(s) ({where}): {note}.")
    if unmatched:
        lines += ["", "### Selected claims that apply to no fitted group", "",
                  "These claims were selected for a fit but are made for none of its groups (rates.csv has no row "
                  "for them there):", ""]
        lines += [f"- **{u['claim_id']}** in {u['experiment']} / {u['quantity']}: {u['why']}." for u in unmatched]
    diverged = fits.drop_duplicates(subset=["experiment", "quantity", "label"]) if not fits.empty else fits
    diverged = diverged[diverged["n_diverged"] > 0] if not fits.empty else fits
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
              "end. The slope's 95% CI is the seed-t interval, slope -+ t_{0.975,S-1} sd(per-seed slopes) / "
              "sqrt(S), which every verdict uses (rates.csv's ci_method; `ols` with one seed; the figures shade it "
              "as a fan). The claimed slope compared is the exponent plus the slope the claim's "
              "log factor has over the window (a log power the source does not state is judged across its range, "
              "and decided only where every power agrees). A gap counts only beyond the allowance the claim's "
              f"constants leave (a drift by a factor {_rates.CONSTANT_DRIFT:g} across the window). Only *faster*, "
              "*slower* and *refuted* contradict a claim, and only with at least "
              f"{_rates.MIN_SEEDS_CONTRADICTION} seeds, when the finest levels exclude the claim too and the local "
              "slopes do not move toward it; *pre-asymptotic* (they do), *underpowered* (too few seeds or levels "
              "to confirm) and *inconclusive* decide nothing; *faster than bound* supports an upper bound that is "
              "not sharp here. W2 to the target is judged from a certified lower and upper bound (quantity "
              "w2_target): *refuted* when the lower bound's slope CI lies wholly on the slower side of the claim "
              "under the same conditions, *consistent* when the upper bound's slope CI reaches it. The rules in "
              "full, with their error rates measured by simulation: docs/theory.md 4.5-4.8 and "
              "chargen_theory/rates.py.", ""]
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


def _claims_section(fits: pd.DataFrame, claim_by_id: dict, unmatched: list[dict]) -> list[str]:
    used = sorted({*(fits["claim_id"] if not fits.empty else ()), *(u["claim_id"] for u in unmatched)})
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
             "| group | experiment | lower | upper | early stopping | total_w2 (floor) | claim: verdict | figure |",
             "|" + " --- |" * 8]
    for label, part in rows.groupby("label", sort=False):
        r = part.iloc[0]
        at = _largest_level(table, r)
        verdicts = "; ".join(f"{c}: **{v}**" for c, v in zip(part["claim_id"], part["verdict"]))
        figure = f"[png]({r['figure']})" if r["figure"] else ""
        lines.append(f"| {label} ({_cell(r['compact'])}) | {r['experiment']} | "
                     f"{_num(at('w2_target_lower'))} | {_num(at('w2_target_upper'))} | "
                     f"{_num(at('early_stopping_upper'))} | {_num(at('total_w2'))} ({_num(at('total_w2_floor'))}) | "
                     f"{verdicts} | {figure} |")
    lines.append("")
    lines += [_BRACKET_CAPTION, ""]
    for figure in dict.fromkeys(f for f in rows["figure"] if f):
        lines += [f"![{Path(figure).stem}]({figure})", ""]
    return lines


_RATE_CAPTION = ("Rate figures: per group (colour, labelled as in [Groups](#groups)) the single seeds (dots), their "
                 "RMS (line), the estimation floor (crosses, where there is one), the fitted line over the window "
                 "used (dashed) with a shaded fan spanning the fitted slope's 95% CI (the interval the verdict "
                 "uses, pivoting at the window's centre), and the slope each claim *in scope for that group* "
                 "compares, through the same centre (one dash style per claim, named by its law). Claims out of "
                 "scope are named in the legend and not drawn. Groups of similar slope share a page.")
_BRACKET_CAPTION = ("Figures: the upper and lower bounds' single seeds (dots) and RMS (lines), each bound's fitted "
                    "slope (dashed) with the fan of its 95% CI (the intervals the bound verdict uses), total_w2 "
                    "and the early-stopping bound, and each in-scope claim through the centre of the upper bound, "
                    "labelled by its law and verdict.")


def _largest_level(table: pd.DataFrame, r):
    """column -> RMS over seeds of the ok rows of r's group at its largest level used (NaN if absent)."""
    rows = table[(table["experiment"] == r["experiment"]) & (table["status"] == "ok")]
    targets, groups = plots._row_keys(rows, r["variable"], [c for c in str(r["varies_with"]).split(",") if c])
    group = "" if pd.isna(r["group"]) else str(r["group"])
    rows = rows[(targets == str(r["target"])) & (groups == group)
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
    if rate_figures:
        lines += [_RATE_CAPTION, ""]
    for figure in rate_figures + [f"figures/{name}" for name in slope_figures]:
        lines += [f"![{Path(figure).stem}]({figure})", ""]
    if not rate_figures and not slope_figures:
        lines += ["No figures.", ""]
    if panels:
        lines += ["### Sample panels", ""] + [f"- [{name}](figures/{name})" for name in panels] + [""]
    return lines


def _where(r) -> str:
    return f"{r['label']} ({r['experiment']}, {r['compact']}), {r['quantity']} vs {r['variable']}"


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
