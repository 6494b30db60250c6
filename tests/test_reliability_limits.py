"""Reliability, third pass (issue 20: sizes, late errors, messages): every size is capped before any work and
blames the parameter that is too large, and every mistake is one line with exit status 2 and nothing written."""
import json
import logging
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

import chargen_theory as ct
from chargen_theory import cli

REPO = Path(__file__).resolve().parent.parent
TINY = cli.CONFIG_DIR / "tiny.toml"
EULER = '[[experiment]]\nkind = "euler_vs_h"\ntarget = "8gaussians"\nK = [4, 8]\nm = 50\n'


def _env(*folders) -> dict:
    """The environment of a subprocess that imports this checkout of chargen_theory (and ``folders``)."""
    paths = [*map(str, folders), str(REPO), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def _one_line_exit_2(argv, capsys) -> str:
    status = cli.main(argv)
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and err.startswith("chargen-theory: error: "), err
    return err


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished tiny run without its report, to copy."""
    out = tmp_path_factory.mktemp("finished") / "run"
    ct.sweep.run(TINY, out, jobs=1)
    return out


@pytest.fixture
def run_dir(finished, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(finished, out, symlinks=True)
    return out


def _cli(args, cwd, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "chargen_theory", *args], cwd=cwd, env=env or _env(),
                          capture_output=True, text=True)


LEDGER = textwrap.dedent("""
    [[experiment]]
    kind = "chargen_vs_n"
    target = { name = "gaussian", mean = [0.0], cov = [[1.0]] }
    estimator = { name = "kde", bandwidth = 0.3 }
    generator = ["_plug_euler", "euler"]
    n = [20, 40]
    m = 20
    K = 4
    T = 0.9
    n_test = 40
    w2_n = 40
    n_eval = 40
    n_bracket = 40
    n_lower = 40
""")


# -- issue 20.14: a plugin that fails on the workers --------------------------------------------------------------
WORKER_ONLY_FAILURE = textwrap.dedent('''
    """Imports in the process that loads it first; fails in every other process (a worker missing a file)."""
    import os

    import chargen_theory as ct
    from chargen_theory.generators.euler import Euler

    if os.environ.setdefault("_PLUG_MAIN_PID", str(os.getpid())) != str(os.getpid()):
        raise ImportError("a file this plugin needs is missing on this worker")


    class PlugEuler(Euler):
        name = "_plug_euler"


    ct.generators.register("_plug_euler", PlugEuler)
''')
FLOOR = '[[experiment]]\nkind = "w2_floor"\ntarget = "gaussian"\nD = 1\nn = [16, 32]\n'


def test_a_plugin_failing_on_the_workers_fails_only_its_cells_and_stops_the_run(tmp_path):
    (tmp_path / "_plug_gen.py").write_text(WORKER_ONLY_FAILURE)
    (tmp_path / "c.toml").write_text(LEDGER.replace('["_plug_euler", "euler"]', '"_plug_euler"') + FLOOR)
    env = {key: value for key, value in _env().items() if key != "_PLUG_MAIN_PID"}
    done = _cli(["run", "c.toml", "--out", "out", "--jobs", "2", "--plugin", "_plug_gen"], tmp_path, env)
    assert done.returncode == 2, done.stderr
    line, = [text for text in done.stderr.splitlines() if "error" in text]
    assert line.startswith("chargen-theory: error: plugins: 2 unit(s) could not run on the workers: ") and \
        "missing on this worker" in line and "_plug_gen" in line, line
    out = tmp_path / "out"
    assert not (out / "results.csv").exists() and not (out / "report.md").exists()
    assert len(list((out / "cache").glob("*.json"))) == 2  # the w2_floor cells ran and are cached


def test_a_unit_runs_whatever_happens_to_a_plugin_it_does_not_use():
    cfg = ct.config.loads(FLOOR)
    unit = ct.sweep.units(cfg)[0]
    broken = (("_plug_absent_module", "0" * 64, None),)
    assert ct.sweep.execute(unit, broken)["status"] == "ok"
    used = ct.sweep.Unit(**{**unit.__dict__, "plugins": ("_plug_absent_module",)})
    record = ct.sweep.execute(used, broken)
    assert record["status"] == "error" and record["plugin_failure"] and "_plug_absent_module" in record["message"]


# -- issue 20.6, 11, 13: late errors and tracebacks become one line before any work ---------------------------------
LATE = [
    (EULER.replace("K = [4, 8]", 'K = { schedule = "0.4" }'), ["experiment[0].K (schedule '0.4')", "integer >= 1",
                                                               "got 0"]),
    (EULER + "T = 5e-324\n", ["experiment[0].T", "h = T/K", "smallest normal float64"]),
    ("x = " + "[" * 500 + "]" * 500 + "\n" + EULER, ["malformed TOML", "nested too deep"]),
    ('[[claim]]\nid = true\nquantity = "euler_error"\nvariable = "h"\nexponent = 1\n' + EULER,
     ["claim[0].id", "must be a string", "True"]),
    ('[[claim]]\nid = "c"\nquantity = "euler_error"\nvariable = "h"\nexponent = "1' + "0" * 400 + '"\n' + EULER,
     ["claim[0].exponent", "finite", "at most 1000"]),
    (EULER.replace('"8gaussians"', '{ name = "8gaussians", radius = 1e300 }'),
     ["experiment[0].target.radius", "1e+300", "float64"]),
    (EULER.replace('"8gaussians"', '{ name = "checkerboard", sigma = 1e-300 }'), ["experiment[0].target.sigma"]),
]


@pytest.mark.parametrize("body, fragments", LATE)
def test_late_errors_are_one_line_before_any_work(tmp_path, capsys, body, fragments):
    (tmp_path / "c.toml").write_text(body)
    err = _one_line_exit_2(["run", str(tmp_path / "c.toml"), "--out", str(tmp_path / "out"), "--jobs", "1"], capsys)
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    assert _files(tmp_path) == {"c.toml"}


def test_configs_nested_too_deep_as_data_are_refused():
    data = []
    for _ in range(2000):
        data = [data]
    with pytest.raises(ValueError, match=r"^description(\[0\])+: lists or tables nested more than 32 levels"):
        ct.config.validate({"description": data, "experiment": [{"kind": "euler_vs_h"}]})


def test_a_too_long_output_name_and_an_empty_one_are_refused(tmp_path, capsys, monkeypatch):
    (tmp_path / "c.toml").write_text(EULER)
    monkeypatch.chdir(tmp_path)
    err = _one_line_exit_2(["run", "c.toml", "--out", "a" * 300, "--jobs", "1"], capsys)
    assert "out: cannot use" in err and "File name too long" in err and len(err) < 300
    err = _one_line_exit_2(["run", "c.toml", "--out", "", "--jobs", "1"], capsys)
    assert "--out: must name a folder, got ''" in err
    with pytest.raises(ValueError, match="^out: must be a non-empty folder path"):
        ct.sweep.run(ct.config.loads(EULER), "", jobs=1)
    assert _files(tmp_path) == {"c.toml"}


def test_a_fifo_at_the_lock_is_refused_in_one_line(tmp_path, capsys):
    (tmp_path / "out").mkdir()
    os.mkfifo(tmp_path / "out" / ".lock")
    err = _one_line_exit_2(["run", str(TINY), "--out", str(tmp_path / "out"), "--jobs", "1"], capsys)
    assert ".lock" in err and "not a plain file" in err
    assert _files(tmp_path / "out") == {".lock"}


def test_a_figures_link_leaving_the_folder_is_refused_before_the_sweep(tmp_path, capsys):
    (tmp_path / "out").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "out" / "figures").symlink_to(tmp_path / "elsewhere")
    err = _one_line_exit_2(["run", str(TINY), "--out", str(tmp_path / "out"), "--jobs", "1"], capsys)
    assert "figures" in err and "outside the output folder" in err
    assert _files(tmp_path / "out") == {"figures"} and not any((tmp_path / "elsewhere").iterdir())


# -- issue 20.8, 9, 16: sizes capped before any work, blaming the parameter that is too large --------------------------
LEDGER_BODY = 'kind = "chargen_vs_n"\ntarget = "8gaussians"\nestimator = "kde"\nn = 100\n'
VELOCITY_BODY = 'kind = "velocity_vs_n"\ntarget = "8gaussians"\nn = 1000\n'
SIZES = [
    (LEDGER_BODY + "n_bracket = 1000000000000", ["experiment[0].n_bracket", "n_bracket prior draws"]),
    (LEDGER_BODY + "n_lower = 1000000000000", ["experiment[0].n_lower", "lower bounds"]),
    (LEDGER_BODY + 'K = { schedule = "n^8" }', ["experiment[0].K:", "Euler characteristics"]),
    (LEDGER_BODY + "n_test = 1000000000000", ["experiment[0].n_test:", "n_test sample points"]),
    (LEDGER_BODY + "w2_n = 1000000", ["experiment[0].w2_n:", "cost matrix"]),
    (VELOCITY_BODY + 'estimator = { name = "mlp", width = { schedule = "n^3" } }',
     ["experiment[0].estimator.width:", "weights"]),
    (VELOCITY_BODY + 'estimator = { name = "mlp", epochs = { schedule = "n^5" } }',
     ["experiment[0].estimator.epochs:", "floating-point operations", "limit of 1e+15"]),
    (VELOCITY_BODY + 'estimator = { name = "nadaraya_watson", pairs_per_sample = { schedule = "n^4" } }',
     ["experiment[0].estimator.pairs_per_sample:", "regression pairs"]),
    (VELOCITY_BODY + 'estimator = { name = "knn", pairs_per_sample = 100000000 }',
     ["experiment[0].estimator.pairs_per_sample:"]),
    (VELOCITY_BODY + 'estimator = { name = "sklearn", regressor = "KNeighborsRegressor", pairs_per_sample = 1000000 }',
     ["experiment[0].estimator.pairs_per_sample:", "regression pairs"]),
    (VELOCITY_BODY + 'estimator = { name = "sklearn", regressor = "RandomForestRegressor", '
                     'params = { n_estimators = 1000000000 } }', ["experiment[0].estimator.params.n_estimators:"]),
    (VELOCITY_BODY + 'estimator = { name = "sklearn", regressor = "GradientBoostingRegressor", '
                     'params = { n_estimators = 1000000000 } }', ["experiment[0].estimator.params.n_estimators:"]),
    (VELOCITY_BODY + 'estimator = { name = "sklearn", regressor = "GaussianProcessRegressor", '
                     'params = { n_restarts_optimizer = 1000000 } }',
     ["experiment[0].estimator.params.n_restarts_optimizer:", "operations"]),
    (VELOCITY_BODY + 'estimator = { name = "sklearn", regressor = "MLPRegressor", params = { max_iter = 1000000000 } }',
     ["experiment[0].estimator.params.max_iter:", "operations"]),
    (VELOCITY_BODY + 'estimator = { name = "sklearn", regressor = "MLPRegressor", '
                     'params = { hidden_layer_sizes = [100000, 100000] } }',
     ["experiment[0].estimator.params.hidden_layer_sizes:", "weights"]),
    (VELOCITY_BODY + 'estimator = { name = "sklearn", regressor = "KernelRidge", pairs_per_sample = 1000, '
                     'max_pairs = 1000000 }', ["experiment[0].estimator.max_pairs:", "kernel matrices"]),
]


@pytest.mark.parametrize("body, fragments", SIZES)
def test_sizes_are_refused_before_any_work_naming_the_parameter(monkeypatch, body, fragments):
    monkeypatch.setattr(ct.sizes, "machine_memory", lambda: 16 * 2**30)
    with pytest.raises(ValueError) as err:
        ct.config.loads("[[experiment]]\n" + body)
    for fragment in fragments:
        assert fragment in str(err.value), (fragment, str(err.value))


def test_the_bundled_configs_stay_within_the_size_limits(monkeypatch):
    monkeypatch.setattr(ct.sizes, "machine_memory", lambda: 16 * 2**30)
    for name in cli.bundled_configs():
        ct.config.load(cli.CONFIG_DIR / f"{name}.toml")


def test_more_jobs_than_cpus_are_capped_with_a_message(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(ct.sweep, "usable_cpus", lambda: 1)
    with caplog.at_level(logging.WARNING, logger="chargen_theory.study.sweep"):
        ct.sweep.run(ct.config.loads(EULER), tmp_path / "out", jobs=16)
    assert "jobs: 16 workers asked for, but this machine has 1 usable CPUs: running 1" in caplog.text
    assert json.loads((tmp_path / "out" / "run.json").read_text())["jobs"] == 1


# -- issue 20.16: a forged or cut table is refused by the report ---------------------------------------------------
def _forge(run_dir: Path, edit) -> None:
    table = pd.read_csv(run_dir / "results.csv")
    edit(table).to_csv(run_dir / "results.csv", index=False)
    sidecar = json.loads((run_dir / "run.json").read_text())
    del sidecar["results_sha256"]  # a hand-made table: no hash to compare
    (run_dir / "run.json").write_text(json.dumps(sidecar))


def _set_inf(table):
    table.loc[table["experiment"] == "w2_floor", "w2"] = [float("inf")] + [0.1] * 11
    return table


@pytest.mark.parametrize("edit, fragment", [
    (_set_inf, "results.csv: column 'w2' holds inf in row"),
    (lambda t: t.drop(columns=["w2"]), "results.csv: column 'w2' is missing; the w2_floor fit of w2 needs it"),
    (lambda t: t.drop(columns=["h"]), "results.csv: column 'h' is missing; the euler_vs_h fit"),
])
def test_a_forged_or_cut_table_is_refused_by_the_report(run_dir, capsys, edit, fragment):
    _forge(run_dir, edit)
    err = _one_line_exit_2(["report", str(run_dir)], capsys)
    assert fragment in err, err
    assert not (run_dir / "rates.csv").exists() and not (run_dir / "report.md").exists()
