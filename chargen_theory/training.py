"""The one torch training stack: seeding, thread capping, the MLP family, Adam with a cosine schedule and early
stopping. Used by the network velocity (``velocity.mlp``) and the characteristic generator.

Everything random comes from a numpy Generator (``torch_generator``): the global torch RNG is neither used nor
advanced, so equal seeds give equal networks whatever else ran before. Networks train in float64 (``DTYPE``) on the
CPU: a trained network is then the same, to ``REPRODUCIBLE_RTOL``, on any x86 CPU and thread count (float32 training
amplifies the last-bit differences between CPU kernels: 1% in the predictions after 1000 steps, up to 22% in the
errors of a full run). Measured on a 2-core machine for an mlp velocity on 1000 samples: float64 training takes about
1.8 times the CPU time of float32; after 1000 Adam steps the predictions under AVX-512, AVX2 or scalar ATen kernels,
AVX2 or SSE4.2 MKL kernels, MKL_CBWR=COMPATIBLE and 1 or 2 threads agree to 4e-16 (float32: 8e-3), and after a full
run (8000 steps) 1 thread with AVX-512 and 2 threads with scalar ATen kernels agree to 5e-16.
"""
from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

ACTIVATIONS = ("relu", "silu")
ANNEALING = ("step", "epoch")
DTYPE = "float64"  # parameters, inputs and losses of every network
REPRODUCIBLE_RTOL = 1e-8
"""Stated tolerance: a network's outputs for one seed on two x86 CPUs or thread counts differ by at most this much,
relative to their largest magnitude (tests/test_reproducibility.py)."""


def torch_dtype():
    """The torch dtype of every network (``DTYPE``)."""
    import torch

    return getattr(torch, DTYPE)


def as_tensor(a):
    """``a`` (array-like) as a CPU tensor of the networks' dtype (shares memory with a float64 numpy array)."""
    import torch

    return torch.as_tensor(np.asarray(a), dtype=torch_dtype())


@contextlib.contextmanager
def torch_threads(threads: int | None, deterministic: bool = False):
    """Run the block with ``threads`` torch intra-op threads (None: unchanged) and, if ``deterministic``, torch's
    deterministic algorithms; restore both after. Settings already in force are not touched, so wrapping every
    predict call costs nothing."""
    import torch

    old_threads, old_deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    set_threads = threads is not None and threads != old_threads
    set_deterministic = deterministic and not old_deterministic
    if set_threads:
        torch.set_num_threads(threads)
    if set_deterministic:
        torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        if set_threads:
            torch.set_num_threads(old_threads)
        if set_deterministic:
            torch.use_deterministic_algorithms(False)


def torch_generator(rng: np.random.Generator):
    """A CPU torch.Generator seeded by one 63-bit draw from ``rng``."""
    import torch

    return torch.Generator().manual_seed(int(rng.integers(2 ** 63 - 1)))


def mlp(n_in: int, n_out: int, width: int, depth: int, activation: str, generator):
    """R^n_in -> R^n_out: ``depth`` hidden Linear + activation layers of ``width``, then Linear; ``DTYPE``.

    Initialised like torch.nn.Linear's default (Kaiming-uniform weights, uniform biases) but from ``generator``
    (a torch.Generator, see ``torch_generator``).
    """
    import torch

    act = {"relu": torch.nn.ReLU, "silu": torch.nn.SiLU}[activation]
    sizes = [n_in] + [width] * depth + [n_out]
    layers: list = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        layer = torch.nn.utils.skip_init(torch.nn.Linear, fan_in, fan_out, dtype=torch_dtype())
        torch.nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5.0), generator=generator)
        bound = 1.0 / math.sqrt(fan_in)
        torch.nn.init.uniform_(layer.bias, -bound, bound, generator=generator)
        layers += [layer, act()]
    return torch.nn.Sequential(*layers[:-1])


@dataclass
class TrainLog:
    """What ``train`` did: ``epochs`` run, ``best_epoch``, ``best_loss`` (held-out, restored), ``seconds`` (wall time
    of the loop), ``steps`` (optimizer steps) and ``history`` (per-epoch mean "train" and "val" losses)."""

    epochs: int = 0
    best_epoch: int = 0
    best_loss: float = math.inf
    seconds: float = 0.0
    steps: int = 0
    history: dict = field(default_factory=lambda: {"train": [], "val": []})


def train(net, *, epochs: int, steps_per_epoch: int, lr: float, batch_losses: Callable[[int], Iterable],
          validation_loss: Callable[[], object], patience: int, anneal: str = "step", final_lr_ratio: float = 0.0,
          label: str = "training", hint: str = "") -> TrainLog:
    """Adam (fused: one kernel per step for all parameters, about 20% faster for these small CPU networks) with a
    cosine-annealed learning rate from ``lr`` to ``final_lr_ratio * lr``, over all steps (``anneal="step"``) or
    per epoch ("epoch"); early stopping after ``patience`` epochs without a lower held-out loss; the weights of the
    best held-out epoch are restored.

    batch_losses(epoch) yields ``steps_per_epoch`` scalar loss tensors (each builds its batch); validation_loss()
    returns the held-out loss (evaluated under no_grad). A non-finite training loss (checked once an epoch: a
    per-step check costs a sync a step) or held-out loss raises FloatingPointError naming ``label`` and ``hint``.
    """
    import torch

    optimizer = torch.optim.Adam(net.parameters(), lr=float(lr), fused=True)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=epochs * steps_per_epoch if anneal == "step" else epochs, eta_min=float(lr) * final_lr_ratio)
    log, best_state = TrainLog(), None
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        net.train()
        running = torch.zeros((), dtype=torch_dtype())
        for loss in batch_losses(epoch):
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if anneal == "step":
                schedule.step()
            running += loss.detach()
            log.steps += 1
        if anneal == "epoch":
            schedule.step()
        train_loss = running.item() / steps_per_epoch
        if not math.isfinite(train_loss):
            raise FloatingPointError(f"{label}: training loss is {train_loss} in epoch {epoch} (diverged); {hint}")
        net.eval()
        with torch.no_grad():
            val = float(validation_loss())
        if not math.isfinite(val):
            raise FloatingPointError(f"{label}: held-out loss is {val} after epoch {epoch} (diverged); {hint}")
        log.history["train"].append(train_loss)
        log.history["val"].append(val)
        log.epochs = epoch
        if val < log.best_loss:
            log.best_loss, log.best_epoch = val, epoch
            best_state = {name: p.detach().clone() for name, p in net.state_dict().items()}
        elif epoch - log.best_epoch >= patience:
            break
    log.seconds = time.perf_counter() - start
    net.load_state_dict(best_state)
    net.eval()
    return log
