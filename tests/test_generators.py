"""The generator registry and contract: every registered generator passes check_generator, broken ones fail it."""
import numpy as np
import pytest

import chargen_theory as ct
from chargen_theory import generators
from chargen_theory.generators.euler import Euler
from chargen_theory.testing import check_generator, generator_checks, parametrize_with_checks

pytestmark = pytest.mark.usefixtures("one_torch_thread")

FAST = {"characteristic": {"max_steps": 20, "width": 16, "depth": 2}, "endpoint": {"max_steps": 20, "width": 16},
        "euler": {}, "flow_map": {"max_steps": 20, "width": 16}, "consistency": {"max_steps": 20, "width": 16}}


def test_every_builtin_is_covered():
    assert sorted(FAST) == generators.names()


@parametrize_with_checks({name: generator_checks(name, params) for name, params in FAST.items()})
def test_builtin_generators_follow_the_contract(check):
    check()


class _Float32(Euler):
    def map(self, z, s=0.0, t=None):
        return super().map(z, s, t).astype(np.float32)


class _Unseeded(Euler):
    def _map(self, z, s, t):
        return super()._map(z, s, t) + 1e-3 * np.random.default_rng().standard_normal(z.shape)


class _MovesAtEqualTimes(Euler):
    def map(self, z, s=0.0, t=None):
        return super().map(z, s, t) + 1.0


class _WorksInInit(Euler):
    def __init__(self, dtype="float64"):
        super().__init__(dtype)
        self.velocity_ = None


@pytest.mark.parametrize("broken, rule", [
    (_Float32(), "map_returns_finite_float64_n_by_d"),
    (_Unseeded(), "equal_seeds_give_equal_generators"),
    (_MovesAtEqualTimes(), "identity_at_equal_times"),
    (_WorksInInit(), "generator_init_sets_no_fitted_attributes"),
])
def test_broken_generators_fail_the_rule_they_break(broken, rule):
    with pytest.raises(AssertionError, match=rule):
        check_generator(broken)


def test_registry_errors_name_the_field():
    with pytest.raises(ValueError, match="^generator: .*allowed: characteristic, consistency, endpoint, euler"):
        generators.get("nope")
    with pytest.raises(ValueError, match="^epochs: not a hyperparameter of generator 'flow_map'"):
        generators.get("flow_map", epochs=3)
    with pytest.raises(ValueError, match="^max_steps: "):
        generators.get("consistency", max_steps=0)
    with pytest.raises(ValueError, match="^ema: "):
        generators.get("consistency", ema=1.0)
    with pytest.raises(ValueError, match="^dtype: "):
        generators.get("euler", dtype="float16")
    with pytest.raises(ValueError, match="already registered"):
        generators.register("euler", Euler)


def test_euler_generator_is_the_solver_and_its_float32_state_agrees():
    """euler's one step is solvers.euler exactly (numpy velocity); with an MLP velocity the torch loop matches
    solvers.euler to float32 precision in both state types."""
    target = ct.targets.get("gaussian", mean=[1.0, -0.5], cov=[[1.0, 0.6], [0.6, 0.5]])
    z = np.random.default_rng(0).standard_normal((100, 2))
    gen = generators.get("euler").fit(target, "linear", 8, 0.9, 2, np.random.default_rng(1))
    velocity = lambda t, x: target.velocity(t, x, "linear")  # noqa: E731
    assert np.array_equal(gen.map(z), ct.solvers.euler(velocity, z, K=8, T=0.9)) and gen.nfe_per_sample_ == 8
    est = ct.velocity.get("mlp", width=16, epochs=2).fit(target.sample(200, np.random.default_rng(2)), "linear",
                                                         np.random.default_rng(3))
    reference = ct.solvers.euler(est, z, K=8, T=0.9)
    for dtype, tol in (("float64", 1e-6), ("float32", 1e-5)):
        x = generators.get("euler", dtype=dtype).fit(est, "linear", 8, 0.9, 2, np.random.default_rng(1)).map(z)
        np.testing.assert_allclose(x, reference, atol=tol)


def test_distillers_share_the_teacher_data():
    """Equal seeds give every network method the same Euler characteristics and held-out split."""
    target = ct.targets.get("gaussian", mean=[0.0, 0.0], cov=[[1.0, 0.0], [0.0, 1.0]])
    fitted = [generators.get(name, **FAST[name]).fit(target, "linear", 4, 0.9, 30, np.random.default_rng(7))
              for name in ("characteristic", "flow_map", "consistency")]
    chars, vals = [g.teacher_.chars for g in fitted], [g.teacher_.val for g in fitted]
    assert all(np.array_equal(c, chars[0]) for c in chars) and all(np.array_equal(v, vals[0]) for v in vals)


def test_config_generator_column_shapes_and_errors():
    """generator: a name, a table with name, a list (grid axis), or the older options table (characteristic /
    endpoint); mistakes name the field; the generators of a cell share its random stream."""
    base = 'root_seed = 1\n[[experiment]]\nkind = "chargen_vs_n"\ntarget = "8gaussians"\nestimator = "kde"\nn = 100\n'
    cells = ct.config.loads(base + 'generator = ["euler", { name = "consistency", ema = 0.9 }]').experiments[0].cells
    assert [(c["generator"], c["generator_params"]) for c in cells] == [("euler", {}), ("consistency", {"ema": 0.9})]
    (old,) = ct.config.loads(base + "generator = { width = 8, epochs = 2 }").experiments[0].cells
    assert (old["generator"], old["generator_params"]) == ("characteristic", {"width": 8, "epochs": 2})
    (ep,) = ct.config.loads(base + "generator = { endpoint_only = true }").experiments[0].cells
    assert (ep["generator"], ep["generator_params"]) == ("endpoint", {})
    level = ct.experiments.get("chargen_vs_n").level
    seeds = {ct.cells.seed_entropy("chargen_vs_n", c, 0, 1, level) for c in cells}
    assert len(seeds) == 1
    for text, message in (('generator = "nope"', r"^experiment\[0\]\.generator\.name: .*allowed: characteristic"),
                          ('generator = { name = "euler", width = 3 }',
                           r"^experiment\[0\]\.generator\.width: not a hyperparameter of generator 'euler'"),
                          ('generator = { name = "flow_map", max_steps = 0 }',
                           r"^experiment\[0\]\.generator\.max_steps: ")):
        with pytest.raises(ValueError, match=message):
            ct.config.loads(base + text)
    budget = base.replace("chargen_vs_n", "generator_budget") + 'max_steps = [10, 20]\ngenerator = "endpoint"'
    cells = ct.config.loads(budget).experiments[0].cells  # max_steps (in options) is a level: one shared stream
    level = ct.experiments.get("generator_budget").level
    assert len({ct.cells.seed_entropy("generator_budget", c, 0, 1, level) for c in cells}) == 1 and len(cells) == 2
    budget = budget.replace('"endpoint"', '"euler"')
    with pytest.raises(ValueError, match=r"^experiment\[0\]\.generator: 'euler' does not train"):
        ct.config.loads(budget)


def test_characteristic_max_steps_caps_the_optimizer_steps():
    target = ct.targets.get("gaussian", mean=[0.0, 0.0], cov=[[1.0, 0.0], [0.0, 1.0]])
    gen = ct.CharacteristicGenerator(width=8, depth=1, epochs=50, max_steps=40, patience=50).fit(
        target, "linear", K=4, T=0.9, m=200, rng=np.random.default_rng(0))
    assert gen.train_steps_ == 40 and gen.epochs_ == 20
    uncapped = ct.CharacteristicGenerator(width=8, depth=1, epochs=2, max_steps=None).fit(
        target, "linear", K=4, T=0.9, m=200, rng=np.random.default_rng(0))
    assert uncapped.train_steps_ == 2 * 3  # epochs x ceil(180 training trajectories x K / 256)
    with pytest.raises(ValueError, match="^max_steps"):
        ct.CharacteristicGenerator(max_steps=0)


def test_write_comparison_tables_and_figures(tmp_path):
    import pandas as pd

    rows = []
    for gen in ("euler", "consistency"):
        for n in (100, 400):
            for seed, err in ((0, 0.3), (1, 0.4)):
                rows.append({"experiment": "chargen_vs_n", "status": "ok", "generator": gen, "seed": seed, "n": n,
                             "m": 50, "target": "8gaussians", "target_params": "{}", "estimator": "kde",
                             "estimator_params": "{}", "path": "linear", "K": 4, "T": 0.9, "options": "{}",
                             "euler_hat_error": 0.5, "fit_error": 0.0 if gen == "euler" else 0.1,
                             "total_coupling": err, "total_w2": err, "total_w2_floor": 0.05, "nfe_per_sample": 1,
                             "train_steps": 10, "train_seconds": 1.0})
    for steps in (10, 20):
        rows.append({**rows[-1], "experiment": "generator_budget", "options": f'{{"max_steps": {steps}}}'})
    pd.DataFrame(rows).to_csv(tmp_path / "results.csv", index=False)
    written = ct.comparison.write_comparison(tmp_path)
    text = (tmp_path / "generators.md").read_text()
    assert "| consistency | 100 | 50 | 0.5 | 0.1 | 0.3536 | 0.3536 | 0.05 |" in text
    figures = [p for p in written if p.suffix == ".png" and p.is_file()]
    assert len(figures) == 3
    # figure names end in the config's name (no run.json: the folder's), so two configs never share one
    assert all(p.name.startswith("panel_generators_") and p.name.endswith(f"_{tmp_path.name}.png") for p in figures)
    (tmp_path / "run.json").write_text('{"config_name": "my gens"}')
    named = [p.name for p in ct.comparison.write_comparison(tmp_path) if p.suffix == ".png"]
    assert len(named) == 3 and all(name.endswith("_my_gens.png") for name in named)
    assert {p.name.replace(f"_{tmp_path.name}.png", "") for p in figures} == {n.replace("_my_gens.png", "")
                                                                               for n in named}
    chosen = ct.comparison.write_comparison(tmp_path, config="paper")
    assert sum(p.name.endswith("_paper.png") for p in chosen) == 3
