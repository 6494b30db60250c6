"""write_report on a synthetic run directory that follows the results contract: report.md, rates.csv, figures."""
import json
import re

import numpy as np
import pandas as pd
import pytest

import chargen_theory as ct

N_LEVELS = 250 * 2 ** np.arange(5)             # 250 ... 4000


def _noise(rng, sigma):
    return float(np.exp(sigma * rng.standard_normal()))


def _detrended_noise(rng, sigma, n_seeds):
    """(levels, seeds) lognormal factors whose logs have no linear trend in log n for any seed, so that the fitted
    slope is the true one up to second order and a correct claim is judged consistent for any rng."""
    z = sigma * rng.standard_normal((len(N_LEVELS), n_seeds))
    x = np.column_stack([np.ones(len(N_LEVELS)), np.log(N_LEVELS)])
    return np.exp(z - x @ np.linalg.lstsq(x, z, rcond=None)[0])


GAUSS_2D = '{"cov": [[1.0, 0.0], [0.0, 1.0]], "mean": [0.0, 0.0]}'
GAUSS_3D = '{"cov": [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], "mean": [0.0, 0.0, 0.0]}'
SQUARE = '{"high": [1.0, 1.0], "low": [0.0, 0.0]}'
SCHEDULE = '{"schedule":"1 - n^(-1/2)"}'  # an early-stopping time that tends to 1 with n, as a sweep writes it


def synthetic_run(out_dir, rng):
    """Write results.csv and run.json for one run of every experiment kind; the true slopes are chosen so that
    every verdict occurs in scope: euler consistent, the fixed-T velocity faster than its upper bound, the 1-D
    Gaussian floor slower than its exact rate, the uniform square faster than its exact rate, one w2_floor group
    below three usable levels (inconclusive), intrinsic_dim with three (d*, D) groups of smoothed spheres under a T
    schedule; and out of scope: the T -> 1 claims on fixed T, the end-to-end claims on the law of X_T."""
    rows = []

    def add(**row):
        base = dict(cell_id=f"{len(rows):08x}", status="ok", message="", seconds=0.01)
        rows.append(base | row)

    for K in (4, 8, 16, 32, 64):
        for seed in range(5):
            h = 0.9 / K
            add(experiment="euler_vs_h", seed=seed, target="gaussian", target_params=GAUSS_2D, path="linear",
                estimator="oracle", m=2000, K=K, h=h, T=0.9, d_star=2, D=2,
                euler_error=0.4 * h * _noise(rng, 0.02), euler_error_method="coupling")
    for n in N_LEVELS:
        for seed in range(5):
            add(experiment="velocity_vs_n", seed=seed, target="8gaussians", path="linear", estimator="empirical",
                n=n, T=0.99, d_star=2, D=2, velocity_l2=3.0 * n ** -0.7 * _noise(rng, 0.05), velocity_l2_method="mc")
            add(experiment="chargen_vs_n", seed=seed, target="8gaussians", path="linear", estimator="mlp",
                n=n, m=n, K=20, h=0.99 / 20, T=0.99, d_star=2, D=2,                     # m zipped with n
                total_coupling=1.5 * n ** -0.05 * _noise(rng, 0.02), total_coupling_method="coupling",
                total_w2=1.2 * n ** -0.05 * _noise(rng, 0.02), total_w2_method="emd",
                total_w2_floor=1.29 * n ** -0.25 * _noise(rng, 0.02))
            # w2_floor: the 1-D Gaussian decays too slowly; the uniform square too fast; in 3-D the floor swallows
            # all but two levels
            add(experiment="w2_floor", seed=seed, target="gaussian", target_params='{"cov": [[1.0]], "mean": [0.0]}',
                n=n, d_star=1, D=1, w2=0.8 * n ** -0.3 * _noise(rng, 0.05), w2_method="w2_1d")
            add(experiment="w2_floor", seed=seed, target="box", target_params=SQUARE,
                n=n, d_star=2, D=2, w2=0.8 * n ** -0.7 * _noise(rng, 0.05), w2_method="emd")
            add(experiment="w2_floor", seed=seed, target="gaussian", target_params=GAUSS_3D,
                n=n, d_star=3, D=3, w2=2.0 * n ** (-1 / 3) * _noise(rng, 0.05), w2_method="emd",
                w2_floor=(0.05 if n <= 500 else 0.15) * _noise(rng, 0.01))
    for d_star, D in ((1, 4), (2, 4), (2, 8)):
        noise = _detrended_noise(rng, 0.02, 5)
        for i, n in enumerate(N_LEVELS):
            for seed in range(5):
                add(experiment="intrinsic_dim", seed=seed, target="sphere", path="linear", estimator="mlp",
                    target_params=f'{{"dim": {D}, "intrinsic_dim": {d_star}, "sigma": 0.05}}', n=n, T=SCHEDULE,
                    d_star=d_star, D=D, velocity_l2=n ** (-1 / (d_star + 3)) * noise[i, seed])
    add(experiment="velocity_vs_n", seed=5, status="diverged", message="velocity blew up at t=0.99\ntraceback...",
        target="8gaussians", path="linear", estimator="empirical", n=4000, T=0.99, d_star=2, D=2)
    add(experiment="chargen_vs_n", seed=5, status="error", message="MemoryError: emd n=4000 | cap",
        target="8gaussians", path="linear", estimator="mlp", n=4000, m=4000, K=20, h=0.99 / 20, T=0.99, d_star=2, D=2)
    pd.DataFrame(rows).to_csv(out_dir / "results.csv", index=False)
    blocks = [{"kind": "euler_vs_h"}, {"kind": "velocity_vs_n"}, {"kind": "chargen_vs_n", "zip": [["n", "m"]]},
              {"kind": "w2_floor", "claims": ["empirical_w2_1d_gaussian", "empirical_w2_2d_uniform",
                                              "empirical_w2_sharp_3d_up", "user_w2_rate"]},
              {"kind": "intrinsic_dim"}]
    user_claim = {"id": "user_w2_rate", "quantity": "w2", "variable": "n", "exponent": "-1/(d + 1)",
                  "uses": "d_star", "citation": "a user's guess"}
    fits = [{"experiment": b["kind"], "block": i, "quantity": f.quantity, "variable": f.variable,
             "claims": [c for c in f.claims if c in b.get("claims", f.claims)] + (["user_w2_rate"] if i == 3 else [])}
            for i, b in enumerate(blocks) for f in ct.experiments.get(b["kind"]).fits]
    run = {"config": {"root_seed": 1234, "seeds": 5, "experiment": blocks, "claim": [user_claim]},
           "config_name": "synthetic", "root_seed": 1234, "fits": fits, "package_version": "0.1.0",
           "versions": {"numpy": np.__version__, "pandas": pd.__version__}, "python": "3.11", "machine": "x86_64",
           "cpu_count": 2, "started": "2025-01-01T10:00:00+00:00", "finished": "2025-01-01T10:02:30+00:00",
           "command": ["chargen-theory", "run", "quick"],
           "status_counts": {"ok": len(rows) - 2, "diverged": 1, "error": 1}}
    (out_dir / "run.json").write_text(json.dumps(run))
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    table = synthetic_run(out, np.random.default_rng(0))
    (out / "figures").mkdir()
    (out / "figures" / "panel_samples.png").write_bytes(b"\x89PNG\r\n\x1a\n")  # a panel made elsewhere
    path = ct.report.write_report(out, n_boot=400)
    return out, path, table


def test_write_report_writes_report_rates_and_figures(report_dir):
    out, path, _ = report_dir
    assert path == out / "report.md" and path.is_file()
    fits = pd.read_csv(out / "rates.csv")
    schema = ["experiment", "quantity", "variable", "target", "path", "estimator", "T", "d_star", "D", "claim_id",
              "claimed_slope", "slope", "ci_low", "ci_high", "r2", "n_levels_used", "n_levels_total",
              "n_dropped_floor", "n_diverged", "verdict", "figure"]
    assert all(c in fits.columns for c in schema)
    assert fits["figure"].notna().all()
    for figure in set(fits["figure"]):
        png = out / figure
        assert png.is_file() and png.read_bytes()[:4] == b"\x89PNG"
        assert png.stat().st_size < 200_000
    assert list((out / "figures").glob("slope_vs_dstar_*.png"))


def test_verdicts_on_the_synthetic_run(report_dir):
    out, _, _ = report_dir
    fits = pd.read_csv(out / "rates.csv").set_index(["experiment", "quantity", "claim_id", "d_star", "D"])
    assert set(fits["verdict"]) == set(ct.rates.VERDICTS)                 # every verdict occurs
    assert fits.loc[("euler_vs_h", "euler_error", "euler_first_order", 2, 2), "verdict"] == "consistent"
    fixed_T = fits.loc[("velocity_vs_n", "velocity_l2", "velocity_fixed_T_parametric", 2, 2)]
    assert fixed_T["verdict"] == "faster than bound" and fixed_T["n_diverged"] == 1
    ambient = fits.loc[("velocity_vs_n", "velocity_l2", "chargen_velocity_rate", 2, 2)]
    assert ambient["verdict"] == "out of scope" and "fixed T = 0.99 (claim needs T -> 1 with n)" in ambient["note"]
    for quantity in ("total_coupling", "total_w2"):                    # distance to the law of X_T, T = 0.99
        for claim_id in ("chargen_end_to_end", "fm_end_to_end_gao2024"):
            row = fits.loc[("chargen_vs_n", quantity, claim_id, 2, 2)]
            assert row["verdict"] == "out of scope"
            assert f"quantity {quantity} bounds W2 to the law of X_T (T = 0.99)" in row["note"]
    assert fits.loc[("w2_floor", "w2", "empirical_w2_1d_gaussian", 1, 1), "verdict"] == "slower"
    assert fits.loc[("w2_floor", "w2", "empirical_w2_2d_uniform", 2, 2), "verdict"] == "faster"
    floor_fit = fits.loc[("w2_floor", "w2", "empirical_w2_sharp_3d_up", 3, 3)]
    assert floor_fit["verdict"] == "inconclusive" and floor_fit["n_dropped_floor"] == 3
    # total_w2 of chargen_vs_n: the floor (falling like n^-1/4) is within 3x of the error at n = 250 only; m is
    # zipped with n in the config, so all five n form one group
    w2_fit = fits.loc[("chargen_vs_n", "total_w2", "chargen_end_to_end", 2, 2)]
    assert w2_fit["n_dropped_floor"] == 1 and w2_fit["n_levels_used"] == 4 and w2_fit["n_levels_total"] == 5
    assert w2_fit["varies_with"] == "m"
    # the w2_floor block asked for its own claims, including the config's user claim -1/(d*+1)
    w2_claims = set(fits.xs("w2_floor", level="experiment").index.get_level_values("claim_id"))
    assert w2_claims == {"empirical_w2_1d_gaussian", "empirical_w2_2d_uniform", "empirical_w2_sharp_3d_up",
                         "user_w2_rate"}
    assert fits.loc[("w2_floor", "w2", "user_w2_rate", 1, 1), "claimed_slope"] == pytest.approx(-0.5)
    # intrinsic_dim: smoothed spheres under a T schedule with a ReLU network; the data follow -1/(d*+3):
    # consistent with the manifold conjecture, faster than the -1/(D+3) upper bound since d* < D
    manifold = fits.xs("chargen_manifold_rate", level="claim_id")
    assert len(manifold) == 3 and set(manifold["verdict"]) == {"consistent"}
    ambient = fits.xs(("intrinsic_dim", "chargen_velocity_rate"), level=("experiment", "claim_id"))
    assert len(ambient) == 3 and set(ambient["verdict"]) == {"faster than bound"}
    schedule = fits.xs(("intrinsic_dim", "velocity_fixed_T_parametric"), level=("experiment", "claim_id"))
    assert set(schedule["verdict"]) == {"out of scope"}
    assert all("T schedule '1 - n^(-1/2)'" in note for note in schedule["note"])


def test_report_text(report_dir):
    out, path, table = report_dir
    text = path.read_text()
    for verdict in ("**consistent**", "**faster than bound**", "**faster**", "**slower**", "**inconclusive**"):
        assert verdict in text
    for section in ("## Run", "## Verdicts", "### In scope", "### Out of scope (fitted, not judged)", "## Findings",
                    "### Where the data contradict a claim", "### Faster than an upper bound (no contradiction)",
                    "### Out of scope (not judged)", "## Claims tested", "## Figures"):
        assert section in text
    assert "1234" in text and "chargen-theory run quick" in text and "a user's guess" in text
    assert "150.0 s" in text                                         # wall time from started / finished
    assert "velocity blew up at t=0.99" in text and "traceback" not in text  # first line of the message only
    assert "MemoryError: emd n=4000 \\| cap" in text                # a '|' cannot break the table
    assert "[panel_samples.png](figures/panel_samples.png)" in text
    assert "2405.05512" in text and "2404.00551" in text              # citations of the claims tested
    # the findings list only true contradictions: slower than a claim, or faster than an exact rate
    refuted = text.split("### Where the data contradict a claim")[1].split("###")[0]
    assert "more slowly** than **empirical_w2_1d_gaussian**" in refuted
    assert "faster** than **empirical_w2_2d_uniform**" in refuted
    assert "velocity_fixed_T_parametric" not in refuted and "chargen_velocity_rate" not in refuted
    assert "more slowly** than **user_w2_rate**" in refuted                 # the user's -1/(d*+1) at d* = 1
    assert refuted.count("\n- ") == 3
    not_sharp = text.split("### Faster than an upper bound (no contradiction)")[1].split("###")[0]
    assert "**velocity_fixed_T_parametric**" in not_sharp and "the bound holds here" in not_sharp
    outside = text.split("### Out of scope (not judged)")[1].split("###")[0]
    assert "**chargen_end_to_end** (restated)" in outside and "claim bounds W2 to the target" in outside
    claims_table = text.split("## Claims tested")[1].split("##")[0]
    assert "| conjecture |" in claims_table and "targets manifold_smoothed; T T_to_1" in claims_table
    # every embedded figure exists
    embedded = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert embedded and all((out / f).is_file() for f in embedded)
    # the status counts match the table
    assert f"| **all** | {(table.status == 'ok').sum()} | 1 | 1 |" in text


def test_without_declared_fits_the_kinds_declarations_are_used(tmp_path):
    synthetic_run(tmp_path, np.random.default_rng(1))
    run = json.loads((tmp_path / "run.json").read_text())
    del run["fits"], run["config"]
    (tmp_path / "run.json").write_text(json.dumps(run))
    ct.report.write_report(tmp_path, n_boot=100)
    fits = pd.read_csv(tmp_path / "rates.csv")
    w2 = fits[fits["experiment"] == "w2_floor"]
    assert set(w2["claim_id"]) == {"empirical_w2_1d", "empirical_w2_1d_gaussian", "empirical_w2_2d",
                                   "empirical_w2_2d_uniform", "empirical_w2_2d_gaussian", "empirical_w2_3d",
                                   "empirical_w2_sharp_3d_up"}
    # without the config's zip, m = n splits chargen_vs_n into one-level groups: never judged
    chargen = fits[fits["experiment"] == "chargen_vs_n"]
    assert set(chargen["verdict"]) <= {"inconclusive", "out of scope"} and chargen["n_levels_used"].max() == 1


def test_write_report_needs_results_csv(tmp_path):
    with pytest.raises(ValueError, match="out_dir: no results.csv"):
        ct.report.write_report(tmp_path)


def test_group_descriptions_keep_the_regressor_name():
    long = ('{"max_pairs":2000,"pairs_per_sample":1,"params":{"alpha":1.0},"regressor":"GaussianProcessRegressor"}')
    text = ct.rates.describe_group({"estimator": "sklearn", "estimator_params": long})
    assert "GaussianProcessRegressor" in text and text != ct.rates.describe_group({"estimator": "sklearn",
                                                                                  "estimator_params": long[:-5]})
