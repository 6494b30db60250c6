"""The README's "add your own estimator" examples run as written: the one-file estimator passes the public contract
check, and the plugin example runs from the command line with the same table serially, on loky and on Dask."""
import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import chargen_theory as ct

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_estimator_example_runs(scratch_registries):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    example = next(b for b in blocks if "ct.velocity.register(" in b)
    name = re.search(r'register\("(\w+)"', example).group(1)
    exec(compile(example, "README.md", "exec"), {})  # noqa: S102 - the project's own README
    assert name in ct.velocity.names()


def _block(language: str, start: str) -> str:
    """The README's fenced ``language`` block that starts with ``start``."""
    blocks = re.findall(rf"```{language}\n(.*?)```", README.read_text(), flags=re.S)
    return next(b for b in blocks if b.startswith(start))


@pytest.mark.slow
def test_readme_plugin_example_runs_the_same_with_jobs_1_loky_and_dask(tmp_path):
    """The "Add an estimator and get its rate plot" example as a new user runs it: the README's two files in a
    folder outside the package, its contract check, its command with --jobs 1 (drawing the figure it shows), --jobs 2
    on loky and on a Dask LocalCluster, through the console script (whose sys.path does not hold the folder)."""
    (tmp_path / "my_estimator.py").write_text(_block("python", "# my_estimator.py"))
    (tmp_path / "my.toml").write_text(_block("toml", "# my.toml"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(README.parent), os.environ.get("PYTHONPATH", "")])}
    check = _block("bash", 'python -c "import my_estimator').strip()
    command = _block("bash", "chargen-theory run my.toml --plugin my_estimator").strip().split()
    assert command == ["chargen-theory", "run", "my.toml", "--plugin", "my_estimator"]
    script = str(Path(sys.executable).with_name("chargen-theory"))

    def run(*args):
        done = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True)
        assert done.returncode == 0, f"{args} exited with {done.returncode}:\n{done.stderr[-3000:]}"
        return done

    run(sys.executable, "-c", shlex.split(check)[2])
    tables = {}
    for extra in (["--jobs", "1"], ["--jobs", "2", "--no-report"], ["--jobs", "2", "--backend", "dask", "--no-report"]):
        out = tmp_path / "_".join(extra)
        run(script, *command[1:], *extra, "--out", str(out))
        tables[" ".join(extra)] = ct.sweep.comparable(pd.read_csv(out / "results.csv"))
        plugin, = json.loads((out / "run.json").read_text())["plugins"]
        assert plugin["name"] == "my_estimator" and plugin["registered"] == {"estimator": ["shrunk_kde"]}
        assert plugin["sha256"] == hashlib.sha256(b"my_estimator.py\0" + (tmp_path / "my_estimator.py").read_bytes()
                                                  ).hexdigest()
    serial = tables.pop("--jobs 1")
    assert len(serial) == 36 and set(serial["status"]) == {"ok"}
    assert set(serial["estimator"]) == {"shrunk_kde", "kde"}
    for table in tables.values():
        pd.testing.assert_frame_equal(serial, table)
    figure = re.search(r"draws\s+`results/my/(figures/[\w.-]+\.png)`", README.read_text()).group(1)
    assert (tmp_path / "--jobs_1" / figure).is_file()
    assert figure.endswith("_my.png")  # figure names end in the config's name (my.toml)
    assert (README.parent / re.search(r"\]\((results/example/rate_\w+\.png)\)", README.read_text()).group(1)).is_file()
