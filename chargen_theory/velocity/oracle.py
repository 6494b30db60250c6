"""The oracle: the target's exact velocity, a control that every velocity error must put at zero."""
from __future__ import annotations

import numpy as np

from ..targets.base import Target
from .base import VelocityEstimator


class OracleVelocity(VelocityEstimator):
    """v_hat = target.velocity(t, x, path): exact, whatever the samples (``fit`` only records the path).

    Parameters
    ----------
    target : a ``chargen_theory.targets`` Target.
    """

    name = "oracle"
    claim_classes = {"oracle": {}}

    def __init__(self, target: Target):
        if not isinstance(target, Target):
            raise ValueError(f"target: must be a chargen_theory Target (e.g. ct.targets.get('gmm', ...)), "
                             f"got {type(target).__name__}")
        self.target = target

    def _fit(self, x1, path, rng) -> None:
        if x1.shape[1] != self.target.dim:
            raise ValueError(f"x1: must have shape (n, {self.target.dim}) (the target's dimension), got {x1.shape}")

    def _predict(self, t: np.ndarray, x: np.ndarray) -> np.ndarray:
        return self.target.velocity(t, x, self.path_)
