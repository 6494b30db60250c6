"""Experiment kinds: what one sweep cell measures.

A kind is a pure function ``run(cell, rng) -> {measurement: value}`` of the cell's parameters and a numpy
Generator derived from them (chargen_theory.sweep does the seeding, caching and parallel execution), together with
the configuration keys it accepts and the rate fits it declares for the analysis.

Add a kind in one file::

    from chargen_theory import experiments

    def run(cell, rng):                      # cell: dict of the keys below (target as name + target_params)
        return {"my_error": float(...)}

    experiments.register(experiments.Kind(
        name="my_kind", run=run, parameters={"n": experiments.REQUIRED, "T": 1.0},
        measurements=("my_error",), fits=(experiments.Fit("my_error", "n", ("my_claim",)),), level=("n",)))

A built-in kind is one module here defining ``KIND`` plus its one line in ``KINDS`` (``"name": "module:KIND"``).

Parameter keys are the shared ones of chargen_theory.study.parameters (``parameters.PARAMETERS``: target,
estimator, path, n, m, K (or h), T, d_star, D, n_eval, n_test, w2_n, generator) and any the kind declares with its
own check in ``checks`` (benchopt-style: a new kind with a new parameter is one file)::

    def alpha_check(field, value):           # returns the value or raises ValueError naming ``field``
        ...
    experiments.Kind(..., parameters={"n": experiments.REQUIRED, "alpha": 0.5}, checks={"alpha": alpha_check})

Kind-specific parameters land in the ``options`` column of the results table. ``run`` is looked up by name in
worker processes, so a kind used with ``--jobs N > 1`` or Dask is registered by a plugin (``chargen_theory.plugins``:
``--plugin my_kind`` / ``sweep.run(..., plugins=["my_kind"])``), which every worker imports.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from ...registry import Registry
from .. import parameters
from . import build  # noqa: F401 - ``experiments.build``: a cell's target and estimator, for every kind

REQUIRED = "<required>"
"""Default marking a parameter that a config must give."""
TEXT_MEASUREMENTS = ("capped",)
"""Text measurements besides the ``*_method`` columns. ``capped``: empty when no size cap of the fitted estimator
binds, else the cap that bound (the estimator's ``capped_``, e.g. "max_pairs 2000 < pairs_per_sample 8 x n 500 =
4000 pairs"); a rate fit over capped levels is not judged."""


def is_text(name: str) -> bool:
    """Whether the measurement ``name`` holds text (``*_method`` and TEXT_MEASUREMENTS) rather than numbers."""
    return name.endswith("_method") or name in TEXT_MEASUREMENTS


def capped(estimator) -> str:
    """The ``capped`` measurement of a fitted velocity estimator: its ``capped_`` text, "" where it has no size cap
    or none bound."""
    return str(getattr(estimator, "capped_", "") or "")


@dataclass(frozen=True)
class Fit:
    """A log-log rate fit the analysis performs: ``quantity`` (a results column) against ``variable`` ("n" or "h"),
    compared with the claims ``claims`` (ids in chargen_theory.claims)."""

    quantity: str
    variable: str
    claims: tuple[str, ...]


@dataclass(frozen=True)
class Kind:
    """One experiment kind.

    Parameters
    ----------
    name : registry name, also the ``experiment`` column of the results table.
    run : ``run(cell, rng) -> dict`` mapping measurement names to floats (or strings for ``is_text`` columns).
        Raise FloatingPointError (or ct.solvers.DivergenceError) when the computation diverges.
    parameters : accepted configuration keys -> default value (``REQUIRED`` when the config must give it; None
        when optional without a default, e.g. ``d_star`` / ``D`` that otherwise come from the target).
    measurements : the results columns ``run`` may return, in table order.
    fits : the rate fits the analysis performs on this kind's rows.
    level : parameters excluded from the seed derivation, so that every level of a rate fit sees the same random
        stream (common random numbers: the same prior draws for every h, nested samples across n).
    description : one line for ``chargen-theory list experiments``.
    validate : optional ``validate(cell)`` raising ValueError for kind-specific mistakes, called by config
        validation on every cell before any work starts.
    checks : parameter name -> ``check(field, value)`` for parameters outside the shared schema
        (``parameters.PARAMETERS``), or to override a shared check; such parameters go to the ``options`` column.
    nonnegative : every numeric measurement is >= 0 (errors, distances, counts, times); the sweep rejects a
        negative value, fresh or cached.
    bounds : measurement (or bracket quantity) -> what it measures, a ``claims.BOUNDS`` key: a claim bounding
        something else is out of scope for its fits.
    comparison : the variables along which the report compares the generators of this kind's rows
        (``chargen_theory.comparison``: per family, one table and figure per variable, the other variables at
        their best-covered level); empty: not compared.
    panel : optional ``panel(cell, rng) -> fitted generator`` with stored characteristics (the generator of the
        cell's results row, refitted from its own random stream): the report draws a characteristics panel for the
        largest level of every 2-D family of this kind (``chargen_theory.panels``).
    dimension_figure : the report draws each fitted slope of this kind against the intrinsic dimension d*, one
        colour per ambient D (``chargen_theory.plots.slope_vs_intrinsic_dim``).
    memory : optional ``memory(cell) -> {parameter: (bytes, what)}``, the kind's own peak-memory terms beyond the
        shared ones (``sizes.memory_terms``), on the cell with its schedules resolved; config validation refuses a
        cell whose terms exceed the machine (``sizes.check_memory``), naming the largest term's parameter.
    """

    name: str
    run: Callable[[dict, np.random.Generator], dict]
    parameters: Mapping[str, object]
    measurements: tuple[str, ...]
    fits: tuple[Fit, ...] = ()
    level: tuple[str, ...] = ()
    description: str = ""
    validate: Callable[[dict], None] | None = None
    checks: Mapping[str, Callable[[str, object], object]] = field(default_factory=dict)
    nonnegative: bool = False
    bounds: Mapping[str, str] = field(default_factory=dict)
    comparison: tuple[str, ...] = ()
    panel: Callable[[dict, np.random.Generator], object] | None = None
    dimension_figure: bool = False
    memory: Callable[[dict], Mapping[str, tuple[int, str]]] | None = None


def _check(kind) -> None:
    if not isinstance(kind, Kind):
        raise ValueError(f"kind: must be a chargen_theory.experiments.Kind, got {type(kind).__name__}")
    unknown = [key for key in kind.parameters if key not in parameters.PARAMETERS and key not in kind.checks]
    if unknown:
        raise ValueError(f"kind {kind.name}: parameter(s) {', '.join(unknown)} need a check in Kind.checks; shared "
                         f"parameters: {', '.join(parameters.PARAMETERS)}")


KINDS = Registry("experiment", _check, package=__name__, repeatable=True,
                 owner_of=lambda kind: getattr(kind.run, "__module__", None), builtin={
                     "euler_vs_h": "euler_vs_h:KIND",
                     "velocity_vs_n": "velocity_vs_n:KIND",
                     "chargen_vs_n": "chargen_vs_n:KIND",
                     "generator_budget": "generator_budget:KIND",
                     "intrinsic_dim": "intrinsic_dim:KIND",
                     "w2_floor": "w2_floor:KIND",
                 })


def register(kind: Kind) -> Kind:
    """Add ``kind`` to the registry and return it; ValueError if another kind already has its name (registering the
    same kind again is harmless)."""
    return KINDS.add(getattr(kind, "name", None), kind)


def get(name: str) -> Kind:
    """The kind registered as ``name``; unknown names raise ValueError listing the registered ones."""
    return KINDS.get(name)


def names() -> list[str]:
    """Registered kind names, sorted."""
    return KINDS.names()
