"""``generator_budget``: the ledger of a generator vs its training budget (optimizer steps) and vs m, at fixed n.

The same measurements as ``chargen_vs_n``; ``max_steps`` (a grid axis, kind-specific) replaces the generator's own
budget. The rows of every budget and m share one random stream (level parameters), so the curves are paired;
``chargen_theory.comparison.write_comparison`` draws them with the Euler error they are compared with
(euler_hat_error: the ``euler`` generator's total error).
"""
from __future__ import annotations

from ... import _validate
from . import REQUIRED, Kind, chargen_vs_n


def run(cell: dict, rng) -> dict:
    """One row of ``chargen_vs_n.run`` with the generator's ``max_steps`` set to the cell's."""
    params = {**cell["generator_params"], "max_steps": cell["options"]["max_steps"]}
    return chargen_vs_n.run({**cell, "generator_params": params}, rng)


def validate(cell: dict) -> None:
    """The generator must train (have a ``max_steps`` budget)."""
    from ... import generators

    if "max_steps" not in generators.generator_class(cell["generator"])().get_params():
        raise ValueError(f"generator: {cell['generator']!r} does not train (no max_steps); its error is the "
                         f"euler_hat_error column of every row")


KIND = Kind(
    name="generator_budget",
    run=run,
    parameters={**chargen_vs_n.KIND.parameters, "max_steps": REQUIRED},
    measurements=chargen_vs_n.KIND.measurements,
    level=("max_steps", "m"),
    description="ledger of a generator vs its training budget (max_steps) and vs m, at fixed n",
    validate=validate,
    checks={**chargen_vs_n.KIND.checks, "max_steps": _validate.positive_int},
    nonnegative=True,
    bounds=chargen_vs_n.KIND.bounds,
    comparison=("max_steps", "m"),
)
