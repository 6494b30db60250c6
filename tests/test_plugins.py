"""Plugins: user modules and entry points that register estimators, generators, targets and experiment kinds, loaded
in the main process and in every worker; their source in the cache keys of exactly the cells that use them; a broken
plugin stops the run with one line and writes nothing."""
import hashlib
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

import chargen_theory as ct
from chargen_theory import cli

REPO = Path(__file__).resolve().parent.parent

KIND_PLUGIN = textwrap.dedent('''
    """A user's experiment kind with its own parameter, and a user's target."""
    import chargen_theory as ct
    from chargen_theory import experiments as ex


    def alpha_check(field, value):
        if isinstance(value, bool) or not isinstance(value, float) or not 0.0 < value < 1.0:
            raise ValueError(f"{field}: must be a float in (0, 1), got {value!r}")
        return value


    def run(cell, rng):
        x = ex.build.target(cell).sample(cell["n"], rng)
        return {"scaled_mean": cell["options"]["alpha"] * float(x.mean())}


    def unit_box(dim=2):
        return ct.targets.get("box", low=[0.0] * dim, high=[1.0] * dim)


    ct.targets.register("_plug_box", unit_box)
    ex.register(ex.Kind("_plug_kind", run, {"target": ex.REQUIRED, "n": ex.REQUIRED, "alpha": 0.5},
                        ("scaled_mean",), level=("n",), checks={"alpha": alpha_check}))
''')

KIND_CONFIG = textwrap.dedent("""
    root_seed = 3
    seeds = 2
    [[experiment]]
    kind = "_plug_kind"
    target = "_plug_box"
    n = [10, 40]
    alpha = [0.25, 0.75]
""")

ESTIMATOR_PLUGIN = textwrap.dedent('''
    import chargen_theory as ct
    from chargen_theory.velocity import VelocityEstimator


    class Halved(VelocityEstimator):
        def __init__(self, bandwidth=0.3):
            self.bandwidth = bandwidth

        def _fit(self, x1, path, rng):
            self.kde_ = ct.velocity.get("kde", bandwidth=self.bandwidth).fit(x1, path)

        def _predict(self, t, x):
            return 0.5 * self.kde_.predict(t, x)


    ct.velocity.register("_plug_halved", Halved)
''')

GAUSSIAN_1D = 'target = { name = "gaussian", mean = [0.0], cov = [[1.0]] }\n'
W2_FLOOR = '[[experiment]]\nkind = "w2_floor"\ntarget = "gaussian"\nD = 1\nn = [16, 32]\n'


@pytest.fixture
def plugin_dir(tmp_path, monkeypatch):
    """A folder on sys.path for the test's plugin modules; the registries, the loaded plugins and the imported
    modules are as before afterwards."""
    monkeypatch.syspath_prepend(str(tmp_path))
    saved, loaded, modules = ct.plugins._snapshot(), dict(ct.plugins._LOADED), set(sys.modules)
    yield tmp_path
    ct.plugins._restore(saved)
    ct.plugins._LOADED.clear()
    ct.plugins._LOADED.update(loaded)
    for name in set(sys.modules) - modules:
        if name.startswith("_plug"):
            del sys.modules[name]


def _env(*folders) -> dict:
    """The environment of a subprocess that imports this checkout of chargen_theory (and ``folders``)."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([*map(str, folders), str(REPO), os.environ.get("PYTHONPATH", "")])}


def _cli(args, cwd, env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "chargen_theory", *args], cwd=cwd, env=env, capture_output=True,
                          text=True)


# -- a user's experiment kind and target ------------------------------------------------------------------------------
def test_user_kind_and_target_give_the_same_table_serially_on_loky_and_on_dask(plugin_dir):
    (plugin_dir / "_plug_kinds.py").write_text(KIND_PLUGIN)
    (plugin_dir / "c.toml").write_text(KIND_CONFIG)
    serial = ct.sweep.run(plugin_dir / "c.toml", plugin_dir / "serial", plugins=["_plug_kinds"])
    assert len(serial) == 8 and set(serial["status"]) == {"ok"}
    alpha = serial["options"].map(lambda text: json.loads(text)["alpha"])
    assert set(alpha) == {0.25, 0.75}
    assert ((serial["scaled_mean"] > 0) & (serial["scaled_mean"] < alpha)).all()  # alpha * mean of U[0, 1]^2
    plugin, = json.loads((plugin_dir / "serial" / "run.json").read_text())["plugins"]
    assert plugin["registered"] == {"experiment": ["_plug_kind"], "target": ["_plug_box"]}
    assert plugin["version"] is None
    for kw in ({"jobs": 2}, {"jobs": 2, "backend": "dask"}):
        other = ct.sweep.run(plugin_dir / "c.toml", plugin_dir / kw.get("backend", "loky"), plugins=["_plug_kinds"],
                             **kw)
        pd.testing.assert_frame_equal(ct.sweep.comparable(serial), ct.sweep.comparable(other))


def test_a_user_kind_validates_its_own_parameter(plugin_dir):
    (plugin_dir / "_plug_kinds.py").write_text(KIND_PLUGIN)
    (plugin_dir / "c.toml").write_text(KIND_CONFIG.replace("0.75", "2.0"))
    with pytest.raises(ValueError, match=r"^experiment\[0\]\.alpha\[1\]: must be a float in \(0, 1\), got 2\.0$"):
        ct.sweep.run(plugin_dir / "c.toml", plugin_dir / "out", plugins=["_plug_kinds"])
    assert not (plugin_dir / "out").exists()


# -- cache keys ---------------------------------------------------------------------------------------------------------
def test_editing_a_plugin_recomputes_exactly_its_cells(tmp_path):
    (tmp_path / "_plug_est.py").write_text(ESTIMATOR_PLUGIN)
    (tmp_path / "c.toml").write_text('[[experiment]]\nkind = "velocity_vs_n"\n' + GAUSSIAN_1D +
                                     'estimator = ["_plug_halved", { name = "kde", bandwidth = 0.3 }]\n'
                                     'n = [20, 40]\nn_eval = 100\n' + W2_FLOOR)
    args, env = ["run", "c.toml", "--out", "out", "--jobs", "1", "--no-report", "--plugin", "_plug_est"], _env()

    def run() -> tuple[dict, pd.DataFrame, set]:
        done = _cli(args, tmp_path, env)
        assert done.returncode == 0, done.stderr
        return (json.loads((tmp_path / "out" / "run.json").read_text()), pd.read_csv(tmp_path / "out" / "results.csv"),
                {p.name for p in (tmp_path / "out" / "cache").glob("*.json")})

    first, table, keys = run()
    assert first["units_computed"] == 6 and len(keys) == 6 and set(table["status"]) == {"ok"}
    assert first["plugins"][0]["sha256"] == hashlib.sha256(b"_plug_est.py\0" + ESTIMATOR_PLUGIN.encode()).hexdigest()
    assert run()[0]["units_computed"] == 0
    (tmp_path / "_plug_est.py").write_text(ESTIMATOR_PLUGIN + "# edited\n")
    edited, table_after, keys_after = run()
    assert edited["units_computed"] == 2  # the two _plug_halved cells; kde and w2_floor cells come from the cache
    assert keys <= keys_after and len(keys_after) == 8
    pd.testing.assert_frame_equal(ct.sweep.comparable(table), ct.sweep.comparable(table_after))


GENERATOR_PLUGIN = textwrap.dedent('''
    """A user's generator: the Euler reference moved by SHIFT."""
    import chargen_theory as ct
    from chargen_theory.generators.euler import Euler

    SHIFT = 0.0


    class ShiftedEuler(Euler):
        name = "_plug_shifted"

        def _map(self, z, s, t):
            return super()._map(z, s, t) + SHIFT


    ct.generators.register("_plug_shifted", ShiftedEuler)
''')
LEDGER_1D = textwrap.dedent("""
    [[experiment]]
    kind = "chargen_vs_n"
    target = { name = "gaussian", mean = [0.0], cov = [[1.0]] }
    estimator = { name = "kde", bandwidth = 0.3 }
    generator = ["_plug_shifted", "euler"]
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
    (tmp_path / "c.toml").write_text(LEDGER_1D)
    args, env = ["run", "c.toml", "--out", "out", "--jobs", "1", "--no-report", "--plugin", "_plug_gen"], _env()

    def run() -> tuple[dict, pd.DataFrame, set]:
        done = _cli(args, tmp_path, env)
        assert done.returncode == 0, done.stderr
        table = ct.sweep.comparable(pd.read_csv(tmp_path / "out" / "results.csv")).set_index(["generator", "n"])
        return (json.loads((tmp_path / "out" / "run.json").read_text()), table,
                {p.name for p in (tmp_path / "out" / "cache").glob("*.json")})

    first, table, keys = run()
    assert first["units_computed"] == 4 and len(keys) == 4 and set(table["status"]) == {"ok"}
    assert first["plugins"][0]["registered"] == {"generator": ["_plug_shifted"]}
    assert (table.loc["_plug_shifted", "fit_error"] == 0.0).all()  # the Euler reference itself
    (tmp_path / "_plug_gen.py").write_text(GENERATOR_PLUGIN.replace("SHIFT = 0.0", "SHIFT = 0.5"))
    edited, table_after, keys_after = run()
    assert edited["units_computed"] == 2  # the two _plug_shifted cells; the euler cells come from the cache
    assert keys <= keys_after and len(keys_after) == 6
    pd.testing.assert_frame_equal(table.loc["euler"], table_after.loc["euler"])
    # every sample moved by 0.5: its coupling distance to the Euler reference is 0.5
    assert table_after.loc["_plug_shifted", "fit_error"].to_numpy() == pytest.approx([0.5, 0.5])


def test_cells_that_use_no_plugin_keep_their_keys(plugin_dir):
    tiny = ct.config.load(cli.CONFIG_DIR / "tiny.toml")
    before = [u.key for u in ct.sweep.units(tiny)]
    (plugin_dir / "_plug_kinds.py").write_text(KIND_PLUGIN)
    plugin, = [p for p in ct.plugins.load(["_plug_kinds"]) if p.name == "_plug_kinds"]
    assert [u.key for u in ct.sweep.units(tiny)] == before
    nested = {"target": "subspace", "target_params": {"base": "_plug_box", "dim": 3}}
    assert ct.plugins.used_by("euler_vs_h", nested) == {"_plug_kinds": plugin.sha256}
    assert ct.plugins.used_by("_plug_kind", {"target": "box"}) == {"_plug_kinds": plugin.sha256}
    assert ct.plugins.used_by("euler_vs_h", {"target": "box"}) == {}


# -- loading --------------------------------------------------------------------------------------------------------
def test_a_module_imported_before_loading_still_owns_its_names(plugin_dir):
    (plugin_dir / "_plug_est.py").write_text(ESTIMATOR_PLUGIN)
    __import__("_plug_est")
    plugin, = [p for p in ct.plugins.load(["_plug_est"]) if p.name == "_plug_est"]
    assert plugin.registered == (("estimator", "_plug_halved"),)


def test_an_edited_plugin_is_refused_in_the_process_that_imported_it(plugin_dir):
    (plugin_dir / "_plug_est.py").write_text(ESTIMATOR_PLUGIN)
    ct.plugins.load(["_plug_est"])
    (plugin_dir / "_plug_est.py").write_text(ESTIMATOR_PLUGIN + "# edited\n")
    with pytest.raises(ValueError, match="^plugin '_plug_est': its source changed since this process imported it"):
        ct.plugins.load(["_plug_est"])
    with pytest.raises(RuntimeError, match="^plugin '_plug_est': this process imported a different source"):
        ct.plugins.require([("_plug_est", "0" * 64, None)])


def test_a_name_registered_outside_any_plugin_is_refused_by_a_parallel_run(tmp_path, scratch_registries):
    class Local(ct.velocity.VelocityEstimator):
        def __init__(self):
            pass

    ct.velocity.register("_plug_local", Local)
    cfg = ct.config.loads('[[experiment]]\nkind = "velocity_vs_n"\ntarget = "8gaussians"\n'
                          'estimator = "_plug_local"\nn = 10\n')
    with pytest.raises(ValueError, match=r"^plugins: estimator '_plug_local' is registered by module "
                                         r"'.*test_plugins', which worker processes do not import"):
        ct.sweep.run(cfg, tmp_path / "out", jobs=2)
    assert not (tmp_path / "out").exists()


def test_entry_point_plugins_load_automatically_here_and_in_workers(tmp_path):
    site = tmp_path / "site"
    (site / "plugdist-1.2.3.dist-info").mkdir(parents=True)
    (site / "plugdist-1.2.3.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: plugdist\n"
                                                                  "Version: 1.2.3\n")
    (site / "plugdist-1.2.3.dist-info" / "entry_points.txt").write_text("[chargen_theory.plugins]\n"
                                                                          "halved = _plug_est\n")
    (site / "_plug_est.py").write_text(ESTIMATOR_PLUGIN)
    env = _env(site)
    listed = _cli(["list", "estimators"], tmp_path, env)
    assert listed.returncode == 0 and "_plug_halved" in listed.stdout.split()
    (tmp_path / "c.toml").write_text('seeds = 2\n[[experiment]]\nkind = "velocity_vs_n"\n' + GAUSSIAN_1D +
                                     'estimator = "_plug_halved"\nn = 20\nn_eval = 100\n')
    done = _cli(["run", "c.toml", "--out", "out", "--jobs", "2", "--no-report"], tmp_path, env)
    assert done.returncode == 0, done.stderr
    assert set(pd.read_csv(tmp_path / "out" / "results.csv")["status"]) == {"ok"}
    plugin, = json.loads((tmp_path / "out" / "run.json").read_text())["plugins"]
    assert (plugin["name"], plugin["version"], plugin["registered"]) == ("_plug_est", "1.2.3",
                                                                        {"estimator": ["_plug_halved"]})


# -- broken plugins ---------------------------------------------------------------------------------------------------
BROKEN = {
    "_plug_boom": ("import chargen_theory as ct\nfrom _plug_est import Halved\nct.velocity.register('_plug_first', "
                   "Halved)\nraise RuntimeError('boom')\n",
                   r"plugin '_plug_boom' failed to import: RuntimeError: boom \(_plug_boom\.py:4\)$"),
    "_plug_taken": ("import chargen_theory as ct\nfrom _plug_est import Halved\nct.velocity.register('kde', Halved)\n",
                    r"plugin '_plug_taken' failed to import: ValueError: name: 'kde' is already registered"),
    "_plug_kind_taken": ("from chargen_theory import experiments as ex\nex.register(ex.Kind('w2_floor', "
                         "lambda cell, rng: {}, {}, ()))\n",
                         r"plugin '_plug_kind_taken' failed to import: ValueError: name: 'w2_floor' is already"),
    "_plug_syntax": ("def broken(:\n", r"plugin '_plug_syntax' failed to import: SyntaxError: "),
    "_plug_nowhere": (None, r"plugin '_plug_nowhere': no module named '_plug_nowhere' in the working directory"),
    "_plug_est.py": (None, r"plugin '_plug_est.py': no module named '_plug_est.py' in the working directory .* give "
                           r"the module as you would import it, e.g. '_plug_est'$"),
    "my-plugin": (None, r"plugins\[0\]: 'my-plugin' is not a module name$"),
}


@pytest.mark.parametrize("name", BROKEN)
def test_a_broken_plugin_stops_the_run_with_one_line_and_writes_nothing(plugin_dir, capsys, name):
    source, message = BROKEN[name]
    (plugin_dir / "_plug_est.py").write_text(ESTIMATOR_PLUGIN)
    if source is not None:
        (plugin_dir / f"{name}.py").write_text(source)
    (plugin_dir / "c.toml").write_text(W2_FLOOR)
    before = (ct.velocity.names(), ct.targets.names(), ct.experiments.names())
    status = cli.main(["run", str(plugin_dir / "c.toml"), "--out", str(plugin_dir / "out"), "--plugin", name])
    err = capsys.readouterr().err
    assert status == 2 and len(err.splitlines()) == 1, err
    assert re.search(f"^chargen-theory: error: {message}", err), err
    assert not (plugin_dir / "out").exists()
    assert (ct.velocity.names(), ct.targets.names(), ct.experiments.names()) == before  # nothing half-registered
    plugin, = ct.plugins.load(["_plug_est"])  # a module the broken one imported registers again
    assert plugin.registered == (("estimator", "_plug_halved"),)


def test_plugins_are_named_by_the_caller_never_by_the_config(tmp_path):
    with pytest.raises(ValueError, match="^plugins: must be a list of module names, got 'my_estimator'$"):
        ct.sweep.run(ct.config.loads(W2_FLOOR), tmp_path / "out", plugins="my_estimator")
    with pytest.raises(ValueError, match="^config: unknown key 'plugins'"):
        ct.config.loads('plugins = ["my_estimator"]\n' + W2_FLOOR)
    assert not (tmp_path / "out").exists()
