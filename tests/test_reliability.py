"""Reliability: bad inputs fail cleanly, an interrupted sweep resumes to the same table, a diverging cell is
recorded and the sweep continues, tables are identical across execution backends, and configs / caches are data."""
import json
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import chargen_theory as ct
from chargen_theory import cli
from chargen_theory import experiments as ex

TINY = cli.CONFIG_DIR / "tiny.toml"

EULER = textwrap.dedent("""
    [[experiment]]
    kind = "euler_vs_h"
    target = "8gaussians"
    K = [4, 8]
    m = 50
""")
SPHERES = textwrap.dedent("""
    [[experiment]]
    kind = "intrinsic_dim"
    target = { name = "sphere" }
    estimator = "oracle"
    n = [100, 200]
""")

# (config text or None, extra CLI arguments, fragments the one-line message must contain)
BAD_INPUTS = [
    ("[[experiment]]\nkind = 'euler_vs_h'\n[oops", [], ["malformed TOML", "line 3"]),
    (EULER + "colour = 'red'\n", [], ["experiment[0]", "unknown key 'colour'", "allowed:", "K", "m", "target"]),
    ("seed = 3\n" + EULER, [], ["unknown key 'seed'", "allowed:", "root_seed", "seeds"]),
    (EULER.replace("euler_vs_h", "euler_vs_k"), [], ["experiment[0].kind", "'euler_vs_k'", "chargen_vs_n", "w2_floor"]),
    (EULER.replace("8gaussians", "9gaussians"), [], ["experiment[0].target.name", "'9gaussians'", "8gaussians",
                                                    "checkerboard", "sphere"]),
    (EULER + "path = 'straight'\n", [], ["experiment[0].path", "'straight'", "follmer", "linear", "trig"]),
    (EULER + "claims = ['fast_rate']\n", [], ["experiment[0].claims[0]", "'fast_rate'", "euler_first_order"]),
    (EULER.replace("K = [4, 8]", "K = []"), [], ["experiment[0].K", "empty grid"]),
    (EULER.replace("K = [4, 8]", "K = [4, 0]"), [], ["experiment[0].K[1]", "integer >= 1"]),
    (EULER.replace("K = [4, 8]", "K = -2"), [], ["experiment[0].K", "integer >= 1"]),
    (EULER.replace("m = 50", "m = 0"), [], ["experiment[0].m", "integer >= 1"]),
    (EULER + "T = 1.5\n", [], ["experiment[0].T", "(0, 1]"]),
    (EULER + "T = 0.0\n", [], ["experiment[0].T", "(0, 1]"]),
    (EULER.replace("m = 50", "m = 'fifty'"), [], ["experiment[0].m", "integer >= 1", "'fifty'"]),
    (EULER.replace("K = [4, 8]", "h = 0.3"), [], ["experiment[0].h", "whole number of steps"]),
    (SPHERES + "d_star = 3\nD = 2\n", [], ["experiment[0].d_star", "<= D"]),
    (SPHERES + "d_star = 2\nD = 2\n", [], ["experiment[0].target", "intrinsic_dim", "dim"]),
    (SPHERES.replace("n = [100, 200]", "n = [100, 0]") + "d_star = 1\nD = 2\n", [], ["experiment[0].n[1]"]),
    (EULER.replace('"8gaussians"', '{ name = "gaussian", mean = [0.0], cov = [[-1.0]] }'), [],
     ["experiment[0].target", "cov"]),
    (EULER.replace('"8gaussians"', '{ name = "gaussian", mean = [0.0], cov = [[1.0]], scale = 2 }'), [],
     ["experiment[0].target", "scale", "allowed: mean, cov"]),
    ('out = "../../escape"\n' + EULER, [], ["out", "no '..'"]),
    ('out = "/etc/chargen"\n' + EULER, [], ["out", "not absolute"]),
    (EULER + "zip = [['K', 'm']]\n", [], ["experiment[0].zip[0]", "'m'", "only grid axes"]),
    (EULER, ["--jobs", "0"], ["--jobs", "integer >= 1"]),
    (EULER, ["--jobs", "two"], ["--jobs", "integer >= 1", "'two'"]),
    (EULER, ["--backend", "mpi"], ["--backend", "'mpi'", "loky", "dask"]),
    (EULER, ["--scheduler", "tcp://127.0.0.1:1"], ["--scheduler", "--backend dask"]),
    (EULER, ["--frobnicate"], ["unrecognized arguments: --frobnicate"]),
    (None, ["run", "no_such_config.toml"], ["config: no file 'no_such_config.toml'", "quick", "tiny"]),
    (None, ["list", "widgets"], ["'widgets'", "targets", "paths", "estimators", "claims", "experiments"]),
    (None, [], ["required", "run", "report", "list"]),
    (None, ["report", "no_such_run"], ["dir", "no results.csv"]),
]


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def cli_error(argv, folder: Path, capsys, monkeypatch) -> str:
    """Run the CLI in ``folder``; assert exit status 2, one line on stderr, no traceback, nothing written."""
    monkeypatch.chdir(folder)
    before = _files(folder)
    status = cli.main(argv)
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and err.startswith("chargen-theory: error: "), err
    assert "Traceback" not in err
    assert _files(folder) == before
    return err


@pytest.mark.parametrize("text, args, fragments", BAD_INPUTS)
def test_bad_input_exits_2_with_one_line_naming_the_field(tmp_path, capsys, monkeypatch, text, args, fragments):
    if text is None:
        argv = args
    else:
        (tmp_path / "bad.toml").write_text(text)
        argv = ["run", "bad.toml", *args]
    err = cli_error(argv, tmp_path, capsys, monkeypatch)
    for fragment in fragments:
        assert fragment in err, (fragment, err)


def test_unwritable_output_exits_2_and_writes_nothing(tmp_path, capsys, monkeypatch):
    (tmp_path / "c.toml").write_text(EULER)
    (tmp_path / "blocker").write_text("a file where a folder should go")
    err = cli_error(["run", "c.toml", "--out", "blocker/run"], tmp_path, capsys, monkeypatch)
    assert "out: cannot write" in err and "is not a folder" in err


def test_unreachable_scheduler_fails_fast(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(ct.sweep, "CONNECT_TIMEOUT_S", 2)
    (tmp_path / "c.toml").write_text(EULER)
    start = time.perf_counter()
    err = cli_error(["run", "c.toml", "--backend", "dask", "--scheduler", "tcp://127.0.0.1:9"], tmp_path, capsys,
                    monkeypatch)
    assert time.perf_counter() - start < 15
    assert "scheduler: cannot reach Dask scheduler 'tcp://127.0.0.1:9' within 2 s" in err


def test_cli_error_from_a_real_process_has_no_traceback(tmp_path):
    (tmp_path / "bad.toml").write_text(EULER.replace("K = [4, 8]", "K = 0"))
    done = subprocess.run([sys.executable, "-m", "chargen_theory", "run", "bad.toml"], cwd=tmp_path,
                          capture_output=True, text=True)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == "chargen-theory: error: experiment[0].K: must be an integer >= 1, got 0\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]


# -- interruption and resume ----------------------------------------------------------------------------------------
def _finished(cache: Path) -> list[Path]:
    """Finished cell records (a kill can also leave a hidden temporary file being written)."""
    return [p for p in cache.glob("*.json") if not p.name.startswith(".")]


def test_killed_sweep_resumes_to_the_uninterrupted_table(tmp_path):
    reference = ct.sweep.run(TINY, tmp_path / "reference")
    out = tmp_path / "killed"
    cache = out / "cache"
    # --jobs 1: the units run in the killed process itself, so no orphaned worker writes after the kill
    proc = subprocess.Popen([sys.executable, "-m", "chargen_theory", "run", str(TINY), "--out", str(out),
                             "--no-report", "--jobs", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not (cache.is_dir() and _finished(cache)):
            assert proc.poll() is None and time.monotonic() < deadline, "the sweep ended before it could be killed"
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    done_before = len(_finished(cache))
    assert 0 < done_before < len(reference)
    assert not (out / "results.csv").exists()
    (cache / ".tmp-chargen-left-by-a-kill.json").write_text("{")  # a half-written temporary file, as a kill can leave
    resumed = ct.sweep.run(TINY, out)
    sidecar = json.loads((out / "run.json").read_text())
    assert sidecar["units_computed"] == len(reference) - done_before
    assert not list(cache.glob(".tmp-*"))
    pd.testing.assert_frame_equal(ct.sweep.comparable(resumed), ct.sweep.comparable(reference))
    on_disk = [pd.read_csv(d / "results.csv") for d in (out, tmp_path / "reference")]
    pd.testing.assert_frame_equal(ct.sweep.comparable(on_disk[0]), ct.sweep.comparable(on_disk[1]))


# -- divergence -------------------------------------------------------------------------------------------------------
def _exploding_euler(cell, rng):
    """K Euler steps of v(t, x) = 1e200 x with the real solver: one step stays finite (about 1e200 |z|), sixteen
    steps overflow, which the solver reports as DivergenceError."""
    z = rng.standard_normal((10, 2))
    with np.errstate(over="ignore"):
        x = ct.solvers.euler(lambda t, y: 1e200 * y, z, K=cell["K"], T=cell["T"])
    return {"euler_error": float(np.max(np.abs(x)))}


ex.register(ex.Kind("_exploding_euler", _exploding_euler, {"K": ex.REQUIRED, "T": 1.0}, ("euler_error",),
                    level=("K",)))


EXPLODING_LR = textwrap.dedent("""
    [[experiment]]
    kind = "velocity_vs_n"
    target = "8gaussians"
    estimator = { name = "mlp", lr = 1e200, epochs = 3, width = 16, depth = 2 }
    n = 100
    n_eval = 100
""")


def test_diverging_cells_are_recorded_and_not_cached(tmp_path):
    text = "seeds = 2\n[[experiment]]\nkind = '_exploding_euler'\nK = [1, 16]\n" + EULER + EXPLODING_LR
    table = ct.sweep.run(ct.config.loads(text), tmp_path / "out")
    blown = table[table["experiment"] == "_exploding_euler"].set_index(["K", "seed"])
    assert blown.loc[(1, 0), "status"] == "ok" and np.isfinite(blown.loc[(1, 0), "euler_error"])
    for seed in (0, 1):
        assert blown.loc[(16, seed), "status"] == "diverged"
        assert blown.loc[(16, seed), "message"].startswith("DivergenceError: ")
        assert np.isnan(blown.loc[(16, seed), "euler_error"])
    network = table[table["experiment"] == "velocity_vs_n"]
    assert (network["status"] == "diverged").all() and len(network) == 2
    assert network["message"].str.startswith("FloatingPointError: ").all()
    assert network["velocity_l2"].isna().all()
    assert (table[table["experiment"] == "euler_vs_h"]["status"] == "ok").all()  # the sweep went on
    cached = [json.loads(p.read_text()) for p in (tmp_path / "out" / "cache").glob("*.json")]
    assert len(cached) == len(table) - 4 and all(r["status"] == "ok" for r in cached)
    assert json.loads((tmp_path / "out" / "run.json").read_text())["status_counts"]["diverged"] == 4


# -- reproducibility --------------------------------------------------------------------------------------------------
def test_identical_tables_serial_loky_dask_and_forced_rerun(tmp_path):
    serial = ct.sweep.run(TINY, tmp_path / "serial", jobs=1)
    loky = ct.sweep.run(TINY, tmp_path / "loky", jobs=2)
    dask = ct.sweep.run(TINY, tmp_path / "dask", jobs=2, backend="dask")
    forced = ct.sweep.run(TINY, tmp_path / "serial", jobs=1, force=True)
    assert json.loads((tmp_path / "serial" / "run.json").read_text())["units_computed"] == len(serial)
    for other in (loky, dask, forced):
        pd.testing.assert_frame_equal(ct.sweep.comparable(other), ct.sweep.comparable(serial), check_exact=True)
    files = [(tmp_path / d / "results.csv").read_text().splitlines() for d in ("serial", "loky", "dask")]
    seconds = list(files[0][0].split(",")).index("seconds")
    strip = [[",".join(c for i, c in enumerate(line.split(",")) if i != seconds) for line in f] for f in files]
    assert strip[0] == strip[1] == strip[2]


# -- safety ------------------------------------------------------------------------------------------------------------
class _Payload:
    def __reduce__(self):
        return (Path.touch, (Path(os.environ["CHARGEN_PICKLE_MARKER"]),))


def test_cache_is_read_as_json_only(tmp_path, monkeypatch):
    marker = tmp_path / "unpickled"
    monkeypatch.setenv("CHARGEN_PICKLE_MARKER", str(marker))
    first = ct.sweep.run(TINY, tmp_path / "out")
    victim = sorted((tmp_path / "out" / "cache").glob("*.json"))[0]
    victim.write_bytes(pickle.dumps(_Payload()))
    again = ct.sweep.run(TINY, tmp_path / "out")
    assert not marker.exists()
    assert json.loads(victim.read_text())["status"] == "ok"  # recomputed and rewritten as JSON
    pd.testing.assert_frame_equal(ct.sweep.comparable(first), ct.sweep.comparable(again))
    assert all(len(p.stem) == 32 and set(p.stem) <= set("0123456789abcdef")
               for p in (tmp_path / "out" / "cache").iterdir())


def test_config_strings_are_data_not_code(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    attacks = [EULER.replace('"8gaussians"', '"__import__(\'os\').system(\'touch pwned\')"'),
               EULER.replace('"8gaussians"', '{ name = "gaussian", mean = "__import__(\'os\')", cov = [[1.0]] }'),
               "[[claim]]\nid = 'x'\nquantity = 'euler_error'\nvariable = 'h'\n"
               "exponent = \"__import__('os').system('touch pwned')\"\n" + EULER]
    for text in attacks:
        with pytest.raises(ValueError):
            ct.config.loads(text)
    assert list(tmp_path.iterdir()) == []
    source = "".join((Path(ct.__file__).parent / f).read_text() for f in ("study/config.py", "study/sweep.py", "cli.py"))
    for forbidden in ("eval(", "exec(", "pickle", "yaml", "marshal"):
        assert forbidden not in source


def test_ctrl_c_leaves_a_resumable_run_and_no_traceback(tmp_path):
    out = tmp_path / "interrupted"
    proc = subprocess.Popen([sys.executable, "-m", "chargen_theory", "run", str(TINY), "--out", str(out),
                             "--no-report", "--jobs", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + 60
    while not ((out / "cache").is_dir() and _finished(out / "cache")):
        assert proc.poll() is None and time.monotonic() < deadline, "the sweep ended before it could be interrupted"
        time.sleep(0.002)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "run the same command again to resume" in err
    assert not (out / "results.csv").exists()
    resumed = ct.sweep.run(TINY, out)
    assert (resumed["status"] == "ok").all()
