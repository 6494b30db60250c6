"""The generator contract: a map g(s, t, .) from the prior N(0, I_D) at time 0 towards the law of X_T.

A generator stores its hyperparameters in ``__init__`` (one attribute per argument, same name, nothing computed),
learns in ``fit(velocity, path, K, T, m, rng)`` and sets fitted attributes ending in ``_``; ``map(z, s, t)`` moves
states from time s to time t and ``sample(n, rng, steps)`` draws z ~ N(0, I) and maps it to T. Subclasses
implement ``_fit`` and ``_map`` on validated arguments and declare which (s, t) they can map (``TIMES``);
``chargen_theory.testing.check_generator`` checks the contract.

The teacher: distilling methods train on the same data, the K-step Euler characteristics of the velocity from m
prior draws (``teacher``); equal ``rng`` seeds give every method the same characteristics and the same held-out
split (the stream layout of ``CharacteristicGenerator.fit``).
"""
from __future__ import annotations

import inspect
from typing import NamedTuple

import numpy as np

from .. import _validate
from ..paths import Interpolant, get as get_path
from ..velocity.base import NotFittedError

TIMES = ("any", "to_end", "endpoint")
"""What ``map(z, s, t)`` accepts: any 0 <= s <= t <= T (g(s, s, .) is the identity); t = T only ("to_end",
g(T, T, .) the identity); or s = 0, t = T only ("endpoint")."""


class Teacher(NamedTuple):
    """Euler characteristics of the teacher velocity: ``chars`` (K + 1, m, D) float64 on ``grid`` (K + 1,),
    ``train`` / ``val`` trajectory indices (held-out split), ``nfe`` velocity point evaluations (m K)."""

    chars: np.ndarray
    grid: np.ndarray
    train: np.ndarray
    val: np.ndarray
    nfe: int


def teacher(velocity, K: int, T: float, m: int, dim: int, rng: np.random.Generator,
            validation_fraction: float = 0.1) -> tuple[Teacher, np.random.Generator, np.random.Generator]:
    """(Teacher, init_rng, batch_rng): m prior draws, K Euler steps of ``velocity`` on [0, T], a held-out split,
    and the two further streams of ``rng`` (network initialisation, batches). Raises solvers.DivergenceError if
    the Euler data blow up."""
    from .. import solvers

    data_rng, init_rng, batch_rng = rng.spawn(3)
    z = data_rng.standard_normal((m, dim))
    counted = solvers.counted(velocity)
    chars = np.asarray(solvers.euler(counted, z, K=K, T=T, return_path=True), dtype=np.float64)
    if chars.shape != (K + 1, m, dim):
        raise ValueError(f"velocity: Euler path has shape {chars.shape}, expected {(K + 1, m, dim)}")
    n_val = min(m - 1, max(1, round(float(validation_fraction) * m)))
    order = data_rng.permutation(m)
    return (Teacher(chars, np.linspace(0.0, T, K + 1), np.sort(order[n_val:]), np.sort(order[:n_val]),
                    counted.nfe * m), init_rng, batch_rng)


class Generator:
    """Base class of the generators.

    Fitted attributes set by ``fit`` for every generator: ``path_`` (Interpolant), ``K_``, ``T_``, ``dim_`` (D),
    ``nfe_per_sample_`` (network or velocity evaluations per one-step sample), ``nfe_fit_`` (teacher velocity
    point evaluations spent fitting), ``train_steps_`` (optimizer steps; 0 without training) and
    ``train_seconds_`` (wall time of the training loop).
    """

    name: str = "generator"
    TIMES: str = "any"

    # -- to implement (arguments already validated) ------------------------------------------------------------
    def _fit(self, velocity, m: int, rng: np.random.Generator) -> None:
        """Learn from ``velocity(t, x)`` (a callable; self.path_, K_, T_, dim_ set) with m prior draws."""
        raise NotImplementedError

    def _map(self, z: np.ndarray, s: float, t: float) -> np.ndarray:
        """g(s, t, z) for allowed s < t; z (n, D) float64 -> (n, D) float64."""
        raise NotImplementedError

    # -- public API --------------------------------------------------------------------------------------------
    def get_params(self) -> dict:
        """The hyperparameters: {argument of __init__: its stored value}."""
        return {p: getattr(self, p) for p in inspect.signature(type(self).__init__).parameters if p != "self"}

    def fit(self, velocity, path: str | Interpolant = "linear", K: int = 20, T: float = 1.0, m: int = 1000,
            rng: np.random.Generator | None = None, *, dim: int | None = None) -> "Generator":
        """Fit to ``velocity`` (a callable v(t, x) -> (n, D), a fitted estimator or a Target, whose exact
        velocity on ``path`` is used) with K Euler steps on [0, T] and m prior draws from ``rng``; returns self.

        ``dim`` (D) is inferred from ``velocity.dim_``, an integer ``.dim`` or ``.target.dim`` when not given.
        Deterministic for a given ``rng`` state.
        """
        from ..characteristic import MIN_M, _resolve_velocity

        path = get_path(path)
        K = _validate.positive_int("K", K)
        T = _validate.end_time("T", T)
        m = _validate.positive_int("m", m)
        if m < MIN_M:
            raise ValueError(f"m: must be an integer >= {MIN_M} (one characteristic is held out), got {m}")
        _validate.generator("rng", rng)
        call, dim = _resolve_velocity(velocity, path, dim)
        self.path_, self.K_, self.T_, self.dim_ = path, K, T, dim
        self._fit(call, m, rng)
        return self

    def memory_terms(self, K: int, m: int, D: int) -> dict[str, tuple[int, str]]:
        """A rough peak-memory estimate of fitting with K steps, m characteristics in D dimensions, in bytes by
        what drives it: {"K": the Euler characteristics (K + 1) x m x D with the m K / 10 held-out pairs through the
        network, "batch_size": one training batch, "width": the network's weights} as (bytes, what). Reads
        ``width``, ``depth`` and ``batch_size`` from the generator (128, 3 and 256 where it has none)."""
        width, depth, batch = getattr(self, "width", 128), getattr(self, "depth", 3), getattr(self, "batch_size", 256)
        per_pair = 4 * 4 * (3 * width * depth + 4 * (D + 2))  # float32 activations, gradients and inputs
        held_out = m * K // 10
        return {"K": (8 * 3 * (K + 1) * (m + 1) * D + (per_pair * held_out if held_out > batch else 0),
                      "the Euler characteristics, (K + 1) x m x D numbers, and the m K / 10 held-out pairs"),
                "batch_size": (per_pair * batch if held_out <= batch else 0, "one training batch through the network"),
                "width": (4 * 4 * width * width * depth, "the network's weights, gradients and Adam moments, "
                                                         "width^2 x depth numbers")}

    def _check_fitted(self) -> None:
        if not hasattr(self, "dim_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet: call fit first (fit(velocity, path, K, "
                                 f"T, m, rng), before map / sample)")

    def map(self, z, s: float = 0.0, t: float | None = None) -> np.ndarray:
        """g(s, t, z): states z (n, D) at time s moved to time t (default T), (n, D) float64. Which (s, t) a
        generator accepts: ``TIMES``; where s = t is allowed, g(s, s, z) = z exactly."""
        self._check_fitted()
        z = _validate.points("z", z, self.dim_)
        t = self.T_ if t is None else t
        s, t = float(_validate.finite_array("s", s, ndim=0)), float(_validate.finite_array("t", t, ndim=0))
        if not 0.0 <= s <= t <= self.T_:
            raise ValueError(f"s, t: need 0 <= s <= t <= T = {self.T_}, got s = {s}, t = {t}")
        if self.TIMES == "to_end" and t != self.T_:
            raise ValueError(f"t: the {self.name} generator maps to t = T = {self.T_} only, got t = {t}")
        if self.TIMES == "endpoint" and (s, t) != (0.0, self.T_):
            raise ValueError(f"s, t: the {self.name} generator maps s = 0 to t = T = {self.T_} only")
        if s == t:
            return z.copy()
        return np.asarray(self._map(z, s, t), dtype=np.float64)

    def sample(self, n: int, rng: np.random.Generator, steps: int = 1) -> np.ndarray:
        """n draws: z ~ N(0, I_D) from ``rng``, then g chained over ``steps`` uniform steps of [0, T] (steps = 1:
        the one-step generator). Returns (n, D) float64."""
        self._check_fitted()
        n = _validate.positive_int("n", n)
        steps = _validate.positive_int("steps", steps)
        _validate.generator("rng", rng)
        if steps != 1 and self.TIMES != "any":
            raise ValueError(f"steps: the {self.name} generator allows steps = 1 only, got {steps}")
        times = np.linspace(0.0, self.T_, steps + 1)
        x = rng.standard_normal((n, self.dim_))
        for s, t in zip(times[:-1], times[1:]):
            x = self.map(x, s, t)
        return x

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"
