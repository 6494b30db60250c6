"""The shared parameter schema of a cell, the results table's parameter columns and the step rule h = T / K.

A cell is a dict of parameter values. ``PARAMETERS`` maps each shared name to a ``Parameter`` (how a config value
is checked, whether it is a results-table column, whether it may be a schedule); an experiment kind may declare
further parameters with their own checks (``chargen_theory.experiments.Kind.checks``), which land in the
``options`` column. A parameter's value is a plain value or, where ``schedulable``, a schedule table
``{ schedule = "EXPRESSION" }`` (``is_schedule``; chargen_theory.schedules resolves it per cell).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from .. import _validate

COLUMNS = ("target", "target_params", "path", "estimator", "generator", "estimator_params", "generator_params", "n",
           "m", "K", "h", "T", "d_star", "D", "options")
"""The parameter columns of the results table, in table order. Parameters that are not columns go to ``options``."""
SORT_ORDER = ("target", "D", "d_star", "path", "estimator", "generator", "T", "n", "m", "K", "h", "target_params",
              "estimator_params", "generator_params", "options")
"""Row order of the results table (then the seed): every parameter column, so the order is total."""
INT_COLUMNS = ("n", "m", "K", "d_star", "D")
JSON_COLUMNS = ("target_params", "estimator_params", "generator_params", "options")
INTEGERS = ("n", "m", "K", "d_star", "D", "n_eval", "n_test", "w2_n")
"""The shared parameters whose values are integers (a schedule's value is rounded)."""
COMPANIONS = {"n": (), "h": ("K",)}
"""Rate variables and the columns that always move with them (h = T / K)."""
UNSEEDED = ("generator", "generator_params")
"""Parameters left out of the seed derivation: the generators of one comparison share their random stream."""


def is_schedule(value) -> bool:
    """Whether a config value is a schedule table ``{"schedule": "..."}``."""
    return isinstance(value, Mapping) and set(value) == {"schedule"}


def steps(field: str, T: float, K: int | None = None, h: float | None = None) -> tuple[int, float]:
    """The step rule: (K, h) with h = T / K, from K or from h (then T / h must be a whole number of steps).
    ValueError naming ``field.T`` when h = T / K is below the smallest normal float64 (it would round to 0)."""
    if h is not None:
        if not T / h <= _validate.INT_MAX:
            raise ValueError(f"{field}.h: T/h = {T / h:.3g} steps, more than 2**63 - 1; use a larger h")
        K = round(T / h)
        if K < 1 or abs(K * h - T) > 1e-9 * T:
            raise ValueError(f"{field}.h: T/h must be a whole number of steps, got T = {T}, h = {h}")
    return K, step_size(field, T, K)


def step_size(field: str, T: float, K: int) -> float:
    """h = T / K; ValueError naming ``field.T`` unless it is a normal positive float64 (>= 2.2e-308)."""
    h = T / K
    if not h >= np.finfo(np.float64).tiny:
        raise ValueError(f"{field}.T: the step h = T/K = {T!r}/{K} = {h!r} is below the smallest normal float64 "
                         f"({np.finfo(np.float64).tiny:.3g}); use a larger T or fewer steps K")
    return h


@dataclass(frozen=True)
class Parameter:
    """A configuration parameter: ``check(field, value)`` returns the validated value or raises ValueError naming
    ``field``; ``column`` says whether it is a results-table column (else it goes to ``options``); ``schedulable``
    whether it may be a schedule in n (chargen_theory.schedules), checked per cell on the resolved value."""

    name: str
    check: Callable[[str, object], object]
    column: bool
    description: str = ""
    schedulable: bool = False


def _number(field: str, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{field}: must be a number, got {value!r}")
    return value


def _path(field: str, value) -> str:
    from .. import paths

    if not isinstance(value, str):
        raise ValueError(f"{field}: must be a path name; allowed: {', '.join(paths.names())}")
    return _validate.choice(field, value, paths.names())


def _registered(key: str) -> Callable[[str, object], tuple[str, dict]]:
    """A target or estimator check: a registered name, or a table with ``name`` and its parameters."""

    def check(field: str, spec) -> tuple[str, dict]:
        if key == "target":
            from ..targets import names
        else:
            from ..velocity import names
        if isinstance(spec, str):
            spec = {"name": spec}
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            raise ValueError(f"{field}.name: give a name or a table with 'name'; allowed: {', '.join(names())}")
        _validate.choice(f"{field}.name", spec["name"], names())
        return spec["name"], {k: v for k, v in spec.items() if k != "name"}

    return check


def _generator(field: str, spec) -> tuple[str, dict]:
    """A generator: a registered name, a table with ``name`` and its hyperparameters, or (the older shape) a table
    of CharacteristicGenerator options without ``name`` ("characteristic"; "endpoint" if endpoint_only = true).
    The generator is built once, so that a bad hyperparameter fails here."""
    from .. import generators

    if isinstance(spec, dict) and "name" not in spec:
        if not isinstance(spec.get("endpoint_only", False), bool):
            raise ValueError(f"{field}.endpoint_only: must be true or false, got {spec['endpoint_only']!r}")
        spec = {"name": "endpoint" if spec.get("endpoint_only") is True else "characteristic",
                **{k: v for k, v in spec.items() if k != "endpoint_only"}}
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise ValueError(f"{field}.name: give a name or a table with 'name'; allowed: {', '.join(generators.names())}")
    _validate.choice(f"{field}.name", spec["name"], generators.names())
    params = {k: v for k, v in spec.items() if k != "name"}
    if not any(is_schedule(v) for v in params.values()):  # scheduled ones: checked per cell, resolved
        try:
            generators.get(spec["name"], **params)
        except (ValueError, TypeError) as err:
            raise ValueError(f"{field}.{err}") from None
    return spec["name"], params


def table(field: str, value) -> dict:
    """A check for table-valued options (fixed, never a grid)."""
    if not isinstance(value, dict):
        raise ValueError(f"{field}: must be a table, got {value!r}")
    return value


def _positive_int(field, value):
    return _validate.positive_int(field, value)


def _end_time(field, value):
    return _validate.end_time(field, _number(field, value))


def _step(field, value):
    return _validate.positive_float(field, _number(field, value))


def _n_eval(field, value):
    from ..metrics.velocity import N_SLICES

    value = _validate.positive_int(field, value)
    if value < 2 * N_SLICES:
        raise ValueError(f"{field}: must be an integer >= {2 * N_SLICES} (2 per time slice of the velocity L2 "
                         f"error), got {value!r}")
    return value


PARAMETERS: Mapping[str, Parameter] = {p.name: p for p in (
    Parameter("target", _registered("target"), True, "target name or table (name + parameters); a grid axis if a list"),
    Parameter("estimator", _registered("estimator"), True, "velocity estimator name or table (name + parameters)"),
    Parameter("path", _path, True, "interpolant: linear, follmer, trig"),
    Parameter("n", _positive_int, True, "target samples for the velocity estimator"),
    Parameter("m", _positive_int, True, "prior draws (characteristics, test points)", schedulable=True),
    Parameter("K", _positive_int, True, "Euler steps on [0, T]", schedulable=True),
    Parameter("h", _step, True, "Euler step T / K (give K or h)"),
    Parameter("T", _end_time, True, "final (early-stopping) time in (0, 1]", schedulable=True),
    Parameter("d_star", _positive_int, True, "intrinsic dimension of the target"),
    Parameter("D", _positive_int, True, "ambient dimension of the target"),
    Parameter("n_eval", _n_eval, False, "evaluation points of the velocity L2 error (>= 20)"),
    Parameter("n_test", _positive_int, False, "common test prior draws of the coupling columns"),
    Parameter("w2_n", _positive_int, False, "sample size of each side of the empirical W2"),
    Parameter("generator", _generator, True, "generator name or table (name + hyperparameters); a grid axis if a "
                                             "list (chargen_theory.generators)"),
)}
"""The parameters every kind may use. ``h`` comes with ``K``: a kind that declares K accepts K or h."""
SPECS = ("target", "estimator", "generator")
"""Parameters given as a registered name or a table; stored as ``<name>`` and ``<name>_params`` columns."""
