"""The command line: run (with the report), report, list, config resolution and the console entry points."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import chargen_theory as ct
from chargen_theory import cli

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """One CLI run of the bundled config tiny (by name, default output folder) in a fresh working folder."""
    work = tmp_path_factory.mktemp("cli")
    cwd = os.getcwd()
    os.chdir(work)
    try:
        status = cli.main(["run", "tiny", "--jobs", "1"])
    finally:
        os.chdir(cwd)
    return status, work / "results" / "tiny"


def test_run_writes_table_sidecar_and_report(tiny_run):
    status, out = tiny_run
    assert status == 0
    for name in ("results.csv", "run.json", "rates.csv", "report.md"):
        assert (out / name).is_file(), name
    table = pd.read_csv(out / "results.csv")
    assert len(table) == 24 and set(table["experiment"]) == {"euler_vs_h", "w2_floor"}
    assert set(table["status"]) == {"ok"}
    sidecar = json.loads((out / "run.json").read_text())
    assert sidecar["config_name"] == "tiny" and sidecar["root_seed"] == 1234 and sidecar["wall_seconds"] > 0


def test_report_command_rewrites_the_report(tiny_run, capsys):
    _, out = tiny_run
    (out / "report.md").unlink()
    assert cli.main(["report", str(out)]) == 0
    assert (out / "report.md").is_file()
    assert capsys.readouterr().out.strip().endswith("report.md")


@pytest.mark.parametrize("what, expected", [
    ("targets", ["gaussian", "sphere", "8gaussians"]),
    ("paths", ["linear:", "follmer:", "trig:"]),
    ("estimators", ["oracle"]),
    ("claims", ["chargen_velocity_rate: velocity_l2 ~ n^(-1/(d+3)) [upper bound, restated]", "euler_first_order",
                "chargen_manifold_rate: velocity_l2 ~ n^(-1/(d*+3)) [upper bound, conjecture]",
                "    targets smoothed_compact; T T_to_1_or_smoothed_1; estimators relu_network; bounds velocity_l2",
                "empirical_w2_2d_gaussian: w2 ~ n^(-1/2) (log n)^1 [rate, stated]"]),
    ("experiments", ["euler_vs_h:", "velocity_vs_n:", "chargen_vs_n:", "intrinsic_dim:", "w2_floor:"]),
])
def test_list(capsys, what, expected):
    assert cli.main(["list", what]) == 0
    out = capsys.readouterr().out
    for item in expected:
        assert item in out


def test_config_resolution(tmp_path, monkeypatch):
    assert cli.resolve_config(None) == cli.CONFIG_DIR / "quick.toml"
    assert cli.resolve_config("paper") == cli.CONFIG_DIR / "paper.toml"
    assert cli.resolve_config("tiny.toml") == cli.CONFIG_DIR / "tiny.toml"
    own = tmp_path / "tiny.toml"  # a file path wins over a bundled config of the same name
    own.write_text("")
    monkeypatch.chdir(tmp_path)
    assert cli.resolve_config("tiny.toml") == Path("tiny.toml")
    with pytest.raises(ValueError, match="^config: no file 'nope'; bundled configs: generators, paper, quick, sklearn, tiny$"):
        cli.resolve_config("nope")


def test_bundled_configs_ship_inside_the_package_and_validate():
    assert Path(str(cli.CONFIG_DIR)).parent == Path(ct.__file__).parent
    assert cli.bundled_configs() == ["generators", "paper", "quick", "sklearn", "tiny"]
    for name in cli.bundled_configs():
        cfg = ct.config.load(cli.CONFIG_DIR / f"{name}.toml")
        assert cfg.name == name and cfg.experiments


def test_module_and_console_script_entry_points():
    help_text = subprocess.run([sys.executable, "-m", "chargen_theory", "--help"], capture_output=True, text=True)
    assert help_text.returncode == 0 and "{run,report,plan,list}" in help_text.stdout
    script = Path(sys.executable).with_name("chargen-theory")
    listed = subprocess.run([str(script), "list", "paths"], capture_output=True, text=True)
    assert listed.returncode == 0 and "linear:" in listed.stdout
