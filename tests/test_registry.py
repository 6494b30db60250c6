"""The one Registry type behind every registry: the public register / get functions keep their messages, listing
names imports no estimator or generator module, additions can be undone, owners are known without importing."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import chargen_theory as ct
from chargen_theory.registry import Registry, subclass_of

REPO = Path(__file__).resolve().parent.parent
CLAIM_IDS = ", ".join(ct.claims.names())

REFUSED = {  # a registration that must fail -> its whole message
    "estimator taken": (lambda: ct.velocity.register("kde", ct.velocity.estimator_class("knn")),
                        "name: 'kde' is already registered"),
    "estimator type": (lambda: ct.velocity.register("mine", object),
                       "cls: must be a subclass of chargen_theory.velocity.VelocityEstimator, got <class 'object'>"),
    "estimator name": (lambda: ct.velocity.register("", ct.velocity.estimator_class("knn")),
                       "name: must be a non-empty string, got ''"),
    "generator taken": (lambda: ct.generators.register("euler", ct.generators.generator_class("euler")),
                        "name: 'euler' is already registered"),
    "generator type": (lambda: ct.generators.register("mine", int),
                       "cls: must be a subclass of chargen_theory.generators.Generator, got <class 'int'>"),
    "target taken": (lambda: ct.targets.register("box", lambda: None), "name: 'box' is already registered"),
    "target type": (lambda: ct.targets.register("mine", 3), "factory: must be callable"),
    "kind taken": (lambda: ct.experiments.register(ct.experiments.Kind("w2_floor", lambda cell, rng: {}, {}, ())),
                   "name: 'w2_floor' is already registered"),
    "kind type": (lambda: ct.experiments.register("w2_floor"),
                  "kind: must be a chargen_theory.experiments.Kind, got str"),
    "kind parameter": (lambda: ct.experiments.register(ct.experiments.Kind("mine", lambda cell, rng: {}, {"alpha": 1},
                                                                           ())),
                       "kind mine: parameter(s) alpha need a check in Kind.checks; shared parameters: "
                       + ", ".join(ct.parameters.PARAMETERS)),
    "claim taken": (lambda: ct.claims.register(ct.claims.Claim("euler_first_order", "euler_error", "h", 2.0, None)),
                    f"claim euler_first_order: id already registered; registered ids: {CLAIM_IDS}"),
    "claim type": (lambda: ct.claims.register({"id": "mine"}),
                   "claim: must be a chargen_theory.claims.Claim, got dict"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_every_register_function_refuses_with_its_message(case, scratch_registries):
    register, message = REFUSED[case]
    before = [module.names() for module in (ct.velocity, ct.generators, ct.targets, ct.experiments, ct.claims)]
    with pytest.raises(ValueError) as info:
        register()
    assert str(info.value) == message
    assert [module.names() for module in (ct.velocity, ct.generators, ct.targets, ct.experiments, ct.claims)] == before


@pytest.mark.parametrize(("module", "what"), [(ct.velocity, "velocity estimator"), (ct.generators, "generator"),
                                              (ct.paths, "path"), (ct.targets, "target"),
                                              (ct.experiments, "experiment"), (ct.claims, "claim")])
def test_an_unknown_name_lists_the_registered_ones(module, what):
    with pytest.raises(ValueError) as info:
        module.get("nope")
    assert str(info.value) == f"{what}: unknown value 'nope'; allowed: {', '.join(module.names())}"


def test_the_same_kind_or_claim_again_is_harmless_a_class_again_is_not(scratch_registries):
    assert ct.experiments.register(ct.experiments.get("w2_floor")) is ct.experiments.get("w2_floor")
    claim = ct.claims.get("euler_first_order")
    assert ct.claims.register(claim) is claim
    ct.velocity.register("mine", ct.velocity.estimator_class("knn"))
    with pytest.raises(ValueError, match="^name: 'mine' is already registered$"):
        ct.velocity.register("mine", ct.velocity.estimator_class("knn"))


def test_listing_names_and_owners_imports_no_estimator_generator_or_kind_module():
    code = ("import json, sys, chargen_theory as ct\n"
            "names = [m.names() for m in (ct.velocity, ct.generators, ct.targets, ct.paths, ct.experiments)]\n"
            "owners = {f'{label} {name}': owner for (label, name), owner in ct.plugins._owners().items()}\n"
            "print(json.dumps([owners, sorted(sys.modules)]))\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    owners, imported = json.loads(done.stdout)
    assert owners["estimator mlp"] == "chargen_theory.velocity.mlp"
    assert owners["generator endpoint"] == "chargen_theory.generators.characteristic"
    assert owners["experiment w2_floor"] == "chargen_theory.study.experiments.w2_floor"
    assert not [m for m in imported if m.split(".")[0] in ("torch", "sklearn")]
    assert not {owner for key, owner in owners.items() if not key.startswith("target ")} & set(imported)


def test_a_lazy_builtin_is_checked_when_imported():
    registry = Registry("thing", subclass_of(int, "int"), package="chargen_theory",
                        builtin={"path": "paths:Interpolant"})
    assert registry.names() == ["path"] and registry.owner("path") == "chargen_theory.paths"
    with pytest.raises(ValueError) as info:
        registry.get("path")
    assert str(info.value) == "cls: must be a subclass of int, got <class 'chargen_theory.paths.Interpolant'>"


def test_restore_undoes_the_additions_since_a_snapshot_and_owner_names_the_defining_module():
    registry = Registry("thing", builtin={"one": 1})
    state = registry.snapshot()
    registry.add("f", test_a_lazy_builtin_is_checked_when_imported)
    assert registry.names() == ["f", "one"] and "f" in registry and registry.owner("f") == __name__
    registry.restore(state)
    assert registry.names() == ["one"] and "f" not in registry
    assert registry.add("f", len) is len and registry.owner("f") == "builtins"
