"""A regular (non-editable) install works: the wheel carries the bundled configs and ``chargen-theory run tiny`` runs
from a folder outside the repository."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parent.parent


def _run(command, **kwargs):
    done = subprocess.run(command, capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, f"{command} exited with {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


def _dependency_folders() -> list[str]:
    """The folders on this interpreter's sys.path (where it finds numpy, pandas, tqdm, ...), but the repository."""
    folders = [Path(entry).resolve() for entry in sys.path if entry and Path(entry).is_dir()]
    return list(dict.fromkeys(str(folder) for folder in folders if folder != REPO))


def test_wheel_install_runs_a_bundled_config(tmp_path):
    source = tmp_path / "source"  # build from a copy: nothing (build/, *.egg-info) is written into the repository
    shutil.copytree(REPO / "chargen_theory", source / "chargen_theory",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
          "-w", str(tmp_path / "wheels"), str(source)])
    wheel, = (tmp_path / "wheels").glob("chargen_theory-*.whl")

    # The venv sees the dependencies installed where this interpreter imports them from (a venv, conda or a system
    # install alike: a .pth file lists those folders, after the venv's own site-packages), so its own copy of the
    # package comes first on sys.path, ahead of any editable install of the outer environment (whose .pth hooks in
    # the listed folders are not run; PYTHONPATH is dropped for the same reason).
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python, script = venv / "bin" / "python", venv / "bin" / "chargen-theory"
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    purelib = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], env=env)
    Path(purelib.stdout.strip(), "_outer_environment.pth").write_text("\n".join(_dependency_folders()) + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--force-reinstall",
          "--no-index", "-q", str(wheel)], env=env)

    work = tmp_path / "work"
    work.mkdir()
    where = _run([str(python), "-c", "import chargen_theory; print(chargen_theory.__file__)"], cwd=work, env=env)
    assert Path(where.stdout.strip()).is_relative_to(venv)
    _run([str(script), "run", "tiny", "--out", str(tmp_path / "out"), "--jobs", "1"], cwd=work, env=env)
    table = pd.read_csv(tmp_path / "out" / "results.csv")
    assert len(table) == 24 and set(table["status"]) == {"ok"}
