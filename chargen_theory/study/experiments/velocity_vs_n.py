"""``velocity_vs_n``: the velocity-matching error of an estimator fitted on n target samples.

``velocity_l2`` = (int_0^T E_{x ~ p_t} |v_hat(t, x) - v(t, x)|^2 dt)^{1/2} against the exact velocity, by Monte
Carlo on fresh draws (chargen_theory.metrics.velocity_l2), with its relative value and Monte Carlo standard error;
``capped`` names a size cap of the estimator that bound (``experiments.capped``), empty otherwise.
"""
from __future__ import annotations

from ... import paths
from . import REQUIRED, Fit, Kind, build, capped


def run(cell: dict, rng) -> dict:
    """cell: target, target_params, estimator, estimator_params, path, n, T, options.n_eval. ``rule_dim``: the
    dimension d the estimator's tuning rule used (``rule_dim_``; absent for estimators without one)."""
    from ... import metrics

    target, path = build.target(cell), paths.get(cell["path"])
    fit_rng, eval_rng = rng.spawn(2)
    estimator = build.estimator(cell, target).fit(target.sample(cell["n"], fit_rng), path, rng=fit_rng)
    l2 = metrics.velocity_l2(estimator, target, path, T=cell["T"], n_eval=cell["options"]["n_eval"], rng=eval_rng)
    return {"velocity_l2": l2.value, "velocity_l2_rel": l2.relative, "velocity_l2_stderr": l2.stderr,
            "capped": capped(estimator), **rule_dim(estimator)}


def rule_dim(estimator) -> dict:
    """{"rule_dim": d} for a fitted estimator whose tuning rule used the dimension d (its ``rule_dim_``), else {}."""
    d = getattr(estimator, "rule_dim_", None)
    return {} if d is None else {"rule_dim": float(d)}


MEASUREMENTS = ("velocity_l2", "velocity_l2_rel", "velocity_l2_stderr", "capped", "rule_dim")

KIND = Kind(
    name="velocity_vs_n",
    run=run,
    parameters={"target": REQUIRED, "estimator": REQUIRED, "path": "linear", "n": REQUIRED, "T": 1.0,
                "n_eval": 2000},
    measurements=MEASUREMENTS,
    fits=(Fit("velocity_l2", "n", ("chargen_velocity_rate", "velocity_fixed_T_parametric", "kernel_velocity_zyll24",
                                   "kde_velocity_wwy24", "empirical_velocity_1d_dkxz24")),),
    level=("n",),
    nonnegative=True,
    bounds={"velocity_l2": "velocity_l2", "velocity_l2_rel": "velocity_l2"},
    description="velocity-matching L2 error of an estimator vs sample size n (exact velocity as reference)",
)
