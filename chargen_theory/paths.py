"""Interpolation paths X_t = alpha(t) X0 + beta(t) X1 with X0 ~ N(0, I) and X1 ~ target.

Every path has alpha(0) = 1, beta(0) = 0, alpha(1) = 0, beta(1) = 1 and vectorised ``alpha, beta, dalpha,
dbeta`` (t: float or array, returns the same shape, float64). ``get(name)`` returns a registered path.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import _validate


@dataclass(frozen=True)
class Path:
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


def _f(fn):
    return lambda t: fn(np.asarray(t, dtype=np.float64))


def _follmer_dalpha(t):
    with np.errstate(divide="ignore"):
        return -t / np.sqrt(1.0 - t * t)


_HALF_PI = 0.5 * np.pi

PATHS: dict[str, Path] = {
    "linear": Path(
        "linear",
        alpha=_f(lambda t: 1.0 - t),
        beta=_f(lambda t: t + 0.0),
        dalpha=_f(lambda t: np.full_like(t, -1.0)),
        dbeta=_f(lambda t: np.ones_like(t)),
        description="rectified flow: alpha = 1 - t, beta = t",
    ),
    "follmer": Path(
        "follmer",
        alpha=_f(lambda t: np.sqrt(1.0 - t * t)),
        beta=_f(lambda t: t + 0.0),
        dalpha=_f(_follmer_dalpha),
        dbeta=_f(lambda t: np.ones_like(t)),
        description="Föllmer flow (authors' code, forward time): alpha = sqrt(1 - t^2), beta = t; dalpha -> -inf at t = 1",
        singular_at_one=True,
    ),
    "trig": Path(
        "trig",
        # cos(pi t / 2) written as sin(pi (1 - t) / 2), so that alpha(1) and beta'(1) are exactly 0
        alpha=_f(lambda t: np.sin(_HALF_PI * (1.0 - t))),
        beta=_f(lambda t: np.sin(_HALF_PI * t)),
        dalpha=_f(lambda t: -_HALF_PI * np.sin(_HALF_PI * t)),
        dbeta=_f(lambda t: _HALF_PI * np.sin(_HALF_PI * (1.0 - t))),
        description="trigonometric: alpha = cos(pi t / 2), beta = sin(pi t / 2)",
    ),
}


def get(name: str | Path) -> Path:
    """The path registered as ``name`` ("linear", "follmer", "trig"); a Path is returned as is."""
    if isinstance(name, Path):
        return name
    return PATHS[_validate.choice("path", name, PATHS)]


def names() -> list[str]:
    """Registered path names."""
    return sorted(PATHS)
