"""Euler sampling with the same trained network: ct.solvers.euler and the euler generator vs flow_matching's ODESolver."""
from __future__ import annotations

import functools

import numpy as np
import torch

import _mlp
from _runner import interleaved, need_peer, ratio_row
from chargen_theory import generators, solvers, training

NAME, ORDER = "euler_sample", 20

WHY = ("both run the same forward passes, which take ~90% of ours (cProfile: torch linear 0.253 s of 0.280 s "
       "at 4000 particles, K = 100); the rest is ours keeping the state in float64 (a numpy round trip and a float32 "
       "cast per step, ~6% over a bare torch loop). Torch settings are no longer re-entered per predict, and in-place "
       "ReLU, addmm and a TorchScript-frozen network were tried without a consistent gain, so 1.2x is out of reach "
       "while the network call dominates; a cheaper network call (e.g. compiled) would speed up the peer as much.")


def rows(settings):
    solver_mod = need_peer("flow_matching.solver", "flow_matching")
    wrapper_mod = need_peer("flow_matching.utils", "flow_matching")
    _, est = _mlp.problem(settings)
    K = settings.pick(full=100, quick=20)
    scale = float(est.scale_)

    class Wrapped(wrapper_mod.ModelWrapper):
        """The estimator's network as flow_matching's ModelWrapper: v(t, x) = scale * net([t, x / scale])."""

        def __init__(self, model):
            super().__init__(model)
            self.nfe = 0

        def forward(self, x, t, **extras):
            self.nfe += 1
            return scale * self.model(torch.cat([t.expand(x.shape[0], 1), x / scale], dim=1))

    wrapped = Wrapped(est.network_)
    solver = solver_mod.ODESolver(velocity_model=wrapped)
    out = []
    for n in settings.pick(full=(4000, 256), quick=(2000, 256)):
        z = settings.rng(21).standard_normal((n, 2))
        z32 = training.as_tensor(z)  # the peer runs in the network's dtype
        peer = functools.partial(solver.sample, x_init=z32, step_size=1.0 / K, method="euler",
                                 time_grid=torch.tensor([0.0, 1.0]))
        ours = functools.partial(solvers.euler, est, z, K)
        ours_t, peer_t = interleaved([ours, peer], settings.repeats)
        counted = solvers.counted(est)
        ours_x = solvers.euler(counted, z, K)
        wrapped.nfe = 0
        peer_x = peer().double().numpy()
        note = (f"NFE ours {counted.nfe}, peer {wrapped.nfe}; max |ours - peer| at t=1: "
                f"{np.max(np.abs(ours_x - peer_x)):.1e} (ours keeps the state in float64, the network in "
                f"{training.DTYPE})")
        out.append(ratio_row(NAME, f"Euler, K={K} steps, {n} particles, the trained {_mlp.DEPTH}x{_mlp.WIDTH} MLP "
                             "(time, speed-up)", ours_t, peer_t, "s", ">= 1.2x", "flow_matching ODESolver", note,
                             profile=ours, ratio_of="peer/ours", why=WHY))
        for dtype, goal in (("float32", ">= 1.0x"), ("float64", ">= 0.87x")):  # 0.87 = 1 / 1.15
            gen = generators.get("euler", dtype=dtype).fit(est, "linear", K, 1.0, 2, settings.rng(22))
            ours = functools.partial(gen.map, z)
            ours_t, peer_t = interleaved([ours, peer], settings.repeats)
            note = (f"max |ours - peer| at t=1: {np.max(np.abs(ours() - peer_x)):.1e} ({dtype} state, the network "
                    f"in {training.DTYPE}, the loop in torch)")
            out.append(ratio_row(NAME, f"euler generator ({dtype} state), K={K} steps, {n} particles (time, "
                                 "speed-up)", ours_t, peer_t, "s", goal, "flow_matching ODESolver", note,
                                 profile=ours, ratio_of="peer/ours"))
    return out
