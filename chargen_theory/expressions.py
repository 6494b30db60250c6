"""Arithmetic expressions as data: text such as ``"1 - 0.5 * n^(-1/(d_star + 3))"`` over given names, parsed into a
Python syntax tree that may hold only numbers, those names, ``+ - * / ^`` (``^`` is the power), parentheses and
calls of the given functions, and computed by walking that tree; never evaluated as code.

The one expression parser of the package: schedules (a parameter as an expression in n, chargen_theory.schedules)
and claim exponents (``"-1/(d + 3)"``, chargen_theory.claims) read their text with it.
"""
from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping

FUNCTIONS: Mapping[str, Callable] = {"log": math.log, "sqrt": math.sqrt, "min": min, "max": max}
"""The functions an expression may call by default: log (natural), sqrt, min, max."""
MAX_LENGTH = 200
"""The longest expression text, by default."""
BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
          ast.Pow: operator.pow}
UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}


def parse(field: str, text, names: tuple[str, ...], functions: Mapping[str, Callable] = FUNCTIONS,
          max_length: int | None = MAX_LENGTH) -> ast.expr:
    """The syntax tree of ``text`` (``^`` read as the power) over ``names`` and ``functions``; ValueError naming
    ``field`` for anything outside the grammar (``max_length`` None: any length)."""
    if not isinstance(text, str) or not text.strip() or (max_length is not None and len(text) > max_length):
        raise ValueError(f"{field}: must be a non-empty expression of at most {max_length} characters in "
                         f"{', '.join(names)}, got {text!r}")
    try:
        tree = ast.parse(text.replace("^", "**"), mode="eval").body
    except (SyntaxError, MemoryError, RecursionError):  # the last two: nesting too deep for Python's parser
        raise ValueError(f"{field}: cannot parse {text!r}; use numbers, {', '.join(names)}, "
                         f"+ - * / ^, parentheses and {', '.join(functions)}") from None
    for node in ast.walk(tree):
        allowed = (isinstance(node, (ast.BinOp, ast.UnaryOp, ast.Call, ast.Name, ast.Load))
                   or type(node) in BINARY or type(node) in UNARY
                   or (isinstance(node, ast.Constant) and type(node.value) in (int, float)))
        if isinstance(node, ast.Name) and node.id not in names and node.id not in functions:
            raise ValueError(f"{field}: unknown name {node.id!r} in {text!r}; allowed: "
                             f"{', '.join(names)} and the functions {', '.join(functions)}")
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in functions
                                               and not node.keywords):
            raise ValueError(f"{field}: only the functions {', '.join(functions)} may be called in {text!r}")
        if not allowed:
            raise ValueError(f"{field}: {type(node).__name__} is not allowed in {text!r}; use numbers, "
                             f"{', '.join(names)}, + - * / ^, parentheses and {', '.join(functions)}")
    return tree


def evaluate(field: str, text: str, variables: Mapping[str, float | None], names: tuple[str, ...],
             functions: Mapping[str, Callable] = FUNCTIONS) -> float:
    """The value of expression ``text`` (over ``names``, ``parse``) at ``variables``; ValueError naming ``field``
    when it is not a finite real number (a negative power base, a division by zero, a name without a value...)."""
    tree = parse(field, text, names, functions)

    def walk(node):
        if isinstance(node, ast.Constant):
            return float(node.value)
        if isinstance(node, ast.Name):
            if node.id not in variables or variables[node.id] is None:
                raise ValueError(f"{field}: {node.id} is not known for this cell (in {text!r})")
            return float(variables[node.id])
        if isinstance(node, ast.UnaryOp):
            return UNARY[type(node.op)](walk(node.operand))
        if isinstance(node, ast.BinOp):
            return BINARY[type(node.op)](walk(node.left), walk(node.right))
        return functions[node.func.id](*(walk(arg) for arg in node.args))

    try:
        value = walk(tree)
    except (ArithmeticError, ValueError, TypeError) as err:
        if isinstance(err, ValueError) and str(err).startswith(field):
            raise
        raise ValueError(f"{field}: {text!r} cannot be computed at {dict(variables)} ({err})") from None
    if not isinstance(value, float) or not math.isfinite(value):
        raise ValueError(f"{field}: {text!r} is not a finite real number at {dict(variables)}")
    return value
