"""Targets with exact velocity fields, and their registry.

``get(name, **params)`` builds a registered target, ``names()`` lists them, ``register(name, factory)`` adds one.
Every target has ``name``, ``dim`` (ambient D), ``intrinsic_dim`` (d*), ``params`` (its constructor arguments,
JSON-serialisable: ``get(t.name, **t.params)`` rebuilds it), ``sample(n, rng)``, ``log_prob(x)`` (where a density
exists), ``posterior_mean(a, b, x)``, ``velocity(t, x, path)`` and ``flow_map(z, t, path)`` (closed form only).
A built-in target is one module here plus its one line in ``TARGETS`` (``"name": "module:factory"``).
"""
from __future__ import annotations

import inspect
from typing import Callable

from ..registry import Registry
from .base import Target
from .box import Box, BoxMixture
from .gaussian import Gaussian
from .mixture import GaussianMixture
from .sphere import ConcentricSpheres, Sphere
from .subspace import Subspace


def _check_factory(factory) -> None:
    if not callable(factory):
        raise ValueError("factory: must be callable")


TARGETS = Registry("target", _check_factory, package=__name__, builtin={
    "gaussian": "gaussian:Gaussian",
    "gmm": "mixture:GaussianMixture",
    "box": "box:Box",
    "box_mixture": "box:BoxMixture",
    "sphere": "sphere:Sphere",
    "spheres": "sphere:ConcentricSpheres",
    "subspace": "subspace:Subspace",
    "8gaussians": "named:eight_gaussians",
    "grid": "named:grid",
    "checkerboard": "named:checkerboard",
    "rings": "named:rings",
})


def register(name: str, factory: Callable[..., Target]) -> None:
    """Register ``factory(**params) -> Target`` under ``name`` (a new name; re-registering raises ValueError); check
    it with ``chargen_theory.testing.check_target(name, params)``."""
    TARGETS.add(name, factory)


def names() -> list[str]:
    """Registered target names, sorted."""
    return TARGETS.names()


def target_class(name: str) -> type[Target] | None:
    """The ``Target`` subclass registered as ``name`` (what the suite asks it: ``grid_params``, ``memory_terms``);
    None when a plain factory builds the target (fixed dimensions, nothing declared). ValueError for an unknown
    name."""
    factory = TARGETS.get(name)
    return factory if isinstance(factory, type) and issubclass(factory, Target) else None


def with_grid_dimensions() -> list[str]:
    """The registered targets whose dimensions a grid's d* / D can set (their class declares ``standard`` or
    ``grid_params``), sorted."""
    return [name for name in names() if (cls := target_class(name)) is not None
            and (cls.grid_params.__func__ is not Target.grid_params.__func__
                 or cls.standard.__func__ is not Target.standard.__func__)]


def get(name: str, **params) -> Target:
    """Build the target registered as ``name`` with keyword ``params``; ValueError for an unknown name (listing the
    valid ones) or an unknown / missing parameter (naming it)."""
    factory = TARGETS.get(name)
    signature = inspect.signature(factory)
    allowed = [p for p in signature.parameters if p != "self"]
    for key in params:
        if key not in allowed:
            raise ValueError(f"{key}: not a parameter of target {name!r}; allowed: {', '.join(allowed)}")
    missing = [p.name for p in signature.parameters.values()
               if p.default is inspect.Parameter.empty and p.name not in params]
    if missing:
        raise ValueError(f"{missing[0]}: required by target {name!r}")
    return factory(**params)


__all__ = ["TARGETS", "Target", "Gaussian", "GaussianMixture", "Box", "BoxMixture", "Sphere", "ConcentricSpheres",
           "Subspace", "get", "names", "register", "target_class", "with_grid_dimensions"]
