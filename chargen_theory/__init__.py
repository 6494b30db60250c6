r"""chargen_theory: check the convergence-rate claims of the characteristic generator (arXiv 2405.05512)
on synthetic targets with exact velocity fields.

Where things live (the pipeline as the theorem reads it; docs/theory.md explains the mathematics)::

    paths (Interpolant: alpha, beta, X_t, conditional velocity)   targets/ (exact samples, velocity, flow map)
            \                                                   /        smoothing (shared posterior formulas)
             velocity/ (estimators: fit on n samples, predict)      <- training (the one torch training stack)
                     |
             solvers (Euler on h = T/K, reference ODE solve)
                     |
             generators/ (one-step methods behind one contract; generators/characteristic: the paper's one
                          network g(s, t, x) fitted to Euler characteristics, one-step sampling)
                     |
             metrics/ (W2: exact, EMD, coupling, sliced; velocity L2)   error_ledger (every term of the bound)
                     |
    parameters (the shared schema, table columns, h = T/K)   cells (identity: cell_id, seeds, random streams)
    experiments/ (kinds: what one cell measures)             sizes (memory and work of one cell, refused early)
                     |
    config (TOML -> validated cells)  ->  sweep (units, cache, parallel run, results table)
    schedules (a parameter as an expression in n: T -> 1, bandwidths, K, m; expressions: the one parser)
    plugins (the user's modules registering estimators, targets, kinds: imported by the sweep and every worker)
                     |
    claims (cited rates as data)  ->  rates (log-log fits, seed-t CIs, verdicts)  ->  labels (short group names),
    calibration (the verdict rules' error rates, by simulation)                       summary (per-claim status)
                     |
    plots, panels, report (rates.csv, figures, report.md)  ->  cli (run, report, list, plan)
    planning (the seeds or levels that would decide a pilot's undecided groups within a time budget)

Submodules are imported on first use (``ct.targets``, ``ct.solvers``, ...), so that ``import chargen_theory``
and the CLI start fast and torch is loaded only by the parts that train networks.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAYERS = {  # public name -> the package that holds the module (the other maths modules sit at the top)
    "characteristic": "generators",
    **dict.fromkeys(("config", "cells", "parameters", "schedules", "sizes", "experiments", "claims", "sweep", "plugins",
                     "outputs"), "study"),
    **dict.fromkeys(("rates", "calibration", "summary", "planning", "run_folder"), "verdicts"),
    **dict.fromkeys(("report", "plots", "panels", "comparison", "labels"), "reporting"),
}
_SUBMODULES = (
    "paths", "targets", "solvers", "metrics", "velocity", "testing", "characteristic", "error_ledger", "training",
    "smoothing", "generators", "registry", "expressions", "cli", "study", "verdicts", "reporting", *_LAYERS,
)
_EXPORTS = {"CharacteristicGenerator": "characteristic", "ledger": "error_ledger"}


def _module(name: str):
    layer = _LAYERS.get(name)
    return importlib.import_module(f".{layer}.{name}" if layer else f".{name}", __name__)


def __getattr__(name: str):
    if name in _SUBMODULES:
        return _module(name)
    if name in _EXPORTS:
        return getattr(_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'chargen_theory' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_SUBMODULES) + list(_EXPORTS))
