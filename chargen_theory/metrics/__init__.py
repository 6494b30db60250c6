"""Error metrics: W2 distances (``w2``), bounds on W2 with confidence intervals (``bounds``) and, alongside,
velocity errors.

Every function says in its docstring whether it returns W2 or W2^2 (all W2 functions here return W2).
"""
from .w2 import (
    ESTIMATORS,
    OTNotConvergedError,
    coupling_error,
    default_num_itermax,
    estimation_floor,
    sliced_w2,
    w2,
    w2_1d,
    w2_gaussian,
)
from .bounds import (
    Bound,
    SlicedBound,
    bracket,
    bracket_columns,
    coupling_upper,
    gaussian_quantile,
    gelbrich_lower,
    mixture_quantile,
    sliced_lower,
    target_moments,
    target_quantile,
)
from .velocity import VelocityL2, velocity_l2
