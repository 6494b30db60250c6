"""One-step characteristic generator vs K-step Euler: speed-up at equal sample count, W2 of each."""
from __future__ import annotations

import functools

from _runner import interleaved, ratio_row, seconds
from chargen_theory import metrics, solvers, targets, velocity
from chargen_theory.generators.characteristic import CharacteristicGenerator

NAME, ORDER = "one_step", 60


def rows(settings):
    n, m, K = settings.pick(full=(1000, 1000, 20), quick=(500, 500, 10))
    target = targets.get("8gaussians")
    field = velocity.get("nadaraya_watson").fit(target.sample(n, settings.rng(8)), "linear", rng=settings.rng(9))
    gen = CharacteristicGenerator(width=64, depth=3, epochs=settings.pick(full=30, quick=5), max_steps=None,
                                  n_threads=settings.threads)
    fit_s = seconds(lambda: gen.fit(field, "linear", K=K, T=1.0, m=m, rng=settings.rng(10), dim=2))
    z = settings.rng(11).standard_normal((m, 2))
    one = functools.partial(gen.map, z)
    many = functools.partial(solvers.euler, field, z, K)
    one_t, many_t = interleaved([one, many], settings.repeats)
    reference = target.sample(m, settings.rng(12))
    floor = metrics.w2(target.sample(m, settings.rng(13)), reference)
    w2_one, w2_many = metrics.w2(one(), reference), metrics.w2(many(), reference)
    return [ratio_row(NAME, f"8gaussians, m={m} samples: one network call vs K={K} Euler steps of the "
                      f"nadaraya_watson fitted on n={n} (speed-up)", one_t, many_t, "s", "-", "Euler",
                      f"W2 to {m} target samples: one-step {w2_one:.3f}, K-step Euler {w2_many:.3f}, "
                      f"floor (two target samples) {floor:.3f}; generator fit {fit_s:.1f} s "
                      f"({gen.epochs_} epochs, width 64, depth 3)", ratio_of="peer/ours")]
