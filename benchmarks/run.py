#!/usr/bin/env python
"""Side-by-side benchmarks of chargen_theory against its peers and against the machine's own limits.

Usage::

    python benchmarks/run.py [--quick] [--only NAME,...] [--repeats R] [--threads 1|2] [--sweep-config TOML]
                             [--out PATH]

Runs every ``benchmarks/bench_*.py`` comparison (see ``_runner``), prints the table and writes it to
benchmarks/RESULTS.md with the machine description, the package versions and the date. A comparison whose peer is
missing gives a ``SKIPPED: <reason>`` row; any other failure stops the run with its traceback and a non-zero exit.
``--quick`` is a smoke run (< 1 min).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import _runner

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    modules = _runner.discover(HERE)
    names = [m.NAME for m in modules]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run with small sizes (< 1 min)")
    parser.add_argument("--only", default="", help=f"comma-separated benchmarks: {', '.join(names)}")
    parser.add_argument("--repeats", type=int, default=None, help="timings per measurement (default 5, quick 3)")
    parser.add_argument("--threads", type=int, default=1, choices=(1, 2),
                        help="torch and BLAS threads for every timing (default 1)")
    parser.add_argument("--sweep-config", type=Path, default=None,
                        help="config of the sweep_jobs row (default chargen_theory/configs/quick.toml; with --quick "
                             "chargen_theory/configs/tiny.toml)")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"where to write the table (default {RESULTS})")
    args = parser.parse_args(argv)

    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in only if s not in names]
    if unknown:
        parser.error(f"--only: unknown benchmark(s) {', '.join(unknown)}; allowed: {', '.join(names)}")
    if args.repeats is not None and args.repeats < 1:
        parser.error("--repeats: must be an integer >= 1")
    if args.sweep_config is not None and not args.sweep_config.is_file():
        parser.error(f"--sweep-config: no such file {args.sweep_config}")

    import threadpoolctl
    import torch

    torch.set_num_threads(args.threads)
    threadpoolctl.threadpool_limits(args.threads)
    settings = _runner.Settings(args.quick, args.repeats or (3 if args.quick else 5), args.threads,
                                args.sweep_config.resolve() if args.sweep_config else None)
    print(f"chargen_theory benchmarks ({'quick' if args.quick else 'full'}; {settings.repeats} repeats; "
          f"{args.threads} thread(s))", flush=True)
    start = time.perf_counter()
    rows = _runner.run([m for m in modules if not only or m.NAME in only], settings,
                       log=lambda line: print(line, flush=True))
    elapsed = time.perf_counter() - start
    print()
    print(_runner.markdown_table(rows))
    _runner.write_results(args.out, rows, settings, elapsed, argv)
    print(f"\nwrote {args.out} ({elapsed:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
