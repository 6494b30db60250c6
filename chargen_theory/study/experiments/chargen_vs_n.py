"""``chargen_vs_n``: the full error ledger of a generator (chargen_theory.ledger) per n.

Velocity estimated on n samples, K Euler steps, a generator (``generator``: a registry name or table, a list to
compare several; default the characteristic generator) fitted with m characteristics; every term is measured on
common test draws: velocity_l2, euler_error, euler_hat_error, velocity_term (the velocity error carried through the
K Euler steps), fit_error and total_coupling (coupling bounds on W2, method "coupling"; ``error_ledger.breakdown``
lists them per n), total_w2 (exact EMD W2 to the law of X_T, with its estimation floor), semigroup_violation,
nfe_per_sample, nfe_fit, train_steps and train_seconds, and ``capped`` (a size cap of the velocity estimator
that bound, ``experiments.capped``). The generators of one cell share its random stream
(``parameters.UNSEEDED``), and the rate fits are per generator (a column of the results table).

Next to them, the bracket of W2 to the TARGET (``target_bracket``; docs/theory.md 4.7): the columns of
``metrics.bounds.bracket_columns("w2_target")`` (a certified lower and upper bound with CIs, the lower bound's floor)
and ``early_stopping_upper`` (the coupling bound on W2(law of X_T, target)).
"""
from __future__ import annotations

import math
import time

import numpy as np

from . import REQUIRED, Fit, Kind, build, capped

_COUPLING = ("euler_error", "euler_hat_error", "velocity_term", "fit_error", "total_coupling")
_COPIED = ("velocity_l2", "velocity_l2_rel") + _COUPLING + (
    "total_w2", "total_w2_method", "total_w2_floor", "semigroup_violation", "nfe_per_sample", "nfe_fit", "train_steps",
    "train_seconds")
REFERENCE_RTOL, REFERENCE_ATOL = 1e-8, 1e-10  # solvers.reference to t = 1 where no closed-form flow map exists
_BRACKET = ("w2_target_lower", "w2_target_lower_method", "w2_target_lower_ci_low", "w2_target_lower_ci_high",
            "w2_target_lower_floor", "w2_target_lower_above_floor", "w2_target_upper", "w2_target_upper_method",
            "w2_target_upper_ci_low", "w2_target_upper_ci_high", "w2_target_gelbrich", "w2_target_gelbrich_floor", "w2_target_sliced",
            "w2_target_sliced_floor")  # metrics.bounds.bracket_columns("w2_target"), without importing scipy here
_EARLY = ("early_stopping_upper", "early_stopping_upper_method", "early_stopping_upper_ci_low",
          "early_stopping_upper_ci_high")


def ledger_run(cell: dict, rng):
    """The ledger of a cell with its fitted pieces (chargen_theory.error_ledger.LedgerRun). cell: target,
    target_params, estimator, estimator_params, generator, generator_params, path, n, m, K, h, T, options (n_test,
    w2_n, n_eval)."""
    from ...error_ledger import ledger_run as run_ledger

    target, options = build.target(cell), cell["options"]
    return run_ledger(target, cell["path"], cell["estimator"], cell["n"], cell["m"], cell["K"], cell["T"], rng=rng,
                      generator=cell["generator"], generator_options=dict(cell["generator_params"]),
                      estimator_options=dict(cell["estimator_params"]),
                      n_test=options["n_test"], w2_n=options["w2_n"], n_eval=options["n_eval"])


def exact_endpoints(target, path, z, T: float):
    """(X_T(z), X_1(z), how) for prior draws z (n, D): the exact characteristic at the early-stopping time T and at
    t = 1, whose law is the target (``error_ledger.exact_flow``). how: "closed_form" (target.flow_map),
    "reference(DOP853,rtol=..,atol=..)" (one solvers.reference solve with the exact velocity, evaluated at T and 1),
    or, on a path whose velocity at t = 1 needs the target's score (follmer) and without a closed form,
    "unavailable: ..." with (None, None)."""
    from ...error_ledger import exact_flow

    try:
        ends, how = exact_flow(target, path, z, [T, 1.0] if T < 1.0 else [1.0], REFERENCE_RTOL, REFERENCE_ATOL)
    except NotImplementedError as err:
        return None, None, f"unavailable: {err}"
    if how == "reference":
        how = f"reference(DOP853,rtol={REFERENCE_RTOL:g},atol={REFERENCE_ATOL:g})"
    return ends[0], ends[-1], how


def target_bracket(cell: dict, generator, rng) -> dict:
    """Lower and upper bounds on W2(law of g(0, T, z), target) and the early-stopping term, as flat columns.

    cell: path, T, options n_bracket and n_lower (and the target). generator: the fitted CharacteristicGenerator.
    Upper bound: ``coupling_upper`` of g(0, T, z) against the exact X_1(z) on n_bracket common prior draws z
    (``exact_endpoints``; the method column says how X_1 was computed, NaN where it cannot be). Lower bounds: Gelbrich
    and held-out max-sliced (``metrics.bounds.bracket``) on n_lower one-step samples, against the target's exact
    moments and projected quantiles for Gaussian mixtures, else against as many target samples.
    early_stopping_upper: ``coupling_upper`` of X_T(z) against X_1(z), a bound on W2(law of X_T, target). Where X_1
    is unavailable both upper bounds are left out (empty in the table) and their method columns say why.
    bracket_seconds: wall time of all of it.
    """
    from ...metrics import bounds

    start = time.perf_counter()
    target, options, prefix = build.target(cell), cell["options"], "w2_target"
    z_rng, sample_rng, bound_rng = rng.spawn(3)
    z = z_rng.standard_normal((options["n_bracket"], target.dim))
    row = bounds.bracket(generator.sample(options["n_lower"], sample_rng), target=target, rng=bound_rng)
    x_T, x_1, how = exact_endpoints(target, cell["path"], z, cell["T"])
    if x_1 is None:  # not measurable: the values are left out (empty in the table), the method says why
        for name in ("", "_ci_low", "_ci_high"):
            del row[f"{prefix}_upper{name}"]
        row[f"{prefix}_upper_method"] = row["early_stopping_upper_method"] = how
    else:
        for name, bound in ((f"{prefix}_upper", bounds.coupling_upper(generator.map(z), x_1)),
                            ("early_stopping_upper", bounds.coupling_upper(x_T, x_1))):
            row.update({name: bound.value, f"{name}_method": f"{bound.method}:{how}", f"{name}_ci_low": bound.ci_low,
                        f"{name}_ci_high": bound.ci_high})
    row["bracket_seconds"] = time.perf_counter() - start
    return row


def run(cell: dict, rng) -> dict:
    """One row: the ledger's measurements and the bracket of W2 to the target (see ``ledger_run`` and
    ``target_bracket`` for the cell's keys)."""
    ledger = ledger_run(cell, rng)
    record = ledger.record
    measured = {name: record[name] for name in _COPIED}
    if math.isnan(measured["semigroup_violation"]):
        del measured["semigroup_violation"]  # defined for the characteristic generator only
    if not math.isnan(record["rule_dim"]):
        measured["rule_dim"] = record["rule_dim"]  # the dimension of the estimator's tuning rule
    measured.update({f"{name}_method": "coupling" for name in _COUPLING})
    measured["capped"] = capped(ledger.estimator)
    measured.update(target_bracket(cell, ledger.generator, rng))
    return measured


def _sample_size(least: int):
    def check(field: str, value) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
            raise ValueError(f"{field}: must be an integer >= {least}, got {value!r}")
        return int(value)

    return check


def memory(cell: dict) -> dict:
    """The bracket's samples (``target_bracket``): n_bracket prior draws with their three endpoints and the coupling
    differences, and n_lower one-step and target samples with the lower bounds' centred copies, in D dimensions."""
    options, D = cell["options"], cell["D"]
    return {"n_bracket": (8 * 6 * options["n_bracket"] * D, "the n_bracket prior draws and their endpoints"),
            "n_lower": (8 * 8 * options["n_lower"] * D, "the n_lower one-step and target samples of the lower "
                                                        "bounds")}


def validate(cell: dict) -> None:
    """Before any work (on the cell with its schedules resolved): m >= the generator's minimum and the exact flow to
    T available (``build.check_end_time``); the generator's own options are checked when the config builds it."""
    from ...generators.base import MIN_M

    if cell["m"] < MIN_M:
        raise ValueError(f"m: must be an integer >= {MIN_M} (the generator holds one characteristic out), "
                         f"got {cell['m']}")
    build.check_end_time(cell, build.target(cell))


KIND = Kind(
    name="chargen_vs_n",
    run=run,
    parameters={"target": REQUIRED, "estimator": REQUIRED, "path": "linear", "n": REQUIRED, "m": 1000, "K": 20,
                "T": 1.0, "n_test": 1000, "w2_n": 500, "n_eval": 2000, "generator": "characteristic",
                "n_bracket": 100_000, "n_lower": 1_000_000},
    measurements=("velocity_l2", "velocity_l2_rel", "rule_dim", "euler_error", "euler_error_method",
                  "euler_hat_error", "euler_hat_error_method", "velocity_term", "velocity_term_method", "fit_error",
                  "fit_error_method", "total_coupling", "total_coupling_method", "total_w2", "total_w2_method",
                  "total_w2_floor", "semigroup_violation", "nfe_per_sample", "nfe_fit", "train_steps", "train_seconds",
                  *_BRACKET, *_EARLY, "bracket_seconds",
                  "capped"),
    fits=(Fit("total_coupling", "n", ("chargen_end_to_end", "fm_end_to_end_gao2024")),
          Fit("total_w2", "n", ("chargen_end_to_end", "fm_end_to_end_gao2024")),
          Fit("w2_target", "n", ("chargen_end_to_end", "fm_end_to_end_gao2024"))),
    level=("n",),
    validate=validate,
    memory=memory,
    nonnegative=True,
    checks={"n_bracket": _sample_size(2), "n_lower": _sample_size(8)},
    bounds={"velocity_l2": "velocity_l2", "velocity_l2_rel": "velocity_l2", "euler_error": "euler",
            "euler_hat_error": "w2_law_XT", "total_coupling": "w2_law_XT", "total_w2": "w2_law_XT",
            "w2_target": "w2_target"},  # w2_target: the bracket w2_target_lower / _upper (metrics.bounds.bracket)
    comparison=("n",),
    panel=lambda cell, rng: ledger_run(cell, rng).generator,  # the fitted generator of the results row
    description=("full ledger of a generator (velocity, Euler, fitting, total W2) and the bracket of W2 to the target "
                 "vs sample size n"),
)
