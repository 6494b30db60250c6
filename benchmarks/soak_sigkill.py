"""SIGKILL soak of the output folder (issue 15): kill ``chargen-theory run tiny`` (sweep, then report) at random
moments, ``--kills`` times in a row, then let one run finish.

Before each attempt a random part of the cache is deleted, so that kills land in the sweep as well as in the
report. After every kill: no output file is empty (0 bytes), every JSON file parses, and a results.csv / run.json
pair either matches (run.json's results_sha256) or is refused by ``chargen-theory report``. At the end the resumed
table must equal an uninterrupted run's (timing columns aside) and report.md must be complete.

    PYTHONPATH=$PWD python benchmarks/soak_sigkill.py [--kills 20] [--seed 0] [--jobs 1]

Prints one line per kill (phase, seconds after start, files present) and a summary; exit status 1 on any failure.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import chargen_theory as ct
from chargen_theory import outputs


def run_cli(out: Path, jobs: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "chargen_theory", "run", "tiny", "--out", str(out), "--jobs",
                             str(jobs)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def problems(out: Path) -> list[str]:
    """What is wrong with the folder a kill left."""
    found = []
    for path in out.rglob("*"):
        if not path.is_file() or path.name.startswith(outputs.TEMP_PREFIX) or path.name == outputs.LOCK_NAME:
            continue
        if path.stat().st_size == 0:
            found.append(f"0-byte {path.relative_to(out)}")
        elif path.suffix == ".json":
            try:
                json.loads(path.read_text())
            except ValueError:
                found.append(f"unparsable {path.relative_to(out)}")
    table, sidecar = out / "results.csv", out / "run.json"
    if table.is_file() and sidecar.is_file():
        if json.loads(sidecar.read_text()).get("results_sha256") != hashlib.sha256(table.read_bytes()).hexdigest():
            done = subprocess.run([sys.executable, "-m", "chargen_theory", "report", str(out)], capture_output=True,
                                  text=True)
            if done.returncode != 2 or "does not match run.json" not in done.stderr:
                found.append("a mismatched results.csv / run.json pair was not refused")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        reference, out = Path(tmp) / "reference", Path(tmp) / "soak"
        start = time.perf_counter()
        proc = run_cli(reference, args.jobs)
        _, err = proc.communicate()
        full = time.perf_counter() - start
        assert proc.returncode == 0, err
        kills, attempts, phases = 0, 0, {"start-up": 0, "sweep": 0, "report": 0}
        while kills < args.kills:
            attempts += 1
            cache = out / "cache"
            if cache.is_dir():
                for entry in cache.glob("*.json"):
                    if rng.uniform() < 0.5:
                        entry.unlink()
            delay = rng.uniform(0.5, 1.1 * full)
            proc = run_cli(out, args.jobs)
            time.sleep(delay)
            if proc.poll() is not None:  # finished before the kill: not a kill
                proc.communicate()
                continue
            proc.send_signal(signal.SIGKILL)
            _, err = proc.communicate()
            kills += 1
            phase = "report" if "sweep:" in err else "sweep" if (out / "cache").is_dir() else "start-up"
            phases[phase] += 1
            found = problems(out)
            failures += [f"kill {kills}: {p}" for p in found]
            present = sorted(str(p.relative_to(out)) for p in out.glob("*") if p.name != "cache")
            print(f"kill {kills:2d} at {delay:4.1f} s ({phase}): {'OK' if not found else found}; {present}")
        proc = run_cli(out, args.jobs)
        _, err = proc.communicate()
        if proc.returncode != 0:
            failures.append(f"the final resume failed: {err.strip()[-300:]}")
        else:
            resumed, expected = (pd.read_csv(d / "results.csv") for d in (out, reference))
            try:
                pd.testing.assert_frame_equal(ct.sweep.comparable(resumed), ct.sweep.comparable(expected))
            except AssertionError as error:
                failures.append(f"the resumed table differs from the uninterrupted one: {error}")
            failures += [f"after the resume: {p}" for p in problems(out)]
            if "## Verdicts" not in (out / "report.md").read_text():
                failures.append("report.md is incomplete after the resume")
    print(f"{kills} kills in {attempts} attempts ({phases}); uninterrupted run + report {full:.1f} s; "
          f"{'all checks passed' if not failures else f'{len(failures)} failure(s)'}")
    for failure in failures:
        print("FAIL", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
