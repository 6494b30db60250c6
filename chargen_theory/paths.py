"""Interpolants X_t = alpha(t) X0 + beta(t) X1 with X0 ~ N(0, I) and X1 ~ target, and the formulas on them.

Every interpolant has alpha(0) = 1, beta(0) = 0, alpha(1) = 0, beta(1) = 1 and vectorised ``alpha, beta, dalpha,
dbeta`` (t: float or array, returns the same shape, float64). It owns the formulas every other module uses (the way
flow_matching's probability paths own ``sample`` and the velocity conversion): the interpolated point ``sample``,
the conditional velocity ``conditional_velocity``, the regression data ``training_pairs`` and the velocity from a
posterior mean ``velocity_from_posterior_mean`` (docs/theory.md section 2). ``get(name)`` returns a registered one;
a new path is one ``Interpolant`` entry in ``PATHS``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .registry import Registry


@dataclass(frozen=True)
class Interpolant:
    """A schedule (alpha, beta) and its time derivatives; all callables map t -> same-shape float64 array."""

    name: str
    alpha: Callable[[np.ndarray], np.ndarray]
    beta: Callable[[np.ndarray], np.ndarray]
    dalpha: Callable[[np.ndarray], np.ndarray]
    dbeta: Callable[[np.ndarray], np.ndarray]
    description: str = ""
    # True where alpha * alpha' does not vanish at t = 1 (follmer: -> -1): the velocity at t = 1 then involves the
    # target's score, which targets do not provide, so it is not evaluated there.
    singular_at_one: bool = False

    def coefficients(self, t) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(alpha, beta, dalpha, dbeta) at t, each float64 with t's shape."""
        t = np.asarray(t, dtype=np.float64)
        return self.alpha(t), self.beta(t), self.dalpha(t), self.dbeta(t)

    def sample(self, t: np.ndarray, x0: np.ndarray, x1: np.ndarray) -> np.ndarray:
        """X_t = alpha(t) x0 + beta(t) x1; t (n,) or scalar, x0 and x1 (n, D) -> (n, D) float64."""
        a, b = (np.asarray(c)[..., None] for c in self.coefficients(t)[:2])
        return a * x0 + b * x1

    def conditional_velocity(self, t: np.ndarray, x0: np.ndarray, x1: np.ndarray) -> np.ndarray:
        """d/dt X_t = alpha'(t) x0 + beta'(t) x1, the regression response of velocity matching; shapes as ``sample``."""
        da, db = (np.asarray(c)[..., None] for c in self.coefficients(t)[2:])
        return da * x0 + db * x1

    def training_pairs(self, x1: np.ndarray, t_max: float, pairs_per_sample: int, rng: np.random.Generator):
        """Regression data for velocity matching: each sample X1 (rows of x1, (n, D)) is paired with
        ``pairs_per_sample`` fresh draws t ~ U[0, t_max], X0 ~ N(0, I).

        Returns t (N,), X_t (N, D) and the conditional velocity alpha'(t) X0 + beta'(t) X1 (N, D), with
        N = n * pairs_per_sample.
        """
        y = np.repeat(x1, pairs_per_sample, axis=0)
        t = rng.uniform(0.0, t_max, size=y.shape[0])
        x0 = rng.standard_normal(y.shape)
        return t, self.sample(t, x0, y), self.conditional_velocity(t, x0, y)

    def check_velocity_times(self, t) -> None:
        """Raise ValueError if some t has alpha(t) = 0 on a path where alpha * alpha' does not vanish there
        (``singular_at_one``): the velocity at t = 1 then needs the data law's score (see
        ``velocity_from_posterior_mean``)."""
        if self.singular_at_one and np.any(self.alpha(t) == 0):
            raise ValueError(f"t: the {self.name} path's velocity at t = 1 involves the score of the data law "
                             f"(alpha * alpha' does not vanish) and is not available; use t < 1 (T < 1)")

    def velocity_from_posterior_mean(self, t: np.ndarray, x: np.ndarray, m1: np.ndarray) -> np.ndarray:
        """v = a' E[X0 | x] + b' m1 with E[X0 | x] = (x - b m1) / a, for m1 = E[X1 | X_t = x]; t (n,), x and m1
        (n, D) -> (n, D) float64 (docs/theory.md section 2).

        Where a = 0 (t = 1) the term a' E[X0 | x] is taken as its limit 0, which holds when alpha * alpha' -> 0
        (linear, trig). Where alpha * alpha' does not vanish at t = 1 (``singular_at_one``: follmer) that limit is
        -lim(alpha alpha') times the score of the data law, which is not available: t = 1 raises ValueError there
        (use an early-stopping time T < 1).
        """
        self.check_velocity_times(t)
        a, b, da, db = self.coefficients(t)
        positive = a > 0
        e0 = np.where(positive[:, None], (x - b[:, None] * m1) / np.where(positive, a, 1.0)[:, None], 0.0)
        # a' e0 -> 0 at t = 1 even where a' is infinite (follmer)
        return np.where(positive, da, 0.0)[:, None] * e0 + db[:, None] * m1


def _f(fn):
    return lambda t: fn(np.asarray(t, dtype=np.float64))


def _follmer_dalpha(t):
    with np.errstate(divide="ignore"):
        return -t / np.sqrt(1.0 - t * t)


_HALF_PI = 0.5 * np.pi

PATHS = Registry("path", builtin={
    "linear": Interpolant(
        "linear",
        alpha=_f(lambda t: 1.0 - t),
        beta=_f(lambda t: t + 0.0),
        dalpha=_f(lambda t: np.full_like(t, -1.0)),
        dbeta=_f(lambda t: np.ones_like(t)),
        description="rectified flow: alpha = 1 - t, beta = t",
    ),
    "follmer": Interpolant(
        "follmer",
        alpha=_f(lambda t: np.sqrt(1.0 - t * t)),
        beta=_f(lambda t: t + 0.0),
        dalpha=_f(_follmer_dalpha),
        dbeta=_f(lambda t: np.ones_like(t)),
        description="Föllmer flow (authors' code, forward time): alpha = sqrt(1 - t^2), beta = t; dalpha -> -inf at t = 1",
        singular_at_one=True,
    ),
    "trig": Interpolant(
        "trig",
        # cos(pi t / 2) written as sin(pi (1 - t) / 2), so that alpha(1) and beta'(1) are exactly 0
        alpha=_f(lambda t: np.sin(_HALF_PI * (1.0 - t))),
        beta=_f(lambda t: np.sin(_HALF_PI * t)),
        dalpha=_f(lambda t: -_HALF_PI * np.sin(_HALF_PI * t)),
        dbeta=_f(lambda t: _HALF_PI * np.sin(_HALF_PI * (1.0 - t))),
        description="trigonometric: alpha = cos(pi t / 2), beta = sin(pi t / 2)",
    ),
})


def get(name: str | Interpolant) -> Interpolant:
    """The interpolant registered as ``name`` ("linear", "follmer", "trig"); an Interpolant is returned as is."""
    if isinstance(name, Interpolant):
        return name
    return PATHS.get(name)


def names() -> list[str]:
    """Registered path names."""
    return PATHS.names()
