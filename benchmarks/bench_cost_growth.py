"""Growth of cost with n: log-log exponent of time vs n for estimator fit, predict and W2."""
from __future__ import annotations

import numpy as np

from _runner import Row, interleaved, judge
from chargen_theory import metrics, targets, velocity

NAME, ORDER = "cost_growth", 80

WHY = ("an exponent above the bound at small n usually means fixed per-call costs are still shrinking relative to the "
       "work (rerun the full sizes); at full sizes it is a super-linear algorithm (e.g. a tree build, O(N log N) in "
       "the N = pairs_per_sample * n regression pairs) or memory growth out of cache.")


def exponent_row(what: str, ns, ts, goal: str) -> Row:
    """The least-squares slope p of log(time) against log(n), judged against ``goal``."""
    slope = float(np.polyfit(np.log(ns), np.log(ts), 1)[0])
    return Row(NAME, f"{what}: exponent p of (median time) ~ n^p, n = {', '.join(map(str, ns))}",
               f"{ts[0]:.3g} s -> {ts[-1]:.3g} s", "-", slope, None, goal, judge(slope, goal), ratio_unit="", why=WHY)


def rows(settings):
    target = targets.get("8gaussians")
    q = settings.pick(full=2_000, quick=1000)
    queries = settings.rng(14).standard_normal((q, 2))
    ns = settings.pick(full=(1000, 2000, 4000, 8000), quick=(500, 1000, 2000))
    out = []
    for name in ("nadaraya_watson", "knn"):
        fit_t, pred_t = [], []
        for n in ns:
            x1 = target.sample(n, settings.rng(15))
            est = velocity.get(name)
            (ft,) = interleaved([lambda: est.fit(x1, "linear", rng=settings.rng(16))], settings.repeats)
            (pt,) = interleaved([lambda: est.predict(0.5, queries)], settings.repeats)
            fit_t.append(np.median(ft))
            pred_t.append(np.median(pt))
        for what, ts in (("fit", fit_t), (f"predict ({q} queries)", pred_t)):
            out.append(exponent_row(f"{name}.{what}", ns, ts, "<= 1.2"))
    w2_ns = settings.pick(full=(500, 1000, 2000), quick=(200, 400, 800))
    w2_t = []
    for n in w2_ns:
        x, y = target.sample(n, settings.rng(17)), target.sample(n, settings.rng(18))
        (wt,) = interleaved([lambda: metrics.w2(x, y)], settings.repeats)
        w2_t.append(np.median(wt))
    out.append(exponent_row("metrics.w2 (2-D)", w2_ns, w2_t, "<= 3.0"))
    return out

