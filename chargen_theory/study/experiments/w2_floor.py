"""``w2_floor``: the empirical W2 estimator's own error, W2 between two independent n-samples of the target.

Exact OT (method "emd"; the exact sorted-sample formula "w2_1d" in 1-D). This is the estimation floor below which
no empirical W2 at sample size n resolves anything (docs/theory.md section 3), and its decay in n is compared with the
empirical-measure rates of Fournier & Guillin (and the sharp rates for laws with a density).
"""
from __future__ import annotations

from . import REQUIRED, Fit, Kind, build

CLAIMS = ("empirical_w2_1d", "empirical_w2_1d_gaussian", "empirical_w2_2d", "empirical_w2_2d_uniform",
          "empirical_w2_2d_gaussian", "empirical_w2_3d", "empirical_w2_4d", "empirical_w2_highd",
          "empirical_w2_sharp_3d_up")


def run(cell: dict, rng) -> dict:
    """cell: target, target_params, n (and d_star / D from the grid). Returns w2 (W2, not squared) and w2_method."""
    from ... import metrics

    target = build.target(cell)
    x, y = target.sample(cell["n"], rng), target.sample(cell["n"], rng)
    return {"w2": metrics.w2(x, y), "w2_method": "w2_1d" if target.dim == 1 else "emd"}


def memory(cell: dict) -> dict:
    """The n x n cost matrix and plan of the exact W2 (D > 1; the 1-D formula sorts)."""
    return {"n": (8 * 3 * cell["n"] ** 2 if cell["D"] > 1 else 0, "the n x n cost matrix and plan of the exact W2")}


KIND = Kind(
    name="w2_floor",
    run=run,
    parameters={"target": REQUIRED, "n": REQUIRED, "d_star": None, "D": None},
    measurements=("w2", "w2_method"),
    fits=(Fit("w2", "n", CLAIMS),),
    level=("n",),
    memory=memory,
    nonnegative=True,
    bounds={"w2": "empirical_w2"},
    description="W2 between two independent n-samples of the target (the empirical estimator's floor) vs n",
)
