#!/usr/bin/env python
"""Time ``ct.metrics.sliced_lower`` (held-out max-sliced lower bound with its bootstrap CI and floor) against POT's
``ot.sliced_wasserstein_distance`` on the same two samples with the same number of random projections.

Usage::

    python benchmarks/bench_sliced.py [--n 1000000] [--d 2] [--directions 100] [--repeats 3] [--threads 1]

The two calls are timed alternately in every repeat after one warm-up of each, so that drifting machine load hits
both; the printed ratio is the median over repeats of (POT time / our time), > 1 meaning ours is faster. They do
not compute the same number: POT returns the mean over directions of the 1-D W2 on all rows; ours searches the
directions on a capped subsample of half of the rows (``max_search``), evaluates the best one on the other half and
bootstraps that 1-D W2 (``n_boot`` replicates on at most ``max_boot_rows`` rows). Memory: POT holds two (n, L)
projection matrices (1.6 GB at n = 10^6, L = 100).
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def _timed(fn):
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def compare(n: int = 10 ** 6, d: int = 2, n_directions: int = 100, repeats: int = 3, threads: int | None = 1,
            seed: int = 0, **ours_options) -> dict:
    """Interleaved timings of ours and POT on x ~ N(0, I_d), y ~ N(0.5 e_1, diag(4, 1, ..., 1)) with n rows each.

    Returns {"ours_s": [...], "pot_s": [...], "ratios": [...], "median_ratio": POT / ours, "ours_value",
    "pot_value", "exact_w2"} and prints a one-line summary. threads: BLAS threads during the timings
    (threadpoolctl), None to leave them as they are. ours_options: passed to ``sliced_lower``, e.g.
    ``max_search=10**9`` to search on every row of the split as POT does.
    """
    import ot

    import chargen_theory as ct

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    scale = np.ones(d)
    scale[0] = 2.0
    y = rng.standard_normal((n, d)) * scale
    y[:, 0] += 0.5
    exact = float(np.sqrt(0.25 + 1.0))  # W2 between the two laws: shift 0.5 and scale 1 -> 2 along e_1

    def ours():
        return ct.metrics.sliced_lower(x, y, rng=np.random.default_rng(seed), n_directions=n_directions,
                                        **ours_options).value

    def pot():
        return float(ot.sliced_wasserstein_distance(x, y, n_projections=n_directions, p=2, seed=seed))

    limiter = None
    if threads is not None:
        from threadpoolctl import threadpool_limits

        limiter = threadpool_limits(threads)
    try:
        ours()  # warm-up (imports, first-touch allocations)
        pot()
        ours_s, pot_s, ratios = [], [], []
        for _ in range(repeats):
            t_ours, ours_value = _timed(ours)
            t_pot, pot_value = _timed(pot)
            ours_s.append(t_ours)
            pot_s.append(t_pot)
            ratios.append(t_pot / t_ours)
    finally:
        if limiter is not None:
            limiter.unregister()
    result = {"ours_s": ours_s, "pot_s": pot_s, "ratios": ratios, "median_ratio": statistics.median(ratios),
              "ours_value": ours_value, "pot_value": pot_value, "exact_w2": exact}
    options = "".join(f", {k}={v}" for k, v in ours_options.items())
    print(f"sliced W2, n={n}, d={d}, {n_directions} directions, {repeats} repeats{options}: "
          f"ours {statistics.median(ours_s):.3g} s ({min(ours_s):.3g}-{max(ours_s):.3g}), "
          f"POT {statistics.median(pot_s):.3g} s ({min(pot_s):.3g}-{max(pot_s):.3g}), "
          f"median ratio POT/ours {result['median_ratio']:.3g}x [{min(ratios):.3g}-{max(ratios):.3g}]; "
          f"values: ours (held-out max-sliced lower bound) {ours_value:.4g}, POT (mean sliced) {pot_value:.4g}, "
          f"exact W2 {exact:.4g}")
    return result


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10 ** 6)
    parser.add_argument("--d", type=int, default=2)
    parser.add_argument("--directions", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--max-search", type=int, default=None, help="sliced_lower's max_search (default its own)")
    args = parser.parse_args(argv)
    options = {} if args.max_search is None else {"max_search": args.max_search}
    compare(args.n, args.d, args.directions, args.repeats, args.threads, **options)


if __name__ == "__main__":
    main()
