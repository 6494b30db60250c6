"""ct.metrics.w2 vs bare converged ot.emd2; w2_gaussian and w2_1d vs ot.emd2 (the payoff of exact formulas)."""
from __future__ import annotations

import numpy as np
import ot

from _runner import interleaved, ratio_row
from chargen_theory import metrics

NAME, ORDER = "w2_exact", 40

WHY = ("ours is the same ot.emd2 call plus input checks and log=True (to read POT's convergence code); a miss at "
       "small n is fixed overhead or machine noise (see the spread), at large n it would mean the iteration cap or "
       "the cost matrix differ.")


def emd2(x, y):
    """Bare POT: squared W2 of two equal-size uniform samples, with an iteration cap high enough to converge."""
    n = x.shape[0]
    return ot.emd2(ot.unif(n), ot.unif(n), ot.dist(x, y), numItermax=100_000_000)


def differ(name: str, ours: float, peer: float, tol: float) -> str:
    """A note when our value and sqrt(emd2) disagree beyond ``tol`` (relative), else ""."""
    if abs(ours - peer) <= tol * max(1.0, peer):
        return ""
    return f"VALUES DIFFER: {name} = {ours!r}, sqrt(emd2) = {peer!r}"


def rows(settings):
    m1, S1 = np.zeros(2), np.eye(2)
    m2, S2 = np.array([0.5, 0.5]), np.diag([2.25, 0.25])
    ns = settings.pick(full=(1000, 2000, 4000), quick=(250, 500))
    out = []
    for n in ns:
        rng = settings.rng(n)
        x = rng.multivariate_normal(m1, S1, size=n)
        y = rng.multivariate_normal(m2, S2, size=n)
        x1, y1 = x[:, :1], y[:, :1]
        last = {}  # the values of the timed calls, checked below without paying for them again

        def kept(key, fn):
            return lambda: last.__setitem__(key, float(fn()))

        fns = [kept("w2", lambda: metrics.w2(x, y)), kept("emd2", lambda: emd2(x, y)),
               lambda: metrics.w2_gaussian(m1, S1, m2, S2),
               kept("w2_1d", lambda: metrics.w2_1d(x1[:, 0], y1[:, 0])), kept("emd2_1d", lambda: emd2(x1, y1))]
        # seconds per call from n = 4000 on: fewer repeats, and the smaller sizes have warmed everything up
        heavy = n >= 4000 and n != ns[0]
        w2_t, emd2_t, gauss_t, w2_1d_t, emd2_1d_t = interleaved(fns, min(settings.repeats, 3) if heavy else
                                                                settings.repeats, warmup=0 if heavy else 1)
        reps = f", {len(w2_t)} repeats" if heavy else ""
        out.append(ratio_row(NAME, f"W2 exact, n={n}, 2-D (time{reps})", w2_t, emd2_t, "s", "<= 1.1x", "ot.emd2",
                             differ("w2", last["w2"], float(np.sqrt(last["emd2"])), 1e-9),
                             profile=lambda: metrics.w2(x, y), why=WHY))
        out.append(ratio_row(NAME, f"w2_gaussian (Bures, exact parameters) vs emd2 on n={n} samples (speed-up)",
                             gauss_t, emd2_t, "s", "-", "ot.emd2", ratio_of="peer/ours"))
        out.append(ratio_row(NAME, f"w2_1d (sorting) vs emd2 on the same n={n} 1-D samples (speed-up)", w2_1d_t,
                             emd2_1d_t, "s", "-", "ot.emd2",
                             differ("w2_1d", last["w2_1d"], float(np.sqrt(last["emd2_1d"])), 1e-8),
                             ratio_of="peer/ours"))
    return out
