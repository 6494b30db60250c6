"""Build a cell's target and velocity estimator from its parameters (used by the kinds and by config validation)."""
from __future__ import annotations

import numpy as np


def dimension_params(name: str, params: dict, d_star: int | None, D: int | None) -> dict:
    """The target constructor arguments for a grid point that sets the intrinsic dimension ``d_star`` and/or the
    ambient dimension ``D`` (None: not set by the grid).

    sphere, spheres: ``intrinsic_dim = d_star``, ``dim = D``. subspace: ``dim = D``, and the base family in ``d_star``
    dimensions. gaussian / box: a standard member in ``D`` dimensions (N(0, I); the box [-1, 1]^D) unless the config
    gives the arrays. Other targets have fixed dimensions (config validation checks they match).
    """
    params = dict(params)
    if name in ("sphere", "spheres"):
        _set_dims(params, {"intrinsic_dim": d_star, "dim": D})
    elif name == "subspace":
        _set_dims(params, {"dim": D})
        if d_star is not None and isinstance(params.get("base"), str):
            params["base_params"] = {**_standard(params["base"], d_star), **params.get("base_params", {})}
    elif D is not None:
        params = {**_standard(name, D), **params}
    return params


def _set_dims(params: dict, dims: dict) -> None:
    """Set the target arguments ``dims`` (None: not set by the grid) in ``params``; ValueError naming an argument
    the target table gives with another value (a grid value never silently replaces the table's)."""
    grid = {"intrinsic_dim": "d_star", "dim": "D"}
    for key, value in dims.items():
        if value is None:
            continue
        if key in params and params[key] != value:
            raise ValueError(f"{key}: the target table gives {params[key]!r} but the grid sets {grid[key]} = {value}; "
                             f"give it in one place")
        params[key] = value


def _standard(name: str, dim: int) -> dict:
    if name == "gaussian":
        return {"mean": [0.0] * dim, "cov": np.eye(dim).tolist()}
    if name == "box":
        return {"low": [-1.0] * dim, "high": [1.0] * dim}
    return {}


def target(cell: dict):
    """The cell's target: ``ct.targets.get(cell["target"], **cell["target_params"])``."""
    from ... import targets

    return targets.get(cell["target"], **cell["target_params"])


def estimator(cell: dict, tgt):
    """The cell's (unfitted) velocity estimator: ``ct.velocity.for_target(cell["estimator"], tgt,
    **cell["estimator_params"])``."""
    from ... import velocity

    return velocity.for_target(cell["estimator"], tgt, **cell["estimator_params"])


def check_end_time(cell: dict, tgt) -> None:
    """ValueError unless the exact flow to T is available: T = 1 on a path whose velocity at t = 1 needs the data
    law's score (follmer) is allowed only for targets with a closed-form flow map."""
    from ... import paths

    path = paths.get(cell["path"])
    try:
        path.check_velocity_times(np.array([cell["T"]]))
    except ValueError:
        try:
            tgt.flow_map(np.zeros((1, tgt.dim)), cell["T"], path)
        except NotImplementedError:
            raise ValueError(f"T: must be < 1 on the {path.name} path for target {cell['target']!r} (its flow to "
                             f"t = 1 needs the score of the data law), got {cell['T']}") from None
