"""ReLU-network velocity: least squares on the flow-matching loss |net(t, X_t) - (alpha'(t) X0 + beta'(t) X1)|^2.

Training is torch float32 on the CPU with ``threads`` threads (default 1; torch's setting is restored after fit and
predict), Adam with a cosine-annealed learning rate, fresh (t, X0) for every sample in every epoch, t uniform on
[0, t_max] (t_max < 1 keeps the follmer path's alpha' -> -inf out of the loss), and early stopping on a held-out
split of the samples with fixed (t, X0) draws: the weights of the best held-out epoch are kept. Everything random
comes from the ``rng`` passed to fit (data draws from it directly, the weight initialisation from a
torch.Generator seeded by it), so equal seeds give equal networks. Predictions are float64 arrays.
"""
from __future__ import annotations

import math
import time
from contextlib import contextmanager

import numpy as np
import torch

from .. import _validate
from .base import VelocityEstimator, require_rng, rule_or_value

AUTO = ("auto",)
VALIDATION_PAIRS = 2048  # held-out (sample, t, X0) triples scored after every epoch
PREDICT_CHUNK = 65536  # rows per forward pass in predict


def auto_width(n: int) -> int:
    """Hidden width for n samples: 8 * round(n^(1/3)), clipped to [64, 512] (n = 1000: 80, 10^4: 176)."""
    return int(min(512, max(64, 8 * round(n ** (1.0 / 3.0)))))


def auto_epochs(n_train: int) -> int:
    """Epochs for n_train training samples: ceil(2e6 / n_train) clipped to [20, 4000], i.e. about 2 million
    training pairs (8000 steps of 256) whenever 500 <= n_train <= 10^5."""
    return int(min(4000, max(20, math.ceil(2e6 / n_train))))


def auto_patience(epochs: int) -> int:
    """Epochs without a better held-out loss before stopping: max(10, epochs // 2). Long, because while the
    learning rate is high the held-out loss fluctuates with the SGD noise; it stops runs that overfit."""
    return max(10, epochs // 2)


@contextmanager
def torch_settings(threads: int | None, deterministic: bool = True):
    """Run with ``threads`` torch threads (None: unchanged) and, if ``deterministic``, deterministic algorithms;
    restore both after. Settings already in force are not touched (this wraps every predict call)."""
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


def relu_network(dim: int, width: int, depth: int, generator: torch.Generator) -> torch.nn.Sequential:
    """(t, x) in R^(1+D) -> R^D: ``depth`` hidden Linear + ReLU layers of ``width``, then Linear; float32.

    Initialised like torch.nn.Linear's default (Kaiming-uniform weights, uniform biases) but from ``generator``,
    so the global torch RNG is neither used nor advanced.
    """
    sizes = [dim + 1] + [width] * depth + [dim]
    layers: list[torch.nn.Module] = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        layer = torch.nn.utils.skip_init(torch.nn.Linear, fan_in, fan_out)
        torch.nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5.0), generator=generator)
        bound = 1.0 / math.sqrt(fan_in)
        torch.nn.init.uniform_(layer.bias, -bound, bound, generator=generator)
        layers += [layer, torch.nn.ReLU()]
    return torch.nn.Sequential(*layers[:-1])


class MLPVelocity(VelocityEstimator):
    """Velocity matching with a ReLU MLP on (t, x).

    Parameters
    ----------
    width : hidden width (int) or "auto" (``auto_width(n)``).
    depth : number of hidden layers.
    epochs : maximum epochs (int) or "auto" (``auto_epochs(n_train)``).
    batch_size : samples per Adam step.
    lr : Adam's initial learning rate (cosine-annealed to 0 over ``epochs``).
    validation_fraction : share of the samples held out for early stopping, in (0, 0.5].
    patience : epochs without improvement before stopping (int) or "auto" (``auto_patience(epochs)``).
    t_max : training times are uniform on [0, t_max], t_max in (0, 1].
    threads : torch threads during fit and predict (None: leave torch's setting alone).

    Inputs are divided by ``scale_`` = max(1, RMS of the sample coordinates) and so are the regression targets.
    Fitted attributes: ``network_`` (float32 torch module), ``scale_``, ``width_``, ``epochs_`` (epochs run),
    ``best_epoch_``, ``validation_loss_`` (best held-out flow-matching loss, scaled units),
    ``train_seconds_`` (wall-clock seconds of the training loop), ``samples_per_second_`` (training pairs per
    second). Raises FloatingPointError if the training loss becomes NaN or infinite (a diverged run).
    """

    name = "mlp"

    def __init__(self, width="auto", depth: int = 3, epochs="auto", batch_size: int = 256, lr: float = 1e-3,
                 validation_fraction: float = 0.1, patience="auto", t_max: float = 0.999, threads: int | None = 1):
        rule_or_value("width", width, AUTO, _validate.positive_int)
        _validate.positive_int("depth", depth)
        rule_or_value("epochs", epochs, AUTO, _validate.positive_int)
        _validate.positive_int("batch_size", batch_size)
        _validate.positive_float("lr", lr)
        if not (_validate.positive_float("validation_fraction", validation_fraction) <= 0.5):
            raise ValueError(f"validation_fraction: must be in (0, 0.5], got {validation_fraction!r}")
        rule_or_value("patience", patience, AUTO, _validate.positive_int)
        _validate.end_time("t_max", t_max)
        if threads is not None:
            _validate.positive_int("threads", threads)
        self.width = width
        self.depth = depth
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.t_max = t_max
        self.threads = threads

    # -- helpers ------------------------------------------------------------------------------------------------
    def _pairs(self, y: np.ndarray, rng: np.random.Generator, path) -> tuple[torch.Tensor, torch.Tensor]:
        """Network inputs (t, X_t / scale) and targets (alpha' X0 + beta' X1) / scale for samples y (scaled)."""
        t = rng.uniform(0.0, float(self.t_max), size=y.shape[0])
        x0 = rng.standard_normal(y.shape) / self.scale_
        inputs = np.hstack([t[:, None], path.sample(t, x0, y)])
        responses = path.conditional_velocity(t, x0, y)
        return torch.from_numpy(inputs.astype(np.float32)), torch.from_numpy(responses.astype(np.float32))

    # -- contract -----------------------------------------------------------------------------------------------
    def _fit(self, x1, path, rng) -> None:
        rng = require_rng(self.name, rng)
        n, dim = x1.shape
        n_val = max(1, round(float(self.validation_fraction) * n))
        if n - n_val < 1:
            raise ValueError(f"x1: mlp needs at least 2 samples (one to train, one held out), got {n}")
        self.scale_ = max(1.0, float(np.sqrt(np.mean(x1 * x1))))
        order = rng.permutation(n)
        train, val = x1[order[n_val:]] / self.scale_, x1[order[:n_val]] / self.scale_
        self.width_ = auto_width(n) if self.width == "auto" else int(self.width)
        epochs = auto_epochs(train.shape[0]) if self.epochs == "auto" else int(self.epochs)
        patience = auto_patience(epochs) if self.patience == "auto" else int(self.patience)
        val_inputs, val_targets = self._pairs(np.repeat(val, math.ceil(VALIDATION_PAIRS / n_val), axis=0), rng, path)
        generator = torch.Generator().manual_seed(int(rng.integers(2 ** 63 - 1)))
        with torch_settings(self.threads):
            net = relu_network(dim, self.width_, int(self.depth), generator)
            steps_per_epoch = math.ceil(train.shape[0] / self.batch_size)
            # fused: one kernel per step for all parameters, about 20% faster steps on the CPU for small networks
            optimizer = torch.optim.Adam(net.parameters(), lr=float(self.lr), fused=True)
            schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs * steps_per_epoch)
            best_loss, best_epoch, best_state = math.inf, 0, None
            start = time.perf_counter()
            for epoch in range(1, epochs + 1):
                inputs, targets = self._pairs(train, rng, path)
                perm = torch.from_numpy(rng.permutation(train.shape[0]))
                epoch_loss = torch.zeros(())
                for step in range(steps_per_epoch):
                    batch = perm[step * self.batch_size:(step + 1) * self.batch_size]
                    loss = (net(inputs[batch]) - targets[batch]).square().sum(dim=1).mean()
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                    schedule.step()
                    epoch_loss += loss.detach()
                if not torch.isfinite(epoch_loss):  # checked once an epoch: a per-step check costs a sync a step
                    raise FloatingPointError(
                        f"mlp: training loss is {epoch_loss.item()} in epoch {epoch} (diverged); "
                        f"try a smaller lr (now {self.lr}) or a smaller t_max (now {self.t_max})")
                with torch.no_grad():
                    val_loss = float((net(val_inputs) - val_targets).square().sum(dim=1).mean())
                if not math.isfinite(val_loss):
                    raise FloatingPointError(f"mlp: held-out loss is {val_loss} after epoch {epoch} (diverged); "
                                             f"try a smaller lr (now {self.lr})")
                if val_loss < best_loss:
                    best_loss, best_epoch = val_loss, epoch
                    best_state = {k: v.clone() for k, v in net.state_dict().items()}
                elif epoch - best_epoch >= patience:
                    break
            self.train_seconds_ = time.perf_counter() - start
            net.load_state_dict(best_state)
        self.network_ = net.eval()
        self.epochs_, self.best_epoch_, self.validation_loss_ = epoch, best_epoch, best_loss
        self.samples_per_second_ = epoch * train.shape[0] / self.train_seconds_

    def _predict(self, t: np.ndarray, x: np.ndarray) -> np.ndarray:
        inputs = torch.from_numpy(np.hstack([t[:, None], x / self.scale_]).astype(np.float32))
        with torch_settings(self.threads, deterministic=False), torch.inference_mode():
            out = torch.cat([self.network_(chunk) for chunk in torch.split(inputs, PREDICT_CHUNK)])
        return out.numpy().astype(np.float64) * self.scale_
