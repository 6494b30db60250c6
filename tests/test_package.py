"""The package's public names: every public module (and subpackage) of chargen_theory is reachable as a lazy
attribute, ``ct.<name>``, and listed by ``dir(ct)``; an unknown name raises AttributeError."""
import pkgutil

import pytest

import chargen_theory as ct


def _public_modules() -> set[str]:
    return {m.name for m in pkgutil.iter_modules(ct.__path__) if not m.name.startswith("_")}


def test_every_public_module_is_a_lazy_name():
    modules = _public_modules()
    assert {"calibration", "planning", "summary", "labels", "rates", "report"} <= modules
    assert modules <= set(dir(ct))
    for name in sorted(modules):
        assert getattr(ct, name).__name__ == f"chargen_theory.{name}"


def test_unknown_name_raises_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'not_a_module'"):
        ct.not_a_module  # noqa: B018
