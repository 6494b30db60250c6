"""The public contracts as data: lists of named rules, like scikit-learn's ``parametrize_with_checks``.

``VELOCITY_RULES`` (velocity estimators), ``TARGET_RULES`` (targets) and ``GENERATOR_RULES`` (generators) are tuples
of small rule functions, one concept each; a rule's docstring states it and its function name is its id.
``velocity_estimator_checks``, ``target_checks`` and ``generator_checks`` yield (rule_id, check) pairs, ``check()``
raising AssertionError naming the rule; ``parametrize_with_checks`` makes one pytest test per pair.
``check_velocity_estimator``, ``check_target`` and ``check_generator`` run every rule and report all broken rules in
one AssertionError.
"""
from __future__ import annotations

import functools
import json
from typing import Callable, Iterable, Iterator, NamedTuple

import numpy as np

from . import _validate
from . import paths as ct_paths
from . import targets as _targets
from . import velocity as _velocity
from .velocity import NotFittedError, VelocityEstimator

Check = tuple[str, Callable[[], None]]


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise AssertionError(message)


def _fitted_attributes(est) -> list[str]:
    return sorted(k for k in vars(est) if k.endswith("_") and not k.startswith("_"))


def _equal(a, b) -> bool:
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    try:
        return bool(a == b)
    except (TypeError, ValueError):  # arrays
        return bool(np.array_equal(a, b))


def _same_params(p: dict, q: dict) -> bool:
    return p.keys() == q.keys() and all(_equal(p[k], q[k]) for k in p)


def _named(rule: Callable, case) -> Check:
    """(rule id, check): the check runs the rule on the case; any failure becomes an AssertionError naming it."""
    def check() -> None:
        try:
            rule(case)
        except AssertionError as err:
            raise AssertionError(f"{rule.__name__}: {err}") from None
        except Exception as err:  # noqa: BLE001 - a crash breaks the rule too
            raise AssertionError(f"{rule.__name__}: raised {type(err).__name__}: {err}") from err

    check.__name__ = rule.__name__
    return rule.__name__, check


def _run_all(label: str, checks: Iterable[Check]) -> None:
    """Run every check; one AssertionError listing all broken rules."""
    checks = list(checks)
    failures = []
    for _, check in checks:
        try:
            check()
        except AssertionError as err:
            failures.append(str(err))
    if failures:
        raise AssertionError(f"{label}: {len(failures)} of {len(checks)} rules broken\n  " + "\n  ".join(failures))


def parametrize_with_checks(cases: dict[str, Iterable[Check]]):
    """``pytest.mark.parametrize("check", ...)`` with one test per (case, rule): ``cases`` maps a label to the pairs
    of ``velocity_estimator_checks`` or ``target_checks``; the test ids are ``label-rule_id``."""
    import pytest

    return pytest.mark.parametrize("check", [pytest.param(check, id=f"{label}-{rule_id}")
                                             for label, checks in cases.items() for rule_id, check in checks])


# -- velocity estimators --------------------------------------------------------------------------------------------
class _Fit(NamedTuple):
    """One fit of a clone, as the fit rules inspect it."""

    est: object  # the fitted clone
    returned: object  # what its fit returned
    x1: np.ndarray  # the array fit was given
    params: dict  # its get_params() before fit


class _VelocityCase:
    """What the velocity rules share: the estimator under test (never fitted itself), its training samples and
    queries, and one fit of a clone with its prediction, computed on first use."""

    def __init__(self, est, params, x1, path, T, seed, n_queries):
        path = ct_paths.get(path)
        self.est, self.params, self.path, self.seed = est, params, path.name, seed
        self.T = (0.999 if path.singular_at_one else 1.0) if T is None else _validate.end_time("T", T)
        rng = np.random.default_rng(seed)
        self.x1 = rng.standard_normal((64, 2)) if x1 is None else _validate.finite_array("x1", x1, ndim=2)
        self.dim = self.x1.shape[1]
        n_queries = _validate.positive_int("n_queries", n_queries)
        self._t, self._x = np.linspace(0.0, self.T, n_queries), rng.standard_normal((n_queries, self.dim))

    def queries(self) -> tuple[np.ndarray, np.ndarray]:
        """Fresh copies of the query times (m,) in [0, T] and points (m, D)."""
        return self._t.copy(), self._x.copy()

    def clone(self):
        """A new unfitted estimator built from the hyperparameters of the one under test."""
        return type(self.est)(**self.est.get_params())

    def fit(self, est, x1=None):
        """``est.fit`` on (a copy of) the training samples with the case's seed; returns what fit returns."""
        return est.fit(self.x1.copy() if x1 is None else x1, self.path, rng=np.random.default_rng(self.seed + 1))

    @functools.cached_property
    def fitted(self) -> _Fit:
        """One fit of a clone."""
        est, x1 = self.clone(), self.x1.copy()
        params = est.get_params()
        return _Fit(est, self.fit(est, x1), x1, params)

    @functools.cached_property
    def prediction(self) -> np.ndarray:
        """The fitted clone's predict(t, x) on the queries."""
        return self.fitted.est.predict(*self.queries())


def is_velocity_estimator(case) -> None:
    """The estimator is an instance of chargen_theory.velocity.VelocityEstimator."""
    _require(isinstance(case.est, VelocityEstimator),
             f"must be a chargen_theory.velocity.VelocityEstimator, got {type(case.est).__name__}")


def get_params_returns_the_constructor_arguments(case) -> None:
    """get_params() returns a dict holding the constructor arguments unchanged (those given, for a name)."""
    given = case.est.get_params()
    _require(isinstance(given, dict), f"get_params() must return a dict, got {type(given).__name__}")
    _require(case.params is None or _same_params(given, {**given, **case.params}),
             f"get_params() {given} does not return the constructor arguments {case.params}")


def no_fitted_attributes_before_fit(case) -> None:
    """__init__ does no work: it sets no fitted attribute (a public name ending in '_')."""
    found = _fitted_attributes(case.est)
    _require(not found, f"__init__ must not set fitted attributes (ending in '_'), found {found}")


def rebuilds_from_get_params(case) -> None:
    """type(est)(**est.get_params()) rebuilds an estimator with the same hyperparameters (clones need no pickling)."""
    _require(_same_params(case.clone().get_params(), case.est.get_params()),
             "type(est)(**est.get_params()) must rebuild an estimator with the same hyperparameters")


def predict_before_fit_raises_not_fitted(case) -> None:
    """predict before fit raises chargen_theory.velocity.NotFittedError saying 'call fit first'."""
    est, (t, x) = case.clone(), case.queries()
    try:
        est.predict(t, x)
    except NotFittedError as err:
        _require("fit" in str(err), f"the NotFittedError must say 'call fit first', got {err!r}")
    except Exception as err:  # noqa: BLE001 - any other type breaks the rule
        raise AssertionError(f"predict before fit must raise NotFittedError, raised {err!r}") from None
    else:
        raise AssertionError("predict before fit must raise NotFittedError, it returned")


def fit_returns_self(case) -> None:
    """fit returns the estimator itself."""
    fit = case.fitted
    _require(fit.returned is fit.est, f"fit must return self, returned {type(fit.returned).__name__}")


def fit_does_not_modify_x1(case) -> None:
    """fit leaves its x1 argument unchanged."""
    _require(np.array_equal(case.fitted.x1, case.x1), "fit must not modify x1")


def fit_keeps_the_hyperparameters(case) -> None:
    """fit changes no hyperparameter: get_params() is the same before and after."""
    before, after = case.fitted.params, case.fitted.est.get_params()
    _require(_same_params(after, before), f"fit must not change the hyperparameters: {before} became {after}")


def fit_sets_fitted_attributes(case) -> None:
    """fit stores what it learns in attributes ending in '_'."""
    _require(bool(_fitted_attributes(case.fitted.est)), "fit must set fitted attributes ending in '_'")


def predict_returns_float64_m_by_d(case) -> None:
    """predict(t, x) returns a float64 numpy array of shape (m, D)."""
    v, shape = case.prediction, case.queries()[1].shape
    _require(isinstance(v, np.ndarray) and v.shape == shape and v.dtype == np.float64,
             f"predict must return a float64 array of shape {shape}, got "
             f"{type(v).__name__} {getattr(v, 'shape', None)} {getattr(v, 'dtype', None)}")


def predict_does_not_modify_its_inputs(case) -> None:
    """predict leaves its t and x arguments unchanged."""
    t, x = case.queries()
    case.fitted.est.predict(t, x)
    t0, x0 = case.queries()
    _require(np.array_equal(t, t0) and np.array_equal(x, x0), "predict must not modify t or x")


def predict_is_finite_up_to_T(case) -> None:
    """predict is finite for every t in [0, T]."""
    bad = ~np.isfinite(case.prediction).all(axis=1)
    if bad.any():
        raise AssertionError(f"predict must be finite for t in [0, {case.T}]; "
                             f"first bad t = {case.queries()[0][bad][0]}")


def scalar_t_equals_broadcast_t(case) -> None:
    """predict(t_scalar, x) equals predict(t broadcast to shape (m,), x)."""
    est, (_, x) = case.fitted.est, case.queries()
    for t in (0.0, 0.5 * case.T, case.T):
        _require(np.allclose(est.predict(t, x), est.predict(np.full(x.shape[0], t), x), rtol=1e-12, atol=1e-12),
                 f"predict(t={t}, x) must equal predict(t broadcast to shape ({x.shape[0]},), x)")


def call_equals_predict(case) -> None:
    """est(t, x) equals est.predict(t, x) (a fitted estimator is a velocity for the solvers)."""
    _require(np.array_equal(case.fitted.est(*case.queries()), case.prediction),
             "est(t, x) must equal est.predict(t, x)")


def equal_seeds_give_equal_fits(case) -> None:
    """Clones rebuilt from get_params and fitted with equal rng seeds predict the same."""
    refits = []
    for _ in range(2):
        est = case.clone()
        case.fit(est)
        refits.append(est.predict(*case.queries()))
    _require(np.array_equal(refits[0], refits[1]) and np.array_equal(refits[0], case.prediction),
             "fits with equal rng seeds must give equal predictions")


def fit_rejects_bad_x1(case) -> None:
    """fit raises ValueError for x1 with 1 or 3 dimensions, or holding a NaN."""
    with_nan = case.x1.copy()
    with_nan[0, 0] = np.nan
    for bad, what in ((case.x1[:, 0], "x1 with ndim 1"), (case.x1[None], "x1 with ndim 3"),
                      (with_nan, "x1 with a NaN")):
        try:
            case.fit(case.clone(), bad)
        except ValueError:
            continue
        raise AssertionError(f"fit must raise ValueError for {what}")


def predict_rejects_the_wrong_width(case) -> None:
    """predict raises ValueError for x whose width is not the D it was fitted on."""
    try:
        case.fitted.est.predict(0.5, np.zeros((3, case.dim + 1)))
    except ValueError:
        return
    raise AssertionError(f"predict must raise ValueError for x of shape (3, {case.dim + 1}) (fitted on D = {case.dim})")


VELOCITY_RULES = (is_velocity_estimator, get_params_returns_the_constructor_arguments, no_fitted_attributes_before_fit,
                  rebuilds_from_get_params, predict_before_fit_raises_not_fitted, fit_returns_self,
                  fit_does_not_modify_x1, fit_keeps_the_hyperparameters, fit_sets_fitted_attributes,
                  predict_returns_float64_m_by_d, predict_does_not_modify_its_inputs, predict_is_finite_up_to_T,
                  scalar_t_equals_broadcast_t, call_equals_predict, equal_seeds_give_equal_fits, fit_rejects_bad_x1,
                  predict_rejects_the_wrong_width)


def velocity_estimator_checks(estimator_or_name, params: dict | None = None, *, x1=None, path: str = "linear",
                              T: float | None = None, seed: int = 0, n_queries: int = 40) -> Iterator[Check]:
    """(rule_id, check) for every rule of ``VELOCITY_RULES``; ``check()`` raises AssertionError naming the rule.

    Parameters
    ----------
    estimator_or_name : an unfitted VelocityEstimator (left unfitted: the rules fit clones), or a registered name
        (built with ``params``).
    params : hyperparameters for a name (small ones keep the checks fast); ignored for an instance.
    x1 : (n, D) training samples; default 64 draws of N(0, I_2) from ``seed``. Must match the estimator's
        dimension (the oracle's target).
    path : path name used for fitting.
    T : predictions are checked on t in [0, T]; default 1, or 0.999 on paths whose velocity at t = 1 needs the
        score (``singular_at_one``: follmer), where estimators may reject t = 1 as ``Target.velocity`` does.
    seed : seeds every Generator the checks create.
    n_queries : number of query points.

    Bad arguments (an unknown name or hyperparameter, path, ...) raise ValueError at once. The checks of one call
    share one fit of a clone and its prediction, computed on first use.
    """
    if isinstance(estimator_or_name, str):
        est = _velocity.get(estimator_or_name, **(params or {}))
    else:
        est, params = estimator_or_name, None
    case = _VelocityCase(est, params, x1, path, T, seed, n_queries)
    return (_named(rule, case) for rule in VELOCITY_RULES)


def check_velocity_estimator(estimator_or_name, params: dict | None = None, *, x1=None, path: str = "linear",
                             T: float | None = None, seed: int = 0, n_queries: int = 40) -> None:
    """Run every rule of ``VELOCITY_RULES`` (arguments as ``velocity_estimator_checks``); raise one AssertionError
    naming every broken rule."""
    name = estimator_or_name if isinstance(estimator_or_name, str) else type(estimator_or_name).__name__
    _run_all(f"check_velocity_estimator({name})", velocity_estimator_checks(
        estimator_or_name, params, x1=x1, path=path, T=T, seed=seed, n_queries=n_queries))


# -- targets ------------------------------------------------------------------------------------------------------
_N_TARGET = 50


class _TargetCase:
    """What the target rules share: the target built from the registry, and (drawn on first use from one seeded
    stream) 50 samples y, points x near them and query times per path."""

    def __init__(self, name: str, params: dict | None):
        self.name, self.target = name, _targets.get(name, **(params or {}))

    @functools.cached_property
    def data(self) -> tuple[np.ndarray, np.ndarray, dict]:
        """(y (n, D) samples, x = y + 0.1 noise, {path: times (n,) uniform on [0, 1)})."""
        rng = np.random.default_rng(60)
        y = self.target.sample(_N_TARGET, rng)
        x = y + 0.1 * rng.standard_normal(y.shape)
        return y, x, {path: rng.uniform(size=_N_TARGET) for path in ct_paths.names()}


def is_target(case) -> None:
    """The registry builds an instance of chargen_theory.targets.Target."""
    _require(isinstance(case.target, _targets.Target),
             f"must be a chargen_theory.targets.Target, got {type(case.target).__name__}")


def name_is_the_registered_name(case) -> None:
    """target.name is the name it is registered under."""
    _require(case.target.name == case.name, f"target.name must be {case.name!r}, got {case.target.name!r}")


def dimensions_are_consistent(case) -> None:
    """dim (D) and intrinsic_dim (d*) are integers with 1 <= d* <= D."""
    dim, d_star = case.target.dim, case.target.intrinsic_dim
    _require(all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (dim, d_star))
             and 1 <= d_star <= dim, f"need integers 1 <= intrinsic_dim <= dim, got {d_star} and {dim}")


def params_are_json(case) -> None:
    """target.params is a JSON-serialisable dict (run records store it)."""
    params = case.target.params
    _require(isinstance(params, dict), f"params must be a dict, got {type(params).__name__}")
    try:
        json.dumps(params)
    except (TypeError, ValueError) as err:
        raise AssertionError(f"params must be JSON-serialisable: {err}") from None


def rebuilds_from_params(case) -> None:
    """get(name, **params), params through JSON, rebuilds the target: equal samples from equal seeds, equal
    velocities on every path."""
    rebuilt = _targets.get(case.name, **json.loads(json.dumps(case.target.params)))
    y, x, _ = case.data
    _require(np.array_equal(rebuilt.sample(_N_TARGET, np.random.default_rng(60)), y, equal_nan=True),
             "the target rebuilt from its params must draw the same samples from the same seed")
    for path in ct_paths.names():
        _require(np.array_equal(rebuilt.velocity(0.4, x, path), case.target.velocity(0.4, x, path), equal_nan=True),
                 f"the target rebuilt from its params must have the same velocity ({path} path)")


def sample_returns_float64_n_by_d(case) -> None:
    """sample(n, rng) returns a float64 array of shape (n, D)."""
    y = case.data[0]
    _require(isinstance(y, np.ndarray) and y.shape == (_N_TARGET, case.target.dim) and y.dtype == np.float64,
             f"sample must return a float64 array of shape ({_N_TARGET}, {case.target.dim}), got "
             f"{type(y).__name__} {getattr(y, 'shape', None)} {getattr(y, 'dtype', None)}")


def velocity_is_finite_float64_n_by_d(case) -> None:
    """velocity(t, x, path) is a finite float64 array of shape (n, D) for t in [0, 1) on every path."""
    _, x, times = case.data
    for path, t in times.items():
        v = case.target.velocity(t, x, path)
        _require(isinstance(v, np.ndarray) and v.shape == x.shape and v.dtype == np.float64,
                 f"velocity ({path} path) must return a float64 array of shape {x.shape}, got "
                 f"{type(v).__name__} {getattr(v, 'shape', None)} {getattr(v, 'dtype', None)}")
        _require(bool(np.all(np.isfinite(v))), f"velocity ({path} path) must be finite for t in [0, 1)")


def log_prob_is_n_or_not_implemented(case) -> None:
    """log_prob(x) returns shape (n,) values below +inf (no NaN), or raises NotImplementedError (no density)."""
    x = case.data[1]
    try:
        lp = case.target.log_prob(x)
    except NotImplementedError:
        return
    _require(np.shape(lp) == (x.shape[0],) and bool(np.all(np.asarray(lp) < np.inf)),
             f"log_prob must return shape ({x.shape[0]},) values < inf (no NaN), got shape {np.shape(lp)}")


def posterior_mean_at_t0_is_the_mean(case) -> None:
    """posterior_mean(a=1, b=0, x) (X_t = X0 tells nothing about X1) is the target mean, checked within 1 of a
    50-sample mean."""
    y, x, _ = case.data
    m1 = case.target.posterior_mean(1.0, 0.0, x)
    _require(np.allclose(m1, np.broadcast_to(y.mean(axis=0), x.shape), rtol=0.0, atol=1.0),
             "posterior_mean(1, 0, x) must be the target mean at every x")


TARGET_RULES = (is_target, name_is_the_registered_name, dimensions_are_consistent, params_are_json,
                rebuilds_from_params, sample_returns_float64_n_by_d, velocity_is_finite_float64_n_by_d,
                log_prob_is_n_or_not_implemented, posterior_mean_at_t0_is_the_mean)


def target_checks(name: str, params: dict | None = None) -> Iterator[Check]:
    """(rule_id, check) for every rule of ``TARGET_RULES`` on the target registered as ``name``, built with
    ``params`` (ValueError for an unknown name or parameter); ``check()`` raises AssertionError naming the rule."""
    case = _TargetCase(name, params)
    return (_named(rule, case) for rule in TARGET_RULES)


def check_target(name: str, params: dict | None = None) -> None:
    """Run every rule of ``TARGET_RULES`` on a registered target; raise one AssertionError naming every broken
    rule."""
    _run_all(f"check_target({name})", target_checks(name, params))


# -- generators -----------------------------------------------------------------------------------------------------
class _GeneratorCase:
    """What the generator rules share: the generator under test (never fitted itself), a 2-D Gaussian target whose
    exact velocity is the teacher, K = 4 steps on [0, 0.9], m = 64 prior draws, and one fit of a clone."""

    K, T, M, N = 4, 0.9, 64, 50

    def __init__(self, gen, params, seed):
        self.gen, self.params, self.seed = gen, params, seed
        self.target = _targets.get("gaussian", mean=[1.0, -0.5], cov=[[1.0, 0.6], [0.6, 0.5]])
        self._z = np.random.default_rng(seed).standard_normal((self.N, 2))

    def z(self) -> np.ndarray:
        """A fresh copy of the query points (N, 2)."""
        return self._z.copy()

    def clone(self):
        return type(self.gen)(**self.gen.get_params())

    def fit(self, gen, **changes):
        """``gen.fit`` on the case's teacher with the case's seed (``changes`` override K, T, m, rng)."""
        args = {"K": self.K, "T": self.T, "m": self.M, "rng": np.random.default_rng(self.seed + 1), **changes}
        return gen.fit(self.target, "linear", args["K"], args["T"], args["m"], args["rng"])

    @functools.cached_property
    def fitted(self) -> _Fit:
        gen = self.clone()
        params = gen.get_params()
        return _Fit(gen, self.fit(gen), None, params)

    def times(self) -> tuple[float, float]:
        """An (s, t) pair the generator maps, with s < t: (0, T), or (T/2, T) / (T/4, T/2) where allowed."""
        return {"any": (self.T / 4, self.T / 2), "to_end": (self.T / 2, self.T)}.get(self.gen.TIMES, (0.0, self.T))


def is_generator(case) -> None:
    """The generator is an instance of chargen_theory.generators.Generator with TIMES in generators.TIMES."""
    from .generators import TIMES, Generator

    _require(isinstance(case.gen, Generator) and case.gen.TIMES in TIMES,
             f"must be a chargen_theory.generators.Generator with TIMES in {TIMES}, got {type(case.gen).__name__}")


def generator_get_params_returns_the_constructor_arguments(case) -> None:
    """get_params() returns the constructor arguments unchanged and rebuilds an equal generator."""
    given = case.gen.get_params()
    _require(case.params is None or _same_params(given, {**given, **case.params}),
             f"get_params() {given} does not return the constructor arguments {case.params}")
    _require(_same_params(case.clone().get_params(), given),
             "type(gen)(**gen.get_params()) must rebuild a generator with the same hyperparameters")


def generator_init_sets_no_fitted_attributes(case) -> None:
    """__init__ does no work: it sets no fitted attribute (a public name ending in '_')."""
    found = _fitted_attributes(case.gen)
    _require(not found, f"__init__ must not set fitted attributes (ending in '_'), found {found}")


def map_and_sample_before_fit_raise_not_fitted(case) -> None:
    """map and sample before fit raise chargen_theory.velocity.NotFittedError saying 'call fit first'."""
    for what, call in (("map", lambda g: g.map(case.z())), ("sample", lambda g: g.sample(3, np.random.default_rng()))):
        try:
            call(case.clone())
        except NotFittedError as err:
            _require("fit" in str(err), f"the NotFittedError of {what} must say 'call fit first', got {err!r}")
        except Exception as err:  # noqa: BLE001 - any other type breaks the rule
            raise AssertionError(f"{what} before fit must raise NotFittedError, raised {err!r}") from None
        else:
            raise AssertionError(f"{what} before fit must raise NotFittedError, it returned")


def generator_fit_returns_self_and_keeps_the_hyperparameters(case) -> None:
    """fit returns the generator itself and changes no hyperparameter."""
    fit = case.fitted
    _require(fit.returned is fit.est, f"fit must return self, returned {type(fit.returned).__name__}")
    _require(_same_params(fit.est.get_params(), fit.params), "fit must not change the hyperparameters")


def fit_records_its_cost(case) -> None:
    """fit sets nfe_per_sample_ (int >= 1), nfe_fit_, train_steps_ (ints >= 0) and train_seconds_ (>= 0)."""
    gen = case.fitted.est
    ints = {k: getattr(gen, k, None) for k in ("nfe_per_sample_", "nfe_fit_", "train_steps_")}
    _require(all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 0 for v in ints.values())
             and ints["nfe_per_sample_"] >= 1, f"need integer costs >= 0 (nfe_per_sample_ >= 1), got {ints}")
    seconds = getattr(gen, "train_seconds_", None)
    _require(isinstance(seconds, (int, float)) and seconds >= 0, f"train_seconds_ must be >= 0, got {seconds!r}")


def map_returns_finite_float64_n_by_d(case) -> None:
    """map(z, s, t) returns a finite float64 array of shape (n, D) and leaves z unchanged."""
    z = case.z()
    for s, t in {(0.0, case.T) if case.gen.TIMES == "endpoint" else case.times(), (0.0, case.T)}:
        x = case.fitted.est.map(z, s, t) if case.gen.TIMES != "to_end" or t == case.T else None
        if x is None:
            continue
        _require(isinstance(x, np.ndarray) and x.shape == z.shape and x.dtype == np.float64,
                 f"map(z, {s}, {t}) must return a float64 array of shape {z.shape}, got "
                 f"{type(x).__name__} {getattr(x, 'shape', None)} {getattr(x, 'dtype', None)}")
        _require(bool(np.all(np.isfinite(x))), f"map(z, {s}, {t}) must be finite")
    _require(np.array_equal(z, case.z()), "map must not modify z")


def sample_returns_float64_n_by_d_and_follows_the_rng(case) -> None:
    """sample(n, rng) returns (n, D) float64; equal rng seeds give equal samples, and steps > 1 works exactly
    when every (s, t) is allowed (else ValueError)."""
    gen = case.fitted.est
    a, b = (gen.sample(7, np.random.default_rng(3)) for _ in range(2))
    _require(isinstance(a, np.ndarray) and a.shape == (7, 2) and a.dtype == np.float64,
             f"sample(7, rng) must return a float64 array of shape (7, 2), got {getattr(a, 'shape', None)}")
    _require(np.array_equal(a, b), "sample with equal rng seeds must give equal samples")
    try:
        two = gen.sample(7, np.random.default_rng(3), steps=2)
    except ValueError:
        _require(gen.TIMES != "any", "sample(steps=2) must work when TIMES is 'any'")
    else:
        _require(gen.TIMES == "any" and two.shape == (7, 2), "sample(steps=2) must raise ValueError unless TIMES is "
                                                             "'any'")


def equal_seeds_give_equal_generators(case) -> None:
    """Clones fitted with equal rng seeds map equally."""
    s, t = case.times()
    maps = [case.fit(case.clone()).map(case.z(), s, t) for _ in range(2)]
    _require(np.array_equal(maps[0], maps[1]) and np.array_equal(maps[0], case.fitted.est.map(case.z(), s, t)),
             "fits with equal rng seeds must give equal maps")


def identity_at_equal_times(case) -> None:
    """g(s, s, z) = z exactly wherever s = t is allowed (TIMES "any": every s in [0, T]; "to_end": s = T)."""
    gen = case.fitted.est
    times = {"any": (0.0, case.T / 3, case.T), "to_end": (case.T,)}.get(gen.TIMES, ())
    for s in times:
        _require(np.array_equal(gen.map(case.z(), s, s), case.z()), f"map(z, {s}, {s}) must return z exactly")


def map_rejects_bad_times_and_widths(case) -> None:
    """map raises ValueError for s > t, t > T, times TIMES excludes, and z of the wrong width."""
    gen, z, T = case.fitted.est, case.z(), case.T
    bad = [((z, T, T / 2), "s > t"), ((z, 0.0, 1.5 * T), "t > T"), ((np.zeros((3, 3)), 0.0, T), "z of width 3")]
    if gen.TIMES != "any":
        bad.append(((z, 0.0, T / 2), "t < T (not allowed by TIMES)"))
    for args, what in bad:
        try:
            gen.map(*args)
        except ValueError:
            continue
        raise AssertionError(f"map must raise ValueError for {what}")


def fit_rejects_bad_arguments(case) -> None:
    """fit raises ValueError for K = 0, T = 1.5, m = 1 and an rng that is not a numpy Generator."""
    for change, what in (({"K": 0}, "K = 0"), ({"T": 1.5}, "T = 1.5"), ({"m": 1}, "m = 1"), ({"rng": 0}, "rng = 0")):
        try:
            case.fit(case.clone(), **change)
        except ValueError:
            continue
        raise AssertionError(f"fit must raise ValueError for {what}")


GENERATOR_RULES = (is_generator, generator_get_params_returns_the_constructor_arguments,
                   generator_init_sets_no_fitted_attributes, map_and_sample_before_fit_raise_not_fitted,
                   generator_fit_returns_self_and_keeps_the_hyperparameters, fit_records_its_cost,
                   map_returns_finite_float64_n_by_d, sample_returns_float64_n_by_d_and_follows_the_rng,
                   equal_seeds_give_equal_generators, identity_at_equal_times, map_rejects_bad_times_and_widths,
                   fit_rejects_bad_arguments)


def generator_checks(generator_or_name, params: dict | None = None, *, seed: int = 0) -> Iterator[Check]:
    """(rule_id, check) for every rule of ``GENERATOR_RULES``: an unfitted Generator (left unfitted), or a
    registered name built with ``params`` (default parameters when None; small budgets such as
    ``{"max_steps": 20}`` keep the checks fast). The teacher is the exact velocity of a 2-D Gaussian."""
    from . import generators

    if isinstance(generator_or_name, str):
        gen = generators.get(generator_or_name, **(params or {}))
    else:
        gen, params = generator_or_name, None
    case = _GeneratorCase(gen, params, seed)
    return (_named(rule, case) for rule in GENERATOR_RULES)


def check_generator(generator_or_name, params: dict | None = None, *, seed: int = 0) -> None:
    """Run every rule of ``GENERATOR_RULES`` (arguments as ``generator_checks``); raise one AssertionError naming
    every broken rule."""
    name = generator_or_name if isinstance(generator_or_name, str) else type(generator_or_name).__name__
    _run_all(f"check_generator({name})", generator_checks(generator_or_name, params, seed=seed))
