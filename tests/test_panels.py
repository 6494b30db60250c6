"""sweep_panels refits exactly the generator of a results row (same random stream) and writes one panel per
2-D chargen_vs_n family."""
import chargen_theory as ct
from chargen_theory.study.experiments.chargen_vs_n import ledger_run

CONFIG = """
root_seed = 7
[[experiment]]
kind = "chargen_vs_n"
target = "8gaussians"
estimator = "kde"
T = 0.9
K = 4
m = 64
n = [100, 200]
n_test = 64
w2_n = 32
n_eval = 64
n_bracket = 1000
n_lower = 4000
generator = { width = 16, depth = 2, epochs = 2 }
seeds = 1
"""


def test_sweep_panels_redraw_the_generator_of_the_largest_n_row(tmp_path):
    cfg = ct.config.loads(CONFIG, "panels.toml", "panels")
    table = ct.sweep.run(cfg, tmp_path)
    written = ct.panels.sweep_panels(cfg, tmp_path)
    assert len(written) == 1 and written[0].is_file() and written[0].name.startswith("panel_8gaussians_kde_")
    assert written[0].name.endswith("_panels.png")                       # the config's name: never shared
    unit = ct.sweep.find_unit(cfg, "chargen_vs_n", seed=0, n=200)
    with ct.sweep.replay(unit) as (cell, rng):
        record = ledger_run(cell, rng).record
    row = table[(table["n"] == 200) & (table["seed"] == 0)].iloc[0]
    for column in ("total_coupling", "fit_error", "euler_hat_error"):
        assert record[column] == row[column]
