"""2-D figure panels of a fitted characteristic generator (for the report; no display needed).

``sweep_panels`` draws one panel per 2-D family of the kinds that declare a panel (``Kind.panel``: ``chargen_vs_n``)
in a sweep, from the same generator as one row of its results table.

Figures are built as ``matplotlib.figure.Figure`` objects with the Agg canvas, never through pyplot, so nothing is
opened on screen and no global backend is switched.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import _validate
from ..study import outputs


def characteristics_panel(target, generator, rng: np.random.Generator, ax=None, n: int = 1000, n_paths: int = 12,
                          coords: tuple[int, int] = (0, 1)):
    """Target samples, one-step samples g(0, T, z) and a few Euler characteristics with the network's own.

    Parameters
    ----------
    target : object with ``sample(n, rng)`` and ``dim`` (the target of the flow, drawn at t = 1).
    generator : a fitted generator with ``teacher_`` (``generators.CharacteristicGenerator``: its stored Euler
        characteristics are drawn, no new velocity evaluations).
    rng : numpy Generator for the target and one-step samples.
    ax : matplotlib Axes to draw on; a new Agg figure is made if None.
    n : number of target and of one-step samples.
    n_paths : number of held-out Euler characteristics drawn (solid), each with the learned characteristic
        t_k -> g(0, t_k, z) on the same grid (dashed; only for a generator that maps any s <= t).
    coords : the two coordinates plotted (a projection when D > 2).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import seaborn as sns
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    generator._check_fitted()
    n = _validate.positive_int("n", n)
    n_paths = _validate.positive_int("n_paths", n_paths)
    i, j = (int(c) for c in coords)
    if not (0 <= i < target.dim and 0 <= j < target.dim and i != j):
        raise ValueError(f"coords: must be two distinct coordinates in 0..{target.dim - 1}, got {coords!r}")
    if ax is None:
        fig = Figure(figsize=(5, 5.6), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    colors = sns.color_palette("colorblind")

    y = target.sample(n, rng)
    x = generator.sample(n, rng)
    ax.scatter(y[:, i], y[:, j], s=3, alpha=0.35, color=colors[0], label="target samples (t = 1)", rasterized=True)
    ax.scatter(x[:, i], x[:, j], s=3, alpha=0.35, color=colors[1], label=f"one-step g(0, {generator.T_:g}, z)",
               rasterized=True)

    data = generator.teacher_
    chars = data.chars[:, data.val[:n_paths]]  # (K + 1, n_paths, D)
    ax.plot(chars[:, :, i], chars[:, :, j], color=colors[2], lw=1.0)
    ax.plot([], [], color=colors[2], lw=1.0, label=f"Euler characteristics (K = {generator.K_})")
    if generator.TIMES == "any":
        learned = np.stack([generator.map(chars[0], 0.0, t) for t in data.grid])
        ax.plot(learned[:, :, i], learned[:, :, j], color=colors[3], lw=1.0, ls="--")
        ax.plot([], [], color=colors[3], lw=1.0, ls="--", label="learned g(0, t_k, z)")
    ax.scatter(chars[0, :, i], chars[0, :, j], s=12, color="k", zorder=3, label="z (start)")
    ax.set_xlabel(f"x[{i}]")
    ax.set_ylabel(f"x[{j}]")
    ax.set_aspect("equal", adjustable="datalim")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, fontsize="small", markerscale=2, frameon=False)
    return fig


def sweep_panels(cfg, out) -> list[Path]:
    """For every family (the cell less its level parameters: target, its parameters, estimator, ...) of a kind that
    declares a panel (``Kind.panel``: ``chargen_vs_n``) on a 2-D target with a generator that asks for one
    (``Generator.PANEL``: characteristic, endpoint) in ``cfg``: refit its seed-0 unit at the largest level from the
    sweep's own random stream, i.e. the generator of that results row, and save
    ``out``/figures/panel_<target>_<estimator>_<cell id>_<config name>.png atomically while the folder is locked.
    Returns the paths written.

    Costs one extra cell per family; ``chargen_theory.report.write_report`` links the panels.
    """
    from .. import generators
    from ..study import cells, experiments, sweep

    largest = {}
    for unit in sweep.units(cfg):
        kind = experiments.get(unit.experiment)
        if (kind.panel is None or unit.seed != 0 or unit.cell.get("D") != 2
                or not generators.generator_class(unit.cell["generator"]).PANEL):
            continue
        level = [unit.cell[key] for key in kind.level]
        family = cells.cell_id(unit.experiment, {k: v for k, v in unit.cell.items() if k not in kind.level})
        if family not in largest or level > largest[family][0]:
            largest[family] = (level, unit)
    if not largest:
        return []
    with outputs.locked(out):
        figures = outputs.subfolder(out, "figures")
        return [_panel(unit, figures, family, cfg.name) for family, (_, unit) in sorted(largest.items())]


def _panel(unit, figures: Path, family: str, config: str) -> Path:
    """Refit ``unit`` (the computation of its results row, through its kind's ``panel``), save its panel in
    ``figures`` atomically (the file name ends in the config's name: two configs never share one); its path."""
    from ..study import experiments, sweep
    from .plots import file_stem
    from ..study.experiments import build

    with sweep.replay(unit) as (cell, rng):
        generator = experiments.get(unit.experiment).panel(cell, rng)
    fig = characteristics_panel(build.target(cell), generator, np.random.default_rng(0))
    fig.suptitle(f"{cell['target']}, {cell['estimator']}: n = {cell['n']}, m = {cell['m']}, K = {cell['K']}, "
                 f"T = {cell['T']:g} (seed 0)", fontsize="small")
    path = figures / f"panel_{cell['target']}_{cell['estimator']}_{family[:6]}_{file_stem(config)}.png"
    outputs.write_atomic(path, lambda handle: fig.savefig(handle, format="png", dpi=100), binary=True)
    return path
