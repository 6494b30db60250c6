"""The end-to-end design where n alone moves: the ledger's velocity term (recomputed independently), the breakdown of
the error into terms per n, the generator column that scopes Gao et al. to the Euler rows, and the paper section's
invariants (everything but n fixed, the Euler generator, >= 10 seeds, its claims declared)."""
import dataclasses
import importlib.resources
import textwrap

import numpy as np
import pandas as pd
import pytest

import chargen_theory as ct
from chargen_theory.error_ledger import TERMS, breakdown

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def rms(x, y):
    return float(np.sqrt(np.mean(np.sum((x - y) ** 2, axis=1))))


def test_velocity_term_is_the_gap_between_the_two_euler_flows():
    target = ct.targets.get("gaussian", mean=[1.0, -0.5], cov=[[2.0, 0.6], [0.6, 0.5]])
    run = ct.error_ledger.ledger_run(target, "linear", "kde", n=150, m=20, K=5, T=0.9, rng=np.random.default_rng(4),
                                     generator="euler", n_test=300, w2_n=50, n_eval=200, floor_repeats=1)
    exact = ct.solvers.euler(lambda t, x: target.velocity(t, x, "linear"), run.z_test, K=5, T=0.9)
    hat = ct.solvers.euler(run.estimator, run.z_test, K=5, T=0.9)
    record = run.record
    assert record["velocity_term"] == pytest.approx(rms(hat, exact), rel=1e-12) and record["velocity_term"] > 0
    assert record["euler_hat_error"] <= (record["velocity_term"] + record["euler_error"]) * (1 + 1e-12)
    assert record["fit_error"] == 0.0 and record["total_coupling"] == record["euler_hat_error"]


def test_breakdown_rms_over_seeds_and_the_dominant_term():
    table = pd.DataFrame({
        "experiment": "chargen_vs_n", "estimator": ["mlp"] * 4 + ["oracle"] * 2, "n": [100, 100, 400, 400, 100, 100],
        "status": ["ok"] * 5 + ["error"],
        "velocity_term": [0.3, 0.4, 0.1, 0.1, 0.0, 9.0], "euler_error": [0.02] * 6, "fit_error": [0.0] * 6,
        "early_stopping_upper": [0.05, 0.05, 0.2, 0.2, 0.05, 0.05]})
    out = breakdown(table).set_index(["estimator", "n"])
    assert out.loc[("mlp", 100), "velocity_term"] == pytest.approx(np.sqrt((0.09 + 0.16) / 2), rel=1e-12)
    assert out.loc[("mlp", 100), "dominant"] == "velocity_term"
    assert out.loc[("mlp", 400), "dominant"] == "early_stopping_upper"  # the ledger says when n is not what moves
    assert out.loc[("mlp", 400), "velocity_share"] == pytest.approx(0.1 / 0.32, rel=1e-12)
    assert out.loc[("oracle", 100), "seeds"] == 1 and out.loc[("oracle", 100), "velocity_term"] == 0.0  # no error row
    assert list(TERMS) == [c for c in out.columns if c in TERMS]
    with pytest.raises(ValueError, match="needs the columns n and at least one of velocity_term"):
        breakdown(table.drop(columns=list(TERMS)))


def test_generator_column_scopes_a_claim_to_the_euler_rows(tmp_path):
    cfg = ct.config.loads(textwrap.dedent("""
        root_seed = 5
        seeds = 1

        [[experiment]]
        kind = "chargen_vs_n"
        target = { name = "sphere", intrinsic_dim = 1, dim = 4, sigma = 0.1 }
        estimator = "kde"
        generator = ["euler", { name = "endpoint", width = 8, depth = 1, epochs = 1 }]
        T = { schedule = "1 - 1 / n" }
        n = [60, 120]
        m = 40
        K = 3
        n_test = 60
        w2_n = 40
        n_eval = 200
        n_bracket = 50
        n_lower = 60
        """))
    table = ct.sweep.run(cfg, tmp_path / "out")
    assert (table["status"] == "ok").all(), table.get("error")
    gao = dataclasses.replace(ct.claims.get("fm_end_to_end_gao2024"), generators=("euler",))
    for generator, group in table.groupby("generator"):
        unmet = ct.claims.scope(gao, group.iloc[0].to_dict(), "w2_target")
        assert ("generator endpoint (claim covers euler)" in unmet) == (generator == "endpoint"), unmet


def n_isolated_blocks():
    """The paper config's chargen_vs_n blocks of the Euler generator: the network and its controls."""
    text = importlib.resources.files("chargen_theory").joinpath("configs/paper.toml").read_text()
    cfg = ct.config.loads(text, name="paper")
    return [e for e in cfg.experiments if e.kind == "chargen_vs_n" and {c["generator"] for c in e.cells} == {"euler"}]


def test_paper_section_moves_n_alone():
    blocks = n_isolated_blocks()
    network = [b for b in blocks if "mlp" in {c["estimator"] for c in b.cells}]
    assert len(network) == 1 and network[0].seeds >= 10  # the groups that judge the claims
    assert {c["T"] for c in network[0].cells} == {1.0}    # T = 1: no schedule moves with n
    cells = [c for b in blocks for c in b.cells]
    assert {"oracle", "kde", "mlp"} <= {c["estimator"] for c in cells}  # the network with both controls
    shared = {}  # per target: everything but n, the estimator and its options
    for cell in cells:
        rest = {k: v for k, v in cell.items() if k not in ("n", "estimator", "estimator_params")}
        shared.setdefault(str(cell["target_params"]), []).append((cell["n"], rest))
    for target, rows in shared.items():
        assert len({n for n, _ in rows}) >= 4, target
        assert all(rest == rows[0][1] for _, rest in rows), f"{target}: something besides n changes with n"
    dims = {(c["target_params"]["intrinsic_dim"], c["target_params"]["dim"]) for c in cells}
    assert all(d_star < D and D >= 4 for d_star, D in dims)
    judged = {claim for fit in network[0].fits for claim in fit.claims}
    assert {"chargen_end_to_end", "fm_end_to_end_gao2024", "chargen_velocity_rate", "chargen_manifold_rate"} <= judged
