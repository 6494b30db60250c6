"""The output folder's one owner (report.write_all): `run` and `report DIR` draw the same files; the generator
comparison reads T as a number beside another experiment's T schedule."""
import json
import shutil

import pandas as pd
import pytest

from chargen_theory import cli
from chargen_theory.reporting import report

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
generator = [{ width = 16, depth = 2, epochs = 2 }, "euler"]
seeds = 1

[[experiment]]
kind = "velocity_vs_n"
target = "8gaussians"
estimator = "kde"
n = [100, 200]
n_eval = 64
T = { schedule = "1 - 0.3 * n^(-1/2)" }
"""


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("compare")
    (folder / "compare.toml").write_text(CONFIG)
    out = folder / "out"
    assert cli.main(["run", str(folder / "compare.toml"), "--out", str(out), "--jobs", "1"]) == 0
    return out


def _drawn(out) -> set[str]:
    return {p.name for p in (out / "figures").iterdir()} | {p.name for p in out.glob("*.md")}


def test_comparison_reads_T_as_a_number_beside_a_T_schedule(run_dir):
    # results.csv's T column holds the velocity_vs_n schedule as text; the chargen_vs_n family keeps T = 0.9
    column = pd.read_csv(run_dir / "results.csv")["T"]
    assert not pd.api.types.is_numeric_dtype(column) and column.str.contains("schedule").any()
    text = (run_dir / "generators.md").read_text()
    assert "## 8gaussians, kde: error vs n (K = 4, T = 0.9)" in text
    assert "| euler | 200 | 64 |" in text and "| characteristic | 200 | 64 |" in text


def test_report_command_redraws_everything_run_draws(run_dir, tmp_path, capsys):
    drawn = _drawn(run_dir)
    assert any(name.startswith("panel_8gaussians_kde_") for name in drawn)             # the sample panel
    assert any(name.startswith("panel_generators_chargen_vs_n_n_") for name in drawn)  # the comparison figure
    assert {"generators.md", "report.md"} <= drawn
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    shutil.rmtree(copy / "figures")
    (copy / "generators.md").unlink()
    assert cli.main(["report", str(copy)]) == 0
    assert _drawn(copy) == drawn
    assert "not drawn" not in capsys.readouterr().err


def test_report_without_the_recorded_config_draws_all_but_the_panels(run_dir, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    shutil.rmtree(copy / "figures")
    record = json.loads((copy / "run.json").read_text())
    record["config"]["experiment"][0]["estimator"] = "a_plugin_estimator"  # a plugin not loaded by `report`
    (copy / "run.json").write_text(json.dumps(record))
    drawn = report.write_all(copy)
    assert "a_plugin_estimator" in drawn.panels_skipped and drawn.panels == []
    assert drawn.report.is_file() and (copy / "generators.md").is_file()
    assert not any(p.name.startswith("panel_8gaussians_kde_") for p in (copy / "figures").iterdir())


PLUGIN_GENERATOR = '''
import chargen_theory as ct
from chargen_theory.generators.characteristic import CharacteristicGenerator


class Mine(CharacteristicGenerator):
    name = "_panel_mine"


ct.generators.register("_panel_mine", Mine)
'''


def test_report_redraws_a_plugin_generators_panels_when_given_the_plugin(tmp_path):
    import subprocess
    import sys

    (tmp_path / "_panel_plugin.py").write_text(PLUGIN_GENERATOR)
    (tmp_path / "c.toml").write_text(CONFIG.split("[[experiment]]\nkind = \"velocity_vs_n\"")[0].replace(
        '[{ width = 16, depth = 2, epochs = 2 }, "euler"]', '{ name = "_panel_mine", width = 8, depth = 1, epochs = 1 }'))

    def cli_run(*args):
        done = subprocess.run([sys.executable, "-m", "chargen_theory", *args], cwd=tmp_path, capture_output=True,
                              text=True)
        assert done.returncode == 0, done.stderr
        return done.stderr

    def panels():
        return [p.name for p in (tmp_path / "out" / "figures").glob("panel_8gaussians_*")]

    cli_run("run", "c.toml", "--out", "out", "--jobs", "1", "--plugin", "_panel_plugin")
    assert len(panels()) == 1
    shutil.rmtree(tmp_path / "out" / "figures")
    assert "panels: not drawn" in cli_run("report", "out") and not panels()  # the plugin's name is unknown here
    assert "not drawn" not in cli_run("report", "out", "--plugin", "_panel_plugin") and len(panels()) == 1
