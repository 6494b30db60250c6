"""The package's public names: every public module (and subpackage) of chargen_theory is reachable as a lazy
attribute, ``ct.<name>``, and listed by ``dir(ct)``; an unknown name raises AttributeError."""
import pkgutil

import pytest

import chargen_theory as ct


LAYERS = ("study", "verdicts", "reporting")


def _public_modules() -> dict[str, str]:
    """{public name: full module name}: the top-level modules and those of each layer folder."""
    found = {m.name: f"chargen_theory.{m.name}" for m in pkgutil.iter_modules(ct.__path__) if not m.name.startswith("_")}
    for layer in LAYERS:
        package = getattr(ct, layer)
        found |= {m.name: f"chargen_theory.{layer}.{m.name}" for m in pkgutil.iter_modules(package.__path__)
                  if not m.name.startswith("_")}
    return found


def test_every_public_module_is_a_lazy_name():
    modules = _public_modules()
    assert {"calibration", "planning", "summary", "labels", "rates", "report", "sweep", "claims"} <= set(modules)
    assert set(modules) <= set(dir(ct))
    for name, full in sorted(modules.items()):
        assert getattr(ct, name).__name__ == full


def test_unknown_name_raises_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'not_a_module'"):
        ct.not_a_module  # noqa: B018
