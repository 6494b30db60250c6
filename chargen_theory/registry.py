"""One registry type for everything the suite looks up by name: targets, paths, velocity estimators, generators,
experiment kinds and claims.

A ``Registry`` maps names to objects (classes, factories, dataclass instances). Built-ins are given at construction,
either as the objects or as ``"module:attribute"`` text imported relative to ``package`` on first ``get``, so that
listing names imports nothing (no torch, no scikit-learn). Users add theirs with ``add``; ``snapshot`` /
``restore`` undo additions (plugins that fail half-way, tests).
"""
from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping

from . import _validate


class Registry:
    """Names -> registered objects.

    what : the field named in an unknown-name error, e.g. "velocity estimator" (``_validate.choice``).
    check : ``check(obj)`` raising ValueError for an object this registry cannot hold; run by ``add`` and on a
        lazy built-in when it is first imported. None: anything.
    builtin : name -> object, or (with ``package``) name -> "module:attribute" imported from ``package`` on first use.
    package : the package lazy built-ins are imported from, e.g. "chargen_theory.velocity".
    owner_of : ``owner_of(obj)`` -> the module that defines a registered object (plugins use it); default its
        ``__module__``.
    repeatable : adding an object equal to the one registered under its name is harmless (kinds and claims, which
        modules register when imported); otherwise every taken name raises.
    taken : the duplicate-name message, formatted with ``name`` and ``names`` (the registered ones, comma-separated).
    """

    def __init__(self, what: str, check: Callable[[object], None] | None = None, *,
                 builtin: Mapping[str, object] | None = None, package: str | None = None,
                 owner_of: Callable[[object], str | None] | None = None, repeatable: bool = False,
                 taken: str = "name: {name!r} is already registered"):
        self.what = what
        self._check = check
        self._package = package
        self._builtin = dict(builtin or {})  # a lazy one's "module:attribute" until it is imported
        self._lazy = set(self._builtin) if package else set()
        self._added: dict[str, object] = {}
        self._owner_of = owner_of or (lambda obj: getattr(obj, "__module__", None))
        self._repeatable = repeatable
        self._taken = taken

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted([*self._builtin, *self._added])

    def __contains__(self, name) -> bool:
        return isinstance(name, str) and (name in self._builtin or name in self._added)

    def get(self, name: str):
        """The object registered as ``name``; ValueError naming ``what`` and listing the names for an unknown one."""
        _validate.choice(self.what, name, self.names())
        if name in self._added:
            return self._added[name]
        if name in self._lazy:
            module, attribute = self._builtin[name].split(":")
            obj = getattr(importlib.import_module(f".{module}", self._package), attribute)
            if self._check is not None:
                self._check(obj)
            self._builtin[name] = obj
            self._lazy.discard(name)
        return self._builtin[name]

    def create(self, name: str, **hyperparameters):
        """A new instance of the class registered as ``name`` with ``hyperparameters`` (ValueError naming an unknown
        name, or an unknown or missing hyperparameter: ``_validate.hyperparameters``)."""
        cls = self.get(name)
        _validate.hyperparameters(f"{self.what} {name!r}", cls, hyperparameters)
        return cls(**hyperparameters)

    def add(self, name: str, obj):
        """Register ``obj`` under the new ``name`` and return it: ValueError if ``check`` refuses it, ``name`` is not
        a non-empty text, or ``name`` is taken (unless ``repeatable`` and the same object)."""
        if self._check is not None:
            self._check(obj)
        if not isinstance(name, str) or not name:
            raise ValueError(f"name: must be a non-empty string, got {name!r}")
        if name in self and not (self._repeatable and self.get(name) == obj):
            raise ValueError(self._taken.format(name=name, names=", ".join(self.names())))
        if name not in self._builtin:
            self._added[name] = obj
        return obj

    def owner(self, name: str) -> str | None:
        """The module that defines the object registered as ``name`` (None when it cannot tell); a lazy built-in is
        not imported for it."""
        if name in self._lazy:
            return f"{self._package}.{self._builtin[name].split(':')[0]}"
        return self._owner_of(self.get(name))

    def snapshot(self) -> dict:
        """The names added with ``add`` and their objects, for ``restore``."""
        return dict(self._added)

    def restore(self, state: dict) -> None:
        """Put the additions back as they were at ``state = snapshot()``."""
        self._added = dict(state)


def subclass_of(base: type, public_name: str) -> Callable[[object], None]:
    """A ``check`` for a registry of classes: ValueError "cls: must be a subclass of <public_name>, got <obj>"."""
    def check(obj) -> None:
        if not (isinstance(obj, type) and issubclass(obj, base)):
            raise ValueError(f"cls: must be a subclass of {public_name}, got {obj!r}")
    return check

