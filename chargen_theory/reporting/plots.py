"""Figures drawn from the results table and the rates table alone (never from live objects).

``rate_figures`` draws log-log figures per (experiment, quantity, variable), at most ``GROUPS_PER_FIGURE`` groups
each, groups of similar slope on one page so that no curve squashes the others' axis: per group the single seeds
(dots), their RMS (line), the estimation floor where there is one, the fitted line over the window used with a
shaded fan spanning the fitted slope's 95% CI (ci_low..ci_high of rates.csv: the interval the verdict uses, pivoting
at the window's centre), and the slope of each claim *in scope for that group* through the same centre (claims out
of scope are named in the legend, never drawn). ``bracket_figures`` draws, per group of a bracket quantity (W2 to
the target), its lower and upper bounds with their slope fans, the EMD W2 with its floor and the in-scope claims,
labelled by their law. ``slope_vs_intrinsic_dim`` draws measured slopes against d* with one colour per ambient D
and the in-scope claimed slopes.

Groups are named by their short labels (``chargen_theory.labels``: "G3 gaussian D=5"); file names hold the kind,
experiment, quantity, the group labels and the run's config name, e.g. rate_w2_floor_w2_vs_n_G21-G24_quick.png,
so that two configs or two groups never share a file name. Legends sit outside the axes. Figures use matplotlib's
Agg canvas (no pyplot state), seaborn's theme, 100 dpi; each PNG is well under 200 KB.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator, NullFormatter, NullLocator

from ..study import parameters
from . import labels as _labels
from ..study.outputs import write_atomic
from ..verdicts.rates import describe_group, format_value, group_columns, is_empty, level_arrays, rms_over_seeds

GROUPS_PER_FIGURE = 4
DPI = 100
_SIZE = (8.4, 4.0)  # inches: axes on the left, legend on the right
_MAX_TICKS = 6

# axis labels with units; quantities not listed are labelled by their column name
QUANTITY_LABELS = {
    "euler_error": "Euler coupling error (E|x_K - X_T|^2)^1/2 [data units]",
    "euler_w2": "W2(Euler law, law of X_T) [data units]",
    "velocity_l2": "velocity L2 error ||v_hat - v|| [data units / time]",
    "total_coupling": "coupling bound on W2 [data units]",
    "total_w2": "W2 to the law of X_T, EMD [data units]",
    "w2": "W2 between two n-samples, EMD [data units]",
}
VARIABLE_LABELS = {"n": "n (target samples)", "h": "h = T/K (Euler step, time units)"}
# one dash pattern per claim on a figure (ten distinct ones, then repeated)
CLAIM_STYLES = (":", "-.", (0, (6, 2)), (0, (1, 3)), (0, (8, 2, 1, 2)), (0, (3, 1, 1, 1, 1, 1)), (0, (12, 4)),
                (0, (2, 2)), (0, (6, 2, 2, 2, 2, 2)), (0, (4, 1, 4, 4)))
FAN_TEXT = "shaded fan: 95% CI of the fitted slope (the verdict's interval)"
OUT_OF_SCOPE = "out of scope"


def file_stem(text: str) -> str:
    """``text`` reduced to characters safe in a file name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "run"


def _labelled(rates: pd.DataFrame) -> pd.DataFrame:
    """``rates`` with columns label and compact (from chargen_theory.labels unless present)."""
    if {"label", "compact"} <= set(rates.columns):
        return rates
    table = _labels.group_labels(rates)
    keys = _labels.group_keys(rates)
    return rates.assign(label=keys.map(dict(zip(table["key"], table["label"]))),
                        compact=keys.map(dict(zip(table["key"], table["compact"]))))


def _key(row) -> tuple:
    return (row["experiment"], row["quantity"], row["variable"], str(row["target"]),
            "" if pd.isna(row["group"]) else str(row["group"]))


def _label_span(labels: list[str]) -> str:
    """"G4-G7" for consecutive labels, else "G4_G9_G12"."""
    numbers = sorted(int(label[1:]) for label in labels if re.fullmatch(r"G\d+", label))
    if len(numbers) != len(labels):
        return "_".join(sorted(labels))
    if len(numbers) > 1 and numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"G{numbers[0]}-G{numbers[-1]}"
    return "_".join(f"G{n}" for n in numbers)


def _in_scope(rows: pd.DataFrame) -> pd.DataFrame:
    return rows[rows["verdict"] != OUT_OF_SCOPE]


def rate_figures(results: pd.DataFrame, rates: pd.DataFrame, figures_dir, *, config: str = "run",
                 laws: dict | None = None) -> dict[tuple, str]:
    """Draw every rate figure of ``rates`` into ``figures_dir`` (created if needed). ``config``: the run's config
    name, part of every file name; ``laws``: {claim id: its law as text} for the legend.

    Returns {(experiment, quantity, variable, target, group): file name} for every fitted group, so that the
    caller can link each rates row to its figure.
    """
    figures_dir = Path(figures_dir)
    figures_dir.mkdir(parents=True, exist_ok=True)
    rates = _labelled(rates)
    written = {}
    for (experiment, quantity, variable), fits in rates.groupby(["experiment", "quantity", "variable"], sort=True):
        groups = fits.drop_duplicates(subset=["target", "group"], keep="first")
        order = sorted(range(len(groups)), key=lambda i: (
            _in_scope(fits[fits["label"] == groups["label"].iloc[i]]).empty,
            groups["slope"].iloc[i] if np.isfinite(groups["slope"].iloc[i]) else math.inf, groups["label"].iloc[i]))
        groups = groups.iloc[order]
        rows = results[results["experiment"] == experiment]
        for page in _pages(groups):
            name = (f"{file_stem(f'rate_{experiment}_{quantity}_vs_{variable}')}_"
                    f"{_label_span(list(page['label']))}_{file_stem(config)}.png")
            _draw_rate_figure(rows, fits[fits["label"].isin(page["label"])], page, quantity, variable,
                              figures_dir / name, laws or {})
            written.update({_key(r): name for _, r in page.iterrows()})
    return written


_ESTIMATOR_COLUMNS = ("estimator", "estimator_params")


def _pages(groups: pd.DataFrame) -> list[pd.DataFrame]:
    """``groups`` (one row each, in drawing order) cut into pages of at most GROUPS_PER_FIGURE, keeping together the
    groups that differ only in their estimator (a network and its controls on the same cells), in order of first
    appearance."""
    columns = [c for c in parameters.COLUMNS if c in groups.columns and c not in _ESTIMATOR_COLUMNS]
    sets: dict[tuple, list[int]] = {}
    for i in range(len(groups)):
        key = tuple("" if is_empty(groups[c].iloc[i]) else str(groups[c].iloc[i]) for c in columns)
        sets.setdefault(key, []).append(i)
    pages, current = [], []
    for members in sets.values():
        if len(current) + len(members) > GROUPS_PER_FIGURE and current:
            pages.append(current)
            current = []
        while len(members) > GROUPS_PER_FIGURE:
            pages.append(members[:GROUPS_PER_FIGURE])
            members = members[GROUPS_PER_FIGURE:]
        current = current + members
    if current:
        pages.append(current)
    return [groups.iloc[page] for page in pages]


def _draw_rate_figure(rows, fits, page, quantity, variable, path, laws):
    experiment = page["experiment"].iloc[0]
    together = [c for c in str(page["varies_with"].iloc[0]).split(",") if c and c != "nan"]
    row_targets, row_groups = _row_keys(rows, variable, together)
    drawn = list(dict.fromkeys(_in_scope(fits)["claim_id"]))
    styles = {c: CLAIM_STYLES[i % len(CLAIM_STYLES)] for i, c in enumerate(drawn)}
    with sns.axes_style("whitegrid"), sns.plotting_context("paper", font_scale=0.9):
        fig = Figure(figsize=_SIZE, dpi=DPI, layout="constrained")
        ax = fig.add_subplot()
        colors = sns.color_palette("colorblind", len(page))
        data, all_levels, floor_drawn = [], [], False
        for (_, group), color in zip(page.iterrows(), colors):
            target, text = str(group["target"]), "" if pd.isna(group["group"]) else str(group["group"])
            group_rows = rows[(row_targets == target) & (row_groups == text)]
            levels, values, floors, _ = level_arrays(group_rows, quantity, variable)
            all_levels.append(levels)
            mine = fits[fits["label"] == group["label"]]
            legend = f"{group['label']} {group['compact']}" + ("" if len(_in_scope(mine)) else " (out of scope)")
            rms = _draw_series(ax, levels, values, floors, color, legend, data)
            floor_drawn |= floors is not None and np.isfinite(floors).any()
            centre = _draw_fit(ax, mine.iloc[0], levels, rms, color)
            if centre is not None:
                for _, claim in _in_scope(mine).iterrows():
                    _draw_claim(ax, claim, centre, color, styles[claim["claim_id"]])
        _axes(ax, np.concatenate(all_levels) if all_levels else np.empty(0), data, variable,
              QUANTITY_LABELS.get(quantity, quantity))
        ax.set_title(f"{experiment}: {quantity} vs {variable}", fontsize=8)
        handles, _ = ax.get_legend_handles_labels()
        handles += _key_handles(floor_drawn)
        handles += [Line2D([], [], color="0.3", ls=styles[c], label=f"claim {c}: {laws.get(c, '')}".rstrip(": "))
                    for c in drawn]
        skipped = sorted(set(fits["claim_id"]) - set(drawn))
        if skipped:
            handles.append(Line2D([], [], ls="", label="not drawn (out of scope here):\n  " + ",\n  ".join(skipped)))
        fig.legend(handles=handles, loc="outside right upper", fontsize=6, frameon=False, handlelength=4)
        _save(fig, path)


def _key_handles(floor_drawn: bool) -> list:
    """Legend entries explaining the marks shared by all groups."""
    handles = [Line2D([], [], color="0.35", marker="o", ms=3.5, label="line: RMS over seeds; dots: single seeds"),
               Line2D([], [], color="0.35", ls="--", label="fit over the window used"),
               Patch(color="0.35", alpha=0.2, label=FAN_TEXT)]
    if floor_drawn:
        handles.append(Line2D([], [], color="0.35", marker="x", ls=":", ms=3, label="estimation floor (RMS)"))
    return handles


def _draw_series(ax, levels, values, floors, color, label, data, ls="-") -> np.ndarray:
    """Single seeds as dots, their RMS as a line, the floor as crosses; appends what was drawn to ``data`` (for
    the axis limits) and returns the RMS per level."""
    seeds = np.isfinite(values)
    x = np.broadcast_to(levels[:, None], values.shape)
    ax.plot(x[seeds], values[seeds], ".", color=color, ms=2.5, alpha=0.35, zorder=2)
    rms = rms_over_seeds(values)
    has = np.isfinite(rms)
    ax.plot(levels[has], rms[has], "o", ls=ls, color=color, ms=3.5, lw=1.2, label=label, zorder=3)
    data += [values[seeds], rms[has]]
    if floors is not None and np.isfinite(floors).any():
        floor = rms_over_seeds(floors)
        keep = np.isfinite(floor)
        ax.plot(levels[keep], floor[keep], "x:", color=color, ms=3, lw=0.8, alpha=0.8)
        data.append(floor[keep])
    return rms


def _window(levels, rms, low, high) -> np.ndarray:
    keep = np.isfinite(rms) & (rms > 0) & (levels >= low * (1 - 1e-9)) & (levels <= high * (1 + 1e-9))
    return keep


def _draw_fit(ax, fit, levels, rms, color):
    """The fitted line over the window and its slope-CI fan; returns the pivot (x, y) or None."""
    lo, hi, slope = fit["level_min_used"], fit["level_max_used"], fit["slope"]
    if not all(np.isfinite([lo, hi, slope])) or lo == hi:
        return None
    used = _window(levels, rms, lo, hi)
    centre_x = math.exp(np.log(levels[used]).mean()) if used.any() else math.sqrt(lo * hi)
    intercept = fit.get("intercept", math.nan)
    if np.isfinite(intercept):
        centre_y = math.exp(intercept) * centre_x ** slope
    elif used.any():
        centre_y = math.exp(np.log(rms[used]).mean())
    else:
        return None
    x = np.geomspace(lo, hi, 24)
    ax.plot(x, centre_y * (x / centre_x) ** slope, "--", color=color, lw=1.0, zorder=3)
    _fan(ax, x, (centre_x, centre_y), fit["ci_low"], fit["ci_high"], color)
    return centre_x, centre_y


def _fan(ax, x, centre, low, high, color):
    if not np.isfinite([low, high]).all():
        return
    a, b = centre[1] * (x / centre[0]) ** low, centre[1] * (x / centre[0]) ** high
    ax.fill_between(x, np.minimum(a, b), np.maximum(a, b), color=color, alpha=0.2, lw=0, zorder=1)


def compared_slope(row) -> float:
    """The claimed slope the verdict compares: with the claim's log factor over the window, where there is one."""
    with_log = row.get("claimed_slope_with_log", math.nan)
    return float(with_log) if np.isfinite(with_log) else float(row["claimed_slope"])


def _draw_claim(ax, claim, centre, color, style, label=None):
    x = np.geomspace(claim["level_min_used"], claim["level_max_used"], 24)
    if not np.isfinite(x).all():
        return
    ax.plot(x, centre[1] * (x / centre[0]) ** compared_slope(claim), ls=style, color=color, lw=1.1, alpha=0.85,
            label=label, zorder=4)


def _axes(ax, levels, data, variable, ylabel):
    """Log axes; x ticks at the measured levels (at most 6, never closer than 1/6 of the range); y limits from the
    data alone (lines of other slopes are clipped, never widen the axis)."""
    ax.set_xscale("log")
    ax.set_yscale("log")
    levels = np.unique(levels[np.isfinite(levels) & (levels > 0)])
    if len(levels):
        ax.set_xticks(_ticks(levels), [_tick_text(v) for v in _ticks(levels)])
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlim(levels.min() / 1.15, levels.max() * 1.15)
    values = np.concatenate([np.ravel(d) for d in data]) if data else np.empty(0)
    values = values[np.isfinite(values) & (values > 0)]
    if len(values):
        ax.set_ylim(values.min() / 1.4, values.max() * 1.4)
    ax.set_xlabel(VARIABLE_LABELS.get(variable, variable))
    ax.set_ylabel(ylabel, fontsize=7)


def _ticks(levels: np.ndarray) -> np.ndarray:
    """At most ``_MAX_TICKS`` of the sorted ``levels``, each at least 1/(_MAX_TICKS) of the log range from the
    previous one (the largest level always kept)."""
    logs = np.log(levels)
    gap = (logs[-1] - logs[0]) / _MAX_TICKS
    chosen = [len(levels) - 1]
    for i in range(len(levels) - 2, -1, -1):
        if logs[chosen[-1]] - logs[i] >= gap * 0.999:
            chosen.append(i)
    return levels[sorted(chosen)]


def _tick_text(value: float) -> str:
    if value >= 1:
        return format_value(float(value))
    return f"{value:.2g}" if value >= 0.01 else f"{value:.1e}".replace("e-0", "e-")


def _save(fig, path) -> None:
    """Save ``fig`` as PNG at ``path`` atomically (chargen_theory.outputs.write_atomic)."""
    write_atomic(path, lambda handle: fig.savefig(handle, format="png", dpi=DPI), binary=True)


# bracket_figures: (column or "{q}_..." pattern, legend, colour index, rates prefix of its slope fit)
_BRACKET_SERIES = (("{q}_upper", "upper bound (coupling to X_1)", 0, "upper"),
                   ("{q}_lower", "lower bound (Gelbrich / sliced)", 1, "lower"),
                   ("total_w2", "EMD W2 to the law of X_T (total_w2)", 2, None),
                   ("early_stopping_upper", "early stopping: coupling X_T vs X_1", 3, None))


def bracket_figures(results: pd.DataFrame, rates: pd.DataFrame, figures_dir, *, config: str = "run",
                    laws: dict | None = None) -> dict[tuple, str]:
    """One log-log figure per group of a bracket quantity Q (rates rows with ci_method "bracket", e.g. Q =
    w2_target): single seeds and RMS of Q_upper and Q_lower (with its floor Q_lower_floor), of total_w2 with its
    floor and of early_stopping_upper where the table has them; the two bounds' slope fans (their 95% CIs, which the
    bound verdict uses); each in-scope claim's slope over the window (``claimed_slope_with_log``) through the centre
    of the upper bound, labelled by its law and verdict. Returns {(experiment, quantity, variable, target, group):
    file name} like ``rate_figures``."""
    figures_dir = Path(figures_dir)
    figures_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    selected = rates[rates["ci_method"] == "bracket"] if "ci_method" in rates.columns else rates.iloc[:0]
    if selected.empty:
        return written
    selected = _labelled(selected)
    for (experiment, quantity, variable), fits in selected.groupby(["experiment", "quantity", "variable"], sort=True):
        rows = results[results["experiment"] == experiment]
        together = [c for c in str(fits["varies_with"].iloc[0]).split(",") if c and c != "nan"]
        row_targets, row_groups = _row_keys(rows, variable, together)
        for label, claims in fits.groupby("label", sort=False):
            first = claims.iloc[0]
            name = (f"{file_stem(f'bracket_{experiment}_{quantity}_vs_{variable}')}_{label}_"
                    f"{file_stem(config)}.png")
            group = "" if pd.isna(first["group"]) else str(first["group"])
            group_rows = rows[(row_targets == str(first["target"])) & (row_groups == group)]
            _draw_bracket(group_rows, claims, quantity, variable,
                          f"{experiment}: bounds on {quantity} vs {variable}\n{label} {first['compact']}",
                          figures_dir / name, laws or {})
            written.update({_key(r): name for _, r in claims.iterrows()})
    return written


def _draw_bracket(rows, claims, quantity, variable, title, path, laws):
    first = claims.iloc[0]
    with sns.axes_style("whitegrid"), sns.plotting_context("paper", font_scale=0.9):
        fig = Figure(figsize=_SIZE, dpi=DPI, layout="constrained")
        ax = fig.add_subplot()
        colors = sns.color_palette("colorblind", len(_BRACKET_SERIES))
        data, all_levels, centre = [], [], None
        for column, label, color, side in _BRACKET_SERIES:
            column = column.format(q=quantity)
            if column not in rows.columns or not pd.to_numeric(rows[column], errors="coerce").notna().any():
                continue
            levels, values, floors, _ = level_arrays(rows, column, variable)
            all_levels.append(levels)
            text = label + (f", slope {_slope_text(first, side)}" if side else "")
            rms = _draw_series(ax, levels, values, floors, colors[color], text, data)
            if side is None:
                continue
            used = _window(levels, rms, first["level_min_used"], first["level_max_used"])
            if not used.any() or not np.isfinite(first.get(f"{side}_slope", math.nan)):
                continue
            pivot = (math.exp(np.log(levels[used]).mean()), math.exp(np.log(rms[used]).mean()))
            x = np.geomspace(levels[used].min(), levels[used].max(), 24)
            ax.plot(x, pivot[1] * (x / pivot[0]) ** first[f"{side}_slope"], "--", color=colors[color], lw=1.0)
            _fan(ax, x, pivot, first[f"{side}_ci_low"], first[f"{side}_ci_high"], colors[color])
            centre = pivot if side == "upper" else centre
        judged = _in_scope(claims)
        for i, (_, claim) in enumerate(judged.iterrows()):
            if centre is None:
                break
            law = laws.get(claim["claim_id"], "")
            _draw_claim(ax, claim, centre, "0.15", CLAIM_STYLES[i % len(CLAIM_STYLES)],
                        label=f"claim {claim['claim_id']}: {law}".rstrip(": ") + f"\n  verdict: {claim['verdict']}")
        _axes(ax, np.concatenate(all_levels) if all_levels else np.empty(0), data, variable,
              f"bounds on {quantity}, W2 [data units]")
        ax.set_title(title, fontsize=8)
        handles, _ = ax.get_legend_handles_labels()
        handles += [Line2D([], [], color="0.35", marker=".", ls="", label="dots: single seeds; x: estimation floor"),
                    Line2D([], [], color="0.35", ls="--", label="fitted slope of a bound"),
                    Patch(color="0.35", alpha=0.2, label="shaded fan: 95% CI of that slope\n(the verdict's interval)")]
        skipped = sorted(set(claims["claim_id"]) - set(judged["claim_id"]))
        if skipped:
            handles.append(Line2D([], [], ls="", label="not drawn (out of scope here):\n  " + ",\n  ".join(skipped)))
        fig.legend(handles=handles, loc="outside right upper", fontsize=6, frameon=False, handlelength=4)
        _save(fig, path)


def _slope_text(fit, side: str) -> str:
    values = [fit.get(f"{side}_{c}", math.nan) for c in ("slope", "ci_low", "ci_high")]
    if not np.isfinite(values[0]):
        return "n/a"
    return f"{values[0]:.3g} [{values[1]:.3g}, {values[2]:.3g}]"


def slope_vs_intrinsic_dim(rates: pd.DataFrame, figures_dir, experiment: str = "intrinsic_dim", *,
                           config: str = "run", laws: dict | None = None) -> list[str]:
    """Measured slope (with its 95% CI, the verdict's interval) against d* for each ambient D, and each claim's
    slope at the points where it is in scope (a claim in d*, like chargen_manifold_rate, traces a curve; a claim in
    D, like chargen_velocity_rate, a level line per D). One figure per quantity fitted in ``experiment``; returns
    the file names."""
    figures_dir = Path(figures_dir)
    figures_dir.mkdir(parents=True, exist_ok=True)
    if not {"d_star", "D"} <= set(rates.columns):
        return []
    laws = laws or {}
    sel = rates[(rates["experiment"] == experiment) & rates["d_star"].notna() & rates["D"].notna()]
    names = []
    for quantity, part in sel.groupby("quantity", sort=True):
        name = f"{file_stem(f'slope_vs_dstar_{experiment}_{quantity}')}_{file_stem(config)}.png"
        claim_ids = list(dict.fromkeys(_in_scope(part)["claim_id"]))
        with sns.axes_style("whitegrid"), sns.plotting_context("paper", font_scale=0.9):
            fig = Figure(figsize=_SIZE, dpi=DPI, layout="constrained")
            ax = fig.add_subplot()
            dims = sorted(part["D"].unique())
            colors = sns.color_palette("colorblind", len(dims))
            rules = list(dict.fromkeys(_rule_label(r) for r in part.itertuples(index=False)))
            markers = {rule: _MARKERS[i % len(_MARKERS)] for i, rule in enumerate(rules)}
            slots = len(dims) * len(rules)
            for d_index, (D, color) in enumerate(zip(dims, colors)):
                rows = part[part["D"] == D]
                for r_index, rule in enumerate(rules):
                    mine = rows[[_rule_label(r) == rule for r in rows.itertuples(index=False)]]
                    if mine.empty:
                        continue
                    in_scope = mine.groupby(["target", "group"], dropna=False)["verdict"].apply(
                        lambda v: (v != OUT_OF_SCOPE).any())
                    fits = mine.drop_duplicates(subset=["target", "group"]).sort_values("d_star")
                    slot = d_index * len(rules) + r_index
                    x = fits["d_star"].to_numpy(float) + 0.05 * (slot - (slots - 1) / 2)
                    err = np.vstack([fits["slope"] - fits["ci_low"], fits["ci_high"] - fits["slope"]]).clip(min=0)
                    judged = np.array([bool(in_scope[(t, g)]) for t, g in zip(fits["target"], fits["group"])])
                    for mask, face, alpha in ((judged, color, 1.0), (~judged, "none", 0.45)):
                        if mask.any():
                            ax.errorbar(x[mask], fits["slope"].to_numpy()[mask], yerr=np.nan_to_num(err[:, mask]),
                                        fmt=markers[rule], color=color, mfc=face, ms=4.5, capsize=2, alpha=alpha)
                for claim_id in claim_ids:
                    claimed = _in_scope(rows[rows["claim_id"] == claim_id]).drop_duplicates("d_star")
                    claimed = claimed.sort_values("d_star")
                    style = CLAIM_STYLES[claim_ids.index(claim_id) % len(CLAIM_STYLES)]
                    ax.plot(claimed["d_star"], claimed["claimed_slope"], ls=style, marker="_", ms=14, color=color,
                            lw=0.9, alpha=0.8)
            handles = [Patch(color=color, label=f"D = {format_value(D)}") for D, color in zip(dims, colors)]
            handles += [Line2D([], [], color="0.35", marker=markers[rule], ls="", label=rule) for rule in rules]
            handles += [Line2D([], [], color="0.35", marker="o", mfc="none", ls="", alpha=0.45,
                               label="hollow: out of scope of every claim\n(not judged)")]
            handles += [Line2D([], [], color="0.35", marker="_", ls=CLAIM_STYLES[i % len(CLAIM_STYLES)],
                               label=f"claim {c}: {laws.get(c, '')}".rstrip(": ")) for i, c in enumerate(claim_ids)]
            skipped = sorted(set(part["claim_id"]) - set(claim_ids))
            if skipped:
                handles.append(Line2D([], [], ls="", label="not drawn (out of scope everywhere):\n  "
                                      + ",\n  ".join(skipped)))
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_xlabel("intrinsic dimension d*")
            ax.set_ylabel(f"log-log slope of {quantity} vs n")
            ax.set_title(f"{experiment}: fitted slope vs d* (95% CI of the slope)\ncolour = D, marker = estimator "
                         "and tuning rule", fontsize=8)
            fig.legend(handles=handles, loc="outside right upper", fontsize=6, frameon=False, handlelength=4)
            _save(fig, figures_dir / name)
        names.append(name)
    return names


_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def _rule_label(row) -> str:
    """Estimator and its tuning as a legend entry, e.g. "kde (bandwidth=cv, dim=intrinsic)"."""
    params = getattr(row, "estimator_params", "")
    text = "" if pd.isna(params) else str(params)
    text = re.sub(r'[{}"]', "", text).replace(":", "=").replace(",", ", ")
    return f"{row.estimator} ({text})" if text else str(row.estimator)


def _row_keys(rows, variable, together) -> tuple[pd.Series, pd.Series]:
    """(target, group text) of every row as two Series, matching the rates table's target and group columns."""
    columns = group_columns(rows, variable, together)
    targets = rows["target"].astype(str) if "target" in rows.columns else pd.Series("nan", index=rows.index)
    groups = pd.Series([describe_group(dict(zip(columns, r))) for r in rows[columns].itertuples(index=False)],
                       index=rows.index, dtype=object)
    return targets, groups
