r"""chargen_theory: check the convergence-rate claims of the characteristic generator (arXiv 2405.05512)
on synthetic targets with exact velocity fields.

Where things live: four layers, each importing only from the layers below it (tests/test_structure.py checks
it); docs/theory.md explains the mathematics::

    maths (the package's top level)
      paths (Interpolant: alpha, beta, X_t, conditional velocity)   targets/ (exact samples, velocity, flow map)
      velocity/ (estimators: fit on n samples, predict)             smoothing (shared posterior formulas)
      solvers (Euler on h = T/K, reference ODE solve)               training (the one torch training stack)
      generators/ (one-step methods behind one contract; characteristic: the paper's network g(s, t, x))
      metrics/ (W2: exact, EMD, coupling, sliced; bounds; velocity L2)   error_ledger (every term of the bound)
      registry (the one name -> object Registry)   expressions (the one parser of schedules and claim exponents)
    study/ (what is run, and against which claims)
      parameters (shared schema, table columns, h = T/K)   cells (identity: cell_id, seeds, random streams)
      schedules (a parameter as an expression in n)         sizes (memory and work of one cell, refused early)
      experiments/ (kinds: what one cell measures)          claims (cited rates as data, their hypotheses, scope)
      config (TOML -> validated cells)   sweep (units, cache, parallel run, results table)
      plugins (the user's registering modules, in every worker)   outputs (the run folder: atomic writes, lock)
    verdicts/ (what the measurements say)
      run_folder (a run read and judged)   rates (log-log fits, seed-t CIs, verdicts)   summary (per claim)
      calibration (the verdict rules' error rates, by simulation)   planning (seeds that would decide a pilot)
    reporting/ (what a reader sees)
      report (write_all: panels, comparison, rates.csv, report.md)   plots   panels   comparison   labels
    cli (run, report, plan, list)

Adding one (no other file changes):

- an estimator: a module in velocity/ (a ``VelocityEstimator`` subclass, ``claim_classes`` for the claims it
  falls under) plus its line ``"name": "module:Class"`` in ``velocity.ESTIMATORS`` (velocity/__init__.py);
- a generator: a module in generators/ (a ``Generator`` subclass; ``memory_terms``, ``diagnostics``, ``PANEL`` if
  the defaults do not fit) plus its line in ``generators.GENERATORS`` (generators/__init__.py);
- a target: a module in targets/ (a ``Target`` subclass with ``claim_classes``) plus its line in
  ``targets.TARGETS`` (targets/__init__.py);
- an experiment kind: a module in study/experiments/ defining ``KIND = Kind(...)`` (parameters, measurements,
  fits, level, what it bounds, draws and needs in memory) plus its line in ``experiments.KINDS``
  (study/experiments/__init__.py);
- a claim: one ``Claim(...)`` entry in ``claims.CLAIMS`` (study/claims.py), or a ``[[claim]]`` table in a config.

A user's own estimator, generator, target or kind is one module calling ``register`` (``ct.velocity.register``,
...), loaded with ``--plugin`` (study/plugins.py).

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
