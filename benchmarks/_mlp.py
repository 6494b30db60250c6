"""The trained MLP velocity shared by the mlp_train and euler_sample comparisons (fitted once per run)."""
from __future__ import annotations

import numpy as np

from chargen_theory import targets, velocity

WIDTH, DEPTH, LR, HELD_OUT = 128, 3, 1e-3, 0.1


def sizes(settings) -> tuple[int, int, int]:
    """(training samples, epochs, batch) of the benchmark's MLP."""
    return settings.pick(full=(10_000, 10, 256), quick=(2000, 3, 128))


def fit(settings, x1: np.ndarray):
    """Our ``mlp`` estimator fitted on x1 (8gaussians) with the benchmark's fixed epochs, batch, width and lr."""
    _, epochs, batch = sizes(settings)
    est = velocity.get("mlp", width=WIDTH, depth=DEPTH, epochs=epochs, batch_size=batch, lr=LR,
                       validation_fraction=HELD_OUT, patience=epochs, threads=settings.threads)
    return est.fit(x1, "linear", rng=settings.rng(20))


def problem(settings):
    """(x1, fitted mlp estimator), computed once per run and kept in ``settings.cache``."""
    if "mlp" not in settings.cache:
        x1 = targets.get("8gaussians").sample(sizes(settings)[0], settings.rng(19))
        settings.cache["mlp"] = (x1, fit(settings, x1))
    return settings.cache["mlp"]
