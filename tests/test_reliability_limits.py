"""Reliability, third pass (issue 20: sizes, late errors, messages; issue 21: plugin generators): every size is
capped before any work and blames the parameter that is too large, every mistake is one line with exit status 2
and nothing written, and a plugin's cells are recomputed exactly when the plugin changes."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

import chargen_theory as ct
from chargen_theory import cli

REPO = Path(__file__).resolve().parent.parent


def _env(*folders) -> dict:
    """The environment of a subprocess that imports this checkout of chargen_theory (and ``folders``)."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([*map(str, folders), str(REPO), os.environ.get("PYTHONPATH", "")])}


def _cli(args, cwd, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "chargen_theory", *args], cwd=cwd, env=env or _env(),
                          capture_output=True, text=True)


# -- issue 21.1: a plugin generator is part of the cache keys of exactly its cells ----------------------------------
GENERATOR_PLUGIN = textwrap.dedent('''
    """A user's generator: the Euler reference under another name."""
    import chargen_theory as ct
    from chargen_theory.generators.euler import Euler


    class PlugEuler(Euler):
        name = "_plug_euler"


    ct.generators.register("_plug_euler", PlugEuler)
''')
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


def test_editing_a_plugin_generator_recomputes_exactly_its_cells(tmp_path):
    (tmp_path / "_plug_gen.py").write_text(GENERATOR_PLUGIN)
    (tmp_path / "c.toml").write_text(LEDGER)
    args = ["run", "c.toml", "--out", "out", "--jobs", "1", "--no-report", "--plugin", "_plug_gen"]

    def run() -> tuple[dict, pd.DataFrame, set]:
        done = _cli(args, tmp_path)
        assert done.returncode == 0, done.stderr
        return (json.loads((tmp_path / "out" / "run.json").read_text()), pd.read_csv(tmp_path / "out" / "results.csv"),
                {p.name for p in (tmp_path / "out" / "cache").glob("*.json")})

    first, table, keys = run()
    assert first["units_computed"] == 4 and set(table["status"]) == {"ok"}, table["message"]
    assert first["plugins"][0]["registered"] == {"generator": ["_plug_euler"]}
    (tmp_path / "_plug_gen.py").write_text(GENERATOR_PLUGIN + "# edited\n")
    edited, table_after, keys_after = run()
    assert edited["units_computed"] == 2  # the two _plug_euler cells; the euler cells come from the cache
    assert keys <= keys_after and len(keys_after) == 6
    timing = [c for c in table.columns if c.endswith("seconds")]
    pd.testing.assert_frame_equal(table.drop(columns=timing), table_after.drop(columns=timing))


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
