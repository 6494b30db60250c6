"""W2 to the target in chargen_vs_n rows (the bracket), its rate verdicts (rates.bound_verdict through fit_rates) and
its report section and figure."""
import json
import math
import re

import numpy as np
import pandas as pd
import pytest

import chargen_theory as ct
from chargen_theory import rates
from chargen_theory.study.experiments import chargen_vs_n
from chargen_theory.metrics import bounds

N_LEVELS = 250 * 2 ** np.arange(5)             # 250 ... 4000
SCHEDULE = '{"schedule":"1 - n^(-1/2)"}'  # a T schedule as the results table writes it


class EulerMap:
    """A stand-in generator whose one-step map is K Euler steps of the exact velocity of a Gaussian target: its law
    is N(offset, M M^T) (solvers.gaussian_euler_map), so W2 to the target is known exactly (Bures)."""

    def __init__(self, target, path, K, T):
        self.affine = ct.solvers.gaussian_euler_map(target.mean, target.cov, path, K=K, T=T)

    def map(self, z):
        return self.affine(z)

    def sample(self, n, rng):
        return self.affine(rng.standard_normal((n, len(self.affine.offset))))


GAUSS = {"mean": [1.0, -0.5], "cov": [[1.0, 0.6], [0.6, 0.5]]}


def gaussian_cell(path="linear", T=0.9, n_bracket=100_000, n_lower=200_000):
    return {"target": "gaussian", "target_params": GAUSS, "path": path, "T": T,
            "options": {"n_bracket": n_bracket, "n_lower": n_lower}}


@pytest.mark.parametrize("path", ["linear", "follmer"])
def test_exact_w2_of_the_gaussian_euler_law_lies_inside_the_bracket(path):
    target = ct.targets.get("gaussian", **GAUSS)
    generator = EulerMap(target, path, K=4, T=0.9)
    row = chargen_vs_n.target_bracket(gaussian_cell(path), generator, np.random.default_rng(0))
    exact = ct.metrics.w2_gaussian(generator.affine.offset, generator.affine.covariance, target.mean, target.cov)
    assert exact > 0.05                                                  # a bracket with something to bracket
    assert row["w2_target_lower_ci_low"] <= exact <= row["w2_target_upper_ci_high"]
    assert row["w2_target_lower"] > 0.9 * exact                          # Gelbrich is exact between Gaussians
    assert row["w2_target_lower_method"] in ("gelbrich", "sliced")
    assert row["w2_target_gelbrich"] == pytest.approx(exact, rel=0.02)
    assert row["w2_target_upper_method"] == "coupling:closed_form"
    # X_T(z) and X_1(z) of a Gaussian are co-diagonal affine maps of z: their coupling is the optimal one, so the
    # early-stopping column equals the exact W2(law of X_T, target) up to Monte Carlo error
    mean_T, cov_T = target.marginal(0.9, path)
    early = ct.metrics.w2_gaussian(mean_T, cov_T, target.mean, target.cov)
    assert row["early_stopping_upper_ci_low"] <= early <= row["early_stopping_upper_ci_high"]
    assert row["early_stopping_upper_ci_high"] - row["early_stopping_upper_ci_low"] < 0.01 * early


def test_reference_solve_where_there_is_no_closed_form_and_nan_on_follmer():
    target = ct.targets.get("8gaussians")
    z = np.random.default_rng(1).standard_normal((300, 2))
    x_T, x_1, how = chargen_vs_n.exact_endpoints(target, "linear", z, 0.9)
    assert how == "reference(DOP853,rtol=1e-08,atol=1e-10)"
    tight = ct.solvers.reference(lambda t, x: target.velocity(t, x, "linear"), z, T=1.0, t_eval=[0.9, 1.0])
    assert np.abs(x_T - tight[0]).max() < 1e-6 and np.abs(x_1 - tight[1]).max() < 1e-6
    assert chargen_vs_n.exact_endpoints(target, "follmer", z, 0.9) == (
        None, None, "unavailable: the follmer velocity at t = 1 needs the target's score")


def test_chargen_vs_n_rows_carry_the_bracket(tmp_path):
    config = """
root_seed = 5
[[experiment]]
kind = "chargen_vs_n"
target = "8gaussians"
estimator = "kde"
path = ["linear", "follmer"]
T = 0.9
K = 4
m = 64
n = [100, 200]
n_test = 64
w2_n = 32
n_eval = 64
n_bracket = 2000
n_lower = 4000
generator = { width = 16, depth = 2, epochs = 2 }
seeds = 1
"""
    table = ct.sweep.run(ct.config.loads(config, "bracket.toml", "bracket"), tmp_path)
    assert (table["status"] == "ok").all()
    linear, follmer = table[table["path"] == "linear"], table[table["path"] == "follmer"]
    for column in ("w2_target_lower", "w2_target_lower_floor", "w2_target_upper", "early_stopping_upper",
                   "total_w2", "bracket_seconds"):
        assert np.isfinite(linear[column]).all() and (linear[column] >= 0).all()
    assert (linear["w2_target_lower_ci_low"] <= linear["w2_target_upper_ci_high"]).all()
    assert set(linear["w2_target_upper_method"]) == {"coupling:reference(DOP853,rtol=1e-08,atol=1e-10)"}
    # follmer: no velocity at t = 1 and no closed form for the mixture: the upper bounds are NaN with the reason
    assert follmer["w2_target_upper"].isna().all() and follmer["early_stopping_upper"].isna().all()
    assert set(follmer["w2_target_upper_method"]) == {"unavailable: the follmer velocity at t = 1 needs the "
                                                      "target's score"}
    assert np.isfinite(follmer["w2_target_lower"]).all()
    assert chargen_vs_n._BRACKET == bounds.bracket_columns("w2_target")


@pytest.mark.parametrize("key, value, match", [("n_bracket", 1, "n_bracket: must be an integer >= 2"),
                                               ("n_lower", 2.5, "n_lower: must be an integer >= 8")])
def test_bracket_sizes_are_checked(key, value, match):
    text = (f'[[experiment]]\nkind = "chargen_vs_n"\ntarget = "8gaussians"\nestimator = "kde"\nn = [100]\n'
            f"{key} = {value}\n")
    with pytest.raises(ValueError, match=match):
        ct.config.loads(text)


# -- verdicts from the bracket -------------------------------------------------------------------------------------
CLAIM = ct.claims.from_dict({"id": "bracket_probe", "quantity": "w2_target", "variable": "n", "exponent": -0.5,
                             "bounds": "w2_target"})
FIT = {"experiment": "chargen_vs_n", "quantity": "w2_target", "variable": "n", "claims": ["bracket_probe"]}


def bracket_table(lower_slope, upper_slope, rng, floor=None, estimator="mlp", T=SCHEDULE, n_seeds=10):
    """chargen_vs_n rows with w2_target_lower = 2 n^lower_slope (floored at ``floor`` when given, with that floor
    in w2_target_lower_floor) and w2_target_upper = 5 n^upper_slope, lognormal noise 0.02."""
    rows = []
    for n in N_LEVELS:
        for seed in range(n_seeds):
            noise = np.exp(0.02 * rng.standard_normal(2))
            lower = 2.0 * n ** lower_slope * noise[0]
            row = dict(experiment="chargen_vs_n", seed=seed, status="ok", target="8gaussians", path="linear",
                       estimator=estimator, n=n, T=T, D=2, d_star=2, w2_target_lower_method="gelbrich",
                       w2_target_upper=5.0 * n ** upper_slope * noise[1],
                       w2_target_upper_method="coupling:closed_form")
            if floor is not None:
                lower = max(lower, floor * noise[0])
                row["w2_target_lower_floor"] = 0.5 * floor
            rows.append(row | {"w2_target_lower": lower})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("lower_slope, upper_slope, expected, note", [
    (-0.7, -0.5, "consistent", ""),
    (-0.3, -0.3, "refuted", ""),                       # the lower bound decays provably more slowly than -0.5
    (-0.7, -0.2, "inconclusive", "upper bound too loose"),
])
def test_fit_rates_judges_the_bracket(lower_slope, upper_slope, expected, note):
    out = rates.fit_rates(bracket_table(lower_slope, upper_slope, np.random.default_rng(3)), [FIT],
                          extra_claims=[CLAIM])
    assert len(out) == 1
    row = out.iloc[0]
    assert row["verdict"] == expected and note in row["note"]
    assert row["ci_method"] == "bracket" and math.isnan(row["slope"])
    assert abs(row["lower_slope"] - lower_slope) < 0.03 and abs(row["upper_slope"] - upper_slope) < 0.03
    assert row["lower_ci_low"] < row["lower_slope"] < row["lower_ci_high"]
    assert row["upper_ci_low"] < row["upper_slope"] < row["upper_ci_high"]
    assert row["n_levels_used"] == 5 and row["n_seeds"] == 10
    assert row["method"] == "lower: gelbrich; upper: coupling:closed_form"
    assert ("refuted" in rates.CONTRADICTIONS) and expected in rates.BOUND_VERDICTS


def test_an_exact_rate_is_also_refuted_by_an_upper_bound_decaying_faster():
    exact = ct.claims.from_dict({"id": "bracket_rate", "quantity": "w2_target", "variable": "n", "exponent": -0.5,
                                 "kind": "rate", "bounds": "w2_target"})
    table = bracket_table(-0.9, -0.8, np.random.default_rng(12))
    upper_bound, rate = (rates.fit_rates(table, [FIT | {"claims": [c.id]}], extra_claims=[c]).iloc[0]
                         for c in (CLAIM, exact))
    assert upper_bound["verdict"] == "consistent"
    assert rate["verdict"] == "refuted" and "faster than the claimed exact rate" in rate["note"]


def test_an_upper_bound_wholly_faster_than_a_flat_claim_is_consistent_at_any_width():
    # a claim of slope -0.05 (the end-to-end claim's n^(-1/5) log n over n <= 4000): an upper bound decaying like
    # n^-0.4 with a CI wider than 0.05 is wholly on the fast side, so the claim holds; straddling it would not decide
    flat = ct.claims.from_dict({"id": "flat", "quantity": "w2_target", "variable": "n", "exponent": -0.05,
                                "bounds": "w2_target"})
    table = bracket_table(-0.5, -0.4, np.random.default_rng(13))
    rng = np.random.default_rng(14)
    table["w2_target_upper"] *= np.exp(0.3 * rng.standard_normal(len(table)))     # a wide upper-bound CI
    row = rates.fit_rates(table, [FIT | {"claims": ["flat"]}], extra_claims=[flat]).iloc[0]
    assert row["upper_ci_high"] - row["upper_ci_low"] > 0.05 and row["upper_ci_high"] < -0.05
    assert row["verdict"] == "consistent"


def test_a_lower_bound_flattening_at_its_floor_does_not_refute():
    # 2 n^-0.7 sinks below 0.05 from n = 250 on: the last levels read the floor, which decays at 0
    table = bracket_table(-0.7, -0.5, np.random.default_rng(4), floor=0.05)
    out = rates.fit_rates(table, [FIT], extra_claims=[CLAIM]).iloc[0]
    assert out["verdict"] == "consistent" and out["n_dropped_floor"] >= 2
    # the same values without their floor column: the flat tail is fitted and refutes the claim
    unfloored = rates.fit_rates(table.drop(columns="w2_target_lower_floor"), [FIT], extra_claims=[CLAIM]).iloc[0]
    assert unfloored["verdict"] == "refuted" and unfloored["lower_slope"] > -0.5


def test_registered_end_to_end_claims_are_judged_on_the_bracket_in_scope_only():
    fit = FIT | {"claims": ["chargen_end_to_end", "fm_end_to_end_gao2024"]}
    table = pd.concat([bracket_table(-0.6, -0.3, np.random.default_rng(5)),
                       bracket_table(-0.6, -0.3, np.random.default_rng(6), estimator="kde"),
                       bracket_table(-0.6, -0.3, np.random.default_rng(7), T=0.9)])
    out = rates.fit_rates(table, [fit]).set_index(["estimator", "T", "claim_id"])
    # claimed -1/(d+3) with its log n factor over n in [250, 4000]: about -0.05; the upper bound's CI reaches it
    in_scope = out.loc[("mlp", SCHEDULE, "chargen_end_to_end")]
    assert in_scope["verdict"] == "consistent" and -0.1 < in_scope["claimed_slope_with_log"] < 0
    gao = out.loc[("mlp", SCHEDULE, "fm_end_to_end_gao2024")]   # bounds the Euler-discretised flow: euler rows only
    assert gao["verdict"] == "out of scope" and "generator not recorded (claim covers euler)" in gao["note"]
    kde = out.loc[("kde", SCHEDULE, "chargen_end_to_end")]
    assert kde["verdict"] == "out of scope" and "estimator kde is not a ReLU network" in kde["note"]
    fixed = out.loc[("mlp", 0.9, "chargen_end_to_end")]
    assert fixed["verdict"] == "out of scope" and "fixed T = 0.9" in fixed["note"]
    assert "quantity" not in fixed["note"]             # the bracket measures W2 to the target itself


def test_report_counts_and_draws_the_bracket(tmp_path):
    table = pd.concat([bracket_table(-0.7, -0.5, np.random.default_rng(8)),
                       bracket_table(-0.3, -0.3, np.random.default_rng(9), estimator="knn")])
    table["total_w2"], table["total_w2_floor"] = table["w2_target_upper"] * 1.1, 0.01
    table.insert(1, "cell_id", [f"{i:08x}" for i in range(len(table))])
    table.to_csv(tmp_path / "results.csv", index=False)
    run = {"root_seed": 1, "fits": [FIT], "config": {"claim": [{"id": "bracket_probe", "quantity": "w2_target",
                                                                 "variable": "n", "exponent": -0.5,
                                                                 "bounds": "w2_target"}]}}
    (tmp_path / "run.json").write_text(json.dumps(run))
    text = ct.report.write_report(tmp_path).read_text()
    fits = pd.read_csv(tmp_path / "rates.csv")
    assert sorted(fits["verdict"]) == ["consistent", "refuted"]
    assert ("In scope (2): 1 consistent, 0 faster than bound, 0 faster, 0 slower, 0 pre-asymptotic, 0 underpowered, "
            "0 inconclusive, 1 refuted") in text
    refuted = text.split("### Where the data contradict a claim")[1].split("###")[0]
    assert refuted.count("\n- ") == 1 and "estimator=knn" in refuted and "lower-bound slope" in refuted
    section = text.split("## W2 to the target: lower and upper bounds")[1].split("\n## ")[0]
    assert "bracket_probe: **consistent**" in section and "bracket_probe: **refuted**" in section
    figures = set(fits["figure"])
    assert len(figures) == 2 and all(f.startswith("figures/bracket_chargen_vs_n_w2_target_vs_n_") for f in figures)
    for figure in figures:
        assert (tmp_path / figure).read_bytes()[:4] == b"\x89PNG" and f"]({figure})" in section
    verdicts = text.split("### In scope")[1].split("###")[0]
    assert re.search(r"\| lower -0\.6\d\d \[-0\.\d+, -0\.\d+\]; upper -0\.5\d\d \[", verdicts)
