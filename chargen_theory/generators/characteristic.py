"""The paper's characteristic generator and its endpoint-only baseline, as registry generators.

Both wrap ``chargen_theory.CharacteristicGenerator`` (docs/theory.md 1.5; fitted object in ``model_``), with its
hyperparameters and a default budget of ``max_steps`` optimizer steps.
"""
from __future__ import annotations

from ..characteristic import CharacteristicGenerator
from ._network import MAX_STEPS
from .base import Generator


class Characteristic(Generator):
    """One network g(s, t, x) = x + (t - s) u(s, t, x) fitted to the Euler characteristics on every pair of grid
    times plus ``semigroup_weight`` times the semigroup penalty (Ding et al., arXiv 2405.05512). Hyperparameters:
    those of ``CharacteristicGenerator`` (width, depth, activation, semigroup_weight, epochs, batch_size, lr,
    patience, validation_fraction, n_threads, max_steps). Fitted: ``model_`` (the CharacteristicGenerator)."""

    name = "characteristic"
    TIMES = "any"
    _ENDPOINT = False

    def __init__(self, width: int = 128, depth: int = 3, activation: str = "silu", semigroup_weight: float = 1.0,
                 epochs: int = 100, batch_size: int = 256, lr: float = 2e-3, patience: int = 15,
                 validation_fraction: float = 0.1, n_threads: int = 1, max_steps: int | None = MAX_STEPS):
        self.width = width
        self.depth = depth
        self.activation = activation
        self.semigroup_weight = semigroup_weight
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.n_threads = n_threads
        self.max_steps = max_steps
        self._model(None, "linear", 1, 1.0, None)._check_params()  # ValueError naming a bad hyperparameter
        if self._ENDPOINT and semigroup_weight != 1.0:
            raise ValueError(f"semigroup_weight: the {self.name} generator has no semigroup penalty; leave it out, "
                             f"got {semigroup_weight!r}")

    def _model(self, velocity, path, K, T, dim) -> CharacteristicGenerator:
        return CharacteristicGenerator(velocity, path, K, T, dim=dim, endpoint_only=self._ENDPOINT,
                                       **self.get_params())

    def _fit(self, velocity, m, rng) -> None:
        model = self._model(velocity, self.path_, self.K_, self.T_, self.dim_).fit(m, rng)
        self.model_ = model
        self.nfe_per_sample_, self.nfe_fit_ = 1, model.nfe_fit_
        self.train_steps_, self.train_seconds_ = model.steps_, model.train_seconds_

    def _map(self, z, s, t):
        return self.model_.map(z, s, t)


class Endpoint(Characteristic):
    """Plain distillation of the endpoint map: the same network class fitted to z -> Z_K alone (s = 0, t = T
    fixed, no semigroup penalty: a ``semigroup_weight`` other than its default is refused, not ignored)."""

    name = "endpoint"
    TIMES = "endpoint"
    _ENDPOINT = True
