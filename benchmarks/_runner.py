"""The shared benchmark runner: rows, interleaved timing, discovery of ``bench_*.py`` modules, the results table.

A comparison is one module ``benchmarks/bench_<name>.py`` exposing ``NAME`` (its name in the table and in
``--only``), ``ORDER`` (a number: where its rows go in the table) and ``rows(settings) -> list[Row]``; its docstring's
first line describes it. Only a missing peer may skip it (``need_peer`` raises ``Skipped``); any other exception,
ours included, propagates.
"""
from __future__ import annotations

import cProfile
import datetime
import importlib
import importlib.metadata
import importlib.util
import io
import os
import platform
import pstats
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Callable

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
PIP_HINT = "pip install -e '.[bench]' (lean: pip install --no-deps torchcfm flow_matching torchdiffeq)"


# ---------------------------------------------------------------------------------------------------------------
# Rows and timing
# ---------------------------------------------------------------------------------------------------------------
class Skipped(Exception):
    """A peer of a comparison is missing; the message says which and how to install it."""


def need_peer(module: str, dist: str) -> ModuleType:
    """Import a peer package; Skipped with the reason and the install hint if it cannot be imported."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        missing = (getattr(exc, "name", None) or "").split(".")[0] == module.split(".")[0]
        reason = "not installed" if missing else f"installed but not importable ({exc})"
        raise Skipped(f"{dist} {reason} — {PIP_HINT}") from None


@dataclass
class Row:
    """One comparison: ``ratio`` is ours relative to the peer/limit, oriented as ``goal`` states it."""

    bench: str
    what: str
    ours: str
    peer: str
    ratio: float | None = None
    spread: tuple[float, float] | None = None
    goal: str = "-"
    met: bool | None = None
    note: str = ""
    profile: Callable[[], object] | None = field(default=None, repr=False)
    why: str = ""  # why a missed goal is missed and what would close it (printed only when missed)
    ratio_unit: str = "x"

    def cells(self) -> list[str]:
        ratio = "-" if self.ratio is None else f"{self.ratio:.3g}{self.ratio_unit}"
        if self.ratio is not None and self.spread is not None:
            ratio += f" [{self.spread[0]:.3g}-{self.spread[1]:.3g}]"
        met = {True: "yes", False: "**NO**", None: "-"}[self.met]
        return [self.bench, self.what, self.ours, self.peer, ratio, self.goal, met]


def judge(ratio: float, goal: str) -> bool | None:
    """Whether ``ratio`` meets a goal written as ">= 1.2x" or "<= 1.1x"; None for informational rows."""
    parts = goal.split()
    if len(parts) != 2 or parts[0] not in (">=", "<="):  # "-": informational
        return None
    bound = float(parts[1].rstrip("x"))
    return ratio >= bound if parts[0] == ">=" else ratio <= bound


def fmt(values, unit: str) -> str:
    """'median unit (min-max)' with 3 significant digits."""
    values = np.asarray(values, float)
    med = np.median(values)
    if values.size == 1:
        return f"{med:.3g} {unit}"
    return f"{med:.3g} {unit} ({values.min():.3g}-{values.max():.3g})"


def ratio_row(bench: str, what: str, ours, peer, unit: str, goal: str, peer_name: str, note: str = "",
              profile=None, ratio_of: str = "ours/peer", why: str = "", peer_unit: str | None = None) -> Row:
    """A row from per-repeat measurements of the same quantity (a rate or a time) for ours and the peer.

    ``ratio_of`` "ours/peer" gives ratio = ours / peer per repeat; "peer/ours" the inverse (a speed-up from times).
    """
    ours, peer = np.asarray(ours, float), np.asarray(peer, float)
    per_repeat = ours / peer if ratio_of == "ours/peer" else peer / ours
    ratio = float(np.median(per_repeat))
    spread = (float(per_repeat.min()), float(per_repeat.max()))
    return Row(bench, what, fmt(ours, unit), f"{peer_name}: {fmt(peer, peer_unit or unit)}", ratio, spread, goal,
               judge(ratio, goal), note, profile, why)


def skip_row(bench: str, what: str, reason: str) -> Row:
    return Row(bench, what, f"SKIPPED: {reason}", "-")


def seconds(fn: Callable[[], object]) -> float:
    """Wall time of one call of fn, time.perf_counter."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleaved(fns: list[Callable[[], object]], repeats: int, warmup: int = 1) -> list[np.ndarray]:
    """Per-repeat wall times of each fn; within a repeat the order alternates so that drift hits all fns alike."""
    for _ in range(warmup):
        for fn in fns:
            fn()
    times = [[] for _ in fns]
    for r in range(repeats):
        order = range(len(fns)) if r % 2 == 0 else reversed(range(len(fns)))
        for i in order:
            times[i].append(seconds(fns[i]))
    return [np.array(t) for t in times]


@dataclass
class Settings:
    """What every comparison gets: the run's mode, repeats, threads, sweep config and a cache shared between them."""

    quick: bool
    repeats: int
    threads: int
    sweep_config: Path | None = None  # None: the sweep_jobs row's own default
    cache: dict = field(default_factory=dict)

    def pick(self, *, full, quick):
        """The full-run or the quick-run value of a problem size."""
        return quick if self.quick else full

    def rng(self, tag) -> np.random.Generator:
        """A fresh generator per use, fixed seeds, so that every run times the same data."""
        return np.random.default_rng([20240512, tag])


# ---------------------------------------------------------------------------------------------------------------
# Discovery and running
# ---------------------------------------------------------------------------------------------------------------
def discover(folder: Path) -> list[ModuleType]:
    """The ``bench_*.py`` modules of ``folder``, imported (errors propagate) and sorted by ORDER."""
    modules = []
    for path in sorted(Path(folder).glob("bench_*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[path.stem] = module
        spec.loader.exec_module(module)
        if not (isinstance(getattr(module, "NAME", None), str) and isinstance(getattr(module, "ORDER", None),
                (int, float)) and callable(getattr(module, "rows", None))):
            raise TypeError(f"{path}: a bench module needs NAME (a str), ORDER (a number) and rows(settings)")
        modules.append(module)
    names = [m.NAME for m in modules]
    duplicate = sorted({n for n in names if names.count(n) > 1})
    if duplicate:
        raise ValueError(f"{folder}: NAME {', '.join(duplicate)} declared by more than one bench_*.py module")
    return sorted(modules, key=lambda m: m.ORDER)


def describe(module: ModuleType) -> str:
    """The first line of a module's docstring, without the final full stop."""
    return (module.__doc__ or module.NAME).strip().splitlines()[0].rstrip(".")


def run(modules: list[ModuleType], settings: Settings, log: Callable[[str], None] = print) -> list[Row]:
    """All rows of ``modules`` in order; a module whose peer is missing gives one SKIPPED row."""
    rows: list[Row] = []
    for module in modules:
        name = module.NAME
        start = time.perf_counter()
        try:
            new = module.rows(settings)
        except Skipped as exc:
            new = [skip_row(name, describe(module), str(exc))]
            log(f"[{name}] SKIPPED: {exc}")
        else:
            for row in new:
                log(f"[{name}] {' | '.join(row.cells()[1:])}" + (f"  ({row.note})" if row.note else ""))
        log(f"[{name}] {time.perf_counter() - start:.1f} s")
        rows.extend(new)
    return rows


# ---------------------------------------------------------------------------------------------------------------
# Machine, versions, table, RESULTS.md
# ---------------------------------------------------------------------------------------------------------------
def machine() -> dict[str, str]:
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    ram = "unknown"
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal"):
                    ram = f"{int(line.split()[1]) / 2**20:.1f} GiB"
                    break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "unknown"
    return {"CPU": cpu, "cores": f"{os.cpu_count()} logical, {usable} usable", "RAM": ram,
            "OS": platform.platform(), "Python": platform.python_version(), "load average at start (1/5/15 min)": load}


def versions() -> dict[str, str]:
    out = {}
    for dist in ("chargen_theory", "numpy", "scipy", "torch", "POT", "scikit-learn", "joblib", "dask",
                 "torchcfm", "flow_matching", "torchdiffeq"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = "not installed"
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        out["git commit"] = head + (" (uncommitted changes)" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        out["git commit"] = "unknown"
    return out


HEADER = ["bench", "what", "ours", "peer / limit", "ratio [spread]", "goal", "met?"]


def markdown_table(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for row in rows:
        lines.append("| " + " | ".join(c.replace("|", "/") for c in row.cells()) + " |")
    return "\n".join(lines)


def profile_line(fn: Callable[[], object], top: int = 4) -> str:
    """The top functions by own time in one cProfile'd call of fn."""
    prof = cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    stats = pstats.Stats(prof, stream=io.StringIO())
    entries = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:top]
    total = sum(v[2] for v in stats.stats.values()) or 1.0
    parts = []
    for (filename, lineno, func), (_, _, tottime, _, _) in entries:
        where = Path(filename).name if filename != "~" else "builtin"
        parts.append(f"`{where}:{func}` {100 * tottime / total:.0f}%")
    return ", ".join(parts)


def write_results(path: Path, rows: list[Row], settings: Settings, elapsed: float, argv: list[str]) -> None:
    lines = ["# Benchmark results", "",
             f"Written by `python benchmarks/run.py {' '.join(argv)}` on "
             f"{datetime.datetime.now().astimezone().isoformat(timespec='seconds')} in {elapsed:.0f} s "
             f"({'quick smoke run' if settings.quick else 'full run'}; {settings.repeats} repeats per timing, median "
             f"[min-max of the per-repeat ratio]; torch and BLAS threads fixed at {settings.threads}).", "",
             "## Machine", ""]
    lines += [f"- {k}: {v}" for k, v in machine().items()]
    lines += ["", "## Versions", ""]
    lines += [f"- {k}: {v}" for k, v in versions().items()]
    lines += ["", "## Results", "", markdown_table(rows), ""]
    notes = [r for r in rows if r.note]
    if notes:
        lines += ["## Notes", ""]
        lines += [f"- {r.bench} / {r.what}: {r.note}" for r in notes]
        lines.append("")
    missed = [r for r in rows if r.met is False]
    if missed:
        lines += ["## Missed goals: why, and the profile of one call of ours (cProfile, top functions by own time)",
                  ""]
        for r in missed:
            text = f"- {r.bench} / {r.what}: {r.why or 'no diagnosis written for this row.'}"
            if r.profile is not None:
                text += f" Profile: {profile_line(r.profile)}."
            lines.append(text)
        lines.append("")
    path.write_text("\n".join(lines))
