"""Generators from the prior to the law of X_T behind one contract, and their registry.

``gen = get(name, **hyperparameters)``; ``gen.fit(velocity, path, K, T, m, rng)`` returns gen; ``gen.map(z, s, t)``
and ``gen.sample(n, rng, steps=1)`` return (n, D) float64 (contract: ``base.Generator``). Built in:

- "characteristic": the paper's one network g(s, t, x) on every pair of grid times plus the semigroup penalty
  (``CharacteristicGenerator``, also ``chargen_theory.CharacteristicGenerator``);
- "endpoint": the same network class fitted to z -> Z_K alone (plain distillation of g(0, T, .));
- "euler": K Euler steps of the velocity itself, the multi-step reference (K evaluations per sample);
- "flow_map": Lagrangian map distillation of the flow map (Boffi, Albergo, Vanden-Eijnden, arXiv 2406.07507);
- "consistency": consistency distillation on the teacher's Euler steps (Song, Dhariwal, Chen, Sutskever 2023).

Every network method uses ``chargen_theory.training`` (the same MLP family, Adam, cosine schedule, early stopping)
with a budget in optimizer steps (``max_steps``) and trains on the same teacher data (``teacher``). Modules are
imported on first use.
"""
from __future__ import annotations

import importlib

from .. import _validate
from .base import TIMES, Generator, Teacher, teacher

_BUILTIN = {  # name -> (module, class), imported by get()
    "characteristic": ("characteristic", "CharacteristicGenerator"),
    "endpoint": ("characteristic", "Endpoint"),
    "euler": ("euler", "Euler"),
    "flow_map": ("flow_map", "FlowMap"),
    "consistency": ("consistency", "Consistency"),
}
_USER: dict[str, type] = {}


def register(name: str, cls: type) -> None:
    """Add a user's generator class under a new ``name``: subclass ``Generator``, store every ``__init__``
    argument unchanged under its own name, implement ``_fit`` and ``_map``, set ``TIMES``; then check it with
    ``chargen_theory.testing.check_generator(name)``. ValueError if the name is taken or cls is no Generator."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"name: must be a non-empty string, got {name!r}")
    if name in _BUILTIN or name in _USER:
        raise ValueError(f"name: {name!r} is already registered")
    if not (isinstance(cls, type) and issubclass(cls, Generator)):
        raise ValueError(f"cls: must be a subclass of chargen_theory.generators.Generator, got {cls!r}")
    _USER[name] = cls


def names() -> list[str]:
    """Registered generator names, sorted."""
    return sorted([*_BUILTIN, *_USER])


def generator_class(name: str) -> type:
    """The class registered as ``name``; ValueError listing the names for an unknown one."""
    _validate.choice("generator", name, names())
    if name in _USER:
        return _USER[name]
    module, cls = _BUILTIN[name]
    return getattr(importlib.import_module(f".{module}", __name__), cls)


def get(name: str, **hyperparameters) -> Generator:
    """A new, unfitted generator ``name`` with the given hyperparameters (ValueError naming an unknown one)."""
    cls = generator_class(name)
    _validate.hyperparameters(f"generator {name!r}", cls, hyperparameters)
    return cls(**hyperparameters)


__all__ = ["TIMES", "Generator", "Teacher", "generator_class", "get", "names", "register", "teacher"]
