"""Plugins: the user's modules that register estimators, generators, targets or experiment kinds, imported by name
in the main process and in every worker (loky or Dask) before any cell runs.

A plugin is an importable module (or package) whose import calls ``ct.velocity.register``,
``ct.generators.register``, ``ct.targets.register`` or ``ct.experiments.register``. Name it with
``ct.sweep.run(..., plugins=["my_estimator"])`` or ``chargen-theory run CONFIG --plugin my_estimator`` (the
working directory is importable, as with ``python -m``), or declare it in an installed distribution's entry point
group ``chargen_theory.plugins``, loaded automatically (as pytest finds its plugins)::

    [project.entry-points."chargen_theory.plugins"]
    my_estimators = "my_package.estimators"     # a module; importing it registers its names

``load(names)`` imports them once per process. A plugin that fails to import, or registers a name already taken,
raises one ValueError and leaves the registries as they were. A cell *uses* a plugin when its kind, or any name in
its parameters (estimator, generator, target, a subspace's base, ...), was registered by it; the sweep puts the
SHA-256 of the plugins a cell uses into that cell's cache key (``used_by``), so editing a plugin recomputes exactly
its cells.
"""
from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.metadata
import os
import re
import sys
import traceback
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

ENTRY_POINT_GROUP = "chargen_theory.plugins"
_MODULE_NAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


@dataclass(frozen=True)
class Plugin:
    """A loaded plugin.

    name : the module's import name. version : the version of the installed distribution it belongs to, None for a
    loose module. sha256 : hex SHA-256 of its source file(s) (every .py file of a package). registered : the names it
    registered, as ``(registry, name)`` pairs, registry "estimator", "generator", "target" or "experiment". root :
    the folder on ``sys.path`` it was imported from (workers on the same machine import it from there; not recorded
    in run.json).
    """

    name: str
    version: str | None
    sha256: str
    registered: tuple[tuple[str, str], ...]
    root: str | None

    @property
    def names(self) -> set[str]:
        """The registered names, whatever their registry."""
        return {name for _, name in self.registered}

    def record(self) -> dict:
        """JSON-ready description for run.json (no machine path)."""
        registered: dict[str, list[str]] = {}
        for registry, name in self.registered:
            registered.setdefault(registry, []).append(name)
        return {"name": self.name, "version": self.version, "sha256": self.sha256, "registered": registered}


_LOADED: dict[str, Plugin] = {}


def load(names: Iterable[str] = ()) -> list[Plugin]:
    """Import the installed entry-point plugins and the modules ``names`` (each once per process; the working
    directory is put on ``sys.path``) and return them, entry points first. ValueError naming the plugin when one
    cannot be imported, raises on import, registers a name already taken, or was edited since this process
    imported it."""
    names = _module_names(names)
    found = []
    for entry in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        where = f"entry point {entry.name!r} of {entry.dist.name if entry.dist else 'an unknown distribution'}"
        found.append(_load_one(entry.module, where, entry.dist.version if entry.dist else None))
    if names:
        cwd = os.getcwd()
        if cwd not in sys.path and "" not in sys.path:
            sys.path.insert(0, cwd)
    found += [_load_one(name, "") for name in names]
    return list({plugin.name: plugin for plugin in found}.values())


def loaded() -> list[Plugin]:
    """Every plugin loaded in this process, in load order."""
    return list(_LOADED.values())


def specs() -> tuple[tuple[str, str, str | None], ...]:
    """What a worker needs to load this process's plugins: (name, sha256, root) of each (see ``require``)."""
    return tuple((p.name, p.sha256, p.root) for p in _LOADED.values())


def require(plugin_specs) -> None:
    """Worker side: import the plugins ``plugin_specs`` (``specs()`` of the main process) unless already loaded in
    this process, from their root folder when it exists here, and check their source is the main process's;
    ValueError / RuntimeError otherwise (the sweep records the cell as an error)."""
    for name, sha256, root in plugin_specs:
        plugin = _LOADED.get(name)
        if plugin is None:
            if root and os.path.isdir(root) and root not in sys.path:
                sys.path.insert(0, root)
            plugin = _load_one(name, "")
        if plugin.sha256 != sha256:
            raise RuntimeError(f"plugin {name!r}: this process imported a different source (sha256 "
                               f"{plugin.sha256[:12]}) than the main process (sha256 {sha256[:12]}): the plugin was "
                               f"edited since this worker (pid {os.getpid()}) imported it, or another version is "
                               f"installed here; on a long-running Dask cluster restart its workers (e.g. "
                               f"Client(address).restart()) so that they import the edited plugin")


def used_by(experiment: str, cell: dict) -> dict[str, str]:
    """{plugin name: sha256} of the loaded plugins the cell uses (its kind or any string in its parameters was
    registered by them); empty when it uses none."""
    used = _strings(cell) | {experiment}
    return {p.name: p.sha256 for p in _LOADED.values() if p.names & used}


def check_reachable(uses: Iterable[tuple[str, dict]]) -> None:
    """Before a parallel run: ValueError if an (experiment, cell) of ``uses`` needs a name registered by a module that
    is neither part of chargen_theory nor a loaded plugin (worker processes would not know that name)."""
    used = set().union(*(_strings(cell) | {experiment} for experiment, cell in uses))
    for (registry, name), owner in _owners().items():
        if (name in used and owner is not None and not _within(owner, "chargen_theory")
                and not any(_within(owner, p.name) or name in p.names for p in _LOADED.values())):
            raise ValueError(f"plugins: {registry} {name!r} is registered by module {owner!r}, which worker processes "
                             f"do not import; put it in a module of its own and pass plugins=[<module>] (command "
                             f"line: --plugin <module>), or run with jobs=1")


# -- loading one plugin ----------------------------------------------------------------------------------------------
def _module_names(names) -> list[str]:
    if isinstance(names, str) or not isinstance(names, Iterable):
        raise ValueError(f"plugins: must be a list of module names, got {names!r}")
    names = list(names)
    for i, name in enumerate(names):
        if not isinstance(name, str) or not _MODULE_NAME.fullmatch(name):
            raise ValueError(f"plugins[{i}]: {name!r} is not a module name{_hint(name)}")
    return names


def _load_one(name: str, where: str, version: str | None = None) -> Plugin:
    """Import module ``name`` once per process and describe it; ``where`` says how it was declared (for errors),
    ``version`` is its distribution's (found from the module name when None)."""
    label = f"plugin {name!r}" + (f" ({where})" if where else "")
    if name in _LOADED:
        plugin = _LOADED[name]
        if _source_sha256(sys.modules[name]) != plugin.sha256:
            raise ValueError(f"{label}: its source changed since this process imported it; start a new "
                             f"Python process to use the edited plugin (on a long-running Dask cluster: restart its "
                             f"workers, e.g. Client(address).restart())")
        return plugin
    before, saved, modules = _owners(), _snapshot(), set(sys.modules)
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as err:
        _undo(saved, before, modules)
        if err.name is not None and (name == err.name or name.startswith(err.name + ".")):
            raise ValueError(f"{label}: no module named {err.name!r} in the working directory ({os.getcwd()}) or "
                             f"the environment{_hint(name)}") from None
        raise ValueError(f"{label} failed to import: {_describe(err)}") from None
    except (Exception, SystemExit) as err:  # noqa: BLE001 - any failure of the user's module is one clear error
        _undo(saved, before, modules)
        raise ValueError(f"{label} failed to import: {_describe(err)}") from None
    after = _owners()
    registered = [key for key in after if key not in before or (after[key] and _within(after[key], name))]
    plugin = Plugin(name, version or _version(name), _source_sha256(module), tuple(sorted(registered)), _root(name))
    _LOADED[name] = plugin
    return plugin


def _hint(name) -> str:
    """A hint for a module given as a file name."""
    return f"; give the module as you would import it, e.g. {name[:-3]!r}" if str(name).endswith(".py") else ""


def _describe(err: BaseException) -> str:
    """"Type: message (file:line)" on one line, the line being the innermost frame outside importlib."""
    text = " ".join(str(err).split())
    frames = [f for f in traceback.extract_tb(err.__traceback__) if "importlib" not in f.filename]
    where = f" ({Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    return f"{type(err).__name__}: {text}{where}" if text else f"{type(err).__name__}{where}"


def _source_sha256(module) -> str:
    """SHA-256 over the module's file, or every .py file of a package (relative names and bytes, in path order)."""
    folders = [Path(p) for p in getattr(module, "__path__", ())]
    files = [(f.relative_to(d).as_posix(), f) for d in folders for f in sorted(d.rglob("*.py"))]
    if not folders and getattr(module, "__file__", None):
        files = [(Path(module.__file__).name, Path(module.__file__))]
    digest = hashlib.sha256()
    for relative, file in files:
        digest.update(relative.encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


def _root(name: str) -> str | None:
    """The sys.path folder holding the top-level module or package of ``name``."""
    top = sys.modules[name.split(".")[0]]
    if getattr(top, "__file__", None):
        file = Path(top.__file__).resolve()
        return str(file.parent.parent if file.stem == "__init__" else file.parent)
    paths = list(getattr(top, "__path__", ()))  # a namespace package
    return str(Path(paths[0]).resolve().parent) if paths else None


def _version(name: str) -> str | None:
    distributions = _packages_distributions().get(name.split(".")[0], [])
    return importlib.metadata.version(distributions[0]) if distributions else None


@functools.lru_cache(maxsize=1)
def _packages_distributions() -> dict:
    return importlib.metadata.packages_distributions()


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _strings(value) -> set[str]:
    """Every string in a nested dict / list (a cell's names, wherever they sit)."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set().union(set(), *map(_strings, value.values()))
    if isinstance(value, (list, tuple)):
        return set().union(set(), *map(_strings, value))
    return set()


# -- the registries ----------------------------------------------------------------------------------------------------
def _registries() -> tuple[tuple[str, object], ...]:
    """(label, Registry) of every registry a plugin may add to and a cell may name: estimators, generators, targets,
    experiment kinds (paths take no additions; claims sit above this layer and name no cell)."""
    from . import experiments
    from .. import generators, targets, velocity

    return (("estimator", velocity.ESTIMATORS), ("generator", generators.GENERATORS), ("target", targets.TARGETS),
            ("experiment", experiments.KINDS))


def _owners() -> dict[tuple[str, str], str | None]:
    """(registry label, name) -> the module that defines the registered object (None when it cannot tell)."""
    return {(label, name): registry.owner(name) for label, registry in _registries() for name in registry.names()}


def _snapshot() -> tuple[dict, ...]:
    return tuple(registry.snapshot() for _, registry in _registries())


def _restore(saved: tuple[dict, ...]) -> None:
    """Put the registries back as they were at ``saved = _snapshot()``."""
    for (_, registry), state in zip(_registries(), saved):
        registry.restore(state)


def _undo(saved: tuple[dict, ...], owners: dict, modules: set) -> None:
    """Undo the registrations of a plugin that failed part-way through its import, and forget the modules it newly
    imported that made them, so that importing them again registers again (``saved``, ``owners``, ``modules``:
    ``_snapshot()``, ``_owners()`` and the names in ``sys.modules`` from before the import)."""
    made = {owner for key, owner in _owners().items() if key not in owners}
    _restore(saved)
    for module in made - modules:
        sys.modules.pop(module, None)
