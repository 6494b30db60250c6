"""Generators side by side: the ledger per generator of a finished sweep, as a table and figures.

``write_comparison(out)`` reads ``out``/results.csv and, for every experiment kind that declares the variables its
generators are compared along (``Kind.comparison``: ``chargen_vs_n`` along n, ``generator_budget`` along max_steps
and m), writes ``out``/generators.md (RMS over seeds of each error term per generator and level, with NFE and
training cost) and figures/panel_generators_<kind>_<variable>_*_<config name>.png (error terms vs the variable),
each with the Euler error the one-step methods are compared with (euler_hat_error: the total error of the ``euler``
generator, K velocity evaluations per sample). A kind compared along one variable is drawn when its rows hold two
generators or more; along several, each variable is drawn at the level of the others that has the most of its
levels. The file names end in the config's name, as the report's figures do, so two configs written to one folder
never share a figure. Every file is written atomically while the folder is locked (chargen_theory.outputs). The
report links panel_*.png figures.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..study import experiments, outputs, parameters
from ..verdicts.rates import format_value
from ..verdicts.run_folder import read_run

TERMS = ("fit_error", "total_coupling", "total_w2")
_FAMILY = ("target", "target_params", "estimator", "estimator_params", "path", "K", "T")


def _rms(values) -> float:
    values = np.asarray(values, dtype=float)
    return float(np.sqrt(np.mean(values ** 2))) if values.size else float("nan")


def _summary(rows, by: tuple[str, ...]):
    """RMS over seeds of the error columns (mean of the cost columns) per generator and ``by``."""
    columns = [c for c in ("euler_hat_error", *TERMS, "total_w2_floor") if c in rows.columns]
    grouped = rows.groupby(["generator", *by], sort=True)
    out = grouped[columns].agg(_rms)
    for cost in ("nfe_per_sample", "train_steps", "train_seconds"):
        if cost in rows.columns:
            out[cost] = grouped[cost].mean()
    out["seeds"] = grouped.size()
    return out.reset_index()


def _markdown(frame) -> str:
    """A DataFrame as a markdown table, numbers to 4 significant digits."""
    cell = lambda v: f"{v:.4g}" if isinstance(v, (float, np.floating)) else str(v)  # noqa: E731
    rows = [" | ".join(map(str, frame.columns))] + [" | ".join("---" for _ in frame.columns)]
    rows += [" | ".join(cell(v) for v in record) for record in frame.itertuples(index=False)]
    return "\n".join(f"| {row} |" for row in rows)


def write_comparison(out, *, config: str | None = None) -> list[Path]:
    """Write generators.md and the comparison figures for the run in ``out``; returns the paths written (none when
    the run compares no generators). ``config``: the config's name, the end of every figure name (None: run.json's
    config_name, else the folder's name, as the report)."""
    from .plots import file_stem

    out = Path(out)
    table, run = read_run(out)
    stem = file_stem(config if config is not None else str(run.get("config_name") or out.resolve().name))
    lines = ["# Generators side by side", "",
             "RMS over seeds; euler_hat_error is the `euler` generator's total error (K steps of the estimated "
             "velocity), the reference each one-step method is compared with. NFE: network or velocity evaluations "
             "per sample; train_seconds: wall time of the training loop.", ""]
    curves = []  # (summary, variable, file name, title)
    for name in experiments.names():
        variables = experiments.get(name).comparison
        rows = table[(table["experiment"] == name) & (table["status"] == "ok")]
        if not variables or rows.empty or (len(variables) == 1 and rows["generator"].nunique() < 2):
            continue
        rows = _numbers_where_numbers(_with_options(rows, variables))
        fixed = [c for c in ("n",) if c not in variables]  # a level held fixed within a family (n of a budget)
        by = [c for c in ("n", "m") if c not in variables and c not in fixed]  # shown beside each level
        for f, (family, part) in enumerate(rows.groupby([*_FAMILY, *fixed], sort=True)):
            target, estimator, K, T = family[0], family[2], family[5], family[6]
            where = "".join(f", {c} = {format_value(v)}" for c, v in zip(fixed, family[len(_FAMILY):]))
            for variable in variables:
                others = {o: part.groupby(o)[variable].nunique().idxmax() for o in variables if o != variable}
                curve = part
                for o, level in others.items():  # the level of each other variable with the most of this one's
                    curve = curve[curve[o] == level]
                summary = _summary(curve, (variable, *by))
                at = ", ".join([f"{o} = {format_value(v)}" for o, v in others.items()]
                               + [f"K = {format_value(K)}", f"T = {format_value(T)}"])
                lines += [f"## {target}, {estimator}{where}: error vs {variable} ({at})", "", _markdown(summary), ""]
                curves.append((summary, variable, file_stem(f"panel_generators_{name}_{variable}_{target}_{f}")
                               + f"_{stem}.png", f"{target}, {estimator} velocity{where}, {at}"))
    if not curves:
        return []
    with outputs.locked(out):
        figures = outputs.subfolder(out, "figures")
        written = [_figure(summary, variable, TERMS, figures / file, title)
                   for summary, variable, file, title in curves]
        outputs.write_text(out / "generators.md", "\n".join(lines))
    return [out / "generators.md", *written]


def _with_options(rows: pd.DataFrame, variables) -> pd.DataFrame:
    """``rows`` with a column for every variable that the results table keeps in the options JSON (a kind's own
    parameter, e.g. max_steps)."""
    missing = [v for v in variables if v not in rows.columns]
    options = [json.loads(o) if isinstance(o, str) and o else {} for o in rows["options"]] if missing else []
    return rows.assign(**{v: [o.get(v) for o in options] for v in missing})


def _numbers_where_numbers(rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` with every parameter column that holds only numbers (and blanks) as numbers: a column such as T is
    read as text when another experiment of the run has a schedule in it."""
    numeric = {}
    for column in rows.columns:
        if column in parameters.PARAMETERS and not pd.api.types.is_numeric_dtype(rows[column]):
            values = pd.to_numeric(rows[column], errors="coerce")
            if values.notna().sum() == rows[column].notna().sum():
                numeric[column] = values
    return rows.assign(**numeric)


def _figure(summary, variable: str, terms, path: Path, title: str) -> Path:
    """One log-log axis per term: a line per generator against ``variable``, the Euler error dashed (euler's own
    W2 in black)."""
    import seaborn as sns
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import NullLocator

    fig = Figure(figsize=(4.2 * len(terms), 3.8), layout="constrained")
    FigureCanvasAgg(fig)
    colors = dict(zip(sorted(set(summary["generator"]) - {"euler"}), sns.color_palette("colorblind")), euler="k")
    handles = {}
    for ax, term in zip(fig.subplots(1, len(terms), squeeze=False)[0], terms):
        for name, rows in summary.groupby("generator", sort=True):
            if name != "euler" or term == "total_w2":  # euler's coupling terms are the dashed line
                handles[name], = ax.plot(rows[variable], rows[term], "o-", color=colors[name], label=name)
        if term == "total_coupling":
            reference = summary.groupby(variable)["euler_hat_error"].mean()
            handles["Euler (K steps)"], = ax.plot(reference.index, reference.values, "k--")
        if term == "total_w2" and "total_w2_floor" in summary:
            floor = summary.groupby(variable)["total_w2_floor"].mean()
            handles["W2 floor"], = ax.plot(floor.index, floor.values, ":", color="grey")
        levels = sorted(summary[variable].unique())
        ax.set(xscale="log", yscale="log", xlabel=variable, title=term)
        ax.set_xticks(levels, [f"{v:g}" for v in levels])
        ax.xaxis.set_minor_locator(NullLocator())
    fig.legend(handles.values(), handles.keys(), loc="outside right upper", fontsize="small")
    fig.suptitle(title, fontsize="small")
    outputs.write_atomic(path, lambda handle: fig.savefig(handle, format="png", dpi=100), binary=True)
    return path
