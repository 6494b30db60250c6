"""``euler_vs_h``: the Euler discretisation error of the exact (oracle) velocity as a function of h = T/K.

m prior draws z (the same for every K of a cell family: common random numbers) are pushed by K Euler steps of the
exact velocity and compared with the exact flow map X_T(z) (closed form, else a tight reference ODE solve):
``euler_error`` = (mean |x_K(z) - X_T(z)|^2)^{1/2}, the coupling bound on W2 (method "coupling"). For Gaussian
targets also ``euler_w2``: the exact W2 (Bures) between the law of the Euler output N(c, M M^T) and the law of X_T.
"""
from __future__ import annotations

from ... import paths
from . import REQUIRED, Fit, Kind, build


def run(cell: dict, rng) -> dict:
    """cell: target, target_params, path, m, K, h, T. Returns euler_error (W2 coupling bound) [+ euler_w2 (Bures)]."""
    from ... import metrics, solvers
    from ...error_ledger import exact_flow
    from ...targets.gaussian import Gaussian

    target, path = build.target(cell), paths.get(cell["path"])
    K, T = cell["K"], cell["T"]
    z = rng.standard_normal((cell["m"], target.dim))
    flow, _ = exact_flow(target, path, z, T)
    x = solvers.euler(lambda t, y: target.velocity(t, y, path), z, K=K, T=T)
    record = {"euler_error": metrics.coupling_error(x, flow), "euler_error_method": "coupling"}
    if isinstance(target, Gaussian):
        euler_map = solvers.gaussian_euler_map(target.mean, target.cov, path, K=K, T=T)
        mean_T, cov_T = target.marginal(T, path)
        record["euler_w2"] = metrics.w2_gaussian(euler_map.offset, euler_map.covariance, mean_T, cov_T)
        record["euler_w2_method"] = "bures"
    return record


def validate(cell: dict) -> None:
    """Before any work: the exact flow to T must be available (``build.check_end_time``)."""
    build.check_end_time(cell, build.target(cell))


KIND = Kind(
    name="euler_vs_h",
    run=run,
    parameters={"target": REQUIRED, "path": "linear", "K": REQUIRED, "T": 1.0, "m": 1000},
    measurements=("euler_error", "euler_error_method", "euler_w2", "euler_w2_method"),
    fits=(Fit("euler_error", "h", ("euler_first_order", "euler_w2_flow_matching_2026")),
          Fit("euler_w2", "h", ("euler_first_order", "euler_w2_flow_matching_2026"))),
    level=("K",),
    validate=validate,
    nonnegative=True,
    bounds={"euler_error": "euler", "euler_w2": "euler"},
    description="Euler error of the exact velocity vs step h = T/K (coupling bound; Bures W2 for Gaussians)",
)
