"""Public contract checks for user extensions (like scikit-learn's ``check_estimator``).

``check_velocity_estimator`` runs an estimator through the velocity-estimator contract of
``chargen_theory.velocity`` and raises AssertionError naming the first rule it breaks.
"""
from __future__ import annotations

import numpy as np

from . import paths as ct_paths
from . import velocity as _velocity
from .velocity.base import VelocityEstimator


def _fail(name: str, rule: str) -> None:
    raise AssertionError(f"check_velocity_estimator({name}): {rule}")


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


def check_velocity_estimator(estimator_or_name, params: dict | None = None, *, x1=None, path: str = "linear",
                             T: float | None = None, seed: int = 0, n_queries: int = 40) -> None:
    """Check that a velocity estimator follows the contract; raise AssertionError naming the broken rule.

    Parameters
    ----------
    estimator_or_name : an unfitted VelocityEstimator, or a registered name (built with ``params``).
    params : hyperparameters for a name (small ones keep the check fast); ignored for an instance.
    x1 : (n, D) training samples; default 64 draws of N(0, I_2) from ``seed``. Must match the estimator's
        dimension (the oracle's target).
    path : path name used for fitting.
    T : predictions are checked on t in [0, T]; default 1, or 0.999 on paths whose velocity at t = 1 needs the
        score (``singular_at_one``: follmer), where estimators may reject t = 1 as ``Target.velocity`` does.
    seed : seeds every Generator the check creates.
    n_queries : number of query points.

    Rules checked: hyperparameters in ``get_params`` equal the constructor arguments and stay unchanged (no work
    in ``__init__``: no fitted attributes before fit); ``predict`` before ``fit`` raises a ValueError or
    RuntimeError that says "fit"; ``fit`` returns self and sets fitted attributes ending in "_"; ``predict`` gives
    (m, D) float64, finite for t in [0, T], and does not modify its inputs; scalar t equals the same t broadcast;
    ``est(t, x)`` equals ``est.predict(t, x)``; two clones rebuilt from ``get_params`` (no pickling) and fitted
    with equal seeds predict the same; ``fit`` rejects x1 with the wrong number of dimensions or a NaN, and
    ``predict`` rejects x with the wrong width, with ValueError.
    """
    if isinstance(estimator_or_name, str):
        est = _velocity.get(estimator_or_name, **(params or {}))
        name = estimator_or_name
    else:
        est = estimator_or_name
        name = type(est).__name__
        params = est.get_params() if isinstance(est, VelocityEstimator) else None
    if not isinstance(est, VelocityEstimator):
        _fail(name, f"must be a chargen_theory.velocity.VelocityEstimator, got {type(est).__name__}")
    if T is None:
        T = 0.999 if ct_paths.get(path).singular_at_one else 1.0
    rng = np.random.default_rng(seed)
    x1 = rng.standard_normal((64, 2)) if x1 is None else np.asarray(x1, dtype=np.float64)
    n, dim = x1.shape

    # -- no work in __init__ ----------------------------------------------------------------------------------
    given = est.get_params()
    if params is not None and not _same_params(given, {**given, **params}):
        _fail(name, f"get_params() {given} does not return the constructor arguments {params}")
    if _fitted_attributes(est):
        _fail(name, f"__init__ must not set fitted attributes (ending in '_'), found {_fitted_attributes(est)}")
    clone = type(est)(**given)
    if not _same_params(clone.get_params(), given):
        _fail(name, "type(est)(**est.get_params()) must rebuild an estimator with the same hyperparameters")

    # -- predict before fit -----------------------------------------------------------------------------------
    x = rng.standard_normal((n_queries, dim))
    try:
        est.predict(0.5, x)
    except (ValueError, RuntimeError) as err:
        if "fit" not in str(err):
            _fail(name, f"the error of predict before fit must say 'call fit first', got {err!r}")
    except Exception as err:  # noqa: BLE001 - any other type breaks the rule
        _fail(name, f"predict before fit must raise a ValueError or RuntimeError, raised {err!r}")
    else:
        _fail(name, "predict before fit must raise an error saying 'call fit first'")

    # -- fit ----------------------------------------------------------------------------------------------------
    x1_copy = x1.copy()
    returned = est.fit(x1, path, rng=np.random.default_rng(seed + 1))
    if returned is not est:
        _fail(name, "fit must return self")
    if not np.array_equal(x1, x1_copy):
        _fail(name, "fit must not modify x1")
    if not _same_params(est.get_params(), given):
        _fail(name, f"fit must not change the hyperparameters: {given} became {est.get_params()}")
    if not _fitted_attributes(est):
        _fail(name, "fit must set fitted attributes ending in '_'")

    # -- predict ------------------------------------------------------------------------------------------------
    t = np.linspace(0.0, T, n_queries)
    t_copy, x_copy = t.copy(), x.copy()
    v = est.predict(t, x)
    if not (isinstance(v, np.ndarray) and v.shape == (n_queries, dim) and v.dtype == np.float64):
        _fail(name, f"predict must return a float64 array of shape {(n_queries, dim)}, got "
                    f"{type(v).__name__} {getattr(v, 'shape', None)} {getattr(v, 'dtype', None)}")
    if not np.array_equal(t, t_copy) or not np.array_equal(x, x_copy):
        _fail(name, "predict must not modify t or x")
    if not np.all(np.isfinite(v)):
        _fail(name, f"predict must be finite for t in [0, {T}]; first bad t = {t[~np.isfinite(v).all(axis=1)][0]}")
    for t_scalar in (0.0, 0.5 * T, T):
        if not np.allclose(est.predict(t_scalar, x), est.predict(np.full(n_queries, t_scalar), x),
                           rtol=1e-12, atol=1e-12):
            _fail(name, f"predict(t={t_scalar}, x) must equal predict(t broadcast to shape ({n_queries},), x)")
    if not np.array_equal(est(t, x), v):
        _fail(name, "est(t, x) must equal est.predict(t, x)")

    # -- determinism, pickle-free clones ----------------------------------------------------------------------
    refits = [type(est)(**given).fit(x1, path, rng=np.random.default_rng(seed + 1)).predict(t, x) for _ in range(2)]
    if not (np.array_equal(refits[0], refits[1]) and np.array_equal(refits[0], v)):
        _fail(name, "fits with equal rng seeds must give equal predictions")

    # -- bad input ----------------------------------------------------------------------------------------------
    with_nan = x1.copy()
    with_nan[0, 0] = np.nan
    for bad, what in ((x1[:, 0], "x1 with ndim 1"), (x1[None], "x1 with ndim 3"), (with_nan, "x1 with a NaN")):
        try:
            type(est)(**given).fit(bad, path, rng=np.random.default_rng(seed))
        except ValueError:
            pass
        else:
            _fail(name, f"fit must raise ValueError for {what}")
    try:
        est.predict(0.5, np.zeros((3, dim + 1)))
    except ValueError:
        pass
    else:
        _fail(name, f"predict must raise ValueError for x of shape (3, {dim + 1}) (fitted on D = {dim})")
