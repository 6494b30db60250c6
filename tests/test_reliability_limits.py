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
