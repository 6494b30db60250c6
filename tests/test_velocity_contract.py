"""The velocity-estimator contract: every registered estimator follows every rule of VELOCITY_RULES, a user's
estimator can be registered and passes, each rule is failed by a deliberately broken estimator, and the registry
reports user mistakes."""
import numpy as np
import pytest
import torch

import chargen_theory as ct
from chargen_theory import velocity
from chargen_theory.testing import (TARGET_RULES, VELOCITY_RULES, check_velocity_estimator, parametrize_with_checks,
                                    velocity_estimator_checks)
from chargen_theory.velocity import NotFittedError, VelocityEstimator

GAUSSIAN = ct.targets.get("gaussian", mean=[0.5, -1.0], cov=[[1.0, 0.3], [0.3, 0.5]])
# Small hyperparameters keep the contract check fast; the defaults of the others are already cheap at n = 64.
SMALL = {"oracle": {"target": GAUSSIAN}, "mlp": {"width": 16, "depth": 2, "epochs": 3, "batch_size": 32}}
PATHS = ["linear", "follmer", "trig"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@parametrize_with_checks({f"{name}-{path}": velocity_estimator_checks(name, SMALL.get(name, {}), path=path)
                          for name in velocity.names() for path in PATHS})
def test_every_registered_estimator_follows_the_rule(check):
    check()


@pytest.mark.parametrize("name, params", [("kde", {"bandwidth": "cv"}),
                                          ("kde", {"bandwidth": "cv_velocity", "dim": 1}),
                                          ("knn", {"dim": "estimated"}),
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


def test_rules_are_documented_and_yielded_in_order_with_unique_ids():
    for rules in (VELOCITY_RULES, TARGET_RULES):
        assert all(rule.__doc__ for rule in rules) and len({rule.__name__ for rule in rules}) == len(rules)
    assert [rule_id for rule_id, _ in velocity_estimator_checks("kde")] == [r.__name__ for r in VELOCITY_RULES]


@pytest.mark.parametrize("options, field", [({"estimator_or_name": "gp"}, "velocity estimator"),
                                            ({"path": "cosine"}, "path"), ({"T": 1.5}, "T"),
                                            ({"x1": np.zeros(5)}, "x1"), ({"n_queries": 0}, "n_queries")])
def test_bad_check_options_raise_value_errors_naming_the_field(options, field):
    with pytest.raises(ValueError, match=f"^{field}: "):
        velocity_estimator_checks(**{"estimator_or_name": "kde", **options})


# -- a user's estimator -------------------------------------------------------------------------------------------
class ShrinkToMean(VelocityEstimator):
    """v_hat(t, x) = scale * (mean - x): a toy user estimator."""

    def __init__(self, scale=1.0):
        self.scale = scale

    def _fit(self, x1, path, rng):
        self.mean_ = x1.mean(axis=0)

    def _predict(self, t, x):
        return self.scale * (self.mean_ - x) * (1.0 + t[:, None])


def test_user_registered_estimator_is_listed_built_and_passes(scratch_registries):
    velocity.register("shrink", ShrinkToMean)
    assert "shrink" in velocity.names()
    est = velocity.get("shrink", scale=2.0)
    assert isinstance(est, ShrinkToMean) and est.get_params() == {"scale": 2.0}
    check_velocity_estimator("shrink", {"scale": 2.0})
    check_velocity_estimator(est)
    assert not hasattr(est, "mean_")  # the checks fit clones, never the instance given


def test_register_adds_a_name_and_refuses_duplicates_and_non_estimators(scratch_registries):
    velocity.register("shrink", ShrinkToMean)
    assert velocity.estimator_class("shrink") is ShrinkToMean
    with pytest.raises(ValueError, match="already registered"):
        velocity.register("shrink", ShrinkToMean)
    with pytest.raises(ValueError, match="already registered"):
        velocity.register("kde", ShrinkToMean)
    with pytest.raises(ValueError, match="subclass"):
        velocity.register("other", object)


# -- broken estimators fail the rule they break ---------------------------------------------------------------------
class DuckTyped:
    """Has the methods, but is no VelocityEstimator."""

    def get_params(self):
        return {}

    def fit(self, x1, path, rng=None):
        return self

    def predict(self, t, x):
        return np.zeros_like(x)


class ParamsAsList(ShrinkToMean):
    def get_params(self):
        return [self.scale]


class WorksInInit(ShrinkToMean):
    def __init__(self, scale=1.0):
        self.scale = scale
        self.mean_ = np.zeros(2)


class DoublesScaleInInit(ShrinkToMean):
    def __init__(self, scale=1.0):
        self.scale = 2.0 * scale


class PredictsBeforeFit(ShrinkToMean):
    def predict(self, t, x):
        return np.zeros_like(np.asarray(x, dtype=np.float64))


class FitReturnsNone(ShrinkToMean):
    def fit(self, x1, path, rng=None):
        super().fit(x1, path, rng)


class CentersX1InPlace(ShrinkToMean):
    def fit(self, x1, path, rng=None):
        x1 -= x1.mean(axis=0)
        return super().fit(x1, path, rng)


class ChangesParamsInFit(ShrinkToMean):
    def _fit(self, x1, path, rng):
        super()._fit(x1, path, rng)
        self.scale = 3.0


class NoFittedAttributes(ShrinkToMean):
    def fit(self, x1, path, rng=None):
        self._mean = np.mean(x1, axis=0)
        return self


class Float32Output(ShrinkToMean):
    def predict(self, t, x):
        return super().predict(t, x).astype(np.float32)


class OverwritesX(ShrinkToMean):
    def predict(self, t, x):
        v = super().predict(t, x)
        x[...] = 0.0
        return v


class BlowsUpAtOne(ShrinkToMean):
    def _predict(self, t, x):
        with np.errstate(divide="ignore"):
            return (self.mean_ - x) / (1.0 - t[:, None])


class ScalarTimeDiffers(ShrinkToMean):
    def predict(self, t, x):
        return super().predict(t, x) + (0.1 if np.ndim(t) == 0 else 0.0)


class CallDiffers(ShrinkToMean):
    def __call__(self, t, x):
        return -self.predict(t, x)


class Nondeterministic(ShrinkToMean):
    def _fit(self, x1, path, rng):
        self.mean_ = x1.mean(axis=0) + np.random.default_rng().normal(size=x1.shape[1])


class AcceptsNaN(ShrinkToMean):
    def fit(self, x1, path, rng=None):
        self.mean_, self.dim_ = np.nanmean(np.atleast_2d(x1), axis=0), np.shape(x1)[-1]
        self.path_ = ct.paths.get(path)
        return self


class TruncatesX(ShrinkToMean):
    def predict(self, t, x):
        return super().predict(t, np.asarray(x)[:, :self.dim_])


BROKEN = {  # rule id -> an estimator class that breaks it
    "is_velocity_estimator": DuckTyped,
    "get_params_returns_the_constructor_arguments": ParamsAsList,
    "no_fitted_attributes_before_fit": WorksInInit,
    "rebuilds_from_get_params": DoublesScaleInInit,
    "predict_before_fit_raises_not_fitted": PredictsBeforeFit,
    "fit_returns_self": FitReturnsNone,
    "fit_does_not_modify_x1": CentersX1InPlace,
    "fit_keeps_the_hyperparameters": ChangesParamsInFit,
    "fit_sets_fitted_attributes": NoFittedAttributes,
    "predict_returns_float64_m_by_d": Float32Output,
    "predict_does_not_modify_its_inputs": OverwritesX,
    "predict_is_finite_up_to_T": BlowsUpAtOne,
    "scalar_t_equals_broadcast_t": ScalarTimeDiffers,
    "call_equals_predict": CallDiffers,
    "equal_seeds_give_equal_fits": Nondeterministic,
    "fit_rejects_bad_x1": AcceptsNaN,
    "predict_rejects_the_wrong_width": TruncatesX,
}


def test_every_velocity_rule_has_a_broken_estimator():
    assert list(BROKEN) == [rule.__name__ for rule in VELOCITY_RULES]


@pytest.mark.parametrize("rule", list(BROKEN))
def test_a_broken_estimator_fails_the_rule_it_breaks(rule):
    check = dict(velocity_estimator_checks(BROKEN[rule]()))[rule]
    with pytest.raises(AssertionError, match=f"^{rule}: "):
        check()
    with pytest.raises(AssertionError, match=f"\\n  {rule}: "):
        check_velocity_estimator(BROKEN[rule]())


def test_get_params_must_return_the_arguments_given_to_a_name(scratch_registries):
    velocity.register("doubles", DoublesScaleInInit)
    check = dict(velocity_estimator_checks("doubles", {"scale": 1.0}))["get_params_returns_the_constructor_arguments"]
    with pytest.raises(AssertionError, match="does not return the constructor arguments"):
        check()


class TwoFaults(FitReturnsNone, Float32Output):
    pass


def test_check_reports_every_broken_rule_at_once():
    with pytest.raises(AssertionError) as info:
        check_velocity_estimator(TwoFaults())
    message = str(info.value)
    assert message.startswith("check_velocity_estimator(TwoFaults): 2 of 17 rules broken")
    assert "\n  fit_returns_self: fit must return self" in message
    assert "\n  predict_returns_float64_m_by_d: predict must return a float64 array" in message


def test_check_rejects_non_estimators():
    with pytest.raises(AssertionError, match="is_velocity_estimator: must be a .*VelocityEstimator"):
        check_velocity_estimator(object())


# -- registry and hyperparameter errors ----------------------------------------------------------------------------
def test_unknown_name_lists_the_registered_names():
    with pytest.raises(ValueError, match="empirical.*kde.*knn.*mlp.*nadaraya_watson.*oracle"):
        velocity.get("gp")


@pytest.mark.parametrize("name, params, field", [
    ("kde", {"bw": 1.0}, "bw: not a hyperparameter"),
    ("oracle", {}, "target: required"),
    ("oracle", {"target": "gmm"}, "target: must be a chargen_theory Target"),
    ("kde", {"bandwidth": -1.0}, "bandwidth: .*> 0.*cv, cv_velocity, scott"),
    ("kde", {"bandwidth": "silverman"}, "bandwidth: unknown value 'silverman'; allowed: cv, cv_velocity, scott"),
    ("kde", {"dim": "intrinsic"}, "dim: unknown value 'intrinsic'; allowed: ambient, estimated, or an integer"),
    ("knn", {"dim": 0}, "dim: must be an integer >= 1"),
    ("nadaraya_watson", {"dim": 2.5}, "dim: must be an integer >= 1"),
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
        velocity.get("mlp", width=16, depth=2, epochs=2, lr=1e200).fit(
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
