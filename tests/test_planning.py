"""The planning helper (chargen_theory.planning, ``chargen-theory plan``): seeds that would decide a pilot's
undecided groups, their cost from the pilot's timings, and the choice within a budget."""
import json

import numpy as np
import pandas as pd
import pytest

from chargen_theory import cli, planning, rates

LEVELS = 250.0 * 2.0 ** np.arange(6)
FIT = {"experiment": "w2_floor", "quantity": "w2", "variable": "n", "claims": ["empirical_w2_2d_gaussian"]}


def pilot(folder, noise, seconds, n_seeds=3):
    """A pilot run folder: two 2-D Gaussian w2_floor groups (different means) decaying like the claim, with lognormal
    noise ``noise[i]`` and a cell cost of ``seconds[i]`` x n / 250 seconds."""
    rng = np.random.default_rng(0)
    rows = []
    for i, (sd, cost) in enumerate(zip(noise, seconds)):
        params = json.dumps({"cov": [[1.0, 0.0], [0.0, 1.0]], "mean": [float(i), 0.0]})
        for n in LEVELS:
            for seed in range(n_seeds):
                w2 = n ** -0.5 * np.log(n) * np.exp(sd * rng.standard_normal())
                rows.append(dict(experiment="w2_floor", seed=seed, status="ok", seconds=cost * n / 250,
                                 target="gaussian", target_params=params, n=n, D=2, d_star=2, w2=w2))
    pd.DataFrame(rows).to_csv(folder / "results.csv", index=False)
    (folder / "run.json").write_text(json.dumps({"fits": [FIT]}))
    return folder


def test_plan_costs_the_seeds_each_group_needs(tmp_path):
    folder = pilot(tmp_path, noise=(0.1, 0.3), seconds=(1.0, 2.0))
    table = pd.read_csv(folder / "results.csv")
    judged = rates.fit_rates(table, [FIT])
    assert set(judged["verdict"]) <= set(planning.UNDECIDED)     # 3 seeds: nothing is decided
    out = planning.plan(folder, 1e9)
    assert list(out.columns) == list(planning.PLAN_COLUMNS) and len(out) == 2
    for _, row in out.iterrows():
        fitted = judged[judged["group"] == row["group"]].iloc[0]
        assert row["seeds_needed"] == fitted["seeds_needed"] and row["n_seeds"] == 3
        group = json.loads(fitted["target_params"])["mean"][0]                      # 0 or 1: the group's index
        per_seed = (1.0, 2.0)[int(group)] * LEVELS.sum() / 250                     # summed over the levels
        assert row["seconds_per_seed"] == pytest.approx(per_seed, rel=1e-12)
        assert row["cost_s"] == pytest.approx((row["seeds_needed"] - 3) * per_seed, rel=1e-12)
        assert row["advice"] == f"run {int(row['seeds_needed'])} seeds (now 3)"
    assert out["cost_s"].is_monotonic_increasing and out["in_budget"].all()
    # the noisier, dearer group needs more seeds and costs more
    assert out.iloc[1]["seeds_needed"] > out.iloc[0]["seeds_needed"]


def test_plan_fills_the_budget_cheapest_first(tmp_path):
    out = planning.plan(pilot(tmp_path, noise=(0.1, 0.3), seconds=(1.0, 2.0)), 1e9)
    cheap, dear = out["cost_s"]
    limited = planning.plan(tmp_path, (cheap + dear) / 2)
    assert limited["in_budget"].tolist() == [True, False]
    text = planning.format_plan(limited, (cheap + dear) / 2)
    assert text.splitlines()[0].startswith("+ w2_floor w2") and text.splitlines()[1].startswith("- ")
    assert text.endswith(f"1 of 2 undecided group(s) fit the budget: {cheap:.0f} s of {(cheap + dear) / 2:g} s "
                         "(+: in the budget).")
    assert planning.plan(tmp_path, cheap / 2)["in_budget"].tolist() == [False, False]


def test_a_decided_pilot_has_nothing_to_plan(tmp_path):
    folder = pilot(tmp_path, noise=(0.01,), seconds=(1.0,), n_seeds=12)
    out = planning.plan(folder, 100)
    assert out.empty
    assert planning.format_plan(out, 100) == "Nothing to plan: every in-scope group of the pilot is decided."


def test_plan_command_line(tmp_path, capsys):
    folder = pilot(tmp_path, noise=(0.1, 0.3), seconds=(1.0, 2.0))
    assert cli.main(["plan", str(folder), "--budget", "1e9"]) == 0
    assert "2 of 2 undecided group(s) fit the budget" in capsys.readouterr().out
    for argv, message in ((["plan", str(folder), "--budget", "0"], "argument --budget: must be a number of "
                                                                    "seconds > 0, got '0'"),
                          (["plan", str(folder), "--budget", "inf"], "argument --budget"),
                          (["plan", str(folder)], "the following arguments are required: --budget"),
                          (["plan", str(tmp_path / "none"), "--budget", "5"], "holds no results.csv")):
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err


def test_plan_rejects_a_bad_budget(tmp_path):
    folder = pilot(tmp_path, noise=(0.1,), seconds=(1.0,))
    for budget in (0, -1.0, float("nan"), True, "10"):
        with pytest.raises(ValueError, match=r"^budget: must be a number of seconds > 0"):
            planning.plan(folder, budget)
