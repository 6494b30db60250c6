"""Schedules: a parameter given as a function of the sample size n, as data.

The theorems' dimension-dependent rates need some settings to move with n (the early-stopping time T -> 1, the
bandwidth -> 0, the Euler steps K and the characteristics m -> infinity, the network width). A config writes such a
parameter as a table ``{ schedule = "EXPRESSION" }``::

    T = { schedule = "1 - 0.5 * n^(-1/(d_star + 3))" }
    estimator = { name = "kde", bandwidth = { schedule = "0.5 * n^(-1/(d_star + 4))" } }

EXPRESSION uses numbers, the names ``n``, ``d`` (= ``D``, the ambient dimension), ``D`` and ``d_star`` (the intrinsic
dimension), ``+ - * / ^`` (``^`` is the power), parentheses and the functions ``log`` (natural), ``sqrt``, ``min``,
``max``. It is parsed into a syntax tree and computed by walking that tree; it is never evaluated as code.
Parameters whose values are integers (K, m, k, width) round the result to the nearest integer.

The results table keeps the schedule itself in the parameter's column (so all n of a rate fit form one group); the
values a unit used are resolved from its own n, d and d_star (``resolve``) and recorded beside the measurements.
"""
from __future__ import annotations

import ast
import math
import operator
from collections.abc import Mapping

NAMES = ("n", "d", "D", "d_star")
FUNCTIONS = {"log": math.log, "sqrt": math.sqrt, "min": min, "max": max}
_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.Pow: operator.pow}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_MAX_LENGTH = 200


def is_schedule(value) -> bool:
    """Whether a config value is a schedule table ``{"schedule": "..."}``."""
    return isinstance(value, Mapping) and set(value) == {"schedule"}


def parse(field: str, text) -> ast.expr:
    """The syntax tree of a schedule expression; ValueError naming ``field`` for anything outside the grammar."""
    if not isinstance(text, str) or not text.strip() or len(text) > _MAX_LENGTH:
        raise ValueError(f"{field}.schedule: must be a non-empty expression of at most {_MAX_LENGTH} characters in "
                         f"{', '.join(NAMES)}, got {text!r}")
    try:
        tree = ast.parse(text.replace("^", "**"), mode="eval").body
    except SyntaxError:
        raise ValueError(f"{field}.schedule: cannot parse {text!r}; use numbers, {', '.join(NAMES)}, "
                         f"+ - * / ^, parentheses and {', '.join(FUNCTIONS)}") from None
    for node in ast.walk(tree):
        allowed = (isinstance(node, (ast.BinOp, ast.UnaryOp, ast.Call, ast.Name, ast.Load))
                   or type(node) in _BINARY or type(node) in _UNARY
                   or (isinstance(node, ast.Constant) and type(node.value) in (int, float)))
        if isinstance(node, ast.Name) and node.id not in NAMES and node.id not in FUNCTIONS:
            raise ValueError(f"{field}.schedule: unknown name {node.id!r} in {text!r}; allowed: "
                             f"{', '.join(NAMES)} and the functions {', '.join(FUNCTIONS)}")
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS
                                               and not node.keywords):
            raise ValueError(f"{field}.schedule: only the functions {', '.join(FUNCTIONS)} may be called in {text!r}")
        if not allowed:
            raise ValueError(f"{field}.schedule: {type(node).__name__} is not allowed in {text!r}; use numbers, "
                             f"{', '.join(NAMES)}, + - * / ^, parentheses and {', '.join(FUNCTIONS)}")
    return tree


def evaluate(field: str, text: str, variables: Mapping[str, float]) -> float:
    """The value of schedule ``text`` at ``variables`` (n, d, D, d_star); ValueError naming ``field`` when it is
    not a finite real number (a negative power base, a division by zero, a missing name...)."""
    tree = parse(field, text)

    def walk(node):
        if isinstance(node, ast.Constant):
            return float(node.value)
        if isinstance(node, ast.Name):
            if node.id not in variables or variables[node.id] is None:
                raise ValueError(f"{field}.schedule: {node.id} is not known for this cell (in {text!r})")
            return float(variables[node.id])
        if isinstance(node, ast.UnaryOp):
            return _UNARY[type(node.op)](walk(node.operand))
        if isinstance(node, ast.BinOp):
            return _BINARY[type(node.op)](walk(node.left), walk(node.right))
        return FUNCTIONS[node.func.id](*(walk(arg) for arg in node.args))

    try:
        value = walk(tree)
    except (ArithmeticError, ValueError, TypeError) as err:
        if isinstance(err, ValueError) and str(err).startswith(field):
            raise
        raise ValueError(f"{field}.schedule: {text!r} cannot be computed at {dict(variables)} ({err})") from None
    if not isinstance(value, float) or not math.isfinite(value):
        raise ValueError(f"{field}.schedule: {text!r} is not a finite real number at {dict(variables)}")
    return value


def variables(cell: Mapping) -> dict:
    """The names a schedule may use, from a cell: n, D (also as d) and d_star (None where the cell lacks them)."""
    return {"n": cell.get("n"), "d": cell.get("D"), "D": cell.get("D"), "d_star": cell.get("d_star")}
