"""Velocity estimators behind one scikit-learn-style contract, and their registry.

``est = get(name, **hyperparameters)``; ``est.fit(x1, path, rng=rng)`` returns est; ``est.predict(t, x)`` (or
``est(t, x)``, so that it can be handed to ``chargen_theory.solvers.euler``) returns v_hat(t, x), (m, D) float64.
Built in: "oracle" (exact, a control), "empirical" (exact velocity of the empirical measure: memorises the
samples), "kde", "nadaraya_watson", "knn", "mlp", "sklearn" (any scikit-learn regressor, by class name; or wrap an
instance with ``from_sklearn``). Estimator modules are imported on first use, so listing names does not load
torch or scikit-learn. A built-in estimator is one module here plus its one line in ``ESTIMATORS``
(``"name": "module:Class"``); a user's is ``register(name, cls)``.
"""
from __future__ import annotations

from ..registry import Registry, subclass_of
from .base import NotFittedError, VelocityEstimator

ESTIMATORS = Registry(
    "velocity estimator", subclass_of(VelocityEstimator, "chargen_theory.velocity.VelocityEstimator"),
    package=__name__, builtin={
        "oracle": "oracle:OracleVelocity",
        "empirical": "empirical:EmpiricalVelocity",
        "kde": "kde:KDEVelocity",
        "nadaraya_watson": "nadaraya_watson:NadarayaWatsonVelocity",
        "knn": "knn:KNNVelocity",
        "mlp": "mlp:MLPVelocity",
        "sklearn": "sklearn:SklearnVelocity",
    })


def register(name: str, cls: type) -> None:
    """Add a user's estimator class under a new ``name``.

    How to add an estimator (one file plus this one call):

    1. Subclass ``chargen_theory.velocity.VelocityEstimator``. In ``__init__`` store every argument, unchanged,
       as an attribute of the same name (validate if you like, but compute nothing): ``get_params`` reads them
       back from the signature.
    2. Implement ``_fit(self, x1, path, rng)``: x1 is a validated (n, D) float64 array, path a
       ``chargen_theory.paths.Interpolant``, rng a numpy Generator or None (call ``base.require_rng`` if you draw random
       numbers). Store what you learn in attributes ending in ``_``.
    3. Implement ``_predict(self, t, x)``: t (m,) and x (m, D) are validated float64 arrays, ``self.path_`` and
       ``self.dim_`` are set; return v_hat(t, x) as (m, D).
    4. ``register("mine", MyEstimator)`` and check it with
       ``chargen_theory.testing.check_velocity_estimator("mine", params)``.
    5. To sweep it in parallel, make that file a plugin: ``chargen-theory run my.toml --plugin my_module``
       (``chargen_theory.plugins``), so that every worker imports it.

    Raises ValueError if ``name`` is taken or ``cls`` is not a VelocityEstimator subclass.
    """
    ESTIMATORS.add(name, cls)


names = ESTIMATORS.names  # the registered names, sorted
estimator_class = ESTIMATORS.get  # the class registered as a name
get = ESTIMATORS.create  # a new, unfitted estimator: get(name, **hyperparameters)


def for_target(name: str, target, /, **hyperparameters) -> VelocityEstimator:
    """The one builder of an estimator for a target (every experiment kind and the error ledger use it):
    ``get(name, **hyperparameters)`` where the oracle receives ``target`` itself and a tuning rule written with
    ``dim = "intrinsic"`` receives the target's intrinsic dimension d* (an integer); "ambient", "estimated" and
    integers pass through unchanged."""
    if name == "oracle":
        if "target" in hyperparameters:
            raise ValueError("target: not an option of the oracle in a config: it is the cell's target (set the "
                             "experiment's 'target' instead)")
        hyperparameters["target"] = target
    if hyperparameters.get("dim") == "intrinsic":
        hyperparameters["dim"] = int(target.intrinsic_dim)
    return get(name, **hyperparameters)


def from_sklearn(estimator, **hyperparameters) -> VelocityEstimator:
    """The "sklearn" velocity estimator around an unfitted scikit-learn regressor instance (cloned at fit, never
    modified): ``get("sklearn", regressor=estimator, **hyperparameters)``."""
    if "regressor" in hyperparameters:
        raise ValueError("regressor: given twice; from_sklearn takes the regressor as its first argument")
    return get("sklearn", regressor=estimator, **hyperparameters)


__all__ = ["ESTIMATORS", "NotFittedError", "VelocityEstimator", "estimator_class", "for_target", "from_sklearn", "get",
           "names", "register"]
