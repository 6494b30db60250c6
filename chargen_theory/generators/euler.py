"""The multi-step reference: K uniform Euler steps of the velocity itself (no training).

g(s, t, z) runs ceil((t - s) / h) equal Euler steps from s to t with h = T / K (K steps for s = 0, t = T), so a one-step
sample costs K velocity evaluations. With a torch network velocity (``chargen_theory.velocity.mlp``) the loop runs in
torch: the network in its own dtype (``training.DTYPE``), the state in ``dtype`` (float64 by default; "float32" is the
opt-in fast state of flow-matching libraries). Other velocities use ``chargen_theory.solvers.euler`` (float64).
"""
from __future__ import annotations

import math
import sys

import numpy as np

from .. import _validate
from .base import Generator

DTYPES = ("float64", "float32")


class Euler(Generator):
    """K-step Euler of the velocity (the one every distilling method learns from). ``dtype``: the state's float
    type on the torch path ("float64" or "float32"). Fitted: ``velocity_`` (callable), ``h_`` = T / K."""

    name = "euler"
    TIMES = "any"

    def __init__(self, dtype: str = "float64"):
        _validate.choice("dtype", dtype, DTYPES)
        self.dtype = dtype

    def _fit(self, velocity, m, rng) -> None:
        self.velocity_, self.h_ = velocity, self.T_ / self.K_
        self.nfe_per_sample_, self.nfe_fit_, self.train_steps_, self.train_seconds_ = self.K_, 0, 0, 0.0

    def _map(self, z, s, t):
        from .. import solvers

        steps = max(1, math.ceil((t - s) / self.h_ - 1e-9))
        mlp = sys.modules.get("chargen_theory.velocity.mlp")  # loaded if the velocity is one
        if mlp is not None and isinstance(self.velocity_, mlp.MLPVelocity):
            est = self.velocity_
            return _torch_euler(est.network_, est.scale_, z, s + solvers.uniform_grid(steps, t - s), self.dtype,
                                est.threads)
        if s == 0.0:
            return solvers.euler(self.velocity_, z, K=steps, T=t)
        x = z.copy()
        grid = s + solvers.uniform_grid(steps, t - s)
        for a, b in zip(grid[:-1], grid[1:]):
            x = x + (b - a) * self.velocity_(float(a), x)
        if not np.all(np.isfinite(x)):
            raise solvers.DivergenceError(f"Euler state became non-finite between t = {s} and {t}")
        return x


def _torch_euler(net, scale: float, z, grid, dtype: str, threads) -> np.ndarray:
    """Euler of v(t, x) = scale * net([t, x / scale]) in torch; the network in its parameters' dtype, the state in
    ``dtype``."""
    import torch

    from .. import training

    with training.torch_threads(threads), torch.inference_mode():
        x = torch.from_numpy(z).to(getattr(torch, dtype), copy=True)  # z is never written
        net_dtype = next(net.parameters()).dtype
        inputs = torch.empty((x.shape[0], x.shape[1] + 1), dtype=net_dtype)  # [t, x / scale], reused
        for a, b in zip(grid[:-1].tolist(), grid[1:].tolist()):
            inputs[:, 0] = a
            inputs[:, 1:].copy_(x).div_(scale)
            x.add_(net(inputs), alpha=(b - a) * scale)
        out = x.double().numpy()
    if not np.all(np.isfinite(out)):
        from ..solvers import DivergenceError

        raise DivergenceError(f"Euler state became non-finite between t = {grid[0]} and {grid[-1]}")
    return out
