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
imported on first use. A built-in generator is one module here plus its one line in ``GENERATORS``
(``"name": "module:Class"``); a user's is ``register(name, cls)``.
"""
from __future__ import annotations

from ..registry import Registry, subclass_of
from .base import TIMES, Generator, Teacher, teacher

GENERATORS = Registry(
    "generator", subclass_of(Generator, "chargen_theory.generators.Generator"), package=__name__, builtin={
        "characteristic": "characteristic:CharacteristicGenerator",
        "endpoint": "characteristic:Endpoint",
        "euler": "euler:Euler",
        "flow_map": "flow_map:FlowMap",
        "consistency": "consistency:Consistency",
    })


def register(name: str, cls: type) -> None:
    """Add a user's generator class under a new ``name``: subclass ``Generator``, store every ``__init__``
    argument unchanged under its own name, implement ``_fit`` and ``_map``, set ``TIMES``; then check it with
    ``chargen_theory.testing.check_generator(name)``. ValueError if the name is taken or cls is no Generator."""
    GENERATORS.add(name, cls)


names = GENERATORS.names  # the registered names, sorted
generator_class = GENERATORS.get  # the class registered as a name
get = GENERATORS.create  # a new, unfitted generator: get(name, **hyperparameters)


__all__ = ["GENERATORS", "TIMES", "Generator", "Teacher", "generator_class", "get", "names", "register", "teacher"]
