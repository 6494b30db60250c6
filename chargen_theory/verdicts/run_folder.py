"""A finished run folder as the verdicts read it: OUT/results.csv and OUT/run.json, checked, and the rate fits and
claims they declare, fitted and judged (``judge``), for the report and the planner alike.

Both files are checked first: one ValueError naming the file and the problem; a results.csv whose SHA-256 differs
from run.json's ``results_sha256`` belongs to another run and is refused.
"""
from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..study import claims as _claims, parameters
from . import rates as _rates

_TEXT_COLUMNS = ("experiment", "cell_id", "status", "message", "target", "target_params", "path", "estimator",
                 "estimator_params", "generator", "generator_params", "options", "resolved", "capped")


def read_run(out) -> tuple[pd.DataFrame, dict]:
    """The results table and the run.json record ({} when absent) of the run folder ``out``, checked: one
    ValueError naming the file and what is wrong (not a table, a missing or mistyped column, not a run record, a
    table that another run wrote)."""
    out = Path(out)
    if not (out / "results.csv").is_file():
        raise ValueError(f"out_dir: no results.csv in {out}")
    try:
        data = (out / "results.csv").read_bytes()
    except OSError as err:
        raise ValueError(f"results.csv: cannot read it in {out}: {err.strerror}") from None
    run = _read_sidecar(out / "run.json") if (out / "run.json").is_file() else {}
    if "results_sha256" in run and hashlib.sha256(data).hexdigest() != run["results_sha256"]:
        raise ValueError(f"results.csv: does not match run.json in {out} (run.json's results_sha256 differs): the "
                         f"two files come from different runs (e.g. a run killed between writing them); run the "
                         f"sweep again to rewrite both")
    try:
        table = pd.read_csv(io.BytesIO(data), dtype={"message": str}, keep_default_na=True, encoding="utf-8")
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as err:  # EmptyDataError is a ValueError
        raise ValueError(f"results.csv: not a results table ({' '.join(str(err).split())})") from None
    missing = [c for c in ("experiment", "seed", "status") if c not in table.columns]
    if missing:
        raise ValueError(f"results.csv: missing column(s) {', '.join(missing)}; see the results.csv contract")
    if "message" in table.columns:
        table["message"] = table["message"].fillna("")
    from ..study.experiments import is_text

    for column in table.columns:
        text = column in _TEXT_COLUMNS or is_text(column)
        if not text and not (pd.api.types.is_numeric_dtype(table[column]) or table[column].isna().all()
                             or _numbers_or_schedules(column, table[column])):
            raise ValueError(f"results.csv: column {column!r} must hold numbers")
        if pd.api.types.is_numeric_dtype(table[column]) and not pd.api.types.is_bool_dtype(table[column]):
            infinite = np.flatnonzero(np.isinf(table[column].to_numpy(dtype=float)))
            if infinite.size:
                raise ValueError(f"results.csv: column {column!r} holds {table[column].iloc[infinite[0]]} in row "
                                 f"{infinite[0] + 1}; a results table holds finite numbers (a unit that failed has "
                                 f"an empty value and its status)")
    seeds = table["seed"]
    if not pd.api.types.is_numeric_dtype(seeds) or seeds.isna().any() or (seeds % 1 != 0).any():
        raise ValueError("results.csv: column 'seed' must hold integers")
    _check_fit_columns(table, run)
    return table, run


def _check_fit_columns(table: pd.DataFrame, run: dict) -> None:
    """ValueError naming the column when a fit of the run (run.json's "fits", else the kinds' own) lacks its
    variable column, or when an experiment with rows in the table has none of its fits' quantity columns (nor both
    bounds of a bracket): its rates would silently be empty. A quantity measured only on some targets (euler_w2 on
    Gaussians) may be absent while another fit of the experiment has its column."""
    from ..study import experiments

    fits = run.get("fits")
    if fits is None:
        fits = [{"experiment": kind, "quantity": fit.quantity, "variable": fit.variable}
                for kind in sorted(set(table["experiment"].dropna().astype(str))) if kind in experiments.names()
                for fit in experiments.get(kind).fits]
    present = set(table["experiment"].dropna().astype(str))
    measured: dict[str, list[str]] = {}
    for fit in fits:
        if fit["experiment"] not in present:
            continue
        quantity, variable = fit["quantity"], fit["variable"]
        if variable not in table.columns:
            raise ValueError(f"results.csv: column {variable!r} is missing; the {fit['experiment']} fit of {quantity} "
                             f"vs {variable} needs it (see the results.csv contract)")
        found = quantity in table.columns or {f"{quantity}_lower", f"{quantity}_upper"} <= set(table.columns)
        measured.setdefault(fit["experiment"], []).append("" if found else quantity)
    for experiment, quantities in measured.items():
        if all(quantities):
            raise ValueError(f"results.csv: column {quantities[0]!r} is missing; the {experiment} fit of "
                             f"{quantities[0]} needs it, and no fit of {experiment} has its column (see the "
                             f"results.csv contract)")


def _numbers_or_schedules(column: str, values: pd.Series) -> bool:
    """Whether a schedulable parameter column (T, K, m) holds numbers and schedules (``{"schedule": ...}`` JSON)."""
    if column not in parameters.PARAMETERS or not parameters.PARAMETERS[column].schedulable:
        return False
    for value in values.dropna():
        try:
            float(value)
            continue
        except (TypeError, ValueError):
            pass
        try:
            if not parameters.is_schedule(json.loads(value)):
                return False
        except (TypeError, ValueError):
            return False
    return True


def _read_sidecar(path: Path) -> dict:
    """run.json, checked where the report reads it (fits, config, root_seed, results_sha256)."""
    try:
        run = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as err:
        raise ValueError(f"run.json: not a JSON record of a run ({' '.join(str(err).split())[:200]})") from None
    if not isinstance(run, dict):
        raise ValueError(f"run.json: must be a JSON object, got {type(run).__name__}")
    _expect("run.json: root_seed", run.get("root_seed", 0), lambda v: isinstance(v, int) and not isinstance(v, bool)
            and v >= 0, "an integer >= 0")
    _expect("run.json: results_sha256", run.get("results_sha256", ""), lambda v: isinstance(v, str), "a string")
    config = run.get("config", {})
    _expect("run.json: config", config, lambda v: isinstance(v, dict), "an object")
    for key in ("experiment", "claim"):
        _expect(f"run.json: config.{key}", config.get(key, []),
                lambda v: isinstance(v, list) and all(isinstance(e, dict) for e in v), "a list of objects")
    for j, entry in enumerate(config.get("claim", [])):
        try:
            _claims.from_dict(entry)
        except (ValueError, TypeError) as err:
            raise ValueError(f"run.json: config.claim[{j}]: {' '.join(str(err).split())}") from None
    _expect("run.json: fits", run.get("fits", []), lambda v: isinstance(v, list), "a list")
    for j, fit in enumerate(run.get("fits", [])):
        _expect(f"run.json: fits[{j}]", fit, lambda v: isinstance(v, dict), "an object")
        for key in ("experiment", "quantity", "variable"):
            _expect(f"run.json: fits[{j}].{key}", fit.get(key), lambda v: isinstance(v, str), "a string")
        _expect(f"run.json: fits[{j}].claims", fit.get("claims", []),
                lambda v: isinstance(v, list) and all(isinstance(c, str) for c in v), "a list of claim ids")
    return run


def _expect(field: str, value, ok, what: str) -> None:
    if not ok(value):
        raise ValueError(f"{field}: must be {what}, got {_short(repr(value), 80)}")


def declared_fits(run: dict) -> list[dict] | None:
    """run.json's fits, each with ``with``: the keys zipped with its variable (or with K for h) in its block."""
    if "fits" not in run:
        return None
    blocks = (run.get("config") or {}).get("experiment") or []
    declared = []
    for fit in run["fits"]:
        block = fit.get("block")
        zipped = blocks[block].get("zip", []) if isinstance(block, int) and 0 <= block < len(blocks) else []
        linked = {fit["variable"], *parameters.COMPANIONS.get(fit["variable"], ())}
        together = sorted({key for keys in zipped if linked & set(keys) for key in keys} - {fit["variable"]})
        declared.append({**fit, "with": together})
    return declared


@dataclass(frozen=True)
class Judged:
    """A run folder read and judged: ``table`` (results.csv), ``run`` (run.json, {} when absent), ``declared`` (its
    fits, ``declared_fits``; None: the kinds' own), ``extra_claims`` (the config's user claims) and ``fits`` (the
    rates table of ``rates.fit_rates``: one row per fitted group and claim)."""

    table: pd.DataFrame
    run: dict
    declared: list[dict] | None
    extra_claims: list
    fits: pd.DataFrame


def judge(out, **options) -> Judged:
    """Read the run folder ``out`` (``read_run``) and fit and judge its rates; ``options`` go to
    ``rates.fit_rates`` (drop_first, floor_factor, max_ci_width_rel)."""
    table, run = read_run(out)
    extra_claims = [_claims.from_dict(spec) for spec in (run.get("config") or {}).get("claim", [])]
    declared = declared_fits(run)
    fits = _rates.fit_rates(table, declared, extra_claims=extra_claims, **options)
    return Judged(table, run, declared, extra_claims, fits)


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 3] + "..."
