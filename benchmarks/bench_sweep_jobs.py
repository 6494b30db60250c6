"""Sweep scaling: chargen-theory run --jobs 2 vs --jobs 1 wall time."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

from _runner import ROOT, ratio_row

NAME, ORDER = "sweep_jobs", 70

WHY = ("each loky worker starts a fresh interpreter and imports torch, POT and the package before its first cell (see "
       "the note), which cells of well under a second cannot repay; a larger config, a persistent worker pool, or "
       "lazier imports in the experiment modules (POT only where W2 is computed) would close it.")


def rows(settings):
    config = settings.sweep_config or ROOT / "chargen_theory" / settings.pick(full="configs/quick.toml", quick="configs/tiny.toml")
    exe = shutil.which("chargen-theory")
    command = [exe] if exe else [sys.executable, "-m", "chargen_theory"]

    def run(jobs: int, out: str) -> tuple[float, float]:
        """(wall seconds of the whole command, seconds the CLI reports for the sweep itself)."""
        start = time.perf_counter()
        done = subprocess.run(command + ["run", str(config), "--jobs", str(jobs), "--force", "--no-report", "--out",
                                         out], cwd=ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(f"chargen-theory run --jobs {jobs} exited {done.returncode}:\n{done.stderr}")
        reported = re.search(r"^sweep: .* in ([0-9.]+) s", done.stderr, re.MULTILINE)
        return wall, float(reported.group(1)) if reported else float("nan")

    walls, sweeps = {1: [], 2: []}, {1: [], 2: []}
    with tempfile.TemporaryDirectory() as tmp:
        for jobs in (1, 2):
            wall, swept = run(jobs, os.path.join(tmp, f"jobs{jobs}"))
            walls[jobs].append(wall)
            sweeps[jobs].append(swept)
    shown = config.relative_to(ROOT) if config.is_relative_to(ROOT) else config
    what = f"chargen-theory run {shown} --force --no-report: --jobs 2 vs --jobs 1"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import torch, ot"], check=True)
    imports = time.perf_counter() - start
    cells = [f"{k}: {v:.3g} s" for k, v in (("jobs 1 sweep", np.median(sweeps[1])),
                                             ("jobs 2 sweep", np.median(sweeps[2])))]
    note = (f"{', '.join(cells)}; a fresh interpreter's `import torch, ot` takes {imports:.2g} s, which every loky "
            "worker pays before its first cell, so short sweeps gain little from --jobs")
    return [ratio_row(NAME, f"{what}, wall time of the command (speed-up)", walls[2], walls[1], "s", ">= 1.7x",
                      "--jobs 1", ratio_of="peer/ours", why=WHY),
            ratio_row(NAME, f"{what}, sweep time the CLI reports (no interpreter start or imports; includes worker "
                      "start-up) (speed-up)", sweeps[2], sweeps[1], "s", ">= 1.7x", "--jobs 1", note,
                      ratio_of="peer/ours", why=WHY)]
