"""``chargen_vs_n``: the full error ledger of a generator (chargen_theory.ledger) per n.

Velocity estimated on n samples, K Euler steps, a generator (``generator``: a registry name or table, a list to
compare several; default the characteristic generator) fitted with m characteristics; every term is measured on
common test draws: velocity_l2, euler_error, euler_hat_error, fit_error and total_coupling (coupling bounds on W2,
method "coupling"), total_w2 (exact EMD W2 to the law of X_T, with its estimation floor), semigroup_violation,
nfe_per_sample, nfe_fit, train_steps and train_seconds. The generators of one cell share its random stream
(``cells.UNSEEDED``), and the rate fits are per generator (a column of the results table).
"""
from __future__ import annotations

import math

from . import REQUIRED, Fit, Kind, build

_COUPLING = ("euler_error", "euler_hat_error", "fit_error", "total_coupling")
_COPIED = ("velocity_l2", "velocity_l2_rel") + _COUPLING + (
    "total_w2", "total_w2_method", "total_w2_floor", "semigroup_violation", "nfe_per_sample", "nfe_fit", "train_steps",
    "train_seconds")


def ledger_run(cell: dict, rng):
    """The ledger of a cell with its fitted pieces (chargen_theory.error_ledger.LedgerRun). cell: target,
    target_params, estimator, estimator_params, generator, generator_params, path, n, m, K, h, T, options (n_test,
    w2_n, n_eval)."""
    from ..error_ledger import ledger_run as run_ledger

    target, options = build.target(cell), cell["options"]
    return run_ledger(target, cell["path"], cell["estimator"], cell["n"], cell["m"], cell["K"], cell["T"], rng=rng,
                      generator=cell["generator"], generator_options=dict(cell["generator_params"]),
                      estimator_options=dict(cell["estimator_params"]),
                      n_test=options["n_test"], w2_n=options["w2_n"], n_eval=options["n_eval"])


def run(cell: dict, rng) -> dict:
    """One row: the ledger's measurements (see ``ledger_run`` for the cell's keys)."""
    record = ledger_run(cell, rng).record
    measured = {name: record[name] for name in _COPIED}
    if math.isnan(measured["semigroup_violation"]):
        del measured["semigroup_violation"]  # defined for the characteristic generator only
    measured.update({f"{name}_method": "coupling" for name in _COUPLING})
    return measured


def validate(cell: dict) -> None:
    """Before any work (on the cell with its schedules resolved): m >= the generator's minimum and the exact flow to
    T available (``build.check_end_time``); the generator's own options are checked when the config builds it."""
    from ..characteristic import MIN_M

    if cell["m"] < MIN_M:
        raise ValueError(f"m: must be an integer >= {MIN_M} (the generator holds one characteristic out), "
                         f"got {cell['m']}")
    build.check_end_time(cell, build.target(cell))


KIND = Kind(
    name="chargen_vs_n",
    run=run,
    parameters={"target": REQUIRED, "estimator": REQUIRED, "path": "linear", "n": REQUIRED, "m": 1000, "K": 20,
                "T": 1.0, "n_test": 1000, "w2_n": 500, "n_eval": 2000, "generator": "characteristic"},
    measurements=("velocity_l2", "velocity_l2_rel", "euler_error", "euler_error_method", "euler_hat_error",
                  "euler_hat_error_method", "fit_error", "fit_error_method", "total_coupling",
                  "total_coupling_method", "total_w2", "total_w2_method", "total_w2_floor", "semigroup_violation",
                  "nfe_per_sample", "nfe_fit", "train_steps", "train_seconds"),
    fits=(Fit("total_coupling", "n", ("chargen_end_to_end", "fm_end_to_end_gao2024")),
          Fit("total_w2", "n", ("chargen_end_to_end", "fm_end_to_end_gao2024"))),
    level=("n",),
    validate=validate,
    nonnegative=True,
    description="full ledger of a generator (velocity, Euler, fitting, total W2) vs sample size n",
)
