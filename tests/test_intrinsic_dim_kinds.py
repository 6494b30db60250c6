"""``dim = "intrinsic"`` and the other tuning-rule options in every experiment kind that fits an estimator: a tiny
config runs with every unit ok, and the ``rule_dim`` column (the dimension the estimator's rule used) is the
target's d* for "intrinsic", D for "ambient", the integer given, and a TwoNN estimate near d* for "estimated"."""
import textwrap

import numpy as np
import pytest

import chargen_theory as ct

pytestmark = pytest.mark.usefixtures("one_torch_thread")

D_STAR, D = 2, 4
TARGET = f'target = {{ name = "sphere", intrinsic_dim = {D_STAR}, dim = {D}, sigma = 0.1 }}'
GRID = f'target = {{ name = "sphere", sigma = 0.1 }}\nd_star = {D_STAR}\nD = {D}'  # intrinsic_dim's own axes
RULES = ('{ name = "kde", dim = "intrinsic" }', '{ name = "knn", dim = "intrinsic", pairs_per_sample = 2 }',
         '{ name = "nadaraya_watson", dim = "intrinsic", pairs_per_sample = 2 }')
LEDGER = "m = 40\nK = 3\nT = 0.9\nn_test = 60\nw2_n = 40\nn_eval = 200\nn_bracket = 50\nn_lower = 60"
# one tiny block per kind whose parameters include an estimator; a new such kind fails test_every_kind_is_covered
BLOCKS = {
    "velocity_vs_n": f"{TARGET}\nT = 0.9\nn_eval = 200",
    "intrinsic_dim": f"{GRID}\nT = 0.9\nn_eval = 200",
    "chargen_vs_n": f"{TARGET}\n{LEDGER}\ngenerator = \"euler\"",
    "generator_budget": (f"{TARGET}\n{LEDGER}\nmax_steps = [2]\n"
                         "generator = { name = \"endpoint\", width = 8, depth = 1, epochs = 1 }"),
}


def run_block(tmp_path, kind: str, estimators: str, body: str):
    cfg = ct.config.loads(textwrap.dedent(f"""
        root_seed = 3
        seeds = 1

        [[experiment]]
        kind = "{kind}"
        estimator = [{estimators}]
        n = [60, 120]
        """) + body + "\n")
    return ct.sweep.run(cfg, tmp_path / kind)


def test_every_kind_is_covered():
    fitting = {name for name in ct.experiments.names() if "estimator" in ct.experiments.get(name).parameters}
    assert fitting == set(BLOCKS)


@pytest.mark.parametrize("kind", sorted(BLOCKS))
def test_intrinsic_resolves_to_the_targets_d_star(tmp_path, kind):
    table = run_block(tmp_path, kind, ", ".join(RULES), BLOCKS[kind])
    assert len(table) == len(RULES) * 2 and (table["status"] == "ok").all(), table.get("error")
    assert (table["rule_dim"] == D_STAR).all()
    assert set(table["estimator_params"].str.contains('"dim":"intrinsic"')) == {True}  # the rule as written
    if kind in ("chargen_vs_n", "generator_budget"):  # the ledger: Euler of v_hat = velocity term + Euler term
        assert (table["euler_hat_error"] <= (table["velocity_term"] + table["euler_error"]) * (1 + 1e-12)).all()
        assert (table["velocity_term"] > 0).all()


def test_every_tuning_rule_option_in_a_ledger_kind(tmp_path):
    rules = ['{ name = "kde", dim = "ambient" }', '{ name = "kde", dim = 3 }', '{ name = "kde", dim = "estimated" }',
             '{ name = "kde", dim = "intrinsic", bandwidth = "cv" }',
             '{ name = "kde", dim = "intrinsic", bandwidth = "cv_velocity" }', '{ name = "kde", bandwidth = 0.2 }',
             '{ name = "knn", dim = "ambient", pairs_per_sample = 2 }', '"oracle"']
    table = run_block(tmp_path, "chargen_vs_n", ", ".join(rules), BLOCKS["chargen_vs_n"])
    assert (table["status"] == "ok").all(), table.get("error")
    by_rule = table[table["n"] == 120].set_index("estimator_params")["rule_dim"]
    assert by_rule['{"dim":"ambient"}'] == D and by_rule['{"dim":3}'] == 3
    assert by_rule['{"bandwidth":"cv","dim":"intrinsic"}'] == by_rule['{"bandwidth":"cv_velocity","dim":"intrinsic"}'] \
        == D_STAR
    assert 1.0 <= by_rule['{"dim":"estimated"}'] < 3.0  # TwoNN on 120 points of a smoothed 2-sphere in R^4
    assert by_rule['{"bandwidth":0.2}'] == D  # a fixed bandwidth uses no rule: the ambient D is recorded
    oracle = table[table["estimator"] == "oracle"]
    assert oracle["rule_dim"].isna().all() and (oracle["velocity_term"] == 0).all()


def test_one_builder_for_kinds_and_ledger():
    """The error ledger, called with a registry name, builds its estimator with the kinds' builder."""
    target = ct.targets.get("sphere", intrinsic_dim=D_STAR, dim=D, sigma=0.1)
    run = ct.error_ledger.ledger_run(target, "linear", "kde", n=80, m=40, K=3, T=0.9, rng=np.random.default_rng(0),
                                     generator="euler", estimator_options={"dim": "intrinsic"}, n_test=40, w2_n=30,
                                     n_eval=100, floor_repeats=1)
    assert run.estimator.rule_dim_ == D_STAR and run.record["rule_dim"] == D_STAR
    built = ct.velocity.for_target("knn", target, dim="intrinsic")
    assert built.dim == D_STAR and ct.velocity.for_target("kde", target, dim=5).dim == 5
    assert ct.velocity.for_target("oracle", target).target is target
