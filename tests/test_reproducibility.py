"""Reproducibility of the network rows and independence of the bundled studies.

- A trained network (the mlp velocity, the characteristic generator) is the same, to ``training.REPRODUCIBLE_RTOL``,
  under different CPU kernels (ATen's AVX2 / AVX-512 / scalar code paths, MKL's instruction set) and thread counts:
  each fit runs in a fresh interpreter, since ATen and MKL read their settings once, at load.
- quick and paper are independent evidence: no unit of one has the random stream of a unit of the other.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from chargen_theory import cli, config, sweep, training

ROOT = Path(__file__).resolve().parents[1]

FIT = """
import json, sys
import numpy as np
import chargen_theory as ct
from chargen_theory import training

threads = int(sys.argv[1])
target = ct.targets.get("8gaussians")
rng = np.random.default_rng(0)
x1 = target.sample(300, rng)
est = ct.velocity.get("mlp", width=32, depth=2, epochs=40, threads=threads).fit(x1, "linear", rng=rng)
gen = ct.CharacteristicGenerator(width=16, depth=2, epochs=20, n_threads=threads).fit(
    est, K=4, T=0.9, m=100, rng=np.random.default_rng(1), dim=2)
probe = np.random.default_rng(2)
t, x = probe.uniform(0.0, 0.9, 200), probe.standard_normal((200, 2))
print(json.dumps({"velocity": est.predict(t, x).tolist(), "map": gen.map(x).tolist(),
                  "dtype": training.DTYPE}))
"""

SETTINGS = {
    "1 thread, native kernels": ("1", {}),
    "2 threads, scalar ATen kernels": ("2", {"ATEN_CPU_CAPABILITY": "default"}),
    "1 thread, AVX2 ATen and MKL kernels": ("1", {"ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"}),
}


def _fit_in_subprocess(threads: str, env: dict) -> dict:
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("ATEN_CPU_CAPABILITY", "MKL_ENABLE_INSTRUCTIONS", "MKL_CBWR")}
    environment["PYTHONPATH"] = os.pathsep.join([str(ROOT), environment.get("PYTHONPATH", "")])
    done = subprocess.run([sys.executable, "-c", FIT, threads], env={**environment, **env}, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _relative_difference(a, b) -> float:
    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def test_networks_are_reproducible_across_cpu_kernels_and_threads():
    runs = {name: _fit_in_subprocess(*setting) for name, setting in SETTINGS.items()}
    reference = runs["1 thread, native kernels"]
    assert reference["dtype"] == "float64"
    for name, run in runs.items():
        for output in ("velocity", "map"):
            difference = _relative_difference(run[output], reference[output])
            assert difference <= training.REPRODUCIBLE_RTOL, (name, output, difference)


def test_the_networks_train_in_the_stated_dtype():
    import torch

    net = training.mlp(3, 2, 8, 2, "relu", training.torch_generator(np.random.default_rng(0)))
    assert all(p.dtype == getattr(torch, training.DTYPE) for p in net.parameters())
    assert training.as_tensor(np.zeros(3, dtype=np.float32)).dtype == getattr(torch, training.DTYPE)


def _streams(name: str) -> dict:
    """{random-stream entropy: (kind, cell id, seed)} over every unit of a bundled config."""
    cfg = config.load(cli.resolve_config(name))
    return {unit.entropy: (unit.experiment, unit.cell_id, unit.seed) for unit in sweep.units(cfg)}


def test_quick_and_paper_share_no_random_stream():
    """A (cell, seed) of quick never repeats one of paper: quick's root seed gives it its own streams, so the two
    studies' verdicts are two observations."""
    quick, paper = _streams("quick"), _streams("paper")
    shared = set(quick) & set(paper)
    assert not shared, [quick[key] for key in sorted(shared)[:5]]
    assert config.load(cli.resolve_config("quick")).root_seed != config.load(cli.resolve_config("paper")).root_seed
