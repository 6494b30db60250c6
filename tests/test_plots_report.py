"""write_report on a synthetic run directory that follows the results contract: report.md, rates.csv, figures."""
import json
import shutil
import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

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
        for seed in range(10):  # a contradiction needs >= 10 seeds (rates.MIN_SEEDS_CONTRADICTION)
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
        noise = _detrended_noise(rng, 0.02, 10)
        for i, n in enumerate(N_LEVELS):
            for seed in range(10):
                add(experiment="intrinsic_dim", seed=seed, target="sphere", path="linear", estimator="mlp",
                    target_params=f'{{"dim": {D}, "intrinsic_dim": {d_star}, "sigma": 0.05}}', n=n, T=SCHEDULE,
                    d_star=d_star, D=D, velocity_l2=n ** (-1 / (d_star + 3)) * noise[i, seed])
    add(experiment="velocity_vs_n", seed=10, status="diverged", message="velocity blew up at t=0.99\ntraceback...",
        target="8gaussians", path="linear", estimator="empirical", n=4000, T=0.99, d_star=2, D=2)
    add(experiment="chargen_vs_n", seed=10, status="error", message="MemoryError: emd n=4000 | cap",
        target="8gaussians", path="linear", estimator="mlp", n=4000, m=4000, K=20, h=0.99 / 20, T=0.99, d_star=2, D=2)
    pd.DataFrame(rows).to_csv(out_dir / "results.csv", index=False)
    blocks = [{"kind": "euler_vs_h"}, {"kind": "velocity_vs_n"}, {"kind": "chargen_vs_n", "zip": [["n", "m"]]},
              {"kind": "w2_floor", "claims": ["empirical_w2_1d_gaussian", "empirical_w2_2d_uniform",
                                              "empirical_w2_sharp_3d_up", "empirical_w2_4d", "user_w2_rate"]},
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
    path = ct.report.write_report(out)
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
    assert {"consistent", "faster than bound", "faster", "slower", "inconclusive", "out of scope"} <= \
        set(fits["verdict"])                                                 # every verdict these data can give
    assert fits.loc[("euler_vs_h", "euler_error", "euler_first_order", 2, 2), "verdict"] == "consistent"
    fixed_T = fits.loc[("velocity_vs_n", "velocity_l2", "velocity_fixed_T_parametric", 2, 2)]
    assert fixed_T["verdict"] == "faster than bound" and fixed_T["n_diverged"] == 1
    ambient = fits.loc[("velocity_vs_n", "velocity_l2", "chargen_velocity_rate", 2, 2)]
    assert ambient["verdict"] == "out of scope" and "fixed T = 0.99 (claim needs T -> 1 with n" in ambient["note"]
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
    assert w2_claims - {"empirical_w2_4d"} == {"empirical_w2_1d_gaussian", "empirical_w2_2d_uniform",
                                               "empirical_w2_sharp_3d_up", "user_w2_rate"}
    assert fits.loc[("w2_floor", "w2", "user_w2_rate", 1, 1), "claimed_slope"] == pytest.approx(-0.5)
    # intrinsic_dim: smoothed spheres under a T schedule with a ReLU network; the data follow -1/(d*+3):
    # consistent with the manifold conjecture, faster than the -1/(D+3) upper bound since d* < D
    manifold = fits.xs("chargen_manifold_rate", level="claim_id")
    assert len(manifold) == 3 and set(manifold["verdict"]) == {"consistent"}
    ambient = fits.xs(("intrinsic_dim", "chargen_velocity_rate"), level=("experiment", "claim_id"))
    assert len(ambient) == 3 and "faster than bound" in set(ambient["verdict"])
    assert set(ambient["verdict"]) <= set(ct.summary.SUPPORTING)
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
    assert f"reproduces them to a relative {ct.training.REPRODUCIBLE_RTOL:g}" in text  # the stated tolerance
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
    assert "| conjecture |" in claims_table and "targets manifold_smoothed; T T_to_1_or_smoothed_1" in claims_table
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
    ct.report.write_report(tmp_path)
    fits = pd.read_csv(tmp_path / "rates.csv")
    w2 = fits[fits["experiment"] == "w2_floor"]
    judged = w2[w2["verdict"] != "out of scope"]
    assert set(judged["claim_id"]) <= {"empirical_w2_1d", "empirical_w2_1d_gaussian", "empirical_w2_2d",
                                       "empirical_w2_2d_uniform", "empirical_w2_2d_gaussian", "empirical_w2_3d",
                                       "empirical_w2_sharp_3d_up"}
    assert {"empirical_w2_1d_gaussian", "empirical_w2_2d", "empirical_w2_2d_uniform"} <= set(judged["claim_id"])
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


# -- the per-claim summary, short labels, figures, and what the report may delete ----------------------------------
def _section(text, title):
    return text.split(title)[1].split("\n## ")[0]


def test_the_report_opens_with_the_per_claim_summary(report_dir):
    out, path, _ = report_dir
    text = path.read_text()
    assert text.index("## Per-claim summary") < text.index("## Groups") < text.index("## Verdicts")
    rows = {line.split(" | ")[0].lstrip("| ").split(" (")[0]: line.split(" | ")
            for line in _section(text, "## Per-claim summary").splitlines() if line.startswith("| ")
            and not line.startswith(("| claim", "| ---"))}
    status = {claim: cells[4] for claim, cells in rows.items()}
    assert status["empirical_w2_1d_gaussian"] == "**refuted**"            # slower in its only in-scope group
    assert status["chargen_manifold_rate"] == "**supported** (3 of 3 groups)"
    assert status["velocity_fixed_T_parametric"] == "**supported** (1 of 1 groups)"   # out of scope elsewhere
    assert status["chargen_end_to_end"] == "**not judged here**"            # every group out of scope
    assert status["empirical_w2_4d"] == "**not judged here**"                # selected, made for no group's d*
    assert "[4, 4]" in rows["empirical_w2_4d"][3]        # why: made for d* = 4 only
    restated = rows["chargen_velocity_rate"]
    assert "restated, from:" in restated[1] and "the source's own statement was not read" in restated[1]
    assert restated[2] == "Ding et al., arXiv 2405.05512"
    refuted = rows["empirical_w2_1d_gaussian"][5]
    assert re.match(r"G\d+ \(w2_floor, gaussian D=1\): slope -0\.\d+ \[-0\.\d+, -0\.\d+\] vs claimed -0\.500 "
                    r"\(-0\.\d+\), 10 seeds(, detectable gap 0\.\d+)?: slower", refuted)
    # refuted first, then supported, ..., not judged here last
    order = [cells[4].split(" (")[0] for cells in rows.values()]
    assert order == sorted(order, key=lambda s: ct.summary.STATUSES.index(s.strip("*")))


def test_a_selected_claim_without_rows_is_listed(tmp_path, monkeypatch):
    """A claim selected for a fit that yields no rates row (rates may skip a claim made for no group's dimension)
    is reported with why, in the summary and in the findings."""
    synthetic_run(tmp_path, np.random.default_rng(6))
    _hand_built(monkeypatch, lambda fits: fits[fits["claim_id"] != "empirical_w2_4d"])
    text = ct.report.write_report(tmp_path).read_text()
    row = next(line for line in _section(text, "## Per-claim summary").splitlines()
               if line.startswith("| empirical_w2_4d "))
    assert "**not judged here**" in row
    assert "no group of w2_floor / w2: made for d* in [4, 4]; the fitted groups have d* = 1, 2, 3" in row
    applies_to_none = _section(text, "### Selected claims that apply to no fitted group")
    assert "**empirical_w2_4d** in w2_floor / w2: made for d* in [4, 4]" in applies_to_none


def test_no_long_group_strings_in_tables_and_a_legend_maps_the_labels(report_dir):
    out, path, _ = report_dir
    text = path.read_text()
    fits = pd.read_csv(out / "rates.csv")
    assert fits["label"].str.fullmatch(r"G\d+").all()
    for title in ("## Per-claim summary", "## Verdicts", "## Capped and underpowered groups"):
        for line in _section(text, title).splitlines():
            assert "target_params=" not in line and "...#" not in line, line
    legend = _section(text, "## Groups")
    for label, group in fits.drop_duplicates("label")[["label", "group"]].itertuples(index=False):
        row = next(line for line in legend.splitlines() if line.startswith(f"| {label} |"))
        assert all(part.split("=", 1)[1] in row for part in str(group).split("; ") if "=" in part and "#" not in part)
    spheres = [line for line in legend.splitlines() if "| intrinsic_dim |" in line]
    assert {line.split(" | ")[3] for line in spheres} == {"sphere D=4 d_star=1", "sphere D=4 d_star=2",
                                                          "sphere D=8 d_star=2"}


def test_group_labels_show_the_parameters_that_differ():
    rates = pd.DataFrame({
        "experiment": ["w2_floor"] * 3 + ["chargen_vs_n"] * 2, "variable": "n",
        "target": ["gaussian", "gaussian", "box", "8gaussians", "8gaussians"],
        "target_params": ['{"cov": [[1.0]], "mean": [0.0]}'] * 2 + ["{}", "{}", "{}"],
        "estimator_params": [np.nan] * 3 + ['{"epochs":{"schedule":"500000 / n"},"width":64}',
                                            '{"epochs":{"schedule":"1000 / n"},"width":64}'],
        "D": [5.0, 8.0, 2.0, 2.0, 2.0], "group": ["D=5", "D=8", "D=2", "a", "b"]})
    table = ct.labels.group_labels(rates)
    compact = dict(zip(table["key"].map(lambda k: k[3]), table["compact"]))
    assert compact == {"D=5": "gaussian D=5", "D=8": "gaussian D=8", "D=2": "box D=2",
                       "a": "8gaussians est.epochs=500000/n", "b": "8gaussians est.epochs=1000/n"}
    assert list(table["label"]) == ["G1", "G2", "G3", "G4", "G5"] and table["key"].iloc[2][3] == "D=2"


def test_summary_status_rule_with_the_new_verdicts():
    status = ct.summary.status
    assert status(["consistent", "slower", "out of scope"]) == "refuted"
    assert status(["refuted"]) == "refuted"
    assert status(["pre-asymptotic", "faster than bound"]) == "supported"
    assert status(["pre-asymptotic", "underpowered", "inconclusive"]) == "pre-asymptotic"
    assert status(["underpowered", "out of scope"]) == "undecidable"
    assert status(["inconclusive"]) == "undecidable"
    assert status(["out of scope", "out of scope"]) == status([]) == "not judged here"
    assert status(["out of scope", "slower"]) == "refuted"
    assert ct.summary.short_citation("N. Fournier, A. Guillin, 'On the rate', PTRF (arXiv 1312.2128).") == \
        "Fournier et al., arXiv 1312.2128"
    assert ct.summary.short_citation("Standard ODE theory (E. Hairer); Ding et al., arXiv 2405.05512") == \
        "Standard ODE theory"


def _hand_built(monkeypatch, change):
    """Make the report judge with ``change(fits)`` applied to the rates table (new verdicts, new columns)."""
    real = ct.rates.fit_rates

    def patched(*args, **kwargs):
        return change(real(*args, **kwargs))

    monkeypatch.setattr(ct.report._rates, "fit_rates", patched)


def test_report_with_new_verdicts_and_columns(tmp_path, monkeypatch):
    synthetic_run(tmp_path, np.random.default_rng(3))

    def change(fits):
        fits = fits.copy()
        w2 = fits["experiment"] == "w2_floor"
        fits.loc[w2 & (fits["D"] == 1), "verdict"] = "underpowered"
        fits.loc[w2 & (fits["D"] == 2), "verdict"] = "pre-asymptotic"
        fits["detectable_gap"] = 0.123
        fits["seeds_needed"] = np.where(fits["verdict"] == "underpowered", 17.2, np.nan)
        fits["local_slopes"] = "-0.710;-0.520;-0.505"
        fits["log_power_range"] = "1"
        return fits

    _hand_built(monkeypatch, change)
    text = ct.report.write_report(tmp_path).read_text()
    summary = _section(text, "## Per-claim summary")
    row = next(line for line in summary.splitlines() if line.startswith("| empirical_w2_1d_gaussian "))
    assert "**undecidable**" in row and "detectable gap 0.123" in row            # underpowered only: no verdict
    row = next(line for line in summary.splitlines() if line.startswith("| empirical_w2_2d_uniform "))
    assert "**pre-asymptotic**" in row
    weak = _section(text, "## Capped and underpowered groups")
    assert re.search(r"- G\d+ \(w2_floor, gaussian D=1\), w2 vs n, \*\*empirical_w2_1d_gaussian\*\*: 10 seeds, "
                     r"detectable gap 0\.123, seeds needed 18", weak)
    assert "-0.710, -0.520, -0.505" in _section(text, "## Verdicts")
    assert "### Pre-asymptotic" in text and "### Underpowered" in text
    assert "underpowered" in pd.read_csv(tmp_path / "rates.csv")["verdict"].tolist()


def test_capped_groups_are_listed(tmp_path):
    synthetic_run(tmp_path, np.random.default_rng(4))
    table = pd.read_csv(tmp_path / "results.csv")
    table["capped"] = ""
    velocity = (table["experiment"] == "velocity_vs_n") & (table["n"] >= 2000)
    table.loc[velocity, "capped"] = "max_pairs 2000 < 8 pairs x n"
    table.to_csv(tmp_path / "results.csv", index=False)
    text = ct.report.write_report(tmp_path).read_text()
    capped = _section(text, "## Capped and underpowered groups")
    assert re.search(r"- G\d+ \(velocity_vs_n, 8gaussians\): at n = 2000, 4000: max_pairs 2000 < 8 pairs x n",
                     capped)


def test_the_report_deletes_only_figures_it_wrote(tmp_path):
    synthetic_run(tmp_path, np.random.default_rng(5))
    figures = tmp_path / "figures"
    figures.mkdir()
    users = [figures / name for name in ("rate_mine.png", "bracket_notes.png", "slope_vs_dstar_draft.png",
                                         "notes.txt")]
    for path in users:
        path.write_bytes(b"the user's own file")
    ct.report.write_report(tmp_path)
    ours = json.loads((figures / ct.report.MANIFEST).read_text())
    assert ours and all((figures / name).is_file() for name in ours)
    # a later report that draws fewer figures removes its own stale ones, never the user's
    (figures / "rate_w2_floor_old_G99_synthetic.png").write_bytes(b"\x89PNG")
    (figures / ct.report.MANIFEST).write_text(json.dumps([*ours, "rate_w2_floor_old_G99_synthetic.png",
                                                          "../outside.png"]))
    run = json.loads((tmp_path / "run.json").read_text())
    run["fits"] = [f for f in run["fits"] if f["experiment"] != "intrinsic_dim"]
    (tmp_path / "run.json").write_text(json.dumps(run))
    ct.report.write_report(tmp_path)
    assert all(p.read_bytes() == b"the user's own file" for p in users)
    assert not (figures / "rate_w2_floor_old_G99_synthetic.png").exists()
    assert not list(figures.glob("*intrinsic_dim*"))            # its own figures, no longer drawn, are gone
    assert set(json.loads((figures / ct.report.MANIFEST).read_text())) == {p.name for p in figures.glob("*.png")} \
        - {u.name for u in users}


def test_figure_names_are_unique_per_group_and_config(report_dir, tmp_path):
    out, _, _ = report_dir
    fits = pd.read_csv(out / "rates.csv")
    names = set(fits["figure"])
    assert all(name.endswith("_synthetic.png") and re.search(r"_G\d+", name) for name in names)
    per_group = fits.groupby("label")["figure"].nunique()
    pages = fits.drop_duplicates(["label", "quantity"]).groupby("figure")["label"].apply(list)
    for figure, labels in pages.items():                       # the page's labels are in its name
        assert all(re.search(rf"(_|-){label}(_|-)", figure) or f"_{label}_" in figure for label in labels) or \
            re.search(r"_G(\d+)-G(\d+)_", figure)
    assert (per_group >= 1).all()
    other = tmp_path / "other"
    shutil.copytree(out, other)
    run = json.loads((other / "run.json").read_text())
    run["config_name"] = "paper"
    (other / "run.json").write_text(json.dumps(run))
    ct.report.write_report(other)
    assert not names & set(pd.read_csv(other / "rates.csv")["figure"])


def test_claims_are_drawn_only_where_in_scope_and_the_axis_follows_the_data(report_dir, tmp_path, monkeypatch):
    out, _, table = report_dir
    fits = pd.read_csv(out / "rates.csv")
    drawn, saved = [], []
    real = ct.plots._draw_claim
    monkeypatch.setattr(ct.plots, "_draw_claim", lambda ax, claim, *a, **k: (drawn.append(claim), real(ax, claim,
                                                                                                     *a, **k)))
    monkeypatch.setattr(ct.plots, "_save", lambda fig, path: saved.append(fig))
    rates = fits[fits["ci_method"] != "bracket"]
    ct.plots.rate_figures(table, rates, tmp_path, config="t", laws={})
    assert drawn and all(c["verdict"] != "out of scope" for c in drawn)
    judged = rates[rates["verdict"] != "out of scope"]
    assert {(c["label"], c["claim_id"], c["quantity"]) for c in drawn} == \
        set(zip(judged["label"], judged["claim_id"], judged["quantity"]))
    for fig in saved:
        ax = fig.axes[0]
        low, high = ax.get_ylim()
        points = np.concatenate([line.get_ydata() for line in ax.lines if line.get_marker() in ("o", ".", "x")])
        points = points[np.isfinite(points) & (points > 0)]
        assert low >= points.min() / 1.5 and high <= points.max() * 1.5          # other slopes never widen it
        renderer = FigureCanvasAgg(fig).get_renderer()
        fig.draw(renderer)
        legend = fig.legends[0]
        assert not legend.get_window_extent(renderer).overlaps(ax.get_window_extent(renderer))  # outside the axes
        texts = [t.get_text() for t in legend.get_texts()]
        assert not any("#" in t for t in texts)


def test_level_ticks_never_crowd():
    levels = np.unique(np.concatenate([0.9 / 2.0 ** np.arange(2, 9), 1.0 / 2.0 ** np.arange(2, 9)]))
    ticks = ct.plots._ticks(levels)
    gaps = np.diff(np.log(ticks))
    assert len(ticks) <= 6 and ticks[-1] == levels[-1] and gaps.min() >= np.log(levels[-1] / levels[0]) / 6 * 0.99


def test_a_network_and_its_controls_share_a_figure_page():
    # groups that differ only in their estimator (the network and the oracle / KDE controls on the same cells) are
    # never split across pages; unrelated single groups still fill pages of plots.GROUPS_PER_FIGURE
    from chargen_theory import plots

    def group(target, estimator, D):
        return {"experiment": "chargen_vs_n", "target": target, "estimator": estimator, "D": D, "label": f"{estimator}{D}"}

    cells3 = [group("sphere", e, D) for D in (4, 8) for e in ("mlp", "oracle", "kde")]
    pages = plots._pages(pd.DataFrame(cells3))
    assert [sorted(p["estimator"]) for p in pages] == [["kde", "mlp", "oracle"]] * 2
    assert [set(p["D"]) for p in pages] == [{4}, {8}]
    singles = pd.DataFrame([group("gaussian", "oracle", D) for D in range(1, 7)])
    assert [len(p) for p in plots._pages(singles)] == [plots.GROUPS_PER_FIGURE, 6 - plots.GROUPS_PER_FIGURE]
