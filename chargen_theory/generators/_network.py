"""What the network distillers share: the teacher data, the map parameterisation, the budgeted training loop.

The network is the characteristic generator's: an MLP u(s, t, x) on (s, t, standardised x) (``training.mlp``) and
the map ``x + (t - s) u(s, t, x)`` (identity at s = t). Training is ``training.train`` (Adam, learning rate
cosine-annealed to lr / 100 over ``max_steps`` optimizer steps, early stopping on a held-out objective checked in
20 rounds, best weights restored). A subclass defines its batch (``_batch``), loss (``_loss``), held-out
objective (``_validation_loss``) and, if it differs, its schedule (``_schedule``).
"""
from __future__ import annotations

import math

import numpy as np

from .. import _validate, training
from .base import Generator, teacher

ROUNDS = 20  # held-out checks over the step budget
MAX_STEPS = 2000  # default training budget (optimizer steps) of every network generator
_EVAL_BATCH = 65536  # rows per network call in map


class NetworkGenerator(Generator):
    """Base of the network distillers. Hyperparameters: width, depth, activation ("silu" or "relu"), max_steps
    (optimizer-step budget), batch_size, lr, patience (rounds of max_steps / 20 steps without a lower held-out
    objective), validation_fraction, n_threads. Fitted: ``net_``, ``teacher_`` (``base.Teacher``: the Euler
    characteristics (K + 1, m, D), their grid and held-out split), ``velocity_`` (the teacher velocity), ``epochs_``
    (rounds of held-out checks run), ``best_epoch_`` (the round whose weights were restored), ``history_`` (per-round
    "train" and "val" objectives)."""

    def __init__(self, width: int = 128, depth: int = 3, activation: str = "silu", max_steps: int = MAX_STEPS,
                 batch_size: int = 256, lr: float = 2e-3, patience: int = 15, validation_fraction: float = 0.1,
                 n_threads: int = 1):
        _validate.positive_int("width", width)
        _validate.positive_int("depth", depth)
        _validate.choice("activation", activation, training.ACTIVATIONS)
        _validate.positive_int("max_steps", max_steps)
        _validate.positive_int("batch_size", batch_size)
        _validate.positive_float("lr", lr)
        _validate.positive_int("patience", patience)
        if not 0.0 < _validate.positive_float("validation_fraction", validation_fraction) < 1.0:
            raise ValueError(f"validation_fraction: must be in (0, 1), got {validation_fraction!r}")
        _validate.positive_int("n_threads", n_threads)
        self.width = width
        self.depth = depth
        self.activation = activation
        self.max_steps = max_steps
        self.batch_size = batch_size
        self.lr = lr
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.n_threads = n_threads

    # -- for subclasses -----------------------------------------------------------------------------------------
    def _batch(self, rng: np.random.Generator, trajectories: np.ndarray, size: int):
        raise NotImplementedError

    def _loss(self, torch, batch):
        raise NotImplementedError

    def _validation_loss(self, torch, batch):
        return self._loss(torch, batch)

    def _prepare(self, torch) -> None:
        """Called once before training (e.g. to build a target network)."""

    def _schedule(self, n_train: int) -> tuple[int, int, str]:
        """(rounds, optimizer steps per round, ``training.train``'s anneal) for n_train training trajectories:
        ``ROUNDS`` rounds sharing ``max_steps``, the learning rate annealed every step."""
        return ROUNDS, math.ceil(int(self.max_steps) / ROUNDS), "step"

    def memory_terms(self, K: int, m: int, D: int) -> dict[str, tuple[int, str]]:
        """The Euler characteristics with the m K / 10 held-out pairs through the network ("K"), one training
        batch ("batch_size") and the network's weights, gradients and Adam moments ("width"), in bytes."""
        width, depth, batch = int(self.width), int(self.depth), int(self.batch_size)
        per_pair = 4 * 4 * (3 * width * depth + 4 * (D + 2))  # activations, gradients and inputs of one pair
        held_out = m * K // 10
        characteristics = super().memory_terms(K, m, D)["K"][0]
        return {"K": (characteristics + (per_pair * held_out if held_out > batch else 0),
                      "the Euler characteristics, (K + 1) x m x D numbers, and the m K / 10 held-out pairs"),
                "batch_size": (per_pair * batch if held_out <= batch else 0, "one training batch through the network"),
                "width": (4 * 4 * width * width * depth, "the network's weights, gradients and Adam moments, "
                                                        "width^2 x depth numbers")}

    # -- training -----------------------------------------------------------------------------------------------
    def _fit(self, velocity, m, rng) -> None:
        import torch

        data, init_rng, batch_rng = teacher(velocity, self.K_, self.T_, m, self.dim_, rng,
                                            float(self.validation_fraction))
        self.velocity_, self.teacher_ = velocity, data
        self.nfe_fit_, self.nfe_per_sample_ = data.nfe, 1
        train = data.chars[:, data.train].reshape(-1, self.dim_)
        self.x_shift_, self.x_scale_ = train.mean(axis=0), _nonzero(train.std(axis=0))
        increments = np.diff(data.chars[:, data.train], axis=0) / (self.T_ / self.K_)
        self.u_scale_ = _nonzero(np.sqrt(np.mean(increments ** 2, axis=(0, 1))))
        rounds, steps, anneal = self._schedule(data.train.size)
        with training.torch_threads(int(self.n_threads)):
            self._chars_t = training.as_tensor(data.chars)
            self.net_ = training.mlp(self.dim_ + 2, self.dim_, int(self.width), int(self.depth), self.activation,
                                     training.torch_generator(init_rng))
            self._prepare(torch)
            val_batch = self._batch(batch_rng, data.val, max(int(self.batch_size), data.val.size * self.K_))

            def batch_losses(_round):
                for _ in range(steps):
                    yield self._loss(torch, self._batch(batch_rng, data.train, int(self.batch_size)))

            log = training.train(self.net_, epochs=rounds, steps_per_epoch=steps, lr=self.lr,
                                 batch_losses=batch_losses,
                                 validation_loss=lambda: self._validation_loss(torch, val_batch),
                                 patience=int(self.patience), anneal=anneal, final_lr_ratio=0.01, label=self.name,
                                 hint=f"lower lr (now {self.lr}) or check the Euler characteristics for blow-up "
                                      f"near t = T (lower T)")
        del self._chars_t
        self.train_steps_, self.train_seconds_, self.history_ = log.steps, log.seconds, log.history
        self.epochs_, self.best_epoch_ = log.epochs, log.best_epoch

    # -- the map ------------------------------------------------------------------------------------------------
    def _u(self, torch, s, t, x, net=None):
        """The average velocity u(s, t, x) of ``net`` (default ``net_``), torch ``training.DTYPE``; s, t (n,),
        x (n, D)."""
        shift, scale, u_scale = (training.as_tensor(a) for a in (self.x_shift_, self.x_scale_, self.u_scale_))
        net = self.net_ if net is None else net
        return u_scale * net(torch.cat([s[:, None], t[:, None], (x - shift) / scale], dim=1))

    def _g(self, torch, s, t, x, net=None):
        """x + (t - s) u(s, t, x) in torch ``training.DTYPE``."""
        return x + (t - s)[:, None] * self._u(torch, s, t, x, net)

    def _map(self, z, s, t):
        return self._apply(z, np.full(z.shape[0], s), np.full(z.shape[0], t))

    def _apply(self, x: np.ndarray, s: np.ndarray, t: np.ndarray) -> np.ndarray:
        """g(s_i, t_i, x_i) row by row, x (n, D), s and t (n,): the network's u (``training.DTYPE``), the step
        x + (t - s) u in float64."""
        import torch

        u = np.empty_like(x)
        with training.torch_threads(int(self.n_threads)), torch.no_grad():
            for lo in range(0, x.shape[0], _EVAL_BATCH):
                rows = slice(lo, lo + _EVAL_BATCH)
                u[rows] = self._u(torch, *(training.as_tensor(a[rows]) for a in (s, t, x))).double().numpy()
        if not np.all(np.isfinite(u)):
            raise FloatingPointError(f"{self.name}: the network returned NaN or inf")
        return x + (t - s)[:, None] * u


def _nonzero(scale: np.ndarray) -> np.ndarray:
    """Per-coordinate scales with zeros (a coordinate that never moves) replaced by 1."""
    return np.where(scale > 0, scale, 1.0)
