"""Run a validated configuration: its cells times seeds, cached, in parallel, into one long results table.

Each (cell, seed) is a *unit*: a pure function of the cell's parameters and a random stream derived from the root
seed by a stable hash (SHA-256 of canonical JSON -> numpy SeedSequence; never Python's hash(); chargen_theory.cells
owns the cell's identity and seeding). A finished unit is
cached as JSON under ``OUT/cache/<key>.json`` (key: parameters + seed + root seed + package version + a hash of
the package's source + the versions of the numerical dependencies + the SHA-256 of the plugins the cell uses
(chargen_theory.plugins), so that a code change, an upgrade or a plugin edit never reuses stale results), written
atomically, and never recomputed unless ``force``; an interrupted run therefore resumes where it stopped. A cached
record is checked exactly as a fresh one and recomputed if it fails. A unit
that fails is recorded with status "diverged" (FloatingPointError, ct.solvers.DivergenceError, non-finite results)
or "error" (any other exception) and its message, and is not cached; a unit whose plugin cannot be imported on its
worker stops the run (ValueError, no table written) once the other units have run. The table is sorted by the cell
parameters and seed, so serial, joblib (loky) and Dask runs and reruns give identical tables apart from the timing
columns.

Outputs: ``OUT/results.csv`` (columns: ``IDENTITY_COLUMNS``, ``parameters.COLUMNS``, then the measurements of the
kinds in the config) and ``OUT/run.json`` (the configuration, its name and SHA-256 (no machine path), seeds, versions,
plugins, machine, timestamps, status counts, and ``results_sha256``, the SHA-256 of results.csv, so that a report never
pairs a table with another run's sidecar). The folder is locked for the run and written as chargen_theory.outputs says.
"""
from __future__ import annotations

import contextlib
import datetime
import functools
import hashlib
import importlib.metadata
import json
import logging
import numbers
import os
import platform
import stat
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import __version__, _validate, training
from . import cells, config as config_module, experiments, outputs, parameters, schedules
from . import plugins as plugins_module

IDENTITY_COLUMNS = ("experiment", "cell_id", "seed", "status", "message", "seconds")
TIMING_COLUMNS = ("seconds", "train_seconds")
"""Wall-clock columns: they differ between otherwise identical runs."""
STATUSES = ("ok", "diverged", "error")
BACKENDS = ("loky", "dask")
CONNECT_TIMEOUT_S = 10
"""How long to try reaching a Dask scheduler before giving up."""
_ONE_THREAD_ENV = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                          "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")}
_VERSIONED = ("numpy", "scipy", "POT", "torch", "scikit-learn", "pandas", "joblib", "dask", "distributed")
_NUMERICAL = ("numpy", "scipy", "POT", "torch", "scikit-learn")
"""The dependencies whose versions are part of every cache key."""
_LOG = logging.getLogger(__name__)
_MAX_RECORD_BYTES = 1_000_000
"""A cache record larger than this is not one of ours (records are a few hundred bytes)."""


@dataclass(frozen=True)
class Unit:
    """One (cell, seed): the work of one results row. ``entropy`` seeds its numpy Generator; ``plugins`` names the
    loaded plugins the cell uses (``chargen_theory.plugins.used_by``)."""

    experiment: str
    cell: dict
    cell_id: str
    seed: int
    entropy: tuple[int, ...]
    key: str
    plugins: tuple[str, ...] = ()


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """SHA-256 (16 hex digits) of every .py file of the installed package, in path order: part of each cache key."""
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for file in sorted(root.rglob("*.py")):
        digest.update(file.relative_to(root).as_posix().encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


@functools.lru_cache(maxsize=1)
def numerical_versions() -> dict:
    """{package: installed version or None} of the numerical dependencies: part of each cache key."""
    return {name: _version(name) for name in _NUMERICAL}


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def units(cfg: config_module.Config) -> list[Unit]:
    """All (cell, seed) units of a configuration, without duplicates (a cell listed twice runs once)."""
    found: dict[str, Unit] = {}
    for block in cfg.experiments:
        level = experiments.get(block.kind).level
        for cell in block.cells:
            cid = cells.cell_id(block.kind, cell)
            for seed in range(block.seeds):
                identity = {"experiment": block.kind, "cell": cell, "seed": seed, "root_seed": cfg.root_seed,
                            "version": __version__, "code": code_fingerprint(), "dependencies": numerical_versions()}
                used = plugins_module.used_by(block.kind, cell)
                key = cells.digest({**identity, "plugins": used} if used else identity).hex()[:32]
                entropy = cells.seed_entropy(block.kind, cell, seed, cfg.root_seed, level)
                found.setdefault(key, Unit(block.kind, cell, cid, seed, entropy, key, tuple(sorted(used))))
    return list(found.values())


def usable_cpus() -> int:
    """CPUs this process may run on (affinity-aware where the OS tells): the most local workers a sweep starts."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# -- one unit ---------------------------------------------------------------------------------------------------------
def execute(unit: Unit, plugins: tuple = ()) -> dict:
    """Run one unit with BLAS and torch capped to one thread; return its record (never raises for a failing cell).
    ``plugins``: ``chargen_theory.plugins.specs()`` of the main process, imported first (once per process).

    Record: ``key``, ``status`` ("ok" | "diverged" | "error"), ``message`` (one line, empty when ok), ``seconds``
    (wall time), ``measurements`` (dict, empty unless ok), and ``plugin_failure`` (True) when a plugin the unit uses
    could not be imported in this process (``run`` then stops with that message).
    """
    start = time.perf_counter()
    failed = _require_plugins(plugins, unit.plugins)
    if failed:
        return {"key": unit.key, "status": "error", "message": failed, "seconds": time.perf_counter() - start,
                "measurements": {}, "plugin_failure": True}
    measurements, status, message = {}, "ok", ""
    try:
        kind = experiments.get(unit.experiment)
        with replay(unit) as (cell, rng):
            values = kind.run(cell, rng)
        measurements = _checked_measurements(kind, values)
    except FloatingPointError as err:  # includes ct.solvers.DivergenceError
        status, message = "diverged", _message(err)
    except _NonFinite as err:
        status, message = "diverged", str(err)
    except Exception as err:  # noqa: BLE001 - a failing cell is a result, recorded with its message
        status, message = "error", _message(err)
    if status != "ok":
        measurements = {}
    return {"key": unit.key, "status": status, "message": message, "seconds": time.perf_counter() - start,
            "measurements": measurements}


def _require_plugins(plugins: tuple, used: tuple[str, ...]) -> str:
    """Import the main process's plugins here (``plugins_module.require``); "" when every plugin the unit uses
    (``used``) is importable and the same source as the main process's, else the one-line reason. A plugin the unit
    does not use may fail without failing the unit."""
    for spec in plugins:
        try:
            plugins_module.require([spec])
        except Exception as err:  # noqa: BLE001 - whatever the import raised, it is reported in one line
            if spec[0] in used:
                return _message(err)
    return ""


class _NonFinite(ArithmeticError):
    pass


def _checked_measurements(kind: experiments.Kind, values) -> dict:
    """The measurements of one unit, fresh or cached: declared names only; strings for text names
    (``experiments.is_text``), finite
    real numbers (not booleans) otherwise, >= 0 when the kind says so (``Kind.nonnegative``)."""
    if not isinstance(values, dict):
        raise TypeError(f"experiment kind {kind.name!r} returned {type(values).__name__}, not a dict")
    checked = {}
    for name, value in values.items():
        if name not in kind.measurements:
            raise KeyError(f"experiment kind {kind.name!r} returned undeclared measurement {name!r}")
        if experiments.is_text(name):
            if not isinstance(value, str):
                raise TypeError(f"measurement {name} must be a string, got {value!r}")
            checked[name] = value
            continue
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise TypeError(f"measurement {name} must be a real number, got {value!r}")
        number = float(value)
        if not np.isfinite(number):
            raise _NonFinite(f"non-finite result: {name} = {number}")
        if kind.nonnegative and number < 0:
            raise ValueError(f"measurement {name} = {number} is negative; kind {kind.name!r} measures errors >= 0")
        checked[name] = number
    return checked


def _message(err: BaseException) -> str:
    """"Type: message" on one line, at most 500 characters."""
    text = f"{type(err).__name__}: {config_module.one_line(err)}" if str(err).strip() else type(err).__name__
    return text if len(text) <= 500 else text[:497] + "..."


@contextlib.contextmanager
def one_thread():
    """Cap BLAS/OpenMP pools (threadpoolctl) and torch (if loaded) to one thread; restore afterwards."""
    from threadpoolctl import threadpool_limits

    capped = training.torch_threads(1) if "torch" in sys.modules else contextlib.nullcontext()
    with threadpool_limits(limits=1), capped:
        yield


@contextlib.contextmanager
def replay(unit: Unit):
    """Rebuild the computation of one results row: yields (a copy of the unit's cell with its schedules resolved,
    its random stream) inside the sweep's one-thread setting, so that what is computed from them in the block is what the sweep computed for
    that row (e.g. to refit the generator behind a row for a figure)."""
    with one_thread():
        yield schedules.resolve(unit.cell)[0], cells.random_stream(unit.entropy)


def find_unit(cfg, experiment: str, seed: int = 0, **parameters) -> Unit:
    """The unit of ``cfg`` of kind ``experiment`` and replicate ``seed`` whose cell has the given parameter values;
    ValueError unless exactly one matches."""
    found = [u for u in units(cfg) if u.experiment == experiment and u.seed == seed
             and all(u.cell.get(k) == v for k, v in parameters.items())]
    if len(found) != 1:
        raise ValueError(f"unit: {len(found)} units of {experiment!r} (seed {seed}) match {parameters}; need one")
    return found[0]


# -- execution backends -----------------------------------------------------------------------------------------------
@contextlib.contextmanager
def _executor(jobs: int, backend: str, scheduler: str | None, plugins: tuple = ()):
    """Yield ``imap(units) -> iterator of records`` in completion order, each worker importing ``plugins``
    (``chargen_theory.plugins.specs()``) before its first unit. Connects (Dask) on entry, so that an unreachable
    scheduler fails before anything is written."""
    task = functools.partial(execute, plugins=plugins)
    if backend == "dask":
        from distributed import Client, LocalCluster, as_completed

        cluster = None
        if scheduler:
            try:
                _check_scheduler(scheduler)
                client = Client(scheduler, timeout=CONNECT_TIMEOUT_S)
            except Exception as err:  # noqa: BLE001 - whatever a wrong address raises, the user gets one line
                raise ValueError(f"scheduler: cannot reach Dask scheduler {scheduler!r} within {CONNECT_TIMEOUT_S} s "
                                 f"({_message(err)})") from None
        else:
            cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=None,
                                   silence_logs=logging.ERROR, env=_ONE_THREAD_ENV)
            client = Client(cluster)

        def imap(todo):
            for future in as_completed(client.map(task, todo, pure=False)):
                yield future.result()

        try:
            yield imap
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    elif jobs == 1:
        yield lambda todo: map(task, todo)
    else:
        from joblib import Parallel, delayed, parallel_config

        def imap(todo):
            with parallel_config(backend="loky", inner_max_num_threads=1):
                yield from Parallel(n_jobs=jobs, return_as="generator_unordered")(
                    delayed(_execute_in_worker)(u, plugins) for u in todo)

        yield imap


def _check_scheduler(address: str) -> None:
    """Ask ``address`` who it is within CONNECT_TIMEOUT_S seconds of wall time (a server that accepts and never
    answers would otherwise hold distributed.Client far longer); ValueError unless a Dask scheduler answers."""
    import asyncio
    import concurrent.futures

    from distributed.comm import connect

    async def identify():
        comm = await connect(address, timeout=CONNECT_TIMEOUT_S)
        try:
            await comm.write({"op": "identity"})
            return await comm.read()
        finally:
            comm.abort()

    async def bounded():
        return await asyncio.wait_for(identify(), CONNECT_TIMEOUT_S)

    pool = concurrent.futures.ThreadPoolExecutor(1)  # its own event loop, also under a running one (notebooks)
    try:
        answer = pool.submit(asyncio.run, bounded()).result()
    except (TimeoutError, asyncio.TimeoutError):
        raise TimeoutError("no answer") from None
    finally:
        pool.shutdown(wait=False)
    if not (isinstance(answer, dict) and answer.get("type") == "Scheduler"):
        raise ValueError("the server there is not a Dask scheduler")


def _execute_in_worker(unit: Unit, plugins: tuple = ()) -> dict:
    """``execute`` in a loky worker, which exits as soon as its parent (the sweep's process) dies."""
    _exit_with_parent(os.getppid())
    return execute(unit, plugins)


@functools.lru_cache(maxsize=None)
def _exit_with_parent(parent: int) -> None:
    """Start (once per worker) a daemon thread that ends the process when its parent process ``parent`` is gone
    (the worker is then re-parented), so that a SIGKILLed sweep leaves no worker computing."""
    def watch():
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(1)

    threading.Thread(target=watch, name="chargen-exit-with-parent", daemon=True).start()


# -- files -------------------------------------------------------------------------------------------------------------
def check_output_dir(out) -> Path:
    """Raise ValueError unless ``out`` is a writable folder or can be created as one, and its ``figures/`` (if
    there) does not lead outside it; creates nothing."""
    if not isinstance(out, (str, os.PathLike)) or not str(out):
        raise ValueError(f"out: must be a non-empty folder path, got {out!r}")
    out = Path(out).absolute()
    probe = out
    try:
        while not probe.exists():
            probe = probe.parent
        figures = out / "figures"
        if (figures.exists() or figures.is_symlink()) and not outputs.inside(figures, out):
            raise ValueError(f"out: {str(figures)!r} is a link to {str(figures.resolve())!r}, outside the output "
                             f"folder; remove the link")
    except OSError as err:  # e.g. a name longer than the file system allows
        raise ValueError(f"out: cannot use {_shorten(str(out))!r}: {err.strerror or err}") from None
    if not probe.is_dir():
        raise ValueError(f"out: cannot write to {str(out)!r}: {str(probe)!r} is not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ValueError(f"out: cannot write to {str(out)!r}: {str(probe)!r} is not writable")
    return out


def _shorten(text: str, width: int = 120) -> str:
    return text if len(text) <= width else f"{text[:width // 2]}...{text[-width // 2:]}"


def write_json_atomic(path: Path, value) -> None:
    """Write ``value`` as JSON to ``path`` atomically (outputs.write_atomic; NaN and inf rejected)."""
    outputs.write_atomic(path, lambda f: json.dump(value, f, indent=1, sort_keys=True, allow_nan=False))


def _read_cached(path: Path, unit: Unit) -> dict | None:
    """The cached record of ``unit``, checked as a fresh one; None (recompute) when absent, not a regular file (a
    link, folder, FIFO: never opened), too large, not JSON, or not a valid finished record of this unit."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        with open(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode) or info.st_size > _MAX_RECORD_BYTES:
                return None
            record = json.loads(handle.read(_MAX_RECORD_BYTES + 1).decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    seconds = record.get("seconds") if isinstance(record, dict) else None
    if not (isinstance(record, dict) and record.get("key") == unit.key and record.get("status") == "ok"
            and record.get("message") == "" and isinstance(seconds, (int, float)) and not isinstance(seconds, bool)
            and np.isfinite(seconds) and seconds >= 0):
        return None
    try:
        measurements = _checked_measurements(experiments.get(unit.experiment), record.get("measurements"))
    except (TypeError, ValueError, KeyError, ArithmeticError):
        return None
    return {**record, "measurements": measurements}


# -- the sweep ---------------------------------------------------------------------------------------------------------
def run(cfg, out, jobs: int = 1, backend: str = "loky", scheduler: str | None = None, force: bool = False,
        progress: bool = False, plugins=()):
    """Run every unit of ``cfg`` (a Config or a path to a TOML file) and write ``out``/results.csv and run.json.

    Parameters
    ----------
    jobs : worker processes (joblib loky), or Dask LocalCluster workers when ``backend="dask"`` and no scheduler;
        at most ``usable_cpus()`` (more are capped, with a warning on the ``chargen_theory.study.sweep`` logger).
    backend : "loky" or "dask".
    scheduler : address of a running Dask scheduler (``backend="dask"`` only); unreachable -> ValueError after
        ``CONNECT_TIMEOUT_S`` seconds.
    force : recompute every unit even where a cached record exists.
    progress : show a tqdm bar over units on stderr.
    plugins : module names imported (``chargen_theory.plugins.load``, with the installed entry-point plugins) here
        and in every worker before any unit runs: where the config's user-registered names come from.

    Returns the results table (pandas DataFrame), as written to results.csv.
    """
    from tqdm import tqdm

    plugins_module.load(plugins)
    if not isinstance(cfg, config_module.Config):
        cfg = config_module.load(cfg)
    jobs = _validate.positive_int("jobs", jobs)
    backend = _validate.choice("backend", backend, BACKENDS)
    if scheduler is not None and backend != "dask":
        raise ValueError("scheduler: only used with backend 'dask'")
    if scheduler is None and jobs > usable_cpus():  # local workers: one per usable CPU at most
        _LOG.warning("jobs: %d workers asked for, but this machine has %d usable CPUs: running %d", jobs,
                     usable_cpus(), usable_cpus())
        jobs = usable_cpus()
    out = check_output_dir(out)
    todo = units(cfg)
    if jobs > 1 or backend == "dask":
        plugins_module.check_reachable((u.experiment, u.cell) for u in todo)
    started, clock = _now(), time.perf_counter()
    with _executor(jobs, backend, scheduler, plugins_module.specs()) as imap, _prepared(out) as cache:
        _check_cache_entries(cache, todo)
        records = {} if force else {u.key: r for u in todo if (r := _read_cached(cache / f"{u.key}.json", u))}
        pending = [u for u in todo if u.key not in records]
        with tqdm(total=len(todo), initial=len(records), disable=not progress, file=sys.stderr, unit="cell",
                  desc=cfg.name, dynamic_ncols=True) as bar:
            for record in imap(pending):
                if record["status"] == "ok":
                    write_json_atomic(cache / f"{record['key']}.json", record)
                records[record["key"]] = record
                bar.update()
        _check_plugin_failures(records.values())
        table = results_table(cfg, todo, records)
        text = table.to_csv(index=False, lineterminator="\n")
        outputs.write_text(out / "results.csv", text)
        counts = {status: int((table["status"] == status).sum()) for status in STATUSES}
        sidecar = _sidecar(cfg, started, time.perf_counter() - clock, counts, len(pending), jobs, backend, scheduler)
        sidecar["results_sha256"] = hashlib.sha256(text.encode("utf-8")).hexdigest()
        write_json_atomic(out / "run.json", sidecar)
    return table


def _check_plugin_failures(records) -> None:
    """ValueError (no table written; the finished units are cached) when workers could not import a plugin that
    some units use: the run is incomplete, not a result."""
    failed = [record for record in records if record.get("plugin_failure")]
    if failed:
        raise ValueError(f"plugins: {len(failed)} unit(s) could not run on the workers: {failed[0]['message']}; "
                         f"no table was written and the finished units are cached: fix the workers' environment and "
                         f"run again")


@contextlib.contextmanager
def _prepared(out: Path):
    """Create ``out`` and ``out``/cache, hold the folder's lock, remove the temporary files of a killed run; yields
    the cache folder."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"out: cannot create {_shorten(str(out))!r}: {err.strerror}") from None
    with outputs.locked(out):
        cache = outputs.subfolder(out, "cache")
        outputs.remove_leftovers(out)
        outputs.remove_leftovers(cache)
        yield cache


def _check_cache_entries(cache: Path, todo: list[Unit]) -> None:
    """ValueError before any work if a unit's cache entry is a folder (a record could never be written there)."""
    for unit in todo:
        entry = cache / f"{unit.key}.json"
        if entry.is_dir() and not entry.is_symlink():
            raise ValueError(f"out: the cache entry {str(entry)!r} is a folder, not a record; remove it")


def results_table(cfg: config_module.Config, todo: list[Unit], records: dict):
    """One row per unit, sorted by (experiment, parameters, seed); columns as in the results contract."""
    import pandas as pd

    measured = []
    for name in dict.fromkeys(block.kind for block in cfg.experiments):
        measured += [m for m in experiments.get(name).measurements if m not in measured]
    scheduled = any(schedules.has_schedule(unit.cell) for unit in todo)
    rows = []
    for unit in todo:
        record = records[unit.key]
        row = {"experiment": unit.experiment, "cell_id": unit.cell_id, "seed": unit.seed, "status": record["status"],
               "message": record["message"], "seconds": float(record["seconds"])}
        for column in parameters.COLUMNS:
            value = unit.cell.get(column)
            if isinstance(value, (dict, list)):
                value = cells.canonical_json(value)
            row[column] = value
        if scheduled:
            row["resolved"] = cells.canonical_json(schedules.resolve(unit.cell)[1])
        row.update(record["measurements"])
        rows.append(row)
    order = ("experiment", *parameters.SORT_ORDER, "seed")
    rows.sort(key=lambda row: tuple(_sort_key(row[c]) for c in order))
    resolved = ["resolved"] if scheduled else []
    table = pd.DataFrame(rows, columns=list(IDENTITY_COLUMNS + parameters.COLUMNS) + resolved + measured)
    for column in ("seed", *parameters.INT_COLUMNS):
        if pd.api.types.is_numeric_dtype(table[column]) or table[column].isna().all():
            table[column] = table[column].astype("Int64")
    return table


def _sort_key(value) -> tuple:
    """Sort empty values first, then numbers, then text (a scheduled column mixes numbers and schedules)."""
    if value is None:
        return (0, 0.0, "")
    if isinstance(value, str):
        return (2, 0.0, value)
    return (1, value, "")


def comparable(table):
    """The table without its wall-clock columns: what must agree between runs of the same configuration."""
    return table.drop(columns=[c for c in TIMING_COLUMNS if c in table.columns])


def _sidecar(cfg, started: str, wall: float, counts: dict, computed: int, jobs: int, backend: str,
             scheduler: str | None) -> dict:
    versions = {}
    for name in _VERSIONED:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "config": cfg.data,
        "config_name": cfg.name,
        "config_sha256": cells.digest(cfg.data).hex(),
        "root_seed": cfg.root_seed,
        "fits": [{"experiment": block.kind, "block": block.index, "quantity": fit.quantity,
                  "variable": fit.variable, "claims": list(fit.claims)}
                 for block in cfg.experiments for fit in block.fits],
        "package_version": __version__,
        "code_fingerprint": code_fingerprint(),
        "plugins": [plugin.record() for plugin in plugins_module.loaded()],
        "versions": versions,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpu_count": os.cpu_count(),
        "started": started,
        "finished": _now(),
        "wall_seconds": wall,
        "command": _command_line(),
        "jobs": jobs,
        "backend": backend,
        "scheduler": scheduler,
        "units": sum(counts.values()),
        "units_computed": computed,
        "status_counts": counts,
    }


def _command_line() -> list[str]:
    program = os.path.basename(sys.argv[0])
    return (["python", "-m", "chargen_theory"] if program == "__main__.py" else [program]) + sys.argv[1:]


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
