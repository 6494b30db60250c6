"""``intrinsic_dim``: velocity_vs_n over targets of intrinsic dimension d* embedded in R^D (sphere, subspace).

The same measurement as ``velocity_vs_n``; the grid sets ``d_star`` and ``D`` of the target, and the fit of
velocity_l2 vs n per (d*, D) is compared with the ambient-dimension claim (d = D) and the manifold claim (d = d*).
"""
from __future__ import annotations

from . import REQUIRED, Fit, Kind
from .velocity_vs_n import MEASUREMENTS, run

KIND = Kind(
    name="intrinsic_dim",
    run=run,
    parameters={"target": REQUIRED, "estimator": REQUIRED, "path": "linear", "n": REQUIRED, "T": 0.9,
                "d_star": None, "D": None, "n_eval": 2000},
    measurements=MEASUREMENTS,
    fits=(Fit("velocity_l2", "n", ("chargen_velocity_rate", "chargen_manifold_rate",
                                   "velocity_fixed_T_parametric", "kernel_velocity_zyll24", "kde_velocity_wwy24")),),
    level=("n",),
    nonnegative=True,
    dimension_figure=True,
    bounds={"velocity_l2": "velocity_l2", "velocity_l2_rel": "velocity_l2"},
    description="velocity L2 error vs n for targets of intrinsic dimension d_star in ambient dimension D",
)
