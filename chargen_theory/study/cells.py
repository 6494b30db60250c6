"""The cell: one grid point of an experiment, and everything that identifies it.

A cell is a dict of parameter values. This module owns

- the shared parameter schema ``PARAMETERS`` (name -> ``Parameter``: how a config value is checked, whether it is a
  results-table column); an experiment kind may declare further parameters with their own checks
  (``chargen_theory.experiments.Kind.checks``), which land in the ``options`` column;
- the results table's parameter columns in order (``COLUMNS``), their sort order, integer and JSON columns;
- the step rule: ``h = T / K`` (``steps``), and the columns that always move with a rate variable (``COMPANIONS``);
- identity and randomness: ``canonical_json``, ``cell_id``, the seed derivation ``seed_entropy`` and
  ``random_stream``, which rebuilds the random stream of any (cell, seed) of a sweep;
- size: ``memory_terms`` (a rough peak-memory estimate of one cell) and ``check_memory``, which refuses a cell that
  would not fit in ``MEMORY_FRACTION`` of this machine's memory, and ``check_work``, which refuses a cell of more
  than ``MAX_OPERATIONS`` floating-point operations, before any work; each names the parameter that is too large.

Seeds: the stream of a (cell, seed) is a numpy SeedSequence built from the root seed, 128 bits of a SHA-256 of the
cell's canonical JSON *without* the kind's level parameters (so every level of a rate fit sees the same stream:
common random numbers, e.g. nested samples across n, the same prior draws for every K) and without the generator
(``UNSEEDED``: every generator of a comparison sees the same velocity fit, teacher data and test draws), and the
replicate index.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from .. import _validate
from . import schedules

COLUMNS = ("target", "target_params", "path", "estimator", "generator", "estimator_params", "generator_params", "n", "m",
           "K", "h", "T", "d_star", "D", "options")
"""The parameter columns of the results table, in table order. Parameters that are not columns go to ``options``."""
SORT_ORDER = ("target", "D", "d_star", "path", "estimator", "generator", "T", "n", "m", "K", "h", "target_params",
              "estimator_params", "generator_params", "options")
"""Row order of the results table (then the seed): every parameter column, so the order is total."""
INT_COLUMNS = ("n", "m", "K", "d_star", "D")
JSON_COLUMNS = ("target_params", "estimator_params", "generator_params", "options")
COMPANIONS = {"n": (), "h": ("K",)}
"""Rate variables and the columns that always move with them (h = T / K)."""
UNSEEDED = ("generator", "generator_params")
"""Parameters left out of the seed derivation: the generators of one comparison share their random stream."""


def canonical_json(value) -> str:
    """Deterministic JSON: sorted keys, no spaces, floats by repr, NaN rejected (hashing, duplicate checks)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def digest(value) -> bytes:
    """SHA-256 of ``canonical_json(value)`` (never Python's hash(): stable across processes)."""
    return hashlib.sha256(canonical_json(value).encode()).digest()


def cell_id(experiment: str, cell: dict) -> str:
    """Content hash of a cell's parameters (16 hex digits)."""
    return digest({"experiment": experiment, **cell}).hex()[:16]


def seed_entropy(experiment: str, cell: dict, seed: int, root_seed: int, level=None) -> tuple[int, ...]:
    """Entropy words of the (cell, seed) random stream: the root seed, 128 bits of a SHA-256 of the cell's
    parameters without the ``level`` parameters (default: the registered kind's), their companions and
    ``UNSEEDED``, and the replicate index ``seed``."""
    if level is None:
        from . import experiments

        level = experiments.get(experiment).level
    skipped = set(level) | set(UNSEEDED) | {c for variable, companions in COMPANIONS.items() for c in companions if variable in level}
    skipped |= {variable for variable, companions in COMPANIONS.items() if set(companions) & set(level)}
    relevant = {key: value for key, value in cell.items() if key not in skipped}
    if isinstance(relevant.get("options"), dict):  # a kind's own level parameters live in options
        relevant["options"] = {key: value for key, value in relevant["options"].items() if key not in skipped}
    words = digest({"experiment": experiment, **relevant})
    root_seed, seed = _validate.nonnegative_int("root_seed", root_seed), _validate.nonnegative_int("seed", seed)
    return (root_seed, *(int.from_bytes(words[i:i + 4], "little") for i in range(0, 16, 4)), seed)


def random_stream(entropy) -> np.random.Generator:
    """The numpy Generator of a unit from its entropy words (``seed_entropy``): what the sweep hands to the kind."""
    if not isinstance(entropy, (tuple, list)) or not entropy:
        raise ValueError(f"entropy: must be a non-empty sequence of integers >= 0, got {entropy!r}")
    return np.random.default_rng(np.random.SeedSequence([_validate.nonnegative_int(f"entropy[{i}]", word)
                                                         for i, word in enumerate(entropy)]))


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


# -- the shared parameter schema --------------------------------------------------------------------------------------
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
    if not any(schedules.is_schedule(v) for v in params.values()):  # scheduled ones: checked per cell, resolved
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


# -- schedules -----------------------------------------------------------------------------------------------------------
_INTEGER = ("n", "m", "K", "d_star", "D", "n_eval", "n_test", "w2_n")


def has_schedule(cell: dict) -> bool:
    """Whether any parameter of the cell (top level, estimator or generator options) is a schedule."""
    return _find_schedules(cell) != {}


def _find_schedules(cell: dict) -> dict:
    found = {key: value for key, value in cell.items() if schedules.is_schedule(value)}
    for key, value in (cell.get("estimator_params") or {}).items():
        if schedules.is_schedule(value):
            found[f"estimator.{key}"] = value
    for key, value in (cell.get("generator_params") or {}).items():
        if schedules.is_schedule(value):
            found[f"generator.{key}"] = value
    return found


def resolve(cell: dict, field: str = "cell") -> tuple[dict, dict]:
    """(a copy of ``cell`` with every schedule replaced by its value at the cell's n, D, d_star; {parameter: value}).

    Integer-valued parameters (the schema's, and estimator / generator options whose default is an int) are rounded
    to the nearest integer. ``h`` is recomputed as T / K. ValueError naming ``field`` when a schedule cannot be
    computed or a schema parameter's value fails its check (``PARAMETERS``). A cell without schedules is returned
    unchanged (as a copy) with an empty dict.
    """
    import copy

    out, values = copy.deepcopy(cell), {}
    if not _find_schedules(cell):
        return out, values
    names = schedules.variables(cell)

    def value(where, spec, integer):
        number = schedules.evaluate(where, spec["schedule"], names)
        return int(round(number)) if integer else number

    for key in list(out):
        if schedules.is_schedule(out[key]):
            schedule = out[key]["schedule"]
            out[key] = values[key] = value(f"{field}.{key}", out[key], key in _INTEGER)
            if key in PARAMETERS:  # e.g. K = { schedule = "0.4" } rounds to 0 steps
                at = f"at n = {cell['n']}" if cell.get("n") is not None else repr(schedule)
                PARAMETERS[key].check(f"{field}.{key} (schedule {at})", out[key])
    if out.get("estimator_params"):
        integers = _integer_options("estimator", out.get("estimator"))
        for key, spec in out["estimator_params"].items():
            if schedules.is_schedule(spec):
                number = value(f"{field}.estimator.{key}", spec, key in integers)
                out["estimator_params"][key] = values[f"estimator.{key}"] = number
    generator = out.get("generator_params") or {}
    if generator:
        integers = _integer_options("generator", out.get("generator"))
        for key, spec in generator.items():
            if schedules.is_schedule(spec):
                generator[key] = values[f"generator.{key}"] = value(f"{field}.generator.{key}", spec, key in integers)
    if "K" in out and "T" in out and ("K" in values or "T" in values):
        out["h"] = values["h"] = step_size(field, out["T"], out["K"])
    return out, values


def _integer_options(what: str, name) -> set[str]:
    """Constructor arguments annotated as integers (``int``, ``int | str``) of an estimator class or of the
    generator class: their scheduled values are rounded."""
    import inspect

    if what == "estimator":
        from ..velocity import estimator_class
        cls = estimator_class(name)
    else:
        from ..generators import generator_class
        cls = generator_class(name)
    return {key for key, p in inspect.signature(cls.__init__).parameters.items()
            if "int" in str(p.annotation) and "float" not in str(p.annotation)}


# -- size -------------------------------------------------------------------------------------------------------------
MEMORY_FRACTION = 0.5
"""The share of this machine's physical memory one cell may need (several run at once with --jobs)."""


def machine_memory() -> int:
    """Physical memory of this machine in bytes (0 where the OS does not tell: then nothing is refused)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


def memory_terms(cell: dict) -> dict[str, tuple[int, str]]:
    """A rough peak-memory estimate of one cell in bytes, by the parameter that drives each term:
    {parameter: (bytes, what)}. Counts the float64 arrays the pipeline holds: a D x D covariance (gaussian targets),
    the samples of each size parameter (n, m, n_eval, n_test, w2_n points in D dimensions, each its own term), the
    time grid (K + 1), the w2_n x w2_n cost matrix of the exact W2 and, with a generator, the Euler characteristics
    (K + 1) x m x D with the held-out pairs (about m K / 10), a training batch and the network's weights. The kind's
    and the estimator's own terms (``Kind.memory``, ``VelocityEstimator.memory_terms``) are added by the config."""
    values = {**cell, **cell.get("options", {})}
    D, K, m = _size(values.get("D"), 1), _size(values.get("K")), _size(values.get("m"))
    terms = {"D": (8 * 8 * D * D if values.get("target") == "gaussian" else 0, "a D x D covariance and its factors")}
    for key in ("n", "m", "n_eval", "n_test"):
        terms[key] = (8 * 4 * _size(values.get(key)) * D, f"the {key} sample points in D dimensions")
    w2_n = _size(values.get("w2_n"))
    terms["w2_n"] = (8 * 4 * w2_n * D + 8 * 3 * w2_n ** 2, "the w2_n x w2_n cost matrix and plan of the W2")
    terms["K"] = (8 * 2 * (K + 1), "the time grid of K + 1 points")
    generator = values.get("generator_params") if values.get("generator") else None
    if isinstance(generator, dict):
        width, depth = _size(generator.get("width"), 128), _size(generator.get("depth"), 3)
        per_pair = 4 * 4 * (3 * width * depth + 4 * (D + 2))  # float32 activations, gradients and inputs
        batch, held_out = _size(generator.get("batch_size"), 256), m * K // 10
        terms["K"] = (8 * 3 * (K + 1) * (m + 1) * D + (per_pair * held_out if held_out > batch else 0),
                      "the Euler characteristics, (K + 1) x m x D numbers, and the m K / 10 held-out pairs")
        terms["generator.batch_size"] = (per_pair * batch if held_out <= batch else 0,
                                         "one training batch through the network")
        terms["generator.width"] = (4 * 4 * width * width * depth, "the network's weights, gradients and Adam "
                                                                   "moments, width^2 x depth numbers")
    return terms


def add_terms(terms: dict, extra, prefix: str = "") -> dict:
    """``terms`` with the terms ``extra`` added under ``prefix + parameter`` (sizes of one parameter summed, the
    description of the larger part kept); returns ``terms``."""
    for key, (size, what) in extra.items():
        old_size, old_what = terms.get(prefix + key, (0, what))
        terms[prefix + key] = (old_size + size, what if size >= old_size else old_what)
    return terms


def _size(value, default: int = 0) -> int:
    """An integer size from a parameter not validated yet (anything else counts as ``default``)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else default


def check_memory(field: str, terms: dict[str, tuple[int, str]]) -> None:
    """ValueError naming the largest term (``field.parameter``) if the sum of ``terms`` (``memory_terms``) exceeds
    MEMORY_FRACTION of this machine's memory."""
    total, machine = sum(size for size, _ in terms.values()), machine_memory()
    limit = int(MEMORY_FRACTION * machine)
    if machine and total > limit:
        key = max(terms, key=lambda k: terms[k][0])
        raise ValueError(f"{field + '.' if field else ''}{key}: one cell needs about {_gib(total)} of memory (mostly "
                         f"{terms[key][1]}), more than the limit of {_gib(limit)} ({MEMORY_FRACTION:g} of this "
                         f"machine's {_gib(machine)}); use smaller sizes")


MAX_OPERATIONS = 10**15
"""The most floating-point operations (a rough count) one cell may need: about a day of one core at 1e10 per
second. Larger cells would hang a sweep rather than finish."""


def check_work(field: str, terms: dict[str, tuple[float, str]]) -> None:
    """ValueError naming the largest term (``field.parameter``) if the sum of ``terms`` ({parameter: (operations,
    what)}, e.g. ``VelocityEstimator.work_terms``) exceeds MAX_OPERATIONS."""
    total = sum(float(size) for size, _ in terms.values())
    if total > MAX_OPERATIONS:
        key = max(terms, key=lambda k: float(terms[k][0]))
        raise ValueError(f"{field + '.' if field else ''}{key}: one cell needs about {total:.3g} floating-point "
                         f"operations (mostly {terms[key][1]}), more than the limit of {MAX_OPERATIONS:.0e} (about a "
                         f"day of one core); use smaller sizes")


def _gib(size: int) -> str:
    return f"{size / 2**30:.3g} GiB"
