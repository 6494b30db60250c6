"""Any scikit-learn regressor as a velocity estimator: least-squares regression of the conditional target.

Same regression pairs as Nadaraya-Watson and k-NN (``Interpolant.training_pairs``: ``pairs_per_sample`` fresh
t ~ U[0, t_max], X0 ~ N(0, I) per sample; covariates (t, X_t), response Y = alpha'(t) X0 + beta'(t) X1, (N, D)), at most
``max_pairs`` of them (a random subset drawn with the fit rng). The regressor is named by its class name in
scikit-learn's own registry (``sklearn.utils.discovery.all_estimators(type_filter="regressor")``), or given as an
unfitted instance (``chargen_theory.velocity.from_sklearn``), which is cloned at every fit and never modified.
"""
from __future__ import annotations

import functools
import inspect
import os

import numpy as np

from .. import _validate
from .base import VelocityEstimator, require_rng

SHOWN_NAMES = 20  # class names listed in the error for an unknown one


@functools.cache
def regressor_classes() -> dict[str, type]:
    """scikit-learn's regressors by class name (imports all of scikit-learn once, ~2 s)."""
    from sklearn.utils.discovery import all_estimators

    return dict(all_estimators(type_filter="regressor"))


def _regressor_class(name: str) -> type:
    classes = regressor_classes()
    if name not in classes:
        shown = sorted(classes)
        listed = ", ".join(shown[:SHOWN_NAMES]) + (", ..." if len(shown) > SHOWN_NAMES else "")
        raise ValueError(f"regressor: unknown scikit-learn regressor {name!r}; allowed: {listed} "
                         f"({len(shown)} in all: chargen_theory.velocity.sklearn.regressor_classes())")
    return classes[name]


def _check_params(regressor, cls: type, params) -> None:
    """Before any work: ValueError naming a key of ``params`` that is not an argument of ``cls`` (or a required
    argument it lacks), a schedule inside params, a boolean where scikit-learn's constraints allow none, a value
    scikit-learn's own parameter validation refuses (``_validate_params``, on the regressor built with ``params``
    and on every estimator it holds), or a model unsuitable for this regression (``_check_model``)."""
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ValueError(f"params: must be a dict of {cls.__name__} arguments or None, got {type(params).__name__}")
    arguments = {p: v for p, v in inspect.signature(cls).parameters.items()
                 if v.kind not in (v.VAR_POSITIONAL, v.VAR_KEYWORD)}
    for key in params:
        if key not in arguments:
            raise ValueError(f"params: {key!r} is not an argument of {cls.__name__}; "
                             f"allowed: {', '.join(arguments) or 'none'}")
    for key, p in arguments.items():
        if p.default is inspect.Parameter.empty and key not in params:
            raise ValueError(f"params: {cls.__name__} requires {key!r}")
    constraints = getattr(cls, "_parameter_constraints", {})
    for key, value in params.items():
        if isinstance(value, dict) and "schedule" in value:
            raise ValueError(f"params.{key}: a schedule cannot be inside params (scikit-learn's arguments are fixed); "
                             f"schedulable: the estimator's own numeric options such as pairs_per_sample, max_pairs")
        allowed = constraints.get(key)
        if isinstance(value, (bool, np.bool_)) and isinstance(allowed, list) and not any(
                c in ("boolean", "verbose") or c is bool for c in allowed if isinstance(c, (str, type))):
            raise ValueError(f"params.{key}: the {key!r} parameter of {cls.__name__} takes no boolean, got {value!r}")
    _check_model(_with_params(regressor, params))


def _with_params(regressor, params: dict):
    """The unfitted regressor: the named class built with ``params``, or a clone of the instance with them set."""
    from sklearn.base import clone

    if isinstance(regressor, str):
        return _regressor_class(regressor)(**params)
    return clone(regressor).set_params(**params)


def _check_model(model) -> None:
    """ValueError naming what makes ``model`` unusable here, found by scikit-learn's parameter validation and
    tags before any fit: an invalid argument (of the model or of an estimator it holds), a classifier inside it, a
    "precomputed" kernel or metric, a model of one covariate (IsotonicRegression) or of positive responses only
    (Poisson, Gamma; the response alpha' X0 + beta' X1 takes both signs), or more parallel jobs than this machine
    has cores."""
    from sklearn.base import BaseEstimator, is_classifier
    from sklearn.utils import get_tags
    from sklearn.utils._param_validation import InvalidParameterError

    name = type(model).__name__
    held = [model] + [v for v in model.get_params(deep=True).values() if isinstance(v, BaseEstimator)]
    for estimator in held:
        if is_classifier(estimator):
            raise ValueError(f"params: {name} holds a classifier ({type(estimator).__name__}); the velocity is a "
                             f"regression: use a regressor")
        if hasattr(estimator, "_parameter_constraints") and hasattr(estimator, "_validate_params"):
            try:
                estimator._validate_params()
            except InvalidParameterError as err:
                raise ValueError(f"params: {' '.join(str(err).split())}") from None
    for key, value in model.get_params(deep=True).items():
        if isinstance(value, str) and value == "precomputed":
            raise ValueError(f"params.{key}: 'precomputed' needs a matrix of kernel values or distances; the velocity "
                             f"regression passes the covariates (t, X_t)")
    tags = get_tags(model)
    if not tags.input_tags.two_d_array:
        raise ValueError(f"regressor: {name} takes one covariate; the velocity regression has 1 + D covariates "
                         f"(t, X_t): use a regressor of several features")
    if tags.target_tags.positive_only:
        raise ValueError(f"regressor: {name} fits positive responses only; the response alpha'(t) X0 + beta'(t) X1 "
                         f"takes both signs")
    cores = _cores()
    for key, jobs in model.get_params(deep=True).items():
        if (key == "n_jobs" or key.endswith("__n_jobs")) and jobs is not None and jobs != -1 and not (
                isinstance(jobs, (int, np.integer)) and 1 <= jobs <= cores):
            raise ValueError(f"params.{key}: must be None, -1 (all cores) or an integer in [1, {cores}] (this "
                             f"machine's cores), got {jobs!r}")


def _cores() -> int:
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _class_name(regressor) -> str:
    return regressor if isinstance(regressor, str) else type(regressor).__name__


def _is_regressor(obj) -> bool:
    """Whether ``obj`` is a scikit-learn regressor instance (its tags; False for objects without tags)."""
    from sklearn.base import is_regressor

    try:
        return is_regressor(obj)
    except (AttributeError, TypeError):
        return False


def _multi_output(regressor) -> bool:
    """Whether the regressor fits an (N, D) response natively (its estimator tags)."""
    from sklearn.utils import get_tags

    return bool(get_tags(regressor).target_tags.multi_output)


class SklearnVelocity(VelocityEstimator):
    """A scikit-learn regressor of Y = alpha'(t) X0 + beta'(t) X1 on (t, X_t): v_hat(t, x) = its prediction.

    Parameters
    ----------
    regressor : a class name from ``regressor_classes()`` ("KernelRidge", "RandomForestRegressor",
        "GaussianProcessRegressor", "SVR", ...) or an unfitted scikit-learn regressor instance (cloned with
        ``sklearn.base.clone`` at fit).
    params : dict of constructor arguments of that class (set on the clone for an instance), or None for
        scikit-learn's defaults. Note that KernelRidge's default kernel is "linear" (v_hat affine in (t, x));
        pass e.g. {"kernel": "rbf"} for a nonparametric fit. A ``random_state`` left None (at
        any depth) is drawn from the fit rng, so that equal rngs give equal fits.
    pairs_per_sample : regression pairs (t, X0) drawn per target sample.
    t_max : pair times are uniform on [0, t_max], t_max in (0, 1].
    max_pairs : int >= 1 or None (no cap). If n * pairs_per_sample exceeds it, a random subset of max_pairs
        pairs is used. Default 2000: kernel ridge and Gaussian processes need O(N^2) memory and O(N^3) time in
        the number N of pairs (at N = 2000 on 2 cores: 32 MB per kernel matrix, ~2 s for KernelRidge, 10-40 s
        for a GaussianProcessRegressor that optimises its kernel, < 1 s with optimizer=None; at N = 8000
        KernelRidge takes ~11 s and 0.5 GB); trees and neighbours scale as N log N, so use None for them. With
        a cap, the error stops falling once n * pairs_per_sample > max_pairs: ``capped_`` then says so, and the
        experiments write it to the results table's ``capped`` column (a rate over capped levels is not judged).
    scale : standardise the covariates (t, X_t) with a StandardScaler before the regressor (a Pipeline).
        Kernels (KernelRidge, SVR, GaussianProcessRegressor with an isotropic kernel) and neighbours measure
        distances, so their fit depends on the relative scale of t and x; trees split one coordinate at a time
        and are unaffected. The responses are never rescaled.

    Fitted attributes: ``regressor_`` (the fitted regressor, or Pipeline when ``scale``; wrapped in a
    ``sklearn.multioutput.MultiOutputRegressor``, one fit per coordinate, when D > 1 and its tags say it
    cannot fit several outputs), ``n_pairs_`` (int, pairs used), ``capped_`` (text naming the cap that bound,
    e.g. "max_pairs 2000 < pairs_per_sample 8 x n 500 = 4000 pairs"; "" when the cap did not bind).

    ``params`` are checked before any work by scikit-learn's own parameter validation (``_validate_params``), on
    the regressor built with them and on every estimator it holds, and by its tags (``_check_model``).
    """

    name = "sklearn"

    def __init__(self, regressor="KernelRidge", params: dict | None = None, pairs_per_sample: int = 8,
                 t_max: float = 0.999, max_pairs: int | None = 2000, scale: bool = True):
        if isinstance(regressor, str):
            cls = _regressor_class(regressor)
        else:
            if isinstance(regressor, type) or not _is_regressor(regressor):
                raise ValueError(f"regressor: must be a scikit-learn regressor class name or an unfitted "
                                 f"regressor instance, got {regressor!r}")
            cls = type(regressor)
        _check_params(regressor, cls, params)
        _validate.positive_int("pairs_per_sample", pairs_per_sample)
        _validate.end_time("t_max", t_max)
        if max_pairs is not None:
            _validate.positive_int("max_pairs", max_pairs)
        if not isinstance(scale, (bool, np.bool_)):
            raise ValueError(f"scale: must be True or False, got {scale!r}")
        self.regressor = regressor
        self.params = params
        self.pairs_per_sample = pairs_per_sample
        self.t_max = t_max
        self.max_pairs = max_pairs
        self.scale = scale

    def _build(self, dim: int, seed: int):
        """The unfitted model: the regressor (a clone of the instance, or the named class) with ``params`` and
        seeded random states, multi-output wrapped if needed, after a scaler if ``scale``."""
        from sklearn.multioutput import MultiOutputRegressor
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        model = _with_params(self.regressor, self.params or {})
        unseeded = {k: seed for k, v in model.get_params(deep=True).items()
                    if (k == "random_state" or k.endswith("__random_state")) and v is None}
        model.set_params(**unseeded)
        if dim > 1 and not _multi_output(model):
            model = MultiOutputRegressor(model)
        return make_pipeline(StandardScaler(), model) if self.scale else model

    def _fit(self, x1, path, rng) -> None:
        from sklearn.utils import get_tags

        rng = require_rng(self.name, rng)
        if x1.shape[1] == 1 and not get_tags(_with_params(self.regressor, self.params or {})).target_tags.single_output:
            raise ValueError(f"regressor: {_class_name(self.regressor)} fits several outputs only; a 1-D target has "
                             f"one (use its single-output counterpart)")
        times, points, responses = path.training_pairs(x1, float(self.t_max), self.pairs_per_sample, rng)
        self.capped_ = ""
        if self.max_pairs is not None and times.shape[0] > self.max_pairs:
            self.capped_ = (f"max_pairs {self.max_pairs} < pairs_per_sample {self.pairs_per_sample} x n "
                            f"{x1.shape[0]} = {times.shape[0]} pairs")
            keep = np.sort(rng.choice(times.shape[0], size=self.max_pairs, replace=False))
            times, points, responses = times[keep], points[keep], responses[keep]
        seed = int(rng.integers(2**31 - 1))
        self.regressor_ = self._build(x1.shape[1], seed)
        # a single output is fitted as a 1-D response: scikit-learn's convention (some regressors warn otherwise)
        self.regressor_.fit(np.hstack([times[:, None], points]),
                            responses[:, 0] if x1.shape[1] == 1 else responses)
        self.n_pairs_ = times.shape[0]

    def _predict(self, t: np.ndarray, x: np.ndarray) -> np.ndarray:
        v = self.regressor_.predict(np.hstack([t[:, None], x]))
        return np.asarray(v, dtype=np.float64).reshape(x.shape)

    # -- size: a rough cost per kind of regressor, checked by config validation before any work --------------------
    def _settings(self) -> tuple[str, dict]:
        """(class name, every constructor argument with ``params`` applied) of the regressor."""
        if isinstance(self.regressor, str):
            cls = _regressor_class(self.regressor)
            settings = {k: p.default for k, p in inspect.signature(cls).parameters.items()
                        if p.default is not inspect.Parameter.empty}
        else:
            cls, settings = type(self.regressor), self.regressor.get_params(deep=False)
        return cls.__name__, {**settings, **(self.params or {})}

    def _pairs_used(self, n: int) -> int:
        drawn = n * self.pairs_per_sample
        return drawn if self.max_pairs is None else min(drawn, self.max_pairs)

    def memory_terms(self, n: int, dim: int) -> dict[str, tuple[int, str]]:
        """The drawn pairs (before the max_pairs subset); kernel matrices (KernelRidge, GaussianProcessRegressor);
        the trees of ensembles (n_estimators); the weights of an MLPRegressor (hidden_layer_sizes)."""
        from .base import pairs_bytes

        name, settings = self._settings()
        N, outputs = self._pairs_used(n), dim
        cap = "max_pairs" if self.max_pairs is not None and N == self.max_pairs else "pairs_per_sample"
        terms = {"pairs_per_sample": (pairs_bytes(n, dim, self.pairs_per_sample),
                                      "the n x pairs_per_sample regression pairs")}
        if name in ("KernelRidge", "GaussianProcessRegressor"):
            kernel = 8 * 4 * N * N + (terms[cap][0] if cap in terms else 0)
            terms[cap] = (kernel, f"the N x N kernel matrices of N = {N} pairs")
        trees = _count(settings.get("n_estimators"), 0) or (
            _count(settings.get("max_iter"), 0) if name == "HistGradientBoostingRegressor" else 0)
        if trees:
            depth = settings.get("max_depth")
            nodes = min(2 * N, 2 ** (depth + 1)) if _count(depth, 0) and depth < 60 else 2 * N
            copies = outputs if name in _SINGLE_OUTPUT_ENSEMBLES else 1
            key = "params.max_iter" if name == "HistGradientBoostingRegressor" else "params.n_estimators"
            terms[key] = (trees * copies * (2000 + nodes * (64 + 8 * outputs)),
                          "the trees of the ensemble (n_estimators x nodes)")
        if name == "MLPRegressor":
            weights = _mlp_weights(settings.get("hidden_layer_sizes"), dim + 1, outputs)
            terms["params.hidden_layer_sizes"] = (8 * 4 * weights, "the network's weights, gradients and Adam "
                                                                   "moments")
        return terms

    def work_terms(self, n: int, dim: int) -> dict[str, tuple[float, str]]:
        """Cubic kernel solves (times the optimizer's restarts of a GaussianProcessRegressor), tree building
        (N log N per tree and feature), MLPRegressor epochs (6 operations per weight and pair), and max_iter
        passes over the pairs for other iterative regressors."""
        name, settings = self._settings()
        N, features = self._pairs_used(n), dim + 1
        cap = "max_pairs" if self.max_pairs is not None and N == self.max_pairs else "pairs_per_sample"
        terms: dict[str, tuple[float, str]] = {}
        if name in ("KernelRidge", "GaussianProcessRegressor"):
            terms[cap] = (float(N) ** 3, f"solving the N x N kernel system of N = {N} pairs")
        if name == "GaussianProcessRegressor" and settings.get("optimizer") is not None:
            restarts = 1 + _count(settings.get("n_restarts_optimizer"), 0)
            terms["params.n_restarts_optimizer"] = (restarts * 100.0 * float(N) ** 3,
                                                    "about 100 kernel solves per optimizer start")
        log_n = max(1.0, float(np.log2(max(N, 2))))
        trees = _count(settings.get("n_estimators"), 0)
        if trees:
            copies = dim if name in _SINGLE_OUTPUT_ENSEMBLES else 1
            terms["params.n_estimators"] = (trees * copies * N * log_n * log_n * features,
                                            "building n_estimators trees")
        iterations = _count(settings.get("max_iter"), 0)
        if iterations:
            weights = (_mlp_weights(settings.get("hidden_layer_sizes"), features, dim) if name == "MLPRegressor"
                       else features * dim)
            terms["params.max_iter"] = (6.0 * iterations * N * weights, "max_iter passes over the pairs")
        return terms


_SINGLE_OUTPUT_ENSEMBLES = ("GradientBoostingRegressor", "HistGradientBoostingRegressor", "AdaBoostRegressor")
"""Ensembles fitted once per output coordinate (MultiOutputRegressor)."""


def _count(value, default: int) -> int:
    """A positive integer setting, else ``default`` (values scikit-learn would refuse are not sized here)."""
    return int(value) if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value > 0 else default


def _mlp_weights(hidden, inputs: int, outputs: int) -> int:
    """Weights of an MLPRegressor with ``hidden_layer_sizes`` (an int or a sequence of ints; scikit-learn's default
    (100,) for anything else)."""
    if isinstance(hidden, (int, np.integer)):
        layers = [hidden]
    else:
        layers = list(hidden) if isinstance(hidden, (list, tuple)) else [100]
    sizes = [inputs, *(_count(h, 1) for h in layers), outputs]
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
