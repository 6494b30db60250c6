"""Kernel velocity estimators: pair evaluations per second of predict vs the machine's torch.exp throughput."""
from __future__ import annotations

import functools

import torch

from _runner import interleaved, ratio_row
from chargen_theory import targets, velocity

NAME, ORDER = "kernel_velocity", 30

WHY = ("in torch.profiler the in-place exp is about half of predict, the two skinny GEMMs (logits with inner "
       "dimension D + 2, then the weighted sums) about 40% and the row maxima about 6%: every pair goes through "
       "memory three times, so ~0.5 is the ceiling of this blocked design; a fused pass (logit, exp and accumulate "
       "in one loop, e.g. a compiled kernel) or float32 logits would be needed to go beyond it.")


def rows(settings):
    n, q = settings.pick(full=(20_000, 2_000), quick=(4000, 1000))
    elems = settings.pick(full=1 << 24, quick=1 << 22)
    x1 = targets.get("8gaussians").sample(n, settings.rng(1))
    queries = 0.5 * x1[:q] + 0.5 * settings.rng(2).standard_normal((q, 2))  # the law of X_t at t = 0.5, linear path
    limit_in = torch.linspace(-20.0, 0.0, elems, dtype=torch.float64)
    limit_out = torch.empty_like(limit_in)

    def exp_limit():
        torch.exp(limit_in, out=limit_out)

    out = []
    for name in ("empirical", "kde", "nadaraya_watson"):
        est = velocity.get(name)
        # nadaraya_watson regresses on pairs_per_sample (t, X0) draws per sample: fit it on fewer samples so
        # that every estimator sums over the same number n of kernel centres
        per_sample = getattr(est, "pairs_per_sample", 1)
        est.fit(x1[:n // per_sample], "linear", rng=settings.rng(3))
        centres = next(getattr(est, a).shape[0] for a in ("covariates_", "samples_") if hasattr(est, a))
        predict = functools.partial(est.predict, 0.5, queries)
        ours_t, exp_t = interleaved([predict, exp_limit], settings.repeats)
        out.append(ratio_row(NAME, f"{name}.predict: pair evaluations/s ({q} queries x {centres} kernel centres, "
                             "2-D) vs torch.exp float64 elements/s", centres * q / ours_t, elems / exp_t, "pairs/s",
                             ">= 0.5x", "torch.exp", peer_unit="elements/s", why=WHY, profile=predict))
    return out
