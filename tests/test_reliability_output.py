"""Reliability, second pass (issue 15): the output folder (links, atomic writes, the results/run.json pair, cached
values, the lock, file modes), sizes and late errors refused before any work, extreme numerics, hangs."""
import errno
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import chargen_theory as ct
from chargen_theory import cli, outputs

TINY = cli.resolve_config("tiny")
REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(REPO)}


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished tiny run with its report, to copy: (folder, its results table)."""
    out = tmp_path_factory.mktemp("finished") / "run"
    table = ct.sweep.run(TINY, out)
    ct.report.write_report(out)
    return out, table


@pytest.fixture
def run_dir(finished, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(finished[0], out, symlinks=True)
    return out


def _one_line_exit_2(argv, capsys) -> str:
    status = cli.main(argv)
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and err.startswith("chargen-theory: error: "), err
    return err


# -- 1. links never lead writes or deletions out of the output folder ---------------------------------------------
def test_report_replaces_links_to_outside_files_instead_of_writing_through_them(run_dir, tmp_path):
    victims = {name: tmp_path / f"users_{name}" for name in ("report.md", "rates.csv", "figure")}
    for victim in victims.values():
        victim.write_text("the user's own file\n")
    figure = sorted((run_dir / "figures").glob("rate_*.png"))[0]
    for link, victim in ((run_dir / "report.md", victims["report.md"]), (run_dir / "rates.csv", victims["rates.csv"]),
                         (figure, victims["figure"])):
        link.unlink()
        link.symlink_to(victim)
    ct.report.write_report(run_dir)
    assert all(v.read_text() == "the user's own file\n" for v in victims.values())
    for path in (run_dir / "report.md", run_dir / "rates.csv", figure):
        assert not path.is_symlink() and path.stat().st_size > 0


@pytest.mark.parametrize("name", ["cache", "figures"])
def test_a_subfolder_linked_outside_the_output_folder_is_refused(run_dir, tmp_path, name):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    shutil.rmtree(run_dir / name)
    (run_dir / name).symlink_to(outside)
    with pytest.raises(ValueError, match=f"{name}' is a link to .*outside the output folder"):
        ct.sweep.run(TINY, run_dir, force=True) if name == "cache" else ct.report.write_report(run_dir)
    assert list(outside.iterdir()) == []


def test_a_subfolder_linked_inside_the_output_folder_is_used(run_dir):
    (run_dir / "cache").rename(run_dir / "cache_store")
    (run_dir / "cache").symlink_to("cache_store")
    ct.sweep.run(TINY, run_dir)
    assert json.loads((run_dir / "run.json").read_text())["units_computed"] == 0


def test_startup_cleanup_deletes_only_the_suites_own_temporary_files(run_dir, tmp_path):
    outside = tmp_path / "notes.txt"
    outside.write_text("keep")
    user_files = [run_dir / ".tmp-user-notes", run_dir / "cache" / ".tmp-draft.json"]
    for path in user_files:
        path.write_text("keep")
    (run_dir / ".tmp-chargen-link").symlink_to(outside)
    leftover = run_dir / "cache" / ".tmp-chargen-killed.json"
    leftover.write_text("{")
    ct.sweep.run(TINY, run_dir)
    assert all(p.read_text() == "keep" for p in user_files) and outside.read_text() == "keep"
    assert (run_dir / ".tmp-chargen-link").is_symlink() and not leftover.exists()


# -- 2. outputs are replaced atomically, in UTF-8 ------------------------------------------------------------------
def test_a_failing_write_leaves_the_old_file_and_no_temporary_file(tmp_path):
    path = tmp_path / "report.md"
    path.write_text("old report\n")

    def fill_the_disk(handle):
        handle.write("half a rep")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(ValueError, match="cannot write .*report.md.*No space left on device"):
        outputs.write_atomic(path, fill_the_disk)
    assert path.read_text() == "old report\n" and sorted(p.name for p in tmp_path.iterdir()) == ["report.md"]
    outputs.write_text(path, "Wasserstein-2, \u03b1(t), \u221a\n")
    assert path.read_bytes() == "Wasserstein-2, \u03b1(t), \u221a\n".encode("utf-8")


def test_a_report_that_fails_half_way_keeps_the_previous_report_and_figures(run_dir, monkeypatch):
    before = {p.name: p.read_bytes() for p in [run_dir / "report.md", run_dir / "rates.csv",
                                               *(run_dir / "figures").iterdir()]}
    real_replace = os.replace

    def disk_full_at_the_report(src, dst):
        if str(dst).endswith("report.md"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(outputs.os, "replace", disk_full_at_the_report)
    with pytest.raises(ValueError, match="No space left on device"):
        ct.report.write_report(run_dir)
    assert (run_dir / "report.md").read_bytes() == before["report.md"]
    assert all((run_dir / "figures" / name).stat().st_size > 0 for name in before if name.endswith(".png"))
    assert not [p for p in run_dir.rglob(outputs.TEMP_PREFIX + "*")]


# -- 3. results.csv and run.json must belong together --------------------------------------------------------------
def test_a_table_from_another_run_is_refused_by_the_report(run_dir, tmp_path, capsys):
    other = ct.config.loads(TINY.read_text().replace("root_seed = 1234", "root_seed = 99"))
    ct.sweep.run(other, tmp_path / "other")
    shutil.copy(tmp_path / "other" / "results.csv", run_dir / "results.csv")  # as a kill between the two writes
    err = _one_line_exit_2(["report", str(run_dir)], capsys)
    assert "results.csv: does not match run.json" in err and "results_sha256" in err
    sidecar = json.loads((run_dir / "run.json").read_text())
    assert len(sidecar["results_sha256"]) == 64


# -- 4. cached records are checked like fresh ones; versions are in the key ----------------------------------------
@pytest.mark.parametrize("bad", ["NaN", "Infinity", "-0.5", '"abc"', "[1.0, 2.0]", "true", "1e999", "null"])
def test_an_invalid_cached_value_is_recomputed(run_dir, finished, bad):
    victim = next(p for p in sorted((run_dir / "cache").glob("*.json"))
                  if "euler_error" in json.loads(p.read_text())["measurements"])
    record = json.loads(victim.read_text())
    text = json.dumps(record).replace(json.dumps(record["measurements"]["euler_error"]), bad, 1)
    victim.write_text(text)
    table = ct.sweep.run(TINY, run_dir)
    assert json.loads((run_dir / "run.json").read_text())["units_computed"] == 1
    assert json.loads(victim.read_text()) == {**record, "seconds": json.loads(victim.read_text())["seconds"]}
    pd.testing.assert_frame_equal(ct.sweep.comparable(table), ct.sweep.comparable(finished[1]))


def test_a_fresh_negative_error_is_an_error_row(tmp_path):
    def negative(cell, rng):
        return {"w2": -1.0, "w2_method": "emd"}

    ct.experiments.register(ct.experiments.Kind("_negative", negative, {"n": 10}, ("w2", "w2_method"),
                                                nonnegative=True))
    table = ct.sweep.run(ct.config.loads("[[experiment]]\nkind = '_negative'\n"), tmp_path / "out")
    assert list(table["status"]) == ["error"] and "negative" in table["message"][0]


def test_cache_keys_change_with_the_numerical_dependencies(monkeypatch):
    cfg = ct.config.load(TINY)
    keys = {u.key for u in ct.sweep.units(cfg)}
    versions = ct.sweep.numerical_versions()
    assert set(versions) == {"numpy", "scipy", "POT", "torch", "scikit-learn"}
    for name in versions:
        monkeypatch.setattr(ct.sweep, "numerical_versions", lambda name=name: {**versions, name: "0.0.1"})
        assert not keys & {u.key for u in ct.sweep.units(cfg)}, name


# -- 5. one run at a time per folder -------------------------------------------------------------------------------
def test_a_second_run_into_a_locked_folder_gets_one_error_naming_the_holder(run_dir, capsys, monkeypatch):
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from chargen_theory import outputs\n"
                               "with outputs.locked(sys.argv[1]):\n print('held', flush=True); time.sleep(60)",
                               str(run_dir)], stdout=subprocess.PIPE, text=True, env=ENV)
    try:
        assert holder.stdout.readline() == "held\n"
        before = sorted(p.name for p in run_dir.rglob("*"))
        monkeypatch.chdir(run_dir.parent)
        for argv in (["run", str(TINY), "--out", str(run_dir), "--jobs", "1"], ["report", str(run_dir)]):
            err = _one_line_exit_2(argv, capsys)
            assert "is in use by another run" in err and f"pid {holder.pid}" in err
        assert sorted(p.name for p in run_dir.rglob("*")) == before
    finally:
        holder.kill()
        holder.wait()
    ct.sweep.run(TINY, run_dir)  # a killed holder's lock is gone with it


# -- 6. extreme but finite inputs ----------------------------------------------------------------------------------
_RNG = np.random.default_rng(3)
_X, _Y = _RNG.standard_normal((40, 2)), _RNG.standard_normal((30, 2)) + 0.3
W2_FUNCTIONS = {
    "w2": lambda s: ct.metrics.w2(s * _X, s * _Y),
    "w2_1d": lambda s: ct.metrics.w2_1d(s * _X[:, 0], s * _Y[:, 0]),
    "w2_1d_equal_sizes": lambda s: ct.metrics.w2_1d(s * _X[:30, 0], s * _Y[:, 0]),
    "coupling_error": lambda s: ct.metrics.coupling_error(s * _X[:30], s * _Y),
    "sliced_w2": lambda s: ct.metrics.sliced_w2(s * _X, s * _Y, rng=np.random.default_rng(0)),
    "w2_gaussian": lambda s: ct.metrics.w2_gaussian(s * _X[0], s * s * np.cov(_X.T), s * _Y[0], s * s * np.cov(_Y.T)),
    "w2_gaussian_means": lambda s: ct.metrics.w2_gaussian(s * _X[0], np.eye(2), s * _Y[0], np.eye(2)),
}


@pytest.mark.parametrize("name", W2_FUNCTIONS)
@pytest.mark.parametrize("scale", [1e-300, 1e-200, 1e-160, 1e160, 1e200, 1e300])
def test_w2_functions_are_exact_at_extreme_scales(name, scale):
    if name == "w2_gaussian" and not 1e-300 < scale * scale < 1e300:
        pytest.skip("the covariance scale^2 C of such data is outside float64 itself")
    unit = W2_FUNCTIONS[name](1.0)
    if name == "w2_gaussian_means":  # the means move, the covariances stay: W2 = |m1 - m2| for every scale
        expected = scale * np.linalg.norm(_X[0] - _Y[0])
    else:
        expected = scale * unit
    value = W2_FUNCTIONS[name](scale)
    assert np.isfinite(value) and value > 0
    np.testing.assert_allclose(value, expected, rtol=1e-9)


def test_a_w2_beyond_float64_raises_value_error():
    big = np.full((3, 2), 1.7e308)
    for call in (lambda: ct.metrics.w2(big, -big), lambda: ct.metrics.coupling_error(big, -big),
                 lambda: ct.metrics.w2_1d(big[:, 0], -big[:, 0])):
        with pytest.raises(ValueError, match="exceeds the float64 range"):
            call()


@pytest.mark.parametrize("name, key", [("kde", "bandwidth"), ("nadaraya_watson", "bandwidth_x"),
                                       ("nadaraya_watson", "bandwidth_t")])
@pytest.mark.parametrize("value", [1e-300, 1e-101, 1e101, 1e300])
def test_bandwidths_outside_the_float64_safe_range_are_refused(name, key, value):
    with pytest.raises(ValueError, match=f"{key}: must be a number in \\[1e-100, 1e\\+100\\]"):
        ct.velocity.get(name, **{key: value})


def test_kernel_velocities_at_the_extreme_bandwidths_are_their_limits():
    rng = np.random.default_rng(0)
    y = ct.targets.get("8gaussians").sample(50, rng)
    t, x = np.full(20, 0.6), rng.standard_normal((20, 2))
    tiny = ct.velocity.get("kde", bandwidth=1e-100).fit(y, "linear")
    empirical = ct.velocity.get("empirical").fit(y, "linear")
    np.testing.assert_allclose(tiny(t, x), empirical(t, x), rtol=1e-9)
    huge = ct.velocity.get("kde", bandwidth=1e100).fit(y, "linear")  # KDE ~ N(mean, bw^2 I): v -> x / t
    np.testing.assert_allclose(huge(t, x), x / 0.6, rtol=1e-9)
    nw = ct.velocity.get("nadaraya_watson", bandwidth_x=1e100, bandwidth_t=1e100).fit(y, "linear", rng)
    np.testing.assert_allclose(nw(t, x), np.broadcast_to(nw.responses_.mean(axis=0), x.shape), rtol=1e-9)
    for est in (tiny, huge, nw):
        assert np.all(np.isfinite(est(t, x)))


# -- 7. sizes are refused before any work, with the estimate and the limit -----------------------------------------
SIZES = [
    ("kind = 'w2_floor'\ntarget = '8gaussians'\nn = 100\nseeds = 1000000000",
     ["experiment[0]", "1000000000 units", "limit of 1000000"]),
    ("kind = 'euler_vs_h'\ntarget = '8gaussians'\nK = {K}\nm = {M}\nT = {T}",
     ["experiment[0]", "100000000 cells", "limit of 1000000"]),
    ("kind = 'w2_floor'\ntarget = 'gaussian'\nD = 100000\nn = 10", ["experiment[0].D", "596 GiB", "limit of 8 GiB"]),
    ("kind = 'euler_vs_h'\ntarget = '8gaussians'\nK = 1000000000\nm = 10",
     ["experiment[0].K", "14.9 GiB", "time grid", "limit of 8 GiB"]),
    ("kind = 'w2_floor'\ntarget = '8gaussians'\nn = 1000000", ["experiment[0].n", "cost matrix", "limit of 8 GiB"]),
    ("kind = 'chargen_vs_n'\ntarget = '8gaussians'\nestimator = 'kde'\nn = 100\ngenerator = { batch_size = 10000000000 }",
     ["experiment[0].generator.batch_size", "training batch", "limit of 8 GiB"]),
]


@pytest.mark.parametrize("body, fragments", SIZES)
def test_sizes_beyond_the_machine_are_refused_quickly(monkeypatch, body, fragments):
    monkeypatch.setattr(ct.sizes, "machine_memory", lambda: 16 * 2**30)
    grid = {"{K}": list(range(1, 101)), "{M}": list(range(1, 1001)), "{T}": [i / 1000 for i in range(1, 1001)]}
    for key, values in grid.items():
        body = body.replace(key, str(values))
    start = time.perf_counter()
    with pytest.raises(ValueError) as err:
        ct.config.loads("[[experiment]]\n" + body)
    assert time.perf_counter() - start < 5
    for fragment in fragments:
        assert fragment in str(err.value), (fragment, str(err.value))


# -- 8. a server that is not a Dask scheduler ----------------------------------------------------------------------
@pytest.mark.parametrize("reply", [b"", b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * 4096])
def test_an_address_that_is_not_a_dask_scheduler_fails_within_the_timeout(tmp_path, monkeypatch, reply):
    server = socket.create_server(("127.0.0.1", 0))
    held = []

    def accept():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            held.append(conn)
            if reply:
                conn.sendall(reply)

    threading.Thread(target=accept, daemon=True).start()
    monkeypatch.setattr(ct.sweep, "CONNECT_TIMEOUT_S", 2)
    start = time.perf_counter()
    try:
        with pytest.raises(ValueError, match="scheduler: cannot reach Dask scheduler"):
            ct.sweep.run(TINY, tmp_path / "out", backend="dask", scheduler=f"tcp://127.0.0.1:{server.getsockname()[1]}")
    finally:
        server.close()
    assert time.perf_counter() - start < 8
    assert not (tmp_path / "out").exists()


# -- 9. a non-finite velocity in the reference solve ---------------------------------------------------------------
@pytest.mark.parametrize("value", ["np.nan", "np.inf"])
def test_reference_solve_of_a_non_finite_velocity_raises(value):
    code = (f"import numpy as np, chargen_theory as ct\ntry:\n ct.solvers.reference(lambda t, x: np.where(t > 0.3, "
            f"{value}, x), np.ones((4, 2)))\nexcept ct.solvers.DivergenceError as e:\n print(e)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=ENV)
    assert "reference: the velocity is not finite" in done.stdout, done.stderr


# -- 10. loky workers die with their parent ------------------------------------------------------------------------
SLOW = textwrap.dedent("""
    [[experiment]]
    kind = "chargen_vs_n"
    target = { name = "gaussian", mean = [0.0, 0.0], cov = [[1.0, 0.0], [0.0, 1.0]] }
    estimator = "oracle"
    n = [100, 200]
    m = 3000
    generator = { epochs = 100000, patience = 100000 }
""")


def test_killing_a_parallel_sweep_stops_its_workers(tmp_path):
    import psutil

    (tmp_path / "slow.toml").write_text(SLOW)
    proc = subprocess.Popen([sys.executable, "-m", "chargen_theory", "run", "slow.toml", "--jobs", "2",
                             "--no-report"], cwd=tmp_path, env=ENV, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:  # wait for both workers to be busy
            workers = [c for c in psutil.Process(proc.pid).children(recursive=True)
                       if c.cpu_times().user > 2.0]
            if len(workers) >= 2:
                break
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.5)
        proc.send_signal(signal.SIGKILL)
        gone, alive = psutil.wait_procs(workers, timeout=10)
        assert not alive, [p.pid for p in alive]
    finally:
        proc.kill()
        for child in psutil.process_iter():
            if child.pid in {w.pid for w in locals().get("workers", [])}:
                child.kill()


# -- 11. values that only failed at run time are refused by validation ---------------------------------------------
_GAUSS = "target = { name = 'gaussian', mean = [0.0, 0.0], cov = [[1.0, 0.0], [0.0, 1.0]] }\n"
_CHARGEN = "kind = 'chargen_vs_n'\n" + _GAUSS + "estimator = 'oracle'\nn = 100\n"
LATE = [
    (_CHARGEN + "generator = { epochs = 0 }", ["experiment[0].generator.epochs", "integer >= 1"]),
    (_CHARGEN + "generator = { lr = -1 }", ["experiment[0].generator.lr", "> 0"]),
    (_CHARGEN + "generator = { width = 'big' }", ["experiment[0].generator.width", "'big'"]),
    (_CHARGEN + "generator = { activation = 'tanh' }", ["experiment[0].generator.activation", "relu", "silu"]),
    (_CHARGEN + "generator = { colour = 1 }", ["experiment[0].generator.colour", "not a hyperparameter", "epochs"]),
    (_CHARGEN + "m = 1", ["experiment[0].m", ">= 2"]),
    ("kind = 'euler_vs_h'\ntarget = '8gaussians'\npath = 'follmer'\nT = 1.0\nK = 4",
     ["experiment[0].T", "< 1", "follmer"]),
    (_CHARGEN.replace(_GAUSS, "target = 'rings'\n").replace("'oracle'", "'kde'") + "path = 'follmer'\nT = 1.0",
     ["experiment[0].T", "follmer"]),
    ("kind = 'velocity_vs_n'\ntarget = '8gaussians'\nestimator = 'kde'\nn = 100\nn_eval = 1",
     ["experiment[0].n_eval", ">= 20"]),
    ("kind = 'euler_vs_h'\ntarget = '8gaussians'\nK = 100000000000000000000", ["experiment[0].K", "2**63 - 1"]),
    ("kind = 'euler_vs_h'\ntarget = '8gaussians'\nh = 1e-300", ["experiment[0].h", "2**63 - 1"]),
    ("kind = 'euler_vs_h'\ntarget = '8gaussians'\nh = 5e-324", ["experiment[0].h", "2**63 - 1"]),
    ("kind = 'w2_floor'\ntarget = '8gaussians'\nn = [10, 20]\nzip = 5", ["experiment[0].zip", "list of parameter"]),
    ("kind = 'w2_floor'\ntarget = 'gaussian'\nn = [10, 20]\nD = [1, 2]\nzip = 'nD'",
     ["experiment[0].zip", "list of parameter"]),
]


@pytest.mark.parametrize("body, fragments", LATE)
def test_late_failures_are_config_errors(body, fragments):
    with pytest.raises(ValueError) as err:
        ct.config.loads("[[experiment]]\n" + body)
    for fragment in fragments:
        assert fragment in str(err.value), (fragment, str(err.value))


def test_follmer_to_t_1_stays_allowed_where_the_flow_has_a_closed_form():
    ct.config.loads("[[experiment]]\nkind = 'euler_vs_h'\n" + _GAUSS + "path = 'follmer'\nT = 1.0\nK = 4")


# -- 12. malformed inputs give one clear error ---------------------------------------------------------------------
MALFORMED = [
    ("results.csv", b"", "results.csv: not a results table"),
    ("results.csv", b"\xff\xfe\x00garbage", "results.csv: not a results table"),
    ("results.csv", b"a,b\n1,2\n", "results.csv: missing column(s) experiment, seed, status"),
    ("results.csv", b"experiment,seed,status,w2\nw2_floor,0,ok,big\n", "results.csv: column 'w2' must hold numbers"),
    ("results.csv", b"experiment,seed,status\nw2_floor,0.5,ok\n", "results.csv: column 'seed' must hold integers"),
    ("run.json", b"{not json", "run.json: not a JSON record of a run"),
    ("run.json", b"[1, 2]", "run.json: must be a JSON object"),
    ("run.json", b"[" * 100000 + b"]" * 100000, "run.json: not a JSON record of a run"),
    ("run.json", b'{"fits": [{"experiment": 3}]}', "run.json: fits[0].experiment: must be a string"),
    ("run.json", b'{"root_seed": "abc"}', "run.json: root_seed: must be an integer >= 0"),
    ("run.json", b'{"config": {"claim": [{"id": 1}]}}', "run.json: config.claim[0]"),
]


@pytest.mark.parametrize("name, content, fragment", MALFORMED)
def test_a_malformed_report_folder_gives_one_line(run_dir, capsys, name, content, fragment):
    if name == "results.csv":
        sidecar = json.loads((run_dir / "run.json").read_text())
        del sidecar["results_sha256"]  # a hand-made table: no hash to compare
        (run_dir / "run.json").write_text(json.dumps(sidecar))
    (run_dir / name).write_bytes(content)
    err = _one_line_exit_2(["report", str(run_dir)], capsys)
    assert fragment in err, err


def test_odd_cache_entries_never_hang_or_crash(run_dir, finished):
    entries = sorted((run_dir / "cache").glob("*.json"))
    entries[0].unlink()
    os.mkfifo(entries[0])
    entries[1].write_text("[" * 100000 + "]" * 100000)
    entries[2].unlink()
    entries[2].symlink_to("/dev/zero")
    table = ct.sweep.run(TINY, run_dir)
    assert json.loads((run_dir / "run.json").read_text())["units_computed"] == 3
    assert all(stat.S_ISREG(os.lstat(p).st_mode) and json.loads(p.read_text())["status"] == "ok" for p in entries[:3])
    pd.testing.assert_frame_equal(ct.sweep.comparable(table), ct.sweep.comparable(finished[1]))


def test_a_cache_entry_that_is_a_folder_is_refused_before_any_work(run_dir):
    entry = sorted((run_dir / "cache").glob("*.json"))[0]
    entry.unlink()
    entry.mkdir()
    before = (run_dir / "results.csv").read_bytes()
    with pytest.raises(ValueError, match="is a folder, not a record; remove it"):
        ct.sweep.run(TINY, run_dir, force=True)
    assert (run_dir / "results.csv").read_bytes() == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
@pytest.mark.parametrize("name", ["cache", "figures"])
def test_a_read_only_subfolder_gives_one_error(run_dir, name):
    (run_dir / name).chmod(0o500)
    try:
        with pytest.raises(ValueError, match="not writable"):
            ct.sweep.run(TINY, run_dir) if name == "cache" else ct.report.write_report(run_dir)
    finally:
        (run_dir / name).chmod(0o700)


def test_a_full_disk_while_writing_the_table_gives_one_line_and_resumes(run_dir, finished, capsys, monkeypatch):
    real_replace = os.replace

    def disk_full(src, dst):
        if str(dst).endswith("results.csv"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(outputs.os, "replace", disk_full)
    assert cli.main(["run", str(TINY), "--out", str(run_dir), "--jobs", "1", "--no-report"]) == 2
    err = capsys.readouterr().err  # the progress bar, then one error line
    assert "Traceback" not in err and err.endswith("\n") and err.count("chargen-theory: error:") == 1
    last = err.rstrip("\n").rsplit("\n", 1)[-1].rsplit("\r", 1)[-1]
    assert last.startswith("chargen-theory: error: out: cannot write") and "results.csv" in last
    assert "No space left on device" in last
    monkeypatch.setattr(outputs.os, "replace", real_replace)
    table = ct.sweep.run(TINY, run_dir)
    pd.testing.assert_frame_equal(ct.sweep.comparable(table), ct.sweep.comparable(finished[1]))


# -- 13. API errors are ValueErrors that name their field ----------------------------------------------------------
def test_api_mistakes_are_value_errors_naming_the_field():
    rng = np.random.default_rng(0)
    target = ct.targets.get("8gaussians")
    start = time.perf_counter()
    with pytest.raises(ValueError, match="generator_options.colour: not a hyperparameter"):
        ct.ledger(target, "linear", "kde", 20000, 10, 2, rng=rng, generator_options={"colour": 1})
    with pytest.raises(ValueError, match="generator_options.epochs: must be an integer >= 1"):
        ct.ledger(target, "linear", "kde", 20000, 10, 2, rng=rng, generator_options={"epochs": 0})
    with pytest.raises(ValueError, match="generator_options: must be a dict"):
        ct.ledger(target, "linear", "kde", 20000, 10, 2, rng=rng, generator_options=[1])
    assert time.perf_counter() - start < 2  # before fitting anything
    x = rng.standard_normal((5, 2))
    with pytest.raises(ValueError, match=r"num_itermax: must be an integer in \[1, 2\*\*63 - 1\]"):
        ct.metrics.w2(x, x + 1, num_itermax=2**64)
    with pytest.raises(ValueError, match="root_seed: must be an integer"):
        ct.cells.seed_entropy("w2_floor", {"n": 10}, 0, "abc", ("n",))
    with pytest.raises(ValueError, match=r"entropy\[0\]: must be an integer"):
        ct.cells.random_stream(["abc"])
    with pytest.raises(ValueError, match="n: must be an integer"):
        target.sample(2**70, rng)


# -- 14. one file mode throughout the folder -----------------------------------------------------------------------
@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600)])
def test_every_file_of_a_run_honours_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        out = tmp_path / "run"
        ct.sweep.run(TINY, out)
        ct.report.write_report(out)
    finally:
        os.umask(old)
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) > 25
    assert {str(p.relative_to(out)): stat.S_IMODE(p.stat().st_mode) for p in files} == \
        {str(p.relative_to(out)): mode for p in files}
