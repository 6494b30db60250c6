"""Schedules: a parameter given as a function of the sample size n, as data.

The theorems' dimension-dependent rates need some settings to move with n (the early-stopping time T -> 1, the
bandwidth -> 0, the Euler steps K and the characteristics m -> infinity, the network width). A config writes such a
parameter as a table ``{ schedule = "EXPRESSION" }``::

    T = { schedule = "1 - 0.5 * n^(-1/(d_star + 3))" }
    estimator = { name = "kde", bandwidth = { schedule = "0.5 * n^(-1/(d_star + 4))" } }

EXPRESSION uses numbers, the names ``n``, ``d`` (= ``D``, the ambient dimension), ``D`` and ``d_star`` (the intrinsic
dimension), ``+ - * / ^`` (``^`` is the power), parentheses and the functions ``log`` (natural), ``sqrt``, ``min``,
``max`` (the grammar of chargen_theory.expressions). It is parsed into a syntax tree and computed by walking that
tree; it is never evaluated as code.
Parameters whose values are integers (K, m, k, width) round the result to the nearest integer.

The results table keeps the schedule itself in the parameter's column (so all n of a rate fit form one group); the
values a unit used are resolved from its own n, d and d_star (``resolve``) and recorded beside the measurements.
Whether a config value is a schedule table: ``chargen_theory.study.parameters.is_schedule``.
"""
from __future__ import annotations

import ast
import copy
import inspect
from collections.abc import Mapping

from .. import expressions
from .parameters import INTEGERS, PARAMETERS, is_schedule, step_size

NAMES = ("n", "d", "D", "d_star")
"""The names a schedule may use; its functions are ``expressions.FUNCTIONS``."""


def parse(field: str, text) -> ast.expr:
    """The syntax tree of a schedule expression; ValueError naming ``field`` for anything outside the grammar."""
    return expressions.parse(f"{field}.schedule", text, NAMES)


def evaluate(field: str, text: str, variables: Mapping[str, float]) -> float:
    """The value of schedule ``text`` at ``variables`` (n, d, D, d_star); ValueError naming ``field`` when it is
    not a finite real number (a negative power base, a division by zero, a missing name...)."""
    return expressions.evaluate(f"{field}.schedule", text, variables, NAMES)


def variables(cell: Mapping) -> dict:
    """The names a schedule may use, from a cell: n, D (also as d) and d_star (None where the cell lacks them)."""
    return {"n": cell.get("n"), "d": cell.get("D"), "D": cell.get("D"), "d_star": cell.get("d_star")}


def has_schedule(cell: dict) -> bool:
    """Whether any parameter of the cell (top level, estimator or generator options) is a schedule."""
    return _find_schedules(cell) != {}


def _find_schedules(cell: dict) -> dict:
    found = {key: value for key, value in cell.items() if is_schedule(value)}
    for key, value in (cell.get("estimator_params") or {}).items():
        if is_schedule(value):
            found[f"estimator.{key}"] = value
    for key, value in (cell.get("generator_params") or {}).items():
        if is_schedule(value):
            found[f"generator.{key}"] = value
    return found


def resolve(cell: dict, field: str = "cell") -> tuple[dict, dict]:
    """(a copy of ``cell`` with every schedule replaced by its value at the cell's n, D, d_star; {parameter: value}).

    Integer-valued parameters (the schema's, and estimator / generator options whose default is an int) are rounded
    to the nearest integer. ``h`` is recomputed as T / K. ValueError naming ``field`` when a schedule cannot be
    computed or a schema parameter's value fails its check (``PARAMETERS``). A cell without schedules is returned
    unchanged (as a copy) with an empty dict.
    """
    out, values = copy.deepcopy(cell), {}
    if not _find_schedules(cell):
        return out, values
    names = variables(cell)

    def value(where, spec, integer):
        number = evaluate(where, spec["schedule"], names)
        return int(round(number)) if integer else number

    for key in list(out):
        if is_schedule(out[key]):
            schedule = out[key]["schedule"]
            out[key] = values[key] = value(f"{field}.{key}", out[key], key in INTEGERS)
            if key in PARAMETERS:  # e.g. K = { schedule = "0.4" } rounds to 0 steps
                at = f"at n = {cell['n']}" if cell.get("n") is not None else repr(schedule)
                PARAMETERS[key].check(f"{field}.{key} (schedule {at})", out[key])
    if out.get("estimator_params"):
        integers = _integer_options("estimator", out.get("estimator"))
        for key, spec in out["estimator_params"].items():
            if is_schedule(spec):
                number = value(f"{field}.estimator.{key}", spec, key in integers)
                out["estimator_params"][key] = values[f"estimator.{key}"] = number
    generator = out.get("generator_params") or {}
    if generator:
        integers = _integer_options("generator", out.get("generator"))
        for key, spec in generator.items():
            if is_schedule(spec):
                generator[key] = values[f"generator.{key}"] = value(f"{field}.generator.{key}", spec, key in integers)
    if "K" in out and "T" in out and ("K" in values or "T" in values):
        out["h"] = values["h"] = step_size(field, out["T"], out["K"])
    return out, values


def _integer_options(what: str, name) -> set[str]:
    """Constructor arguments annotated as integers (``int``, ``int | str``) of an estimator class or of the
    generator class: their scheduled values are rounded."""
    if what == "estimator":
        from ..velocity import estimator_class
        cls = estimator_class(name)
    else:
        from ..generators import generator_class
        cls = generator_class(name)
    return {key for key, p in inspect.signature(cls.__init__).parameters.items()
            if "int" in str(p.annotation) and "float" not in str(p.annotation)}
