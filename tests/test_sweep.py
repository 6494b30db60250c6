"""The sweep engine on toy experiment kinds: seeding, cache and resume, failures, the table and its sidecar."""
import hashlib
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

import chargen_theory as ct
from chargen_theory import experiments as ex

CALLS = []


def _toy(cell, rng):
    CALLS.append((cell["n"], cell["T"]))
    if cell["n"] == 13:
        raise FloatingPointError("overflow in step 3")
    if cell["n"] == 14:
        raise RuntimeError("solver failed\nsecond line")
    if cell["n"] == 15:
        return {"value": float("inf")}
    return {"value": float(rng.standard_normal()), "value_method": "exact"}


ex.register(ex.Kind("_toy_sweep", _toy, {"n": ex.REQUIRED, "T": 1.0}, ("value", "value_method"),
                    (ex.Fit("value", "n", ()),), level=("n",)))

CONFIG = textwrap.dedent("""
    root_seed = 11
    seeds = 2
    [[experiment]]
    kind = "_toy_sweep"
    n = [40, 10, 20]
    T = [1.0, 0.5]
""")


def run(tmp_path, text=CONFIG, **kw):
    return ct.sweep.run(ct.config.loads(text), tmp_path / "out", **kw)


def test_seed_entropy_is_a_sha256_of_canonical_json_without_level_keys():
    cell = {"n": 10, "T": 0.5, "target": "gaussian", "target_params": {"mean": [0.0], "cov": [[1.0]]}}
    entropy = ct.cells.seed_entropy("w2_floor", cell, seed=3, root_seed=42, level=("n",))
    relevant = {"experiment": "w2_floor", "T": 0.5, "target": "gaussian",
                "target_params": {"cov": [[1.0]], "mean": [0.0]}}  # n is w2_floor's level: excluded
    text = json.dumps(relevant, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(text.encode()).digest()
    words = tuple(int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4))
    assert entropy == (42, *words, 3)


def test_seed_entropy_does_not_depend_on_the_process():
    code = ("import chargen_theory as ct; print(list(ct.cells.seed_entropy('w2_floor', "
            "{'n': 10, 'T': 0.5, 'target': 'box'}, 1, 5, ('n',))))")
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": hs}).stdout for hs in ("1", "2")}
    expected = ct.cells.seed_entropy("w2_floor", {"n": 10, "T": 0.5, "target": "box"}, 1, 5, ("n",))
    assert outs == {f"{list(expected)}\n"}


def test_streams_differ_by_seed_and_cell_and_are_shared_across_levels():
    base = ct.cells.seed_entropy("_toy_sweep", {"n": 10, "T": 0.5}, 0, 1, ("n",))
    assert ct.cells.seed_entropy("_toy_sweep", {"n": 80, "T": 0.5}, 0, 1, ("n",)) == base  # common numbers over n
    assert ct.cells.seed_entropy("_toy_sweep", {"n": 10, "T": 1.0}, 0, 1, ("n",)) != base
    assert ct.cells.seed_entropy("_toy_sweep", {"n": 10, "T": 0.5}, 1, 1, ("n",)) != base
    assert ct.cells.seed_entropy("_toy_sweep", {"n": 10, "T": 0.5}, 0, 2, ("n",)) != base


def test_run_writes_sorted_table_sidecar_and_json_cache(tmp_path):
    table = run(tmp_path)
    out = tmp_path / "out"
    assert list(table.columns) == (list(ct.sweep.IDENTITY_COLUMNS) + list(ct.parameters.COLUMNS)
                                   + ["value", "value_method"])
    assert len(table) == 3 * 2 * 2 and set(table["status"]) == {"ok"}
    order = list(zip(table["T"], table["n"], table["seed"]))
    assert order == sorted(order)
    # each value is the first normal of the stream seeded from the unit's entropy (an independent re-derivation)
    for row in table.itertuples():
        entropy = ct.cells.seed_entropy("_toy_sweep", {"n": int(row.n), "T": row.T}, row.seed, 11, ("n",))
        assert row.value == np.random.default_rng(np.random.SeedSequence(list(entropy))).standard_normal()
    on_disk = pd.read_csv(out / "results.csv", keep_default_na=False, na_values=[""])
    assert on_disk["value"].tolist() == table["value"].tolist()
    assert (on_disk["cell_id"] == table["cell_id"]).all()
    sidecar = json.loads((out / "run.json").read_text())
    assert sidecar["root_seed"] == 11 and sidecar["status_counts"] == {"ok": 12, "diverged": 0, "error": 0}
    assert sidecar["config"]["experiment"][0]["n"] == [40, 10, 20]
    for key in ("package_version", "versions", "python", "platform", "machine", "cpu_count", "started", "finished",
                "wall_seconds", "command", "fits"):
        assert key in sidecar
    assert {"numpy", "scipy", "POT", "torch", "scikit-learn", "pandas"} <= set(sidecar["versions"])
    cached = sorted((out / "cache").glob("*.json"))
    assert len(cached) == 12
    record = json.loads(cached[0].read_text())
    assert record["status"] == "ok" and cached[0].stem == record["key"]


def test_cached_units_are_reused_and_force_recomputes(tmp_path):
    CALLS.clear()
    first = run(tmp_path)
    assert len(CALLS) == 12
    CALLS.clear()
    again = run(tmp_path)
    assert CALLS == []
    pd.testing.assert_frame_equal(ct.sweep.comparable(first), ct.sweep.comparable(again))
    forced = run(tmp_path, force=True)
    assert len(CALLS) == 12
    pd.testing.assert_frame_equal(ct.sweep.comparable(first), ct.sweep.comparable(forced))


def test_failing_units_are_recorded_and_not_cached(tmp_path):
    text = CONFIG.replace("n = [40, 10, 20]", "n = [12, 13, 14, 15]").replace("T = [1.0, 0.5]", "T = 1.0")
    table = run(tmp_path, text=text).set_index(["n", "seed"])
    assert table.loc[(12, 0), "status"] == "ok"
    assert table.loc[(13, 0), "status"] == "diverged"
    assert table.loc[(13, 0), "message"] == "FloatingPointError: overflow in step 3"
    assert table.loc[(14, 1), "status"] == "error"
    assert table.loc[(14, 1), "message"] == "RuntimeError: solver failed second line"
    assert table.loc[(15, 0), "status"] == "diverged"
    assert table.loc[(15, 0), "message"] == "non-finite result: value = inf"
    assert table.loc[[13, 14, 15], "value"].isna().all()
    assert len(list((tmp_path / "out" / "cache").glob("*.json"))) == 2  # only n = 12's two seeds
    CALLS.clear()
    run(tmp_path, text=text)
    assert sorted(CALLS) == sorted([(n, 1.0) for n in (13, 14, 15) for _ in range(2)])


def test_unreadable_or_foreign_cache_records_are_recomputed(tmp_path):
    first = run(tmp_path)
    files = sorted((tmp_path / "out" / "cache").glob("*.json"))
    files[0].write_text("{ truncated")
    files[1].write_text(json.dumps({"key": "someone-else", "status": "ok", "measurements": {}, "seconds": 0.0}))
    CALLS.clear()
    again = run(tmp_path)
    assert len(CALLS) == 2
    pd.testing.assert_frame_equal(ct.sweep.comparable(first), ct.sweep.comparable(again))


def test_table_does_not_depend_on_completion_order(tmp_path):
    cfg = ct.config.loads(CONFIG)
    units = ct.sweep.units(cfg)
    records = {u.key: ct.sweep.execute(u) for u in units}
    forward = ct.sweep.results_table(cfg, units, records)
    backward = ct.sweep.results_table(cfg, units[::-1], dict(reversed(records.items())))
    pd.testing.assert_frame_equal(ct.sweep.comparable(forward), ct.sweep.comparable(backward))


def test_duplicate_cells_run_once(tmp_path):
    text = CONFIG + '[[experiment]]\nkind = "_toy_sweep"\nn = 10\nT = 0.5\n'
    assert len(run(tmp_path, text=text)) == 12


@pytest.mark.parametrize("kw, field", [({"jobs": 0}, "jobs"), ({"backend": "mpi"}, "backend"),
                                       ({"scheduler": "tcp://x:1"}, "scheduler")])
def test_bad_run_arguments_write_nothing(tmp_path, kw, field):
    with pytest.raises(ValueError, match=field):
        run(tmp_path, **kw)
    assert not (tmp_path / "out").exists()


def test_output_below_a_file_is_rejected_before_writing(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="out: cannot write .* is not a folder"):
        ct.sweep.run(ct.config.loads(CONFIG), tmp_path / "file" / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]
