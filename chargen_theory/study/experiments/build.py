"""Build a cell's target and velocity estimator from its parameters (used by the kinds and by config validation)."""
from __future__ import annotations

import numpy as np


def dimension_params(name: str, params: dict, d_star: int | None, D: int | None) -> dict:
    """The constructor arguments of target ``name`` for a grid point that sets the intrinsic dimension ``d_star``
    and / or the ambient dimension ``D`` (None: not set by the grid), as the target's class declares them
    (``Target.grid_params``); a target built by a plain factory has fixed dimensions (config validation checks that
    they match)."""
    from ... import targets

    cls = targets.target_class(name)
    return cls.grid_params(params, d_star, D) if cls is not None else dict(params)


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
