"""The "sklearn" velocity estimator: regressor names and params are validated against scikit-learn, a user's
instance is wrapped without being modified, fits are deterministic per rng, single-output regressors are fitted
per coordinate, and kernel ridge learns the velocity of a Gaussian."""
import numpy as np
import pytest
from sklearn.ensemble import RandomForestRegressor
from sklearn.kernel_ridge import KernelRidge
from sklearn.multioutput import MultiOutputRegressor
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import chargen_theory as ct
from chargen_theory import velocity
from chargen_theory.metrics import velocity_l2
from chargen_theory.testing import check_velocity_estimator

GAUSSIAN = ct.targets.get("gaussian", mean=[0.5, -1.0], cov=[[1.0, 0.3], [0.3, 0.5]])


def _x1(n=100, seed=0):
    return GAUSSIAN.sample(n, np.random.default_rng(seed))


# -- validation ------------------------------------------------------------------------------------------------
def test_unknown_class_name_lists_scikit_learn_regressors():
    with pytest.raises(ValueError, match=r"regressor: unknown .*'KernelRidges'; allowed: ARDRegression, .*, \.\.\."):
        velocity.get("sklearn", regressor="KernelRidges")


@pytest.mark.parametrize("regressor", ["sklearn.kernel_ridge.KernelRidge", "StandardScaler", "KMeans"])
def test_import_paths_and_non_regressors_are_not_class_names(regressor):
    with pytest.raises(ValueError, match="regressor: unknown"):
        velocity.get("sklearn", regressor=regressor)


@pytest.mark.parametrize("regressor", [KernelRidge, np.mean, 3])
def test_a_class_or_a_non_regressor_object_is_refused(regressor):
    with pytest.raises(ValueError, match="regressor: must be a scikit-learn regressor"):
        velocity.get("sklearn", regressor=regressor)


def test_unknown_param_names_the_key_and_the_allowed_arguments():
    with pytest.raises(ValueError, match="params: 'n_estimator' is not an argument of RandomForestRegressor; "
                                         "allowed: n_estimators, criterion, .*random_state"):
        velocity.get("sklearn", regressor="RandomForestRegressor", params={"n_estimator": 10})
    with pytest.raises(ValueError, match="params: 'kernal' is not an argument of KernelRidge"):
        velocity.from_sklearn(KernelRidge(), params={"kernal": "rbf"})


def test_a_missing_required_argument_and_a_non_dict_params_are_refused():
    with pytest.raises(ValueError, match="params: MultiOutputRegressor requires 'estimator'"):
        velocity.get("sklearn", regressor="MultiOutputRegressor")
    with pytest.raises(ValueError, match="params: must be a dict"):
        velocity.get("sklearn", params=[("alpha", 1.0)])


@pytest.mark.parametrize("field, value", [("pairs_per_sample", 0), ("t_max", 0.0), ("max_pairs", 0),
                                          ("scale", "yes")])
def test_bad_hyperparameters_name_the_field(field, value):
    with pytest.raises(ValueError, match=f"{field}: "):
        velocity.get("sklearn", **{field: value})


def test_bad_param_values_are_reported_by_scikit_learn_before_any_fit():
    with pytest.raises(ValueError, match="params: The 'alpha' parameter of KernelRidge"):
        velocity.get("sklearn", params={"alpha": -1.0})


# -- instances -------------------------------------------------------------------------------------------------
def test_from_sklearn_wraps_an_instance_without_modifying_it():
    user = RandomForestRegressor(n_estimators=5, min_samples_leaf=3)
    before = user.get_params()
    est = velocity.from_sklearn(user, max_pairs=None, pairs_per_sample=2)
    assert est.get_params()["regressor"] is user and est.get_params()["max_pairs"] is None
    check_velocity_estimator(est)  # rebuilds from get_params and refits: deterministic per rng
    est.fit(_x1(), "linear", rng=np.random.default_rng(0))
    forest = est.regressor_[-1]
    assert forest is not user and forest.n_estimators == 5 and forest.min_samples_leaf == 3
    assert isinstance(forest.random_state, int)  # seeded from the rng on the clone ...
    assert user.get_params() == before and not hasattr(user, "estimators_")  # ... and the user's object untouched


def test_params_override_an_instance_and_a_user_random_state_is_kept():
    est = velocity.from_sklearn(RandomForestRegressor(n_estimators=50), params={"n_estimators": 3,
                                                                                 "random_state": 7})
    est.fit(_x1(), "linear", rng=np.random.default_rng(0))
    assert est.regressor_[-1].n_estimators == 3 and est.regressor_[-1].random_state == 7
    with pytest.raises(ValueError, match="regressor: given twice"):
        velocity.from_sklearn(KernelRidge(), regressor="SVR")


# -- determinism, multi-output, pair cap -------------------------------------------------------------------------
def test_random_regressors_are_seeded_from_the_fit_rng():
    x1, x = _x1(), GAUSSIAN.sample(30, np.random.default_rng(9))
    est = velocity.get("sklearn", regressor="RandomForestRegressor", params={"n_estimators": 5}, max_pairs=None)
    same = [est.fit(x1, "linear", rng=np.random.default_rng(4)).predict(0.5, x) for _ in range(2)]
    other = est.fit(x1, "linear", rng=np.random.default_rng(5)).predict(0.5, x)
    np.testing.assert_array_equal(same[0], same[1])
    assert not np.allclose(same[0], other)


def test_a_single_output_regressor_is_fitted_per_coordinate():
    """SVR fits one output: it is wrapped in MultiOutputRegressor, and each coordinate learns its own velocity
    (on N((3, -3), 0.1 I) the linear path's velocity at t = 0.9 points towards (3, -3) from the origin)."""
    target = ct.targets.get("gaussian", mean=[3.0, -3.0], cov=0.1 * np.eye(2))
    est = velocity.get("sklearn", regressor="SVR", pairs_per_sample=2)
    est.fit(target.sample(100, np.random.default_rng(0)), "linear", rng=np.random.default_rng(1))
    assert isinstance(est.regressor_[-1], MultiOutputRegressor) and len(est.regressor_[-1].estimators_) == 2
    v = est.predict(0.9, np.zeros((1, 2)))[0]
    exact = target.velocity(np.array([0.9]), np.zeros((1, 2)), "linear")[0]
    assert v[0] > 1.0 and v[1] < -1.0 and np.allclose(v, exact, rtol=0.5), (v, exact)
    assert not isinstance(velocity.get("sklearn").fit(_x1(), "linear", rng=np.random.default_rng(0))
                          .regressor_[-1], MultiOutputRegressor)  # KernelRidge fits both outputs at once


def test_one_dimensional_targets_predict_a_column():
    x1 = np.random.default_rng(0).normal(size=(50, 1))
    est = velocity.get("sklearn", regressor="RandomForestRegressor", params={"n_estimators": 3})
    assert est.fit(x1, "linear", rng=np.random.default_rng(1)).predict(0.3, x1[:7]).shape == (7, 1)


def test_max_pairs_caps_the_regression_data_and_none_keeps_all():
    x1 = _x1(100)
    assert velocity.get("sklearn", max_pairs=300).fit(x1, "linear", rng=np.random.default_rng(0)).n_pairs_ == 300
    assert velocity.get("sklearn", max_pairs=None).fit(x1, "linear", rng=np.random.default_rng(0)).n_pairs_ == 800


def test_scale_standardises_the_covariates_and_false_fits_the_bare_regressor():
    scaled, bare = (velocity.get("sklearn", regressor="KNeighborsRegressor", scale=s).fit(
        _x1(), "linear", rng=np.random.default_rng(0)).regressor_ for s in (True, False))
    assert isinstance(scaled, Pipeline) and isinstance(scaled[0], StandardScaler)
    assert isinstance(bare, KNeighborsRegressor)


# -- accuracy ----------------------------------------------------------------------------------------------------
def test_kernel_ridge_learns_the_velocity_of_a_gaussian():
    """n = 400, linear path, T = 0.9: over 4 seed triples (data, fit, evaluation) the zero velocity's L2 error
    was 1.35 .. 1.39 and KernelRidge's (rbf, alpha = 1, 2000 pairs) 0.23 .. 0.24, ratio 0.17 .. 0.18; the
    KDE with Scott's bandwidth, exact for Gaussian data, gets ~0.1."""
    x1 = GAUSSIAN.sample(400, np.random.default_rng(0))
    est = velocity.get("sklearn", params={"kernel": "rbf"}).fit(x1, "linear", rng=np.random.default_rng(1))
    error = velocity_l2(est, GAUSSIAN, "linear", T=0.9, n_eval=4000, rng=np.random.default_rng(2))
    zero = velocity_l2(lambda t, x: np.zeros_like(x), GAUSSIAN, "linear", T=0.9, n_eval=4000,
                       rng=np.random.default_rng(2))
    assert error.value < 0.3 * zero.value, (error.value, zero.value)
