"""The velocity-estimator contract: every registered estimator passes check_velocity_estimator, a user's estimator
can be registered and passes, broken estimators fail it, and the registry reports user mistakes."""
import numpy as np
import pytest
import torch

import chargen_theory as ct
from chargen_theory import velocity
from chargen_theory.testing import check_velocity_estimator
from chargen_theory.velocity import NotFittedError, VelocityEstimator

GAUSSIAN = ct.targets.get("gaussian", mean=[0.5, -1.0], cov=[[1.0, 0.3], [0.3, 0.5]])
# Small hyperparameters keep the contract check fast; the defaults of the others are already cheap at n = 64.
SMALL = {"oracle": {"target": GAUSSIAN}, "mlp": {"width": 16, "depth": 2, "epochs": 3, "batch_size": 32}}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("path", ["linear", "follmer", "trig"])
@pytest.mark.parametrize("name", velocity.names())
def test_every_registered_estimator_passes_the_contract(name, path):
    check_velocity_estimator(name, SMALL.get(name, {}), path=path)


@pytest.mark.parametrize("name, params", [("kde", {"bandwidth": "cv"}),
                                          ("nadaraya_watson", {"bandwidth_x": "cv", "bandwidth_t": "cv"}),
                                          ("nadaraya_watson", {"bandwidth_x": 0.3, "bandwidth_t": "cv"}),
                                          ("knn", {"k": 5, "pairs_per_sample": 2}),
                                          ("sklearn", {"regressor": "KernelRidge", "params": {"kernel": "rbf"}}),
                                          ("sklearn", {"regressor": "RandomForestRegressor",
                                                       "params": {"n_estimators": 10}, "max_pairs": None}),
                                          ("sklearn", {"regressor": "GaussianProcessRegressor",
                                                       "params": {"alpha": 1.0, "optimizer": None}})])
def test_non_default_hyperparameters_pass_the_contract(name, params):
    check_velocity_estimator(name, params)


def test_oracle_passes_with_samples_of_its_own_target():
    check_velocity_estimator("oracle", {"target": GAUSSIAN},
                             x1=GAUSSIAN.sample(50, np.random.default_rng(3)), T=0.9)


# -- a user's estimator -------------------------------------------------------------------------------------------
class ShrinkToMean(VelocityEstimator):
    """v_hat(t, x) = scale * (mean - x): a toy user estimator."""

    def __init__(self, scale=1.0):
        self.scale = scale

    def _fit(self, x1, path, rng):
        self.mean_ = x1.mean(axis=0)

    def _predict(self, t, x):
        return self.scale * (self.mean_ - x) * (1.0 + t[:, None])


def test_user_registered_estimator_is_listed_built_and_passes(monkeypatch):
    monkeypatch.setitem(velocity._USER, "shrink", ShrinkToMean)
    assert "shrink" in velocity.names()
    est = velocity.get("shrink", scale=2.0)
    assert isinstance(est, ShrinkToMean) and est.get_params() == {"scale": 2.0}
    check_velocity_estimator("shrink", {"scale": 2.0})


def test_register_adds_a_name_and_refuses_duplicates_and_non_estimators(monkeypatch):
    monkeypatch.setattr(velocity, "_USER", {})
    velocity.register("shrink", ShrinkToMean)
    assert velocity.estimator_class("shrink") is ShrinkToMean
    with pytest.raises(ValueError, match="already registered"):
        velocity.register("shrink", ShrinkToMean)
    with pytest.raises(ValueError, match="already registered"):
        velocity.register("kde", ShrinkToMean)
    with pytest.raises(ValueError, match="subclass"):
        velocity.register("other", object)


# -- broken estimators fail the check -----------------------------------------------------------------------------
class WorksInInit(ShrinkToMean):
    def __init__(self, scale=1.0):
        self.scale = scale
        self.mean_ = np.zeros(2)


class ChangesParamsInFit(ShrinkToMean):
    def _fit(self, x1, path, rng):
        super()._fit(x1, path, rng)
        self.scale = 3.0


class FitReturnsNone(ShrinkToMean):
    def fit(self, x1, path, rng=None):
        super().fit(x1, path, rng)


class Float32Output(ShrinkToMean):
    def predict(self, t, x):
        return super().predict(t, x).astype(np.float32)


class Nondeterministic(ShrinkToMean):
    def _fit(self, x1, path, rng):
        self.mean_ = x1.mean(axis=0) + np.random.default_rng().normal(size=x1.shape[1])


class BlowsUpAtOne(ShrinkToMean):
    def _predict(self, t, x):
        with np.errstate(divide="ignore"):
            return (self.mean_ - x) / (1.0 - t[:, None])


class ScalarTimeDiffers(ShrinkToMean):
    def predict(self, t, x):
        return super().predict(t, x) + (0.1 if np.ndim(t) == 0 else 0.0)


class PredictsBeforeFit(VelocityEstimator):
    def __init__(self):
        pass

    def _fit(self, x1, path, rng):
        self.dim_seen_ = x1.shape[1]

    def predict(self, t, x):
        return np.zeros_like(np.asarray(x, dtype=np.float64))


class AcceptsNaN(ShrinkToMean):
    def fit(self, x1, path, rng=None):
        self.mean_, self.dim_ = np.nanmean(np.atleast_2d(x1), axis=0), np.shape(x1)[-1]
        self.path_ = ct.paths.get(path)
        return self


@pytest.mark.parametrize("cls, message", [
    (WorksInInit, "__init__ must not set fitted attributes"),
    (ChangesParamsInFit, "fit must not change the hyperparameters"),
    (FitReturnsNone, "fit must return self"),
    (Float32Output, "float64 array"),
    (Nondeterministic, "equal rng seeds"),
    (BlowsUpAtOne, "finite"),
    (ScalarTimeDiffers, "broadcast"),
    (PredictsBeforeFit, "predict before fit"),
    (AcceptsNaN, "fit must raise ValueError"),
])
def test_broken_estimators_fail_the_check(cls, message):
    with pytest.raises(AssertionError, match=message):
        check_velocity_estimator(cls())


def test_check_rejects_non_estimators():
    with pytest.raises(AssertionError, match="VelocityEstimator"):
        check_velocity_estimator(object())


# -- registry and hyperparameter errors ----------------------------------------------------------------------------
def test_unknown_name_lists_the_registered_names():
    with pytest.raises(ValueError, match="empirical.*kde.*knn.*mlp.*nadaraya_watson.*oracle"):
        velocity.get("gp")


@pytest.mark.parametrize("name, params, field", [
    ("kde", {"bw": 1.0}, "bw: not a hyperparameter"),
    ("oracle", {}, "target: required"),
    ("oracle", {"target": "gmm"}, "target: must be a chargen_theory Target"),
    ("kde", {"bandwidth": -1.0}, "bandwidth: .*> 0.*cv, scott"),
    ("kde", {"bandwidth": "silverman"}, "bandwidth: unknown value 'silverman'; allowed: cv, scott"),
    ("nadaraya_watson", {"bandwidth_t": 0.0}, "bandwidth_t"),
    ("nadaraya_watson", {"t_max": 1.5}, "t_max"),
    ("knn", {"k": 0}, "k: must be an integer >= 1"),
    ("mlp", {"validation_fraction": 0.9}, "validation_fraction"),
    ("mlp", {"epochs": 2.5}, "epochs"),
    ("mlp", {"threads": 0}, "threads"),
])
def test_bad_hyperparameters_raise_value_errors_naming_the_field(name, params, field):
    with pytest.raises(ValueError, match=field):
        velocity.get(name, **params)


def test_predict_before_fit_raises_not_fitted_error():
    with pytest.raises(NotFittedError, match="call fit first"):
        velocity.get("kde").predict(0.5, np.zeros((3, 2)))


@pytest.mark.parametrize("name", ["nadaraya_watson", "knn", "mlp", "sklearn"])
def test_random_estimators_require_an_rng(name):
    with pytest.raises(ValueError, match="rng: .* draws random numbers"):
        velocity.get(name).fit(np.zeros((10, 2)), "linear")


def test_fit_rejects_a_bad_path_and_a_bad_rng():
    with pytest.raises(ValueError, match="path: unknown value"):
        velocity.get("kde").fit(np.ones((10, 2)) * np.arange(10)[:, None], "cosine")
    with pytest.raises(ValueError, match="rng"):
        velocity.get("kde").fit(np.ones((10, 2)) * np.arange(10)[:, None], "linear", rng=0)


def test_mlp_divergence_raises_floating_point_error():
    with pytest.raises(FloatingPointError, match="diverged"):
        velocity.get("mlp", width=16, depth=2, epochs=2, lr=1e12).fit(
            np.random.default_rng(0).normal(size=(200, 2)), "linear", rng=np.random.default_rng(1))


def test_mlp_restores_torch_settings_and_records_training_figures():
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    est = velocity.get("mlp", width=16, depth=2, epochs=4, patience=10, threads=1).fit(
        np.random.default_rng(0).normal(size=(100, 2)), "follmer", rng=np.random.default_rng(1))
    assert (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()) == (threads, deterministic)
    assert est.epochs_ == 4 and 1 <= est.best_epoch_ <= 4 and est.width_ == 16
    assert est.train_seconds_ > 0 and est.samples_per_second_ == pytest.approx(4 * 90 / est.train_seconds_)


def test_mlp_leaves_the_global_torch_rng_alone():
    state = torch.random.get_rng_state()
    velocity.get("mlp", width=16, depth=2, epochs=2).fit(np.random.default_rng(0).normal(size=(50, 2)), "linear",
                                                          rng=np.random.default_rng(1))
    assert torch.equal(state, torch.random.get_rng_state())


def test_a_fitted_estimator_is_a_velocity_for_the_euler_solver():
    """Solvers call velocity(t_float, x): the oracle estimator gives the same Euler path as the target itself."""
    z = np.random.default_rng(0).standard_normal((50, 2))
    est = velocity.get("oracle", target=GAUSSIAN).fit(GAUSSIAN.sample(5, np.random.default_rng(1)), "trig")
    np.testing.assert_array_equal(ct.solvers.euler(est, z, K=8, T=0.9),
                                  ct.solvers.euler(lambda t, x: GAUSSIAN.velocity(t, x, "trig"), z, K=8, T=0.9))
    kde = velocity.get("kde").fit(GAUSSIAN.sample(200, np.random.default_rng(2)), "trig")
    assert np.all(np.isfinite(ct.solvers.euler(kde, z, K=8)))
