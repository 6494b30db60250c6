"""Figures drawn from the results table and the rates table alone (never from live objects).

``rate_figures`` draws one log-log figure per (experiment, quantity, variable), at most ``GROUPS_PER_FIGURE``
groups each (more groups go to further pages): per group the RMS over seeds, a band from the smallest to the
largest seed, the fitted line over the window used, the estimation floor where there is one, and each claim's
slope as a reference line through the centre of the fitted line. ``slope_vs_intrinsic_dim`` draws measured
slopes against d* with one colour per ambient D and one marker per estimator and tuning rule, the claimed slopes, and
groups outside every drawn claim's scope as hollow, faded markers. ``bracket_figures`` draws, per group of a bracket
quantity (W2 to the target), its lower and upper bounds, the EMD W2 with its floor and the claims on one pair of
axes. Figures use matplotlib's Agg canvas (no pyplot
state), seaborn's theme, 100 dpi; each PNG is well under 200 KB.
"""
from __future__ import annotations

import hashlib
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator, NullFormatter

from .outputs import write_atomic
from .rates import describe_group, format_value, group_columns, level_arrays, rms_over_seeds

GROUPS_PER_FIGURE = 4
DPI = 100
_SIZE = (5.6, 3.9)

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
_CLAIM_STYLES = (":", "-.", (0, (5, 2)), (0, (1, 3)))


def text_column(series: pd.Series) -> pd.Series:
    """A column as plain strings, missing values as "" (independent of the column's dtype)."""
    return series.map(lambda value: "" if pd.isna(value) else str(value))


def rate_figures(results: pd.DataFrame, rates: pd.DataFrame, figures_dir) -> dict[tuple, str]:
    """Draw every rate figure of ``rates`` into ``figures_dir`` (created if needed).

    Returns {(experiment, quantity, variable, target, group): file name} for every fitted group, so that the
    caller can link each rates row to its figure.
    """
    figures_dir = Path(figures_dir)
    figures_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for (experiment, quantity, variable), fits in rates.groupby(["experiment", "quantity", "variable"], sort=True):
        keys = list(dict.fromkeys(zip(fits["target"].astype(str), text_column(fits["group"]))))
        pages = [keys[i:i + GROUPS_PER_FIGURE] for i in range(0, len(keys), GROUPS_PER_FIGURE)]
        for page, page_keys in enumerate(pages):
            suffix = f"_p{page + 1}" if len(pages) > 1 else ""
            name = _file_name(f"rate_{experiment}_{quantity}_vs_{variable}{suffix}")
            rows = results[results["experiment"] == experiment]
            _draw_rate_figure(rows, fits, experiment, quantity, variable, page_keys, figures_dir / name)
            written.update({(experiment, quantity, variable, t, g): name for t, g in page_keys})
    return written


def _draw_rate_figure(rows, fits, experiment, quantity, variable, keys, path):
    labels = [target + (f"; {group}" if group else "") for target, group in keys]
    legends = _short_labels(labels)
    claim_ids = list(dict.fromkeys(fits["claim_id"]))
    styles = {c: _CLAIM_STYLES[i % len(_CLAIM_STYLES)] for i, c in enumerate(claim_ids)}
    together = [c for c in str(fits["varies_with"].iloc[0]).split(",") if c and c != "nan"]
    row_targets, row_groups = _row_keys(rows, variable, together)
    with sns.axes_style("whitegrid"), sns.plotting_context("paper", font_scale=0.9):
        fig = Figure(figsize=_SIZE, dpi=DPI)
        ax = fig.add_subplot()
        colors = sns.color_palette("colorblind", len(keys))
        floor_label = "floor (RMS)"
        for (target, group), legend, color in zip(keys, legends, colors):
            group_rows = rows[(row_targets == target) & (row_groups == group)]
            levels, values, floors, _ = level_arrays(group_rows, quantity, variable)
            if _draw_group(ax, levels, values, floors, color, legend, floor_label):
                floor_label = None
            fit = fits[(fits["target"].astype(str) == target) & (text_column(fits["group"]) == group)]
            _draw_fit(ax, fit, color, styles)
        ax.set_xscale("log")
        ax.set_yscale("log")
        _level_ticks(ax, np.unique(pd.to_numeric(rows[variable], errors="coerce").dropna()))
        ax.set_xlabel(VARIABLE_LABELS.get(variable, variable))
        ax.set_ylabel(QUANTITY_LABELS.get(quantity, quantity), fontsize=7)
        ax.set_title(f"{experiment}: {quantity} vs {variable}" + (f"\n{legends[0]}" if len(keys) == 1 else ""),
                     fontsize=8)
        handles, _ = ax.get_legend_handles_labels()
        handles += [Patch(color="0.35", alpha=0.18, label="points: RMS over seeds; band: seed min-max"),
                    Line2D([], [], color="0.35", ls="--", label="fit (window used)")]
        handles += [Line2D([], [], color="0.35", ls=styles[c], label=f"claim {c}") for c in claim_ids]
        ax.legend(handles=handles, fontsize=6, loc="best", framealpha=0.8)
        fig.tight_layout()
        _save(fig, path)


def _save(fig, path) -> None:
    """Save ``fig`` as PNG at ``path`` atomically (chargen_theory.outputs.write_atomic)."""
    write_atomic(path, lambda handle: fig.savefig(handle, format="png", dpi=DPI), binary=True)


def _level_ticks(ax, levels):
    """Label the x axis at the measured levels (at most 8 of them) instead of at powers of ten."""
    if len(levels) == 0:
        return
    shown = levels[np.unique(np.linspace(0, len(levels) - 1, min(len(levels), 8)).round().astype(int))]
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xticks(shown, [f"{v:.3g}" if v < 1 else format_value(float(v)) for v in shown])


def _draw_group(ax, levels, values, floors, color, label, floor_label) -> bool:
    """RMS line and min-max seed band of one group, and its floor; True if a floor was drawn."""
    finite = np.isfinite(values)
    has = finite.any(axis=1)
    low = np.where(finite, values, np.inf).min(axis=1)
    high = np.where(finite, values, -np.inf).max(axis=1)
    ax.fill_between(levels[has], low[has], high[has], color=color, alpha=0.18, lw=0)
    ax.plot(levels[has], rms_over_seeds(values)[has], "o-", color=color, ms=3.5, lw=1.2, label=label)
    if floors is None or not np.isfinite(floors).any():
        return False
    floor = rms_over_seeds(floors)
    keep = np.isfinite(floor)
    ax.plot(levels[keep], floor[keep], "x:", color=color, ms=3, lw=0.8, alpha=0.8, label=floor_label)
    return True


def _draw_fit(ax, fit, color, styles):
    if fit.empty:
        return
    first = fit.iloc[0]
    lo, hi, slope, intercept = first["level_min_used"], first["level_max_used"], first["slope"], first["intercept"]
    if not all(np.isfinite([lo, hi, slope, intercept])) or lo == hi:
        return
    x = np.geomspace(lo, hi, 20)
    ax.plot(x, np.exp(intercept) * x ** slope, "--", color=color, lw=1.0)
    centre = math.sqrt(lo * hi)
    y_centre = math.exp(intercept) * centre ** slope
    for _, row in fit.iterrows():
        ax.plot(x, y_centre * (x / centre) ** row["claimed_slope"], ls=styles[row["claim_id"]], color=color, lw=0.9,
                alpha=0.7)


# bracket_figures: (column suffix or column, legend, colour index); floors come from level_arrays' <column>_floor
_BRACKET_SERIES = (("{q}_upper", "upper bound (coupling to X_1)", 0), ("{q}_lower", "lower bound (Gelbrich / sliced)", 1),
                   ("total_w2", "EMD W2 to the law of X_T (total_w2)", 2),
                   ("early_stopping_upper", "early stopping: coupling X_T vs X_1", 3))


def bracket_figures(results: pd.DataFrame, rates: pd.DataFrame, figures_dir) -> dict[tuple, str]:
    """One log-log figure per group of a bracket quantity Q (rates rows with ci_method "bracket", e.g. Q =
    w2_target): the RMS over seeds (seed min-max band) of Q_upper, of Q_lower with its floor Q_lower_floor, of
    total_w2 with its floor and of early_stopping_upper where the table has them, the fitted slopes with their 95%
    CIs in the legend, and each claim's slope over the window (``claimed_slope_with_log``, what the verdict
    compares) as a line through the geometric centre of the upper bound. Returns {(experiment, quantity, variable,
    target, group): file name} like ``rate_figures``."""
    figures_dir = Path(figures_dir)
    figures_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    selected = rates[rates["ci_method"] == "bracket"] if "ci_method" in rates.columns else rates.iloc[:0]
    for (experiment, quantity, variable), fits in selected.groupby(["experiment", "quantity", "variable"], sort=True):
        rows = results[results["experiment"] == experiment]
        together = [c for c in str(fits["varies_with"].iloc[0]).split(",") if c and c != "nan"]
        row_targets, row_groups = _row_keys(rows, variable, together)
        for target, group in dict.fromkeys(zip(fits["target"].astype(str), text_column(fits["group"]))):
            tag = hashlib.sha256(f"{target}|{group}".encode()).hexdigest()[:8]
            name = _file_name(f"bracket_{experiment}_{quantity}_vs_{variable}_{target}_{tag}")
            claims = fits[(fits["target"].astype(str) == target) & (text_column(fits["group"]) == group)]
            group_rows = rows[(row_targets == target) & (row_groups == group)]
            _draw_bracket(group_rows, claims, quantity, variable, f"{experiment}: {quantity} vs {variable}\n"
                          f"{_cut('; '.join(p for p in (target, group) if p), 90)}", figures_dir / name)
            written[(experiment, quantity, variable, target, group)] = name
    return written


def _draw_bracket(rows, claims, quantity, variable, title, path):
    first = claims.iloc[0]
    slopes = {f"{quantity}_{side}": f", slope {_slope_text(first, side)}" for side in ("lower", "upper")}
    with sns.axes_style("whitegrid"), sns.plotting_context("paper", font_scale=0.9):
        fig = Figure(figsize=_SIZE, dpi=DPI)
        ax = fig.add_subplot()
        colors = sns.color_palette("colorblind", len(_BRACKET_SERIES))
        centre = None
        for column, label, color in _BRACKET_SERIES:
            column = column.format(q=quantity)
            if column not in rows.columns or not pd.to_numeric(rows[column], errors="coerce").notna().any():
                continue
            levels, values, floors, _ = level_arrays(rows, column, variable)
            _draw_group(ax, levels, values, floors, colors[color], label + slopes.get(column, ""),
                        f"floor of {column}")
            rms = rms_over_seeds(values)
            keep = np.isfinite(rms) & (rms > 0)
            if column == f"{quantity}_upper" and keep.any():
                centre = (math.exp(np.log(levels[keep]).mean()), math.exp(np.log(rms[keep]).mean()))
        for i, (_, claim) in enumerate(claims.iterrows()):
            slope = claim["claimed_slope_with_log"]
            slope = slope if np.isfinite(slope) else claim["claimed_slope"]
            lo, hi = claim["level_min_used"], claim["level_max_used"]
            if centre is None or not np.isfinite([lo, hi]).all():
                continue
            x = np.geomspace(lo, hi, 20)
            ax.plot(x, centre[1] * (x / centre[0]) ** slope, ls=_CLAIM_STYLES[i % len(_CLAIM_STYLES)], color="0.2",
                    lw=1.0, label=f"claim {claim['claim_id']} (slope {slope:.3g}): {claim['verdict']}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        _level_ticks(ax, np.unique(pd.to_numeric(rows[variable], errors="coerce").dropna()))
        ax.set_xlabel(VARIABLE_LABELS.get(variable, variable))
        ax.set_ylabel(f"bounds on {quantity}, W2 [data units]", fontsize=7)
        ax.set_title(title, fontsize=7)
        ax.legend(fontsize=5.5, loc="best", framealpha=0.8)
        fig.tight_layout()
        fig.savefig(path, dpi=DPI)


def _slope_text(fit, side: str) -> str:
    values = [fit.get(f"{side}_{c}", math.nan) for c in ("slope", "ci_low", "ci_high")]
    if not np.isfinite(values[0]):
        return "n/a"
    return f"{values[0]:.3g} [{values[1]:.3g}, {values[2]:.3g}]"


def slope_vs_intrinsic_dim(rates: pd.DataFrame, figures_dir, experiment: str = "intrinsic_dim") -> list[str]:
    """Measured slope (with its 95% CI) against d* for each ambient D, and every claim's slope at the same points
    (a claim in d*, like chargen_manifold_rate, traces a curve; a claim in D, like chargen_velocity_rate, a level
    line per D). One figure per quantity fitted in ``experiment``; returns the file names."""
    figures_dir = Path(figures_dir)
    figures_dir.mkdir(parents=True, exist_ok=True)
    if not {"d_star", "D"} <= set(rates.columns):
        return []
    sel = rates[(rates["experiment"] == experiment) & rates["d_star"].notna() & rates["D"].notna()]
    names = []
    for quantity, part in sel.groupby("quantity", sort=True):
        name = _file_name(f"slope_vs_dstar_{experiment}_{quantity}")
        claim_ids = list(dict.fromkeys(part["claim_id"]))
        with sns.axes_style("whitegrid"), sns.plotting_context("paper", font_scale=0.9):
            fig = Figure(figsize=_SIZE, dpi=DPI)
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
                        lambda v: (v != "out of scope").any()) if "verdict" in mine else None
                    fits = mine.drop_duplicates(subset=["target", "group"]).sort_values("d_star")
                    slot = d_index * len(rules) + r_index
                    x = fits["d_star"].to_numpy(float) + 0.05 * (slot - (slots - 1) / 2)
                    err = np.vstack([fits["slope"] - fits["ci_low"], fits["ci_high"] - fits["slope"]]).clip(min=0)
                    judged = np.array([True if in_scope is None else bool(in_scope[(t, g)])
                                       for t, g in zip(fits["target"], fits["group"])])
                    for mask, face, alpha in ((judged, color, 1.0), (~judged, "none", 0.45)):
                        if mask.any():
                            ax.errorbar(x[mask], fits["slope"].to_numpy()[mask], yerr=np.nan_to_num(err[:, mask]),
                                        fmt=markers[rule], color=color, mfc=face, ms=4.5, capsize=2, alpha=alpha)
                for claim_id in claim_ids:
                    claimed = rows[rows["claim_id"] == claim_id].drop_duplicates("d_star").sort_values("d_star")
                    style = _CLAIM_STYLES[claim_ids.index(claim_id) % len(_CLAIM_STYLES)]
                    ax.plot(claimed["d_star"], claimed["claimed_slope"], ls=style,
                            marker="_", ms=14, color=color, lw=0.9, alpha=0.8)
            handles = [Patch(color=color, label=f"D = {format_value(D)}") for D, color in zip(dims, colors)]
            handles += [Line2D([], [], color="0.35", marker=markers[rule], ls="", label=rule) for rule in rules]
            handles += [Line2D([], [], color="0.35", marker="o", mfc="none", ls="", alpha=0.45,
                               label="hollow: out of scope of every claim drawn (not judged)")]
            handles += [Line2D([], [], color="0.35", marker="_", ls=_CLAIM_STYLES[i % len(_CLAIM_STYLES)],
                               label=f"claim {c}")
                        for i, c in enumerate(claim_ids)]
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_xlabel("intrinsic dimension d*")
            ax.set_ylabel(f"log-log slope of {quantity} vs n")
            ax.set_title(f"{experiment}: fitted slope vs d* (95% CI); colour = D, marker = estimator and tuning rule",
                         fontsize=8)
            ax.legend(handles=handles, fontsize=6, loc="best", framealpha=0.8)
            fig.tight_layout()
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


def _short_labels(labels: list[str]) -> list[str]:
    """Keep only the "name=value" parts that differ between labels (all of them for a single label), cut to 60
    characters."""
    parts = [label.split("; ") for label in labels]
    if len(labels) > 1:
        common = set.intersection(*(set(p) for p in parts))
        parts = [[x for x in p if x not in common] or p[:1] for p in parts]
    return [_cut("; ".join(p), 60) for p in parts]


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 3] + "..."


def _file_name(stem: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", stem) + ".png"
