"""Sweep configurations: TOML read as data only (tomllib), validated completely before any work starts.

A configuration holds a root seed, one or more ``[[experiment]]`` blocks and optional user ``[[claim]]`` blocks::

    root_seed = 20240508          # every cell's random stream derives from it (chargen_theory.sweep)
    seeds = 3                     # replicates per cell (a block may override it)
    out = "quick"                 # optional: default output folder results/<out>/ (relative, no "..")

    [[experiment]]
    kind = "euler_vs_h"           # chargen-theory list experiments
    path = ["linear", "trig"]     # a list makes a grid axis; a scalar is fixed
    T = 0.9
    K = [4, 8, 16, 32]            # or h = [...] with T/h an integer
    m = 500
    target = [{ name = "gaussian", mean = [0.0, 0.0], cov = [[1.0, 0.3], [0.3, 0.5]] }, "8gaussians"]

    [[experiment]]
    kind = "chargen_vs_n"
    target = "8gaussians"
    estimator = { name = "kde", bandwidth = "scott" }
    n = [250, 1000, 4000]
    m = [250, 1000, 4000]
    zip = [["n", "m"]]            # keys that vary together instead of forming a cartesian product
    generator = { name = "characteristic", epochs = 50 }   # a generator (chargen_theory.generators); a list compares
    claims = ["chargen_end_to_end", "my_claim"]   # optional: the claims to test (default: the kind's own)

    [[claim]]                     # a user claim, parsed by chargen_theory.claims.from_dict (no eval)
    id = "my_claim"
    quantity = "fit_error"
    variable = "n"
    exponent = "-1/(d + 2)"

Parameters a kind accepts and their defaults: ``chargen-theory list experiments`` / ``experiments.get(kind)``.

Every mistake raises ValueError with one line that names the field (``experiment[1].K[0]``) and, for names, the
allowed values; nothing is computed or written before the whole configuration has passed. Sizes are checked too:
at most ``MAX_UNITS`` (cell, seed) units, counted before the grid is built, and every cell's estimated memory
within the machine's (chargen_theory.study.sizes.check_memory), checked before its target is built.
"""
from __future__ import annotations

import itertools
import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

import numpy as np

from .. import _validate
from . import cells, experiments, parameters, schedules, sizes

TOP_LEVEL_KEYS = ("claim", "description", "experiment", "out", "root_seed", "seeds")
BLOCK_KEYS = ("claims", "kind", "seeds", "zip")
_ROOT_SEED_MAX = 2**63 - 1
_SAFE_NAME = re.compile(r"[A-Za-z0-9_.-]+")
MAX_UNITS = 1_000_000
"""The most (cell, seed) units a configuration may have."""
MAX_DEPTH = 32
"""The deepest nesting of lists and tables a configuration may have (real ones use fewer than 8 levels)."""
SCALE_MAX = 1e100
"""The largest magnitude of a target's parameters and samples (1 / SCALE_MAX the smallest nonzero one)."""
SCALE_PROBE = 64  # target samples drawn at validation to check their magnitude
_EXPONENT_MAX = 1000.0  # the largest number in a claim's exponent: slopes beyond it overflow n^slope


@dataclass(frozen=True)
class Experiment:
    """One validated ``[[experiment]]`` block.

    ``cells`` are the grid points, each a dict of the kind's parameters (target and estimator as name plus
    ``*_params`` dict; ``K`` and ``h = T/K`` both present where steps are used; ``d_star``/``D`` taken from the
    target; kind-specific options under ``options``). ``fits`` are the rate fits with the claims to test.
    """

    index: int
    kind: str
    seeds: int
    cells: tuple[dict, ...]
    fits: tuple[experiments.Fit, ...]


@dataclass(frozen=True)
class Config:
    """A validated configuration: ``data`` is the TOML as parsed (JSON-serialisable), the rest is derived."""

    source: str
    name: str
    root_seed: int
    experiments: tuple[Experiment, ...]
    data: dict


def load(path) -> Config:
    """Read and validate the TOML configuration at ``path``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"config: cannot read {str(path)!r}: {getattr(err, 'strerror', None) or err}") from None
    return loads(text, source=str(path), name=path.stem)


def loads(text: str, source: str = "<config>", name: str = "config") -> Config:
    """Parse and validate configuration text; ``name`` is the default output folder name (e.g. the file stem)."""
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise ValueError(f"config {source}: malformed TOML: lists or tables nested too deep (at most {MAX_DEPTH} "
                         f"levels)") from None
    except tomllib.TOMLDecodeError as err:
        where = f"(at end of document, line {max(len(text.splitlines()), 1)})"
        message = str(err).replace("(at end of document)", where)
        raise ValueError(f"config {source}: malformed TOML: {message}") from None
    return validate(data, source=source, name=name)


def validate(data: dict, source: str = "<config>", name: str = "config") -> Config:
    """Validate parsed configuration data (a dict as tomllib returns it) into a Config."""
    _check_keys("config", data, TOP_LEVEL_KEYS)
    _check_plain_data("", data)
    root_seed = data.get("root_seed", 0)
    if isinstance(root_seed, bool) or not isinstance(root_seed, int) or not 0 <= root_seed <= _ROOT_SEED_MAX:
        raise ValueError(f"root_seed: must be an integer in [0, 2**63 - 1], got {root_seed!r}")
    seeds = _validate.positive_int("seeds", data.get("seeds", 1))
    if "description" in data and not isinstance(data["description"], str):
        raise ValueError(f"description: must be a string, got {data['description']!r}")
    out_name = _output_name(data["out"]) if "out" in data else name
    user_claims = _user_claims(data.get("claim", []))
    blocks = data.get("experiment")
    if not isinstance(blocks, list) or not blocks or not all(isinstance(b, dict) for b in blocks):
        raise ValueError("experiment: a config needs at least one [[experiment]] block (a table)")
    parsed = tuple(_experiment(i, block, seeds, user_claims) for i, block in enumerate(blocks))
    total = sum(len(block.cells) * block.seeds for block in parsed)
    if total > MAX_UNITS:
        raise ValueError(f"experiment: the blocks have {total} (cell, seed) units in all, more than the limit of "
                         f"{MAX_UNITS}; use fewer grid values or seeds")
    return Config(source=source, name=out_name, root_seed=root_seed, experiments=parsed, data=data)


# -- top level ------------------------------------------------------------------------------------------------------
def _check_keys(field: str, table: dict, allowed) -> None:
    if not isinstance(table, dict):
        raise ValueError(f"{field}: must be a table, got {table!r}")
    for key in table:
        if key not in allowed:
            raise ValueError(f"{field}: unknown key {key!r}; allowed: {', '.join(sorted(allowed))}")


def _check_plain_data(field: str, value, depth: int = 0) -> None:
    """Configs hold numbers, strings, booleans, lists and tables only (no TOML dates or times), nested at most
    MAX_DEPTH levels."""
    if depth > MAX_DEPTH:
        raise ValueError(f"{field}: lists or tables nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, dict):
        for key, item in value.items():
            _check_plain_data(f"{field}.{key}" if field else key, item, depth + 1)
    elif isinstance(value, list):
        for j, item in enumerate(value):
            _check_plain_data(f"{field}[{j}]", item, depth + 1)
    elif isinstance(value, float) and not np.isfinite(value):
        raise ValueError(f"{field}: must be a finite number, got {value!r}")
    elif not isinstance(value, (bool, int, float, str)):
        raise ValueError(f"{field}: must be a number, string, boolean, list or table, got {value!r}")


def _output_name(value) -> str:
    """A relative folder name below results/: no absolute path, no '..', plain characters only."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"out: must be a non-empty relative folder name, got {value!r}")
    parts = PurePosixPath(value).parts
    if (PurePosixPath(value).is_absolute() or PureWindowsPath(value).is_absolute() or "\\" in value
            or ".." in parts or not all(_SAFE_NAME.fullmatch(p) for p in parts)):
        raise ValueError(f"out: must be a relative folder name of letters, digits, '_', '-', '.' (no '..', not "
                         f"absolute), got {value!r}")
    return value


def _user_claims(entries) -> dict:
    """User claims by id, parsed by chargen_theory.claims.from_dict."""
    from . import claims

    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ValueError("claim: must be an array of tables ([[claim]] blocks)")
    found = {}
    for j, entry in enumerate(entries):
        if "id" in entry and not isinstance(entry["id"], str):
            raise ValueError(f"claim[{j}].id: must be a string of letters, digits and '_' starting with a letter, "
                             f"got {_shorten(repr(entry['id']))}")
        try:
            claim = claims.from_dict(entry)
        except (ValueError, TypeError) as err:
            raise ValueError(f"claim[{j}]: {err}") from None
        sizes = (claim.numerator, 0.0 if claim.offset is None else claim.offset)
        if not all(math.isfinite(x) and abs(x) <= _EXPONENT_MAX for x in sizes):
            raise ValueError(f"claim[{j}].exponent: its numbers must be finite and at most {_EXPONENT_MAX:g} in size "
                             f"(a log-log slope), got {_shorten(repr(entry['exponent']))}")
        if claim.id in found or claim.id in claims.names():
            raise ValueError(f"claim[{j}].id: {claim.id!r} is already defined; choose a new id")
        found[claim.id] = claim
    return found


# -- one experiment block -------------------------------------------------------------------------------------------
def _experiment(i: int, block: dict, default_seeds: int, user_claims: dict) -> Experiment:
    where = f"experiment[{i}]"
    if "kind" not in block:
        raise ValueError(f"{where}.kind: missing; allowed: {', '.join(experiments.names())}")
    try:
        kind = experiments.get(block["kind"])
    except ValueError as err:
        raise ValueError(f"{where}.kind: {str(err).split(': ', 1)[1]}") from None
    accepted = set(kind.parameters) | ({"h"} if "K" in kind.parameters else set())  # h = T/K: K or h
    _check_keys(where, block, accepted | set(BLOCK_KEYS))
    seeds = _validate.positive_int(f"{where}.seeds", block.get("seeds", default_seeds))
    given = {key: value for key, value in block.items() if key not in BLOCK_KEYS}
    if "K" in given and "h" in given:
        raise ValueError(f"{where}: give either K or h (h = T/K), not both")
    for key, default in kind.parameters.items():
        if key in given or (key == "K" and "h" in given) or default is None:
            continue
        if default == experiments.REQUIRED:
            missing = "K or h" if key == "K" else key
            raise ValueError(f"{where}.{missing}: missing (required by experiment kind {kind.name!r})")
        given[key] = default
    axes = {key: _values(f"{where}.{key}", _check(kind, key), value, _schedulable(kind, key))
            for key, value in given.items()}
    groups = _zip_groups(f"{where}.zip", block.get("zip", []), axes, given)
    zipped = {key for group in groups for key in group}
    size = math.prod(len(axes[group[0]]) for group in groups) * math.prod(
        len(values) for key, values in axes.items() if key not in zipped)
    if size * seeds > MAX_UNITS:
        raise ValueError(f"{where}: {size} cells x {seeds} seeds = {size * seeds} units, more than the limit of "
                         f"{MAX_UNITS}; use fewer grid values or seeds")
    cells = tuple(_cell(where, kind, point) for point in _grid(axes, groups))
    fits = _fits(where, kind, block.get("claims"), user_claims)
    return Experiment(index=i, kind=kind.name, seeds=seeds, cells=cells, fits=fits)


def _check(kind: experiments.Kind, key: str):
    """The check of parameter ``key`` for ``kind``: the kind's own (``Kind.checks``), else the shared schema's."""
    return kind.checks[key] if key in kind.checks else parameters.PARAMETERS[key].check


def _schedulable(kind: experiments.Kind, key: str) -> bool:
    return key not in kind.checks and key in parameters.PARAMETERS and parameters.PARAMETERS[key].schedulable


def _values(field: str, check, value, schedulable: bool = False) -> list:
    """The validated values of one parameter: several when the config gives a list (a grid axis), else one.
    Table-valued options (``parameters.table``) are fixed, never a grid. A schedule (``{ schedule = "..." }``, for
    schedulable parameters) is parsed here and checked per cell on its resolved value."""
    if check is parameters.table:
        return [check(field, value)]

    def one(where, v):
        if isinstance(v, dict) and "schedule" in v:
            if not schedulable:
                raise ValueError(f"{where}: cannot be a schedule; schedulable parameters: "
                                 f"{', '.join(k for k, p in parameters.PARAMETERS.items() if p.schedulable)} and "
                                 f"numeric estimator and generator options")
            _schedule(where, v)
            return v
        return check(where, v)

    if isinstance(value, list):
        if not value:
            raise ValueError(f"{field}: empty grid; give at least one value")
        values = [one(f"{field}[{j}]", v) for j, v in enumerate(value)]
    else:
        values = [one(field, value)]
    canon = [cells.canonical_json(v) for v in values]
    if len(set(canon)) != len(canon):
        raise ValueError(f"{field}: duplicate values in the grid")
    return values


def _schedule(field: str, value: dict) -> None:
    """A schedule table holds exactly ``schedule = "EXPRESSION"`` in the grammar of chargen_theory.schedules."""
    if set(value) != {"schedule"}:
        raise ValueError(f"{field}: a schedule table holds only 'schedule', got keys {', '.join(sorted(value))}")
    schedules.parse(field, value["schedule"])


def _zip_groups(field: str, value, axes: dict, given: dict) -> list[tuple[str, ...]]:
    """zip: a list of parameter names (one group) or a list of such lists."""
    if not isinstance(value, list) or not (all(isinstance(g, str) for g in value)
                                           or all(isinstance(g, list) for g in value)):
        raise ValueError(f"{field}: must be a list of parameter names or a list of such lists, got {value!r}")
    groups = value if value and isinstance(value[0], list) else [value] if value else []
    seen = set()
    for g, group in enumerate(groups):
        if not all(isinstance(k, str) for k in group) or len(group) < 2:
            raise ValueError(f"{field}[{g}]: must list at least two parameter names, got {group!r}")
        for key in group:
            if key not in axes:
                raise ValueError(f"{field}[{g}]: unknown key {key!r}; allowed: {', '.join(sorted(axes))}")
            if not isinstance(given[key], list):
                raise ValueError(f"{field}[{g}]: {key!r} is not a list; only grid axes can be zipped")
            if key in seen:
                raise ValueError(f"{field}[{g}]: {key!r} appears in two zip groups")
            seen.add(key)
        lengths = {key: len(axes[key]) for key in group}
        if len(set(lengths.values())) != 1:
            raise ValueError(f"{field}[{g}]: zipped lists must have equal lengths, got {lengths}")
    return [tuple(g) for g in groups]


def _grid(axes: dict, groups: list[tuple[str, ...]]):
    """Cartesian product over the axes, with each zip group varying together as one axis."""
    zipped = {key for group in groups for key in group}
    factors = [[dict(zip(group, values)) for values in zip(*(axes[k] for k in group))] for group in groups]
    factors += [[{key: v} for v in values] for key, values in axes.items() if key not in zipped]
    for combo in itertools.product(*factors):
        point = {}
        for part in combo:
            point.update(part)
        yield point


def _cell(where: str, kind: experiments.Kind, point: dict) -> dict:
    """Normalise one grid point into a cell: K and h, target dims, the options column; check consistency, with
    every schedule checked on its value at this cell's n, D and d_star."""
    cell, options = {}, {}
    for key, value in point.items():
        if key in parameters.SPECS:
            cell[key], cell[f"{key}_params"] = value
            for name, option in value[1].items():
                if isinstance(option, dict) and "schedule" in option:
                    _schedule(f"{where}.{key}.{name}", option)
        elif key in parameters.COLUMNS and key not in kind.checks:
            cell[key] = value
        else:
            options[key] = value
    scheduled_steps = any(parameters.is_schedule(cell.get(key)) for key in ("K", "T"))
    if "h" in cell and scheduled_steps:
        raise ValueError(f"{where}.h: give K, not h, when T or K is a schedule")
    if ("K" in cell or "h" in cell) and not scheduled_steps:
        cell["K"], cell["h"] = parameters.steps(where, cell.get("T", 1.0), cell.get("K"), cell.get("h"))
    if "d_star" in cell and "D" in cell and cell["d_star"] > cell["D"]:
        raise ValueError(f"{where}.d_star: must be <= D, got d_star = {cell['d_star']} > D = {cell['D']}")
    target = None
    if "target" in cell:
        sizes.check_memory(where, sizes.memory_terms({**cell, "options": options}))  # before building the target
        target = _check_target(where, cell)
        _check_target_scale(where, cell, target)
    if options:
        cell["options"] = options
    resolved = schedules.resolve(cell, where)[0]  # also checks the resolved values of the schema's parameters
    if "generator" in cell and schedules.has_schedule({"generator_params": cell["generator_params"]}):
        from .. import generators  # built before its memory terms (sizes.memory_terms builds it too)

        try:
            generators.get(cell["generator"], **resolved["generator_params"])
        except (ValueError, TypeError) as err:
            raise ValueError(f"{where}.generator: {cell['generator']}: {one_line(err)}") from None
    memory = sizes.memory_terms(resolved)
    if kind.memory is not None and target is not None:
        sizes.add_terms(memory, kind.memory(resolved))
    sizes.check_memory(where, memory)
    if "estimator" in cell and target is not None:
        from .experiments import build

        try:
            estimator = build.estimator(resolved, target)
        except (ValueError, TypeError) as err:
            raise ValueError(f"{where}.estimator: {cell['estimator']}: {one_line(err)}") from None
        _check_estimator_size(where, resolved, estimator, memory)
    if kind.validate is not None:
        try:
            kind.validate(resolved)
        except (ValueError, TypeError) as err:
            raise ValueError(f"{where}.{one_line(err)}") from None
    return cell


def _check_estimator_size(where: str, cell: dict, estimator, memory: dict) -> None:
    """Refuse, before any work, an estimator whose fit on the cell's n samples would not fit in memory with the rest
    of the cell (``memory``) or would take more than ``sizes.MAX_OPERATIONS``; the message names the estimator's
    hyperparameter (``experiment[i].estimator.<name>``)."""
    n, D = cell.get("n"), cell.get("D")
    if not isinstance(n, int) or not isinstance(D, int):
        return
    sizes.check_memory(where, sizes.add_terms(dict(memory), estimator.memory_terms(n, D), "estimator."))
    sizes.check_work(where, sizes.add_terms({}, estimator.work_terms(n, D), "estimator."))


def _check_target_scale(where: str, cell: dict, target) -> None:
    """The target's parameters (``_check_scale``) and a few of its samples stay within SCALE_MAX in magnitude."""
    _check_scale(f"{where}.target", cell["target_params"])
    try:
        points = target.sample(SCALE_PROBE, np.random.default_rng(0))
    except (ValueError, TypeError, ArithmeticError) as err:
        raise ValueError(f"{where}.target: {cell['target']}: {one_line(err)}") from None
    largest = float(np.max(np.abs(points))) if points.size else 0.0
    if not largest <= SCALE_MAX:
        raise ValueError(f"{where}.target: {cell['target']}: its samples reach |x| = {largest:.3g}, beyond "
                         f"{SCALE_MAX:g} (squared distances would overflow float64); rescale the target")


def _check_scale(field: str, value) -> None:
    """Every number in a target's parameters is 0 or of magnitude in [1 / SCALE_MAX, SCALE_MAX]: beyond, squares
    and sums of squares overflow or underflow float64 (``radius = 1e300``, ``std = 1e-300``)."""
    if isinstance(value, dict):
        for key, item in value.items():
            _check_scale(f"{field}.{key}", item)
    elif isinstance(value, list):
        for j, item in enumerate(value):
            _check_scale(f"{field}[{j}]", item)
    elif isinstance(value, (int, float)) and not isinstance(value, bool) and value != 0:
        if not 1 / SCALE_MAX <= abs(value) <= SCALE_MAX:
            raise ValueError(f"{field}: must be 0 or of magnitude in [{1 / SCALE_MAX:g}, {SCALE_MAX:g}] (its "
                             f"squares must stay within float64), got {value!r}")


def _check_target(where: str, cell: dict):
    """Build the cell's target once to validate its parameters; record the target's dims; return it."""
    from .. import targets
    from .experiments import build

    name = cell["target"]
    try:
        cell["target_params"] = build.dimension_params(name, cell["target_params"], cell.get("d_star"), cell.get("D"))
        target = build.target(cell)
    except (ValueError, TypeError) as err:
        raise ValueError(f"{where}.target: {name}: {one_line(err)}") from None
    for key, value in (("d_star", target.intrinsic_dim), ("D", target.dim)):
        if key in cell and cell[key] != value:
            raise ValueError(f"{where}.{key}: target {name!r} has {key} = {value}, not {cell[key]}; targets whose "
                             f"dimensions a grid can set: {', '.join(targets.with_grid_dimensions())}")
        cell[key] = int(value)
    return target


def _fits(where: str, kind: experiments.Kind, selected, user_claims: dict) -> tuple[experiments.Fit, ...]:
    """The kind's fits with the claims to test: its declared ones, or those listed under ``claims`` (a declared
    claim keeps its fits; another claim is fitted to its own quantity, which the kind must measure)."""
    from . import claims

    if selected is None:
        return kind.fits
    known = {**{cid: claims.get(cid) for cid in claims.names()}, **user_claims}
    if not isinstance(selected, list) or not all(isinstance(c, str) for c in selected):
        raise ValueError(f"{where}.claims: must be a list of claim ids; allowed: {', '.join(sorted(known))}")
    variables = sorted({fit.variable for fit in kind.fits})
    chosen: dict[tuple[str, str], list[str]] = {}
    for j, cid in enumerate(selected):
        claim = known[_validate.choice(f"{where}.claims[{j}]", cid, known)]
        if cid in selected[:j]:
            raise ValueError(f"{where}.claims[{j}]: {cid!r} is listed twice (also claims[{selected.index(cid)}]); "
                             f"list each claim once")
        declared = [(fit.quantity, fit.variable) for fit in kind.fits if cid in fit.claims]
        if not declared:
            if claim.quantity not in kind.measurements or claim.variable not in variables:
                raise ValueError(f"{where}.claims[{j}]: claim {cid!r} is about {claim.quantity} vs {claim.variable}; "
                                 f"experiment kind {kind.name!r} measures {', '.join(kind.measurements)} vs "
                                 f"{', '.join(variables)}")
            declared = [(claim.quantity, claim.variable)]
        for fit in declared:
            chosen.setdefault(fit, []).append(cid)
    return tuple(experiments.Fit(q, v, tuple(ids)) for (q, v), ids in chosen.items())


# -- helpers ---------------------------------------------------------------------------------------------------------
def _shorten(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[:width - 3] + "..."


def one_line(err: BaseException) -> str:
    """An exception's message on one line (whitespace runs collapsed); its type name when it has none."""
    text = " ".join(str(err).split())
    return text or type(err).__name__
