"""ReLU-network velocity: least squares on the flow-matching loss |net(t, X_t) - (alpha'(t) X0 + beta'(t) X1)|^2.

Training (chargen_theory.training) is torch float64 (``training.DTYPE``) on the CPU with ``threads`` threads (default 1;
torch's setting is restored after fit and predict), Adam with a learning rate cosine-annealed to 0 over all steps, fresh
(t, X0) for every sample in every epoch, t uniform on [0, t_max] (t_max < 1 keeps the follmer path's alpha' -> -inf out
of the loss), and early stopping on a held-out split of the samples with fixed (t, X0) draws: the weights of the best
held-out epoch are kept. Everything random comes from the ``rng`` passed to fit, so equal seeds give equal networks.
Predictions are float64 arrays.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .. import _validate, training
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
    Fitted attributes: ``network_`` (torch module, ``training.DTYPE``), ``scale_``, ``width_``, ``epochs_`` (epochs
    run), ``best_epoch_``, ``validation_loss_`` (best held-out flow-matching loss, scaled units),
    ``train_seconds_`` (wall-clock seconds of the training loop), ``samples_per_second_`` (training pairs per
    second). Raises FloatingPointError if the training loss becomes NaN or infinite (a diverged run).
    """

    name = "mlp"
    claim_classes = {"relu_network": {}}

    def __init__(self, width: int | str = "auto", depth: int = 3, epochs: int | str = "auto", batch_size: int = 256,
                 lr: float = 1e-3, validation_fraction: float = 0.1, patience: int | str = "auto",
                 t_max: float = 0.999, threads: int | None = 1):
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

    # -- size -----------------------------------------------------------------------------------------------------
    def _sizes(self, n: int, dim: int) -> tuple[int, int, int]:
        """(weights, epochs, training samples) of a fit on n samples in ``dim`` dimensions."""
        n_train = max(1, n - max(1, round(float(self.validation_fraction) * n)))
        width = auto_width(n) if self.width == "auto" else int(self.width)
        weights = (dim + 1) * width + (int(self.depth) - 1) * width * width + width * dim
        return weights, auto_epochs(n_train) if self.epochs == "auto" else int(self.epochs), n_train

    def memory_terms(self, n: int, dim: int) -> dict[str, tuple[int, str]]:
        """float32 weights with their gradients and Adam moments; a batch's activations."""
        weights = self._sizes(n, dim)[0]
        width = auto_width(n) if self.width == "auto" else int(self.width)
        return {"width": (4 * 4 * weights, "the network's weights, gradients and Adam moments (width^2 x depth)"),
                "batch_size": (4 * 3 * int(self.batch_size) * width * int(self.depth),
                               "one batch's activations (batch_size x width x depth)")}

    def work_terms(self, n: int, dim: int) -> dict[str, tuple[float, str]]:
        """About 6 operations per weight per training pair (forward and backward), epochs x training samples."""
        weights, epochs, n_train = self._sizes(n, dim)
        return {"epochs": (6.0 * weights * epochs * (n_train + VALIDATION_PAIRS),
                           "epochs x training samples through the network")}

    # -- helpers ------------------------------------------------------------------------------------------------
    def _pairs(self, y: np.ndarray, rng: np.random.Generator, path) -> tuple[torch.Tensor, torch.Tensor]:
        """Network inputs (t, X_t / scale) and targets (alpha' X0 + beta' X1) / scale for samples y (scaled)."""
        t = rng.uniform(0.0, float(self.t_max), size=y.shape[0])
        x0 = rng.standard_normal(y.shape) / self.scale_
        inputs = np.hstack([t[:, None], path.sample(t, x0, y)])
        responses = path.conditional_velocity(t, x0, y)
        return training.as_tensor(inputs), training.as_tensor(responses)

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
        generator = training.torch_generator(rng)
        steps_per_epoch = math.ceil(train.shape[0] / self.batch_size)

        def batch_losses(epoch):
            inputs, targets = self._pairs(train, rng, path)
            perm = torch.from_numpy(rng.permutation(train.shape[0]))
            for step in range(steps_per_epoch):
                batch = perm[step * self.batch_size:(step + 1) * self.batch_size]
                yield (net(inputs[batch]) - targets[batch]).square().sum(dim=1).mean()

        with training.torch_threads(self.threads, deterministic=True):
            net = training.mlp(dim + 1, dim, self.width_, int(self.depth), "relu", generator)
            log = training.train(
                net, epochs=epochs, steps_per_epoch=steps_per_epoch, lr=self.lr, batch_losses=batch_losses,
                validation_loss=lambda: (net(val_inputs) - val_targets).square().sum(dim=1).mean(),
                patience=patience, label="mlp", hint=f"try a smaller lr (now {self.lr}) or t_max (now {self.t_max})")
        self.network_ = net
        self.epochs_, self.best_epoch_, self.validation_loss_ = log.epochs, log.best_epoch, log.best_loss
        self.train_seconds_ = log.seconds
        self.samples_per_second_ = log.epochs * train.shape[0] / log.seconds

    def _predict(self, t: np.ndarray, x: np.ndarray) -> np.ndarray:
        inputs = training.as_tensor(np.hstack([t[:, None], x / self.scale_]))
        with training.torch_threads(self.threads), torch.inference_mode():
            out = torch.cat([self.network_(chunk) for chunk in torch.split(inputs, PREDICT_CHUNK)])
        return out.numpy().astype(np.float64) * self.scale_
