"""The velocity-estimator contract (scikit-learn style).

An estimator stores its hyperparameters in ``__init__`` (one attribute per argument, same name, nothing computed),
learns in ``fit(x1, path, rng)`` and sets fitted attributes whose names end in ``_``; ``predict(t, x)`` (or calling
the estimator) returns the estimated velocity v_hat(t, x). Subclasses implement ``_fit`` and ``_predict`` on
validated float64 arrays; ``chargen_theory.testing.check_velocity_estimator`` checks the contract.
"""
from __future__ import annotations

import inspect

import numpy as np

from .. import _validate
from ..paths import Interpolant, get as get_path


class NotFittedError(RuntimeError):
    """``predict`` was called before ``fit``."""


def require_rng(estimator: str, rng) -> np.random.Generator:
    """``rng`` if it is a numpy Generator; else a ValueError saying that ``estimator`` draws random numbers."""
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng: {estimator} draws random numbers; pass a numpy.random.Generator "
                         f"(e.g. numpy.random.default_rng(seed)), got {type(rng).__name__}")
    return rng


DIMENSIONS = ("ambient", "estimated")
"""How a tuning rule gets its dimension d: the ambient D of the samples, an estimate of the intrinsic dimension from
the samples (``estimated_dimension``), or an integer given by the user (configs may write "intrinsic": the target's
true d*, filled in by chargen_theory.experiments.build)."""
ESTIMATION_POINTS = 2000  # samples (a deterministic subset if more) given to the intrinsic-dimension estimator


def check_dimension(dim) -> None:
    """A tuning rule's ``dim``: "ambient", "estimated" or an integer >= 1 (ValueError naming ``dim`` otherwise)."""
    if isinstance(dim, str) and dim not in DIMENSIONS:
        raise ValueError(f"dim: unknown value {dim!r}; allowed: {', '.join(DIMENSIONS)}, or an integer >= 1 (in a "
                         f"config also 'intrinsic', the target's d*)")
    rule_or_value("dim", dim, DIMENSIONS, _validate.positive_int)


def rule_dimension(dim, x1: np.ndarray) -> float:
    """The dimension d a tuning rule uses for samples x1 (n, D): D for "ambient", ``estimated_dimension(x1)`` for
    "estimated", else the integer given."""
    if dim == "ambient":
        return float(x1.shape[1])
    if dim == "estimated":
        return estimated_dimension(x1)
    return float(dim)


def estimated_dimension(x1: np.ndarray) -> float:
    """Intrinsic dimension of the samples by TwoNN (Facco, d'Errico, Rodriguez, Laio, Sci. Rep. 7 (2017) 12140;
    scikit-dimension's ``TwoNN``, maximum-likelihood variant) on at most ``ESTIMATION_POINTS`` of them, clipped to
    [1, D]. A float: d* need not be an integer estimate."""
    from skdim.id import TwoNN

    if x1.shape[0] < 3:
        raise ValueError(f"x1: estimating the intrinsic dimension needs n >= 3 samples, got {x1.shape[0]}")
    step = max(1, x1.shape[0] // ESTIMATION_POINTS)
    points = np.unique(x1[::step][:ESTIMATION_POINTS], axis=0)  # TwoNN needs distinct points
    if x1.shape[1] == 1:
        return 1.0
    with np.errstate(divide="ignore"):  # TwoNN also computes its linear-fit diagnostics, with a log(0) at the end
        estimate = float(TwoNN(discard_fraction=0.0, method="mle").fit(points).dimension_)
    return float(np.clip(estimate, 1.0, x1.shape[1]))


def pairs_bytes(n: int, dim: int, pairs_per_sample: int) -> int:
    """Bytes of the regression pairs of ``Interpolant.training_pairs`` (N = n * pairs_per_sample rows of t, X1, X0,
    X_t, response and a temporary, float64)."""
    return 8 * n * pairs_per_sample * (5 * dim + 2)


def rule_or_value(field: str, value, rules: tuple[str, ...], check) -> None:
    """Validate a hyperparameter that is either one of the named ``rules`` or a value accepted by ``check`` (a
    ``chargen_theory._validate`` function); a ValueError names the field and the allowed values."""
    if isinstance(value, str):
        _validate.choice(field, value, rules)
        return
    try:
        check(field, value)
    except ValueError as err:
        raise ValueError(f"{err}; or one of: {', '.join(sorted(rules))}") from None


class VelocityEstimator:
    """Base class of the velocity estimators.

    Fitted attributes set by ``fit`` for every estimator: ``path_`` (the Interpolant), ``dim_`` (D), ``n_samples_`` (n).
    """

    name: str = "estimator"
    claim_classes: dict[str, dict] = {}
    """The estimator classes of the claims' hypotheses (``chargen_theory.claims.ESTIMATOR_CLASSES`` keys) this
    estimator belongs to -> the hyperparameters it must keep at these values to belong (one absent from the
    estimator's params is its default, which counts as kept). Empty: class "any" only."""

    # -- to implement (arguments already validated) ------------------------------------------------------------
    def _fit(self, x1: np.ndarray, path: Interpolant, rng) -> None:
        raise NotImplementedError

    def _predict(self, t: np.ndarray, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    # -- public API --------------------------------------------------------------------------------------------
    def get_params(self) -> dict:
        """The hyperparameters: {argument of __init__: its stored value} (for sweep records and cloning)."""
        return {p: getattr(self, p) for p in inspect.signature(type(self).__init__).parameters if p != "self"}

    # -- size, checked by config validation before any work ------------------------------------------------------
    def memory_terms(self, n: int, dim: int) -> dict[str, tuple[int, str]]:
        """Rough peak memory in bytes of fitting on n samples in ``dim`` dimensions, by the hyperparameter that
        drives each term: {hyperparameter: (bytes, what)}. Default: nothing beyond the samples themselves."""
        return {}

    def work_terms(self, n: int, dim: int) -> dict[str, tuple[float, str]]:
        """Rough floating-point operations of the fit, by hyperparameter: {hyperparameter: (operations, what)}."""
        return {}

    def fit(self, x1, path: str | Interpolant, rng: np.random.Generator | None = None) -> "VelocityEstimator":
        """Learn the velocity of the path from X1 -> target.

        Parameters
        ----------
        x1 : (n, D) float array, samples of the target (finite).
        path : a path name ("linear", "follmer", "trig") or a ``chargen_theory.paths.Interpolant``.
        rng : numpy Generator; required by the estimators that draw random numbers.

        Returns
        -------
        self
        """
        x1 = _validate.finite_array("x1", x1, ndim=2)
        if x1.shape[0] < 1 or x1.shape[1] < 1:
            raise ValueError(f"x1: must have shape (n, D) with n, D >= 1, got {x1.shape}")
        if rng is not None and not isinstance(rng, np.random.Generator):
            raise ValueError(f"rng: must be a numpy.random.Generator or None, got {type(rng).__name__}")
        path = get_path(path)
        self._fit(x1, path, rng)
        self.path_, self.dim_, self.n_samples_ = path, x1.shape[1], x1.shape[0]
        return self

    def predict(self, t, x) -> np.ndarray:
        """The estimated velocity v_hat(t, x): t scalar or shape (m,) in [0, 1], x (m, D) -> (m, D) float64
        (units of x per unit time).

        Never returns NaN or inf: where the estimator's arithmetic overflows (points far outside float32 for the
        torch networks, e.g. x = 1e200; Gaussian-mixture velocities of the oracle at such x), or a model returns
        non-finite values, it raises FloatingPointError naming the rows, the way a diverging solve does (the sweep
        records such a cell as diverged). Real x only: booleans, strings and complex numbers are refused
        (ValueError)."""
        if not hasattr(self, "dim_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet: call fit first")
        x = _validate.points("x", x, self.dim_)
        t = _validate.times("t", t, x.shape[0])
        if x.shape[0] == 0:
            return np.empty((0, self.dim_))
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # reported below, as one error
            v = np.asarray(self._predict(t, x), dtype=np.float64)
        bad = ~np.isfinite(v).all(axis=1)
        if bad.any():
            first = int(np.argmax(bad))
            raise FloatingPointError(
                f"{type(self).__name__}.predict: the velocity is not finite at {int(bad.sum())} of {len(v)} points "
                f"(first: row {first}, t = {t[first]:.6g}, largest |x| = {np.max(np.abs(x[first])):.6g}); the "
                f"estimator's arithmetic overflows there (x far outside the fitted data) or the model is broken")
        return v

    def __call__(self, t, x) -> np.ndarray:
        """Same as ``predict``, so that a fitted estimator is a velocity for ``chargen_theory.solvers``."""
        return self.predict(t, x)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"
