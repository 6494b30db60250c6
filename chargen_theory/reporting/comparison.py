"""Generators side by side: the ledger per generator of a finished sweep, as a table and figures.

``write_comparison(out)`` reads ``out``/results.csv and, when it holds ``chargen_vs_n`` rows of several generators
or ``generator_budget`` rows, writes ``out``/generators.md (RMS over seeds of each error term per generator and
level, with NFE and training cost) and figures/panel_generators_*_<config name>.png (error terms vs n; total error
vs training steps and vs m), each with the Euler error the one-step methods are compared with (euler_hat_error: the
total error of the ``euler`` generator, K velocity evaluations per sample). The file names end in the config's name,
as the report's figures do, so two configs written to one folder never share a figure. The report links
panel_*.png figures.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

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
    import pandas as pd

    from .plots import file_stem

    out = Path(out)
    stem = file_stem(config if config is not None else _config_name(out))
    table = pd.read_csv(out / "results.csv")
    ok = table[table["status"] == "ok"]
    vs_n = ok[ok["experiment"] == "chargen_vs_n"]
    budget = ok[ok["experiment"] == "generator_budget"]
    budget = budget.assign(max_steps=[json.loads(o)["max_steps"] for o in budget["options"]])
    if vs_n["generator"].nunique() < 2 and budget.empty:
        return []
    figures = out / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    lines, written = ["# Generators side by side", "",
                      "RMS over seeds; euler_hat_error is the `euler` generator's total error (K steps of the "
                      "estimated velocity), the reference each one-step method is compared with. NFE: network or "
                      "velocity evaluations per sample; train_seconds: wall time of the training loop.", ""], []
    for f, (family, rows) in enumerate(vs_n.groupby(list(_FAMILY), sort=True)):
        summary = _summary(rows, ("n", "m"))
        lines += [f"## {family[0]}, {family[2]}: error vs n (K = {family[5]}, T = {family[6]:g})", "",
                  _markdown(summary), ""]
        written.append(_figure(summary, "n", TERMS, figures / f"panel_generators_vs_n_{family[0]}_{f}_{stem}.png",
                               f"{family[0]}, {family[2]} velocity, K = {family[5]}"))
    for f, (family, rows) in enumerate(budget.groupby(list(_FAMILY) + ["n"], sort=True)):
        # the budget curve at the m with the most budgets, the m curve at the budget with the most m
        top_m = rows.groupby("m")["max_steps"].nunique().idxmax()
        top_steps = rows.groupby("max_steps")["m"].nunique().idxmax()
        steps = _summary(rows[rows["m"] == top_m], ("max_steps",))
        sizes = _summary(rows[rows["max_steps"] == top_steps], ("m",))
        lines += [f"## {family[0]}, {family[2]}, n = {family[7]}: error vs training budget (m = {top_m})", "",
                  _markdown(steps), "",
                  f"## {family[0]}, {family[2]}, n = {family[7]}: error vs m (max_steps = {top_steps})", "",
                  _markdown(sizes), ""]
        title = f"{family[0]}, {family[2]} velocity, n = {family[7]}, K = {family[5]}"
        written.append(_figure(steps, "max_steps", ("total_coupling",), figures / f"panel_generators_budget_steps_"
                               f"{family[0]}_{f}_{stem}.png", f"{title}, m = {top_m}"))
        written.append(_figure(sizes, "m", ("total_coupling",), figures / f"panel_generators_budget_m_{family[0]}_"
                               f"{f}_{stem}.png", f"{title}, max_steps = {top_steps}"))
    (out / "generators.md").write_text("\n".join(lines), encoding="utf-8")
    return [out / "generators.md", *written]


def _config_name(out: Path) -> str:
    """run.json's config_name in ``out``; the folder's name when run.json is absent, unreadable or has none."""
    try:
        run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        run = {}
    name = run.get("config_name") if isinstance(run, dict) else None
    return name if isinstance(name, str) and name else out.resolve().name


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
    fig.savefig(path, dpi=100)
    return path
