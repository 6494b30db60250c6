"""Sliced W2: our sorted 1-D W2 per direction vs POT's ot.sliced_wasserstein_distance; the W2 bracket's cost."""
from __future__ import annotations

import numpy as np
import ot

from _runner import interleaved, ratio_row
from chargen_theory import targets
from chargen_theory.metrics import bounds

NAME, ORDER = "sliced", 45

WHY = ("both project the two samples on the same L directions and sort every projection; ours does it in chunks of "
       "directions (2^22 values at a time) with the squared differences of the sorted rows, POT through "
       "ot.wasserstein_1d with uniform weights (a cumulative-weight merge). A miss means the chunking or the sort "
       "is slower than POT's vectorised merge at this size.")


def rows(settings):
    n, L = settings.pick(full=100_000, quick=10_000), settings.pick(full=100, quick=20)
    rng = settings.rng(450)
    x = rng.standard_normal((n, 2))
    y = rng.standard_normal((n, 2)) * np.array([2.0, 1.0]) + np.array([0.5, 0.0])
    U = rng.standard_normal((L, 2))
    U /= np.linalg.norm(U, axis=1, keepdims=True)
    last = {}

    def ours():  # the direction search of sliced_lower: W2^2 along every direction, every row used
        last["ours"] = float(np.sqrt(np.mean(bounds._search(U, x, y, None, n))))

    def pot():
        last["pot"] = float(ot.sliced_wasserstein_distance(x, y, projections=U.T, p=2))

    ours_t, pot_t = interleaved([ours, pot], settings.repeats)
    note = "" if abs(last["ours"] - last["pot"]) <= 1e-9 * last["pot"] else (
        f"VALUES DIFFER: ours {last['ours']!r}, POT {last['pot']!r}")
    out = [ratio_row(NAME, f"sliced W2 on the same {L} directions, n={n} per side, 2-D (speed-up)", ours_t, pot_t,
                     "s", ">= 1.0x", "ot.sliced_wasserstein_distance(projections=...)", note, ratio_of="peer/ours",
                     profile=ours, why=WHY)]

    # the bracket of a chargen_vs_n row: lower bounds on n_lower one-step-like samples against 8gaussians' exact
    # moments and quantiles, upper bound (coupling) on n_bracket paired rows; informational against 30 s
    n_lower, n_pairs = settings.pick(full=1_000_000, quick=100_000), settings.pick(full=100_000, quick=10_000)
    target = targets.get("8gaussians")
    sample = target.sample(n_lower, rng) + 0.05 * rng.standard_normal((n_lower, 2))
    paired = target.sample(n_pairs, rng)
    moved = paired + 0.05 * rng.standard_normal(paired.shape)
    quantile, moments = bounds.target_quantile(target), bounds.target_moments(target)
    sliced_t, bracket_t = interleaved([
        lambda: bounds.sliced_lower(sample, quantile=quantile, reference_moments=moments, rng=settings.rng(451)),
        lambda: (bounds.bracket(sample, target=target, rng=settings.rng(452)), bounds.coupling_upper(moved, paired))],
        min(settings.repeats, 3))
    limit = np.full(len(bracket_t), 30.0)
    out.append(ratio_row(NAME, f"sliced_lower alone, n={n_lower}, 2-D, 8gaussians' exact quantiles (time / 30 s)",
                         sliced_t, limit, "s", "-", "limit"))
    out.append(ratio_row(NAME, f"bracket: Gelbrich + sliced lower on n={n_lower} and coupling upper on {n_pairs} "
                               "pairs, 2-D (time / 30 s)", bracket_t, limit, "s", "<= 1.0x", "limit"))
    return out
