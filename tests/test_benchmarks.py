"""The benchmark runner: discovery of bench_*.py modules, SKIPPED only for a missing peer, our failures propagate."""
import importlib
import sys
import textwrap
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture
def runner(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    return importlib.import_module("_runner")


def settings(runner):
    return runner.Settings(quick=True, repeats=1, threads=1)


def write(folder: Path, name: str, body: str) -> None:
    (folder / f"{name}.py").write_text(textwrap.dedent(body))


def test_discovers_every_comparison_in_order(runner):
    modules = runner.discover(BENCH)
    assert [m.NAME for m in modules] == ["mlp_train", "euler_sample", "kernel_velocity", "w2_exact", "sliced",
                                         "gmm_velocity", "generator_fit", "one_step", "sweep_jobs", "cost_growth", "calibration"]


def test_missing_peer_gives_a_skipped_row_with_the_pip_hint(runner, monkeypatch):
    monkeypatch.setitem(sys.modules, "torchcfm", None)  # import torchcfm now fails as if it were not installed
    (module,) = [m for m in runner.discover(BENCH) if m.NAME == "mlp_train"]
    (row,) = runner.run([module], settings(runner), log=lambda line: None)
    assert row.bench == "mlp_train"
    assert row.ours.startswith("SKIPPED: torchcfm not installed") and "pip install" in row.ours


@pytest.mark.parametrize("body", [
    "from chargen_theory import no_such_module",  # an ImportError inside our package
    "from chargen_theory.metrics import w2; w2(None, None)",  # an exception raised by our code
])
def test_a_failure_of_our_package_propagates(runner, tmp_path, body):
    write(tmp_path, "bench_ok", """
        from _runner import need_peer
        NAME, ORDER = "ok", 1
        def rows(settings):
            need_peer("no_such_peer_xyz", "no-such-peer")
        """)
    write(tmp_path, "bench_ours", f"""
        NAME, ORDER = "ours", 2
        def rows(settings):
            {body}
        """)
    modules = runner.discover(tmp_path)
    (row,) = runner.run(modules[:1], settings(runner), log=lambda line: None)
    assert row.ours.startswith("SKIPPED: no-such-peer not installed")
    with pytest.raises(Exception) as info:
        runner.run(modules, settings(runner), log=lambda line: None)
    assert not isinstance(info.value, runner.Skipped)


def test_a_module_without_its_declarations_is_refused(runner, tmp_path):
    write(tmp_path, "bench_bad", "NAME = 'bad'\n")
    with pytest.raises(TypeError, match="bench_bad.py: a bench module needs NAME"):
        runner.discover(tmp_path)
