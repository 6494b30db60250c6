"""Reliability, third pass (issue 20, items 1, 2, 12, 15 and the claim parts of 16): every value means what it says.

Booleans and text are refused wherever a number is expected, unknown or inapplicable options are refused, sklearn
params are checked by scikit-learn's own validation before any work, a size cap that binds shows in the ``capped``
column, and claims refuse coerced values, unknown generators, duplicates and echo long ids shortened."""
import inspect
import textwrap

import numpy as np
import pandas as pd
import pytest

import chargen_theory as ct
from chargen_theory import _validate, claims, experiments, generators, targets, velocity

# Valid parameters of every registered target (defaults where the constructor has them).
TARGET_PARAMS = {
    "gaussian": {"mean": [0.0, 1.0], "cov": [[1.0, 0.2], [0.2, 0.5]]},
    "gmm": {"means": [[0.0, 0.0], [2.0, 1.0]], "covs": [np.eye(2).tolist()] * 2, "weights": [0.3, 0.7]},
    "box": {"low": [-1.0, 0.0], "high": [1.0, 2.0], "sigma": 0.1},
    "box_mixture": {"lows": [[0.0, 0.0], [2.0, 2.0]], "highs": [[1.0, 1.0], [3.0, 3.0]], "weights": [0.5, 0.5],
                    "sigma": 0.1},
    "sphere": {"intrinsic_dim": 1, "dim": 3, "radius": 1.5, "sigma": 0.1, "seed": 2},
    "spheres": {"radii": [0.5, 1.0], "intrinsic_dim": 1, "dim": 2, "weights": [0.5, 0.5], "sigma": 0.1},
    "subspace": {"base": "8gaussians", "dim": 3, "seed": 1},
    "8gaussians": {"radius": 2.0, "std": 0.2},
    "grid": {"size": 3, "spacing": 1.0, "std": 0.1},
    "checkerboard": {"size": 4, "cell": 1.0, "sigma": 0.1},
    "rings": {"radii": [0.5, 1.0], "weights": [0.5, 0.5], "sigma": 0.1},
}


def _first_leaf(value):
    """(path of indices to the first number in a nested list, that number)."""
    path = []
    while isinstance(value, list):
        path.append(0)
        value = value[0]
    return path, value


def _replace_leaf(value, path, new):
    if not path:
        return new
    out = list(value)
    out[path[0]] = _replace_leaf(value[path[0]], path[1:], new)
    return out


def _numeric_mutations(params: dict):
    """(key, mutated params): each numeric parameter (a number or a nested list of numbers) with its (first) number
    replaced by True and by its own text."""
    for key, value in params.items():
        path, leaf = _first_leaf(value)
        if isinstance(leaf, bool) or not isinstance(leaf, (int, float)):
            continue
        for bad in (True, str(leaf)):
            yield key, {**params, key: _replace_leaf(value, path, bad)}


def test_every_target_is_covered_and_builds_from_its_example():
    assert sorted(TARGET_PARAMS) == targets.names()
    for name, params in TARGET_PARAMS.items():
        targets.get(name, **params)


@pytest.mark.parametrize("name, key, params", [(name, key, params) for name in TARGET_PARAMS
                                               for key, params in _numeric_mutations(TARGET_PARAMS[name])])
def test_targets_refuse_booleans_and_numeric_text_in_every_numeric_parameter(name, key, params):
    """Item 1, as a class: sigma = true used to run with sigma = 1.0 while results.csv recorded true."""
    with pytest.raises(ValueError, match=f"^{key}: must "):
        targets.get(name, **params)


@pytest.mark.parametrize("spec, field", [
    ('{ name = "checkerboard", sigma = true }', "sigma"),
    ('{ name = "8gaussians", radius = "2.0" }', "radius"),
    ('{ name = "gaussian", mean = [true, false], cov = [[1.0, 0.0], [0.0, 1.0]] }', "mean"),
    ('{ name = "gaussian", mean = ["0", "0"], cov = [[1.0, 0.0], [0.0, 1.0]] }', "mean"),
    ('{ name = "gaussian", mean = [0.0, 0.0], cov = [[true, false], [false, true]] }', "cov"),
    ('{ name = "rings", radii = [true, 2.0] }', "radii"),
    ('{ name = "box", low = [0.0, true], high = [1.0, 2.0] }', "low"),
    ('{ name = "sphere", intrinsic_dim = 1, dim = 2, radius = true }', "radius"),
])
def test_a_config_refuses_coerced_target_values_before_any_work(spec, field):
    text = f'[[experiment]]\nkind = "velocity_vs_n"\nestimator = "kde"\nn = [100, 200]\ntarget = {spec}\n'
    pattern = rf"^experiment\[0\]\.target: \w+: {field}: must .*not (a boolean|booleans) or text"
    with pytest.raises(ValueError, match=pattern):
        ct.config.loads(text)


def _numeric_defaults(cls) -> dict:
    """The keyword arguments of ``cls`` whose defaults are numbers (not booleans, not None)."""
    return {key: p.default for key, p in inspect.signature(cls.__init__).parameters.items()
            if isinstance(p.default, (int, float)) and not isinstance(p.default, bool)}


ESTIMATOR_CASES = [(name, key, bad) for name in velocity.names() if name != "oracle"
                   for key, default in _numeric_defaults(velocity.estimator_class(name)).items()
                   for bad in (True, str(default))]
ESTIMATOR_CASES += [("kde", "bandwidth", True), ("nadaraya_watson", "bandwidth_x", True),
                    ("knn", "k", True), ("mlp", "width", "64")]
GENERATOR_CASES = [(name, key, bad) for name in generators.names()
                   for key, default in _numeric_defaults(generators.generator_class(name)).items()
                   for bad in (True, str(default))]


@pytest.mark.parametrize("name, key, bad", ESTIMATOR_CASES)
def test_estimators_refuse_booleans_and_numeric_text(name, key, bad):
    with pytest.raises(ValueError, match=f"^{key}: (must |unknown value)"):
        velocity.get(name, **{key: bad})


@pytest.mark.parametrize("name, key, bad", GENERATOR_CASES)
def test_generators_refuse_booleans_and_numeric_text(name, key, bad):
    with pytest.raises(ValueError, match=f"^{key}: must "):
        generators.get(name, **{key: bad})


def test_the_number_validator_accepts_numbers_of_every_numeric_type_and_nothing_else():
    for good in (2, 2.5, np.int32(2), np.float32(2.5), np.array(2.5)):
        assert _validate.number("x", good) == float(good)
    for bad in (True, np.bool_(False), "2", b"2", None, [2.0], 1 + 2j, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="^x: must be a finite number"):
            _validate.number("x", bad)
    np.testing.assert_array_equal(_validate.number_array("a", [[1, 2.5]], ndim=2), [[1.0, 2.5]])
    for bad in ([1.0, True], [[1.0], ["2"]], np.array([True]), np.array(["1"]), [None]):
        with pytest.raises(ValueError, match="^a: must hold numbers"):
            _validate.number_array("a", bad)


# -- item 2: no option dropped silently ----------------------------------------------------------------------------
CHARGEN = textwrap.dedent('''
    [[experiment]]
    kind = "chargen_vs_n"
    target = "8gaussians"
    estimator = "kde"
    n = [100, 200]
    ''')


@pytest.mark.parametrize("line, match", [
    ("generator = { endpoint_only = 1 }", r"generator\.endpoint_only: must be true or false, got 1"),
    ('generator = { endpoint_only = "yes" }', r"generator\.endpoint_only: must be true or false"),
    ('generator = { name = "characteristic", endpoint_only = true }',
     r"generator\.endpoint_only: not a hyperparameter of generator 'characteristic'; allowed: width, depth"),
    ('generator = { name = "endpoint", semigroup_weight = 0.0 }',
     r"generator\.semigroup_weight: the endpoint generator has no semigroup penalty"),
    ("generator = { endpoint_only = true, semigroup_weight = 2.0 }", r"generator\.semigroup_weight: the endpoint"),
    ('generator = { name = "euler", lr = 0.1 }', r"generator\.lr: not a hyperparameter of generator 'euler'; "
                                                 r"allowed: dtype"),
])
def test_unknown_or_inapplicable_generator_options_are_refused(line, match):
    with pytest.raises(ValueError, match=match):
        ct.config.loads(CHARGEN + line + "\n")


def test_the_older_generator_table_still_selects_by_a_boolean():
    (cell, *_) = ct.config.loads(CHARGEN + "generator = { endpoint_only = true, width = 32 }\n").experiments[0].cells
    assert cell["generator"] == "endpoint" and cell["generator_params"] == {"width": 32}


def test_the_oracle_refuses_a_target_option_instead_of_ignoring_it():
    text = CHARGEN.replace('estimator = "kde"', 'estimator = { name = "oracle", target = "gaussian" }')
    with pytest.raises(ValueError, match=r"experiment\[0\]\.estimator: oracle: target: not an option of the oracle"):
        ct.config.loads(text)


@pytest.mark.parametrize("spec, grid, match", [
    ('{ name = "sphere", intrinsic_dim = 2, dim = 4 }', "d_star = 1", "intrinsic_dim: the target table gives 2 but "
                                                                      "the grid sets d_star = 1"),
    ('{ name = "subspace", base = "8gaussians", dim = 3 }', "D = 4", "dim: the target table gives 3 but the grid "
                                                                    "sets D = 4"),
])
def test_a_grid_dimension_never_silently_replaces_the_target_tables(spec, grid, match):
    text = (f'[[experiment]]\nkind = "intrinsic_dim"\nestimator = "kde"\nn = [100, 200]\ntarget = {spec}\n'
            f'{grid}\n')
    with pytest.raises(ValueError, match=match):
        ct.config.loads(text)


@pytest.mark.parametrize("name, params, match", [
    ("kde", {"bandwidth": 0.3, "dim": 2}, "dim: used by the bandwidth rules only; with bandwidth = 0.3 leave it out"),
    ("kde", {"bandwidth": "scott", "t_max": 0.5}, "t_max: used by bandwidth 'cv_velocity' only"),
    ("knn", {"k": 5, "dim": "estimated"}, "dim: used by the rule for k only; with k = 5 leave it out"),
    ("nadaraya_watson", {"bandwidth_x": 0.3, "bandwidth_t": 0.1, "dim": 2}, "dim: used by the bandwidth rules only"),
])
def test_options_an_estimator_would_ignore_are_refused(name, params, match):
    with pytest.raises(ValueError, match=f"^{match}"):
        velocity.get(name, **params)


def test_the_same_options_are_accepted_where_they_are_used():
    velocity.get("kde", bandwidth="cv_velocity", t_max=0.5, dim=2)
    velocity.get("knn", k="rule", dim="estimated")
    velocity.get("nadaraya_watson", bandwidth_x=0.3, bandwidth_t="rule", dim=2)


def test_a_config_refuses_an_ignored_estimator_option():
    text = CHARGEN.replace('estimator = "kde"', 'estimator = { name = "kde", bandwidth = 0.3, dim = "intrinsic" }')
    with pytest.raises(ValueError, match=r"^experiment\[0\]\.estimator: kde: dim: used by the bandwidth rules only"):
        ct.config.loads(text)


@pytest.mark.parametrize("name", [n for n in velocity.names()])
def test_every_estimator_names_an_unknown_key_and_the_allowed_ones(name):
    with pytest.raises(ValueError, match=f"^bogus: not a hyperparameter of velocity estimator '{name}'; allowed: "):
        velocity.get(name, bogus=1)


# -- item 12: sklearn params validated by scikit-learn before any work ----------------------------------------------
@pytest.mark.parametrize("regressor, params, match", [
    ("RandomForestRegressor", {"n_estimators": "many"}, "params: The 'n_estimators' parameter of "
                                                        "RandomForestRegressor must be an int"),
    ("RandomForestRegressor", {"n_estimators": True}, "params.n_estimators: .* takes no boolean, got True"),
    ("RandomForestRegressor", {"n_estimators": 1e9}, "'n_estimators' parameter .* must be an int"),
    ("RandomForestRegressor", {"max_depth": -1}, "'max_depth' parameter of RandomForestRegressor must be an int"),
    ("KernelRidge", {"kernel": "bogus"}, "'kernel' parameter of KernelRidge must be a str among"),
    ("KernelRidge", {"alpha": -1}, "'alpha' parameter of KernelRidge must be a float in the range"),
    ("KernelRidge", {"kernel": "precomputed"}, "params.kernel: 'precomputed' needs a matrix"),
    ("KNeighborsRegressor", {"metric": "bogus"}, "'metric' parameter of KNeighborsRegressor"),
    ("KNeighborsRegressor", {"n_neighbors": True}, "params.n_neighbors: .* takes no boolean"),
    ("SVR", {"kernel": "bogus"}, "'kernel' parameter of SVR"),
    ("GaussianProcessRegressor", {"kernel": "RBF"}, "'kernel' parameter of GaussianProcessRegressor"),
    ("AdaBoostRegressor", {"estimator": "LogisticRegression"}, "'estimator' parameter of AdaBoostRegressor"),
    ("IsotonicRegression", {}, "regressor: IsotonicRegression takes one covariate"),
    ("PoissonRegressor", {}, "regressor: PoissonRegressor fits positive responses only"),
    ("GammaRegressor", {}, "regressor: GammaRegressor fits positive responses only"),
    ("RandomForestRegressor", {"n_jobs": 1000}, r"params.n_jobs: must be None, -1 \(all cores\) or an integer in"),
    ("RandomForestRegressor", {"n_jobs": 0}, "params.n_jobs: must be None"),
    ("RandomForestRegressor", {"n_estimators": {"schedule": "n"}}, "params.n_estimators: a schedule cannot be "
                                                                   "inside params"),
])
def test_bad_sklearn_params_are_refused_when_the_estimator_is_built(regressor, params, match):
    with pytest.raises(ValueError, match=match):
        velocity.get("sklearn", regressor=regressor, params=params)


def test_instances_and_the_estimators_they_hold_are_validated_too():
    from sklearn.ensemble import BaggingRegressor
    from sklearn.kernel_ridge import KernelRidge
    from sklearn.linear_model import LogisticRegression

    with pytest.raises(ValueError, match=r"params: BaggingRegressor holds a classifier \(LogisticRegression\)"):
        velocity.from_sklearn(BaggingRegressor(estimator=LogisticRegression()))
    with pytest.raises(ValueError, match="'kernel' parameter of KernelRidge"):
        velocity.from_sklearn(BaggingRegressor(estimator=KernelRidge(kernel="bogus")))
    with pytest.raises(ValueError, match="'alpha' parameter of KernelRidge"):
        velocity.from_sklearn(KernelRidge(), params={"alpha": -1.0})


def test_valid_sklearn_params_are_accepted():
    for regressor, params in [("RandomForestRegressor", {"bootstrap": False, "n_jobs": 1, "verbose": False}),
                              ("RandomForestRegressor", {"n_jobs": -1, "max_depth": None}),
                              ("KernelRidge", {"kernel": "rbf", "alpha": 0.5}), ("SGDRegressor", {"average": True})]:
        velocity.get("sklearn", regressor=regressor, params=params)


def test_a_multi_task_regressor_on_a_one_dimensional_target_fails_before_the_pairs_are_drawn():
    est = velocity.get("sklearn", regressor="MultiTaskLasso")
    with pytest.raises(ValueError, match="regressor: MultiTaskLasso fits several outputs only"):
        est.fit(np.zeros((10, 1)), "linear", rng=np.random.default_rng(0))


def test_a_config_with_bad_sklearn_params_is_refused_before_any_work():
    text = CHARGEN.replace('estimator = "kde"', 'estimator = { name = "sklearn", regressor = "KNeighborsRegressor", '
                                                'params = { metric = "bogus" } }')
    with pytest.raises(ValueError, match=r"^experiment\[0\]\.estimator: sklearn: params: The 'metric' parameter"):
        ct.config.loads(text)


# -- item 15: a cap that binds shows in the table -------------------------------------------------------------------
GAUSS = ct.targets.get("gaussian", mean=[0.0, 0.0], cov=np.eye(2).tolist())


@pytest.mark.parametrize("n, max_pairs, capped", [
    (300, 2000, "max_pairs 2000 < pairs_per_sample 8 x n 300 = 2400 pairs"),
    (250, 2000, ""),  # 8 x 250 = 2000 pairs: the cap is reached, not binding
    (300, None, ""),
])
def test_sklearn_capped_names_the_cap_exactly_when_it_binds(n, max_pairs, capped):
    est = velocity.get("sklearn", regressor="KNeighborsRegressor", max_pairs=max_pairs)
    est.fit(GAUSS.sample(n, np.random.default_rng(0)), "linear", rng=np.random.default_rng(1))
    assert est.capped_ == capped
    assert est.n_pairs_ == min(8 * n, max_pairs or 8 * n)
    assert experiments.capped(est) == capped


def test_knn_capped_when_k_exceeds_the_pairs():
    x1 = GAUSS.sample(10, np.random.default_rng(0))
    est = velocity.get("knn", k=100, pairs_per_sample=2).fit(x1, "linear", rng=np.random.default_rng(1))
    assert est.k_ == 20 and est.capped_ == "k 100 > pairs_per_sample 2 x n 10 = 20 pairs"
    assert velocity.get("knn", k=5).fit(x1, "linear", rng=np.random.default_rng(1)).capped_ == ""
    assert experiments.capped(velocity.get("kde").fit(x1, "linear")) == ""  # no cap at all


def test_every_kind_that_fits_an_estimator_declares_the_capped_text_column():
    fitting = [kind for kind in experiments.names() if "estimator" in experiments.get(kind).parameters]
    assert sorted(fitting) == ["chargen_vs_n", "generator_budget", "intrinsic_dim", "velocity_vs_n"]
    for kind in fitting:
        assert "capped" in experiments.get(kind).measurements
    assert experiments.is_text("capped") and experiments.is_text("total_w2_method")
    assert not experiments.is_text("velocity_l2")


def test_chargen_vs_n_records_the_estimators_cap():
    from chargen_theory.study.experiments import chargen_vs_n

    cell = {"target": "gaussian", "target_params": {"mean": [0.0, 0.0], "cov": np.eye(2).tolist()},
            "estimator": "sklearn", "estimator_params": {"regressor": "KNeighborsRegressor", "max_pairs": 100},
            "generator": "euler", "generator_params": {}, "path": "linear", "n": 50, "m": 20, "K": 2, "h": 0.5,
            "T": 1.0, "options": {"n_test": 20, "w2_n": 20, "n_eval": 20, "n_bracket": 20, "n_lower": 20}}
    row = chargen_vs_n.run(cell, np.random.default_rng(0))
    assert row["capped"] == "max_pairs 100 < pairs_per_sample 8 x n 50 = 400 pairs"


def test_a_sweep_writes_capped_per_level_and_the_report_reads_it(tmp_path):
    text = textwrap.dedent('''
        root_seed = 1
        [[experiment]]
        kind = "velocity_vs_n"
        target = "8gaussians"
        estimator = [{ name = "sklearn", regressor = "KNeighborsRegressor", max_pairs = 1000 }, "kde"]
        T = 0.9
        n = [100, 200]
        n_eval = 40
        ''')
    ct.sweep.run(ct.config.loads(text), tmp_path)
    table, _ = ct.run_folder.read_run(tmp_path)
    assert (table["status"] == "ok").all()
    capped = {(row.estimator, row.n): row.capped for row in table.itertuples()}
    assert capped[("sklearn", 200)] == "max_pairs 1000 < pairs_per_sample 8 x n 200 = 1600 pairs"
    assert all(pd.isna(capped[key]) or capped[key] == "" for key in [("sklearn", 100), ("kde", 100), ("kde", 200)])


# -- item 16: claims --------------------------------------------------------------------------------------------------
BASE_CLAIM = {"id": "x", "quantity": "velocity_l2", "variable": "n", "exponent": -1}


@pytest.mark.parametrize("extra, match", [
    ({"log_power": True}, "claim x: log_power: must be a finite number .*got True"),
    ({"log_power": "2"}, "claim x: log_power: must be a finite number .*got '2'"),
    ({"loglog_power": False}, "claim x: loglog_power: must be a finite number"),
    ({"slope_tolerance": True}, "claim x: slope_tolerance: must be a finite number"),
    ({"slope_tolerance": "0.1"}, "claim x: slope_tolerance: must be a finite number"),
    ({"dims": [True, 3]}, r"claim x: dims must be \[low, high\], two numbers"),
    ({"dims": ["2", 3]}, r"claim x: dims must be \[low, high\], two numbers"),
    ({"dims": [2, "3"]}, r"claim x: dims must be \[low, high\], two numbers"),
    ({"generators": ["chargen"]}, "claim x: generators: unknown value 'chargen'; allowed: any, characteristic, "
                                  "consistency, endpoint, euler, flow_map"),
    ({"generators": "flowmap"}, "claim x: generators: unknown value 'flowmap'"),
    ({"id": True}, "claim id: must be text .*got True"),
    ({"id": 3}, "claim id: must be text"),
])
def test_claims_refuse_coerced_values_and_unknown_generators(extra, match):
    with pytest.raises(ValueError, match=match):
        claims.from_dict({**BASE_CLAIM, **extra})


def test_claims_keep_valid_numbers_and_generator_names():
    c = claims.from_dict({**BASE_CLAIM, "log_power": 1, "slope_tolerance": 0.05, "dims": [2, float("inf")],
                          "generators": ["characteristic", "any"]})
    assert (c.log_power, c.slope_tolerance, c.dims, c.generators) == (1.0, 0.05, (2.0, float("inf")),
                                                                      ("characteristic", "any"))


def test_a_long_claim_id_is_refused_and_shown_shortened():
    with pytest.raises(ValueError) as err:
        claims.from_dict({**BASE_CLAIM, "id": "a" * 100_000})
    message = str(err.value)
    assert "'" + "a" * 40 + "'... (100000 characters)" in message and len(message) < 200
    claims.from_dict({**BASE_CLAIM, "id": "a" * claims.MAX_ID_LENGTH})  # the longest allowed id


def test_a_config_refuses_a_duplicate_claim_and_shortens_an_unknown_one():
    text = CHARGEN.replace('kind = "chargen_vs_n"', 'kind = "velocity_vs_n"')
    with pytest.raises(ValueError, match=r"experiment\[0\]\.claims\[1\]: 'chargen_velocity_rate' is listed twice "
                                         r"\(also claims\[0\]\)"):
        ct.config.loads(text + 'claims = ["chargen_velocity_rate", "chargen_velocity_rate"]\n')
    with pytest.raises(ValueError, match=r"claims\[0\]: unknown value 'b{40}'\.\.\. \(100000 characters\); allowed"):
        ct.config.loads(text + f'claims = ["{"b" * 100_000}"]\n')
    with pytest.raises(ValueError, match=r"^claim\[0\]\.id: must be a string of letters"):
        ct.config.loads(text + '[[claim]]\nid = true\nquantity = "velocity_l2"\nvariable = "n"\nexponent = -1\n')
