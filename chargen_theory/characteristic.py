"""The characteristic generator: one network g(s, t, x) fitted to discrete Euler characteristics (docs/theory.md 1.5).

Pipeline of ``CharacteristicGenerator.fit(m, rng)``:

1. draw m prior points z ~ N(0, I_D) and run K uniform Euler steps (h = T / K) of the given velocity (estimated or
   exact), keeping the whole discrete characteristic Z, shape (K + 1, m, D);
2. train ONE network by least squares over grid pairs (t_k, t_l), k < l,
   ``E |g(t_k, t_l, Z_k) - Z_l|^2``, plus ``semigroup_weight * E |g(t, u, g(s, t, x)) - g(s, u, x)|^2`` on triples
   s <= t <= u with x = Z_k a stored state at the grid time s = t_k;
3. one-step generation is x = g(0, T, z), z ~ N(0, I): a single network evaluation.

Parameterisation: ``g(s, t, x) = x + (t - s) * u(s, t, x)`` with u an MLP on (s, t, standardised x). It makes
g(s, s, x) = x hold exactly (the increment is added to x in float64, and (t - s) = 0 multiplies a finite value), so
pairs with k = l carry no information and are not sampled; and u is an average velocity over [s, t] whose scale does
not depend on t - s, which keeps the regression well conditioned for short and long jumps alike.

The default activation is SiLU: on the 2-D Gaussian of the tests (exact velocity, m = 2000, K = 20, 100 epochs,
width 128, depth 3) it reached a fitting error (RMS |g(0, 1, z) - Z_K|) of 0.0025 against 0.0079 with ReLU, the
class the paper's theory uses (``activation="relu"``).
"""
from __future__ import annotations

import math

import numpy as np

from . import _validate, training
from .paths import Interpolant, get as get_path

_EVAL_BATCH = 65536  # rows per network call in map / sample
_ROUNDS = 20  # held-out checks when max_steps binds
MIN_M = 2
"""The fewest characteristics ``fit`` accepts: one is held out for early stopping."""


def _resolve_velocity(velocity, path: Interpolant, dim):
    """(callable velocity(t, x), ambient dimension D). A Target is turned into its exact velocity on ``path``."""
    from .targets.base import Target

    if isinstance(velocity, Target):
        call = lambda t, x: velocity.velocity(t, x, path)  # noqa: E731
    elif callable(velocity):
        call = velocity
    else:
        raise ValueError("velocity: must be a callable velocity(t, x) -> (n, D), a fitted estimator, or a Target")
    if dim is None:  # a fitted estimator's data dimension dim_ first: its ``dim`` may be a tuning-rule setting
        for owner in (velocity, getattr(velocity, "target", None)):
            for attr in ("dim_", "dim"):
                value = getattr(owner, attr, None)
                if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
                    dim = value
                    break
            if dim is not None:
                break
    if dim is None:
        raise ValueError("dim: could not be inferred from the velocity (no .dim, .dim_ or .target.dim); pass dim=D")
    return call, _validate.positive_int("dim", dim)


class CharacteristicGenerator:
    """One-step generator g(0, T, z) fitted to the Euler characteristics of a velocity field.

    Parameters
    ----------
    velocity : callable ``velocity(t, x)`` -> (n, D) (a fitted estimator, an oracle) or a Target (its exact
        velocity on ``path`` is used).
    path : path name or Interpolant, used when ``velocity`` is a Target and recorded otherwise.
    K : number of uniform Euler steps on [0, T] (h = T / K) that produce the training characteristics.
    T : final time in (0, 1]; the generator maps the prior to (an approximation of) the law of X_T.
    dim : ambient dimension D; inferred from ``velocity.dim_``, an integer ``velocity.dim`` or
        ``velocity.target.dim``.
    width, depth : hidden width and number of hidden layers of the MLP u(s, t, x).
    activation : "relu" (the class the paper's theory uses) or "silu".
    semigroup_weight : weight >= 0 of the semigroup penalty.
    epochs : maximum number of epochs; one epoch = (training trajectories) * K sampled pairs, the number of Euler
        transitions in the training data (the same budget in both modes).
    batch_size, lr : Adam mini-batch size and learning rate (cosine-decayed to lr / 100 over ``epochs``).
    patience : early stopping: stop after this many epochs without a lower held-out objective; the best weights
        are restored.
    max_steps : None, or the total number of optimizer steps (the training budget, rounded up to whole rounds;
        early stopping may end sooner). When it binds
        (max_steps < epochs x steps per epoch), an "epoch" becomes a round of ceil(max_steps / 20) steps (at most
        a full epoch): 20 held-out checks, the cosine schedule and ``patience`` counted in rounds.
    validation_fraction : fraction of the m characteristics held out for early stopping.
    endpoint_only : the distillation baseline: fit z -> Z_K alone with the same network class, s = 0 and t = T
        fixed (no semigroup penalty); ``map`` then only accepts s = 0, t = T.
    n_threads : torch intra-op threads during fit and map.

    Fitted attributes
    -----------------
    dim_, grid_ (K + 1,), characteristics_ (K + 1, m, D) float64 Euler data, train_index_, val_index_,
    net_ (torch module), train_seconds_, epochs_ (epochs run), steps_ (optimizer steps), best_epoch_, samples_per_second_ (training pairs
    per second of training, each with a semigroup triple when the penalty is on), nfe_fit_ (velocity point
    evaluations spent on the Euler data = m K), history_ (dict of per-epoch "train" and "val" objectives).
    """

    def __init__(self, velocity, path="linear", K: int = 20, T: float = 1.0, *, dim: int | None = None,
                 width: int = 128, depth: int = 3, activation: str = "silu", semigroup_weight: float = 1.0,
                 epochs: int = 100, batch_size: int = 256, lr: float = 2e-3, patience: int = 15,
                 validation_fraction: float = 0.1, endpoint_only: bool = False, n_threads: int = 1,
                 max_steps: int | None = None):
        self.velocity = velocity
        self.path = path
        self.K = K
        self.T = T
        self.dim = dim
        self.width = width
        self.depth = depth
        self.activation = activation
        self.semigroup_weight = semigroup_weight
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.endpoint_only = endpoint_only
        self.n_threads = n_threads
        self.max_steps = max_steps

    # -- fitting ------------------------------------------------------------------------------------------------
    def _check_params(self):
        self.path_ = get_path(self.path)
        _validate.positive_int("K", self.K)
        self.T_ = _validate.end_time("T", self.T)
        _validate.positive_int("width", self.width)
        _validate.positive_int("depth", self.depth)
        _validate.choice("activation", self.activation, training.ACTIVATIONS)
        if not _number_in("semigroup_weight", self.semigroup_weight, 0.0, math.inf, closed=True):
            raise ValueError(f"semigroup_weight: must be a finite number >= 0, got {self.semigroup_weight!r}")
        _validate.positive_int("epochs", self.epochs)
        _validate.positive_int("batch_size", self.batch_size)
        _validate.positive_float("lr", self.lr)
        _validate.positive_int("patience", self.patience)
        if not _number_in("validation_fraction", self.validation_fraction, 0.0, 1.0, closed=False):
            raise ValueError(f"validation_fraction: must be in (0, 1), got {self.validation_fraction!r}")
        if not isinstance(self.endpoint_only, (bool, np.bool_)):
            raise ValueError(f"endpoint_only: must be True or False, got {self.endpoint_only!r}")
        _validate.positive_int("n_threads", self.n_threads)
        if self.max_steps is not None:
            _validate.positive_int("max_steps", self.max_steps)

    def fit(self, m: int, rng: np.random.Generator) -> "CharacteristicGenerator":
        """Draw m prior points, run K Euler steps of the velocity, train g; returns self.

        Deterministic for a given ``rng`` state (and thread count). Raises solvers.DivergenceError (a
        FloatingPointError) if the Euler data blow up, FloatingPointError if the training objective becomes NaN /
        inf.
        """
        import torch

        from . import solvers

        self._check_params()
        m = _validate.positive_int("m", m)
        if m < MIN_M:
            raise ValueError(f"m: must be an integer >= {MIN_M} (one characteristic is held out), got {m}")
        _validate.generator("rng", rng)
        velocity, self.dim_ = _resolve_velocity(self.velocity, self.path_, self.dim)
        data_rng, init_rng, batch_rng = rng.spawn(3)

        K, T = int(self.K), self.T_
        self.grid_ = np.linspace(0.0, T, K + 1)
        counted = solvers.counted(velocity)
        z = data_rng.standard_normal((m, self.dim_))
        chars = np.asarray(solvers.euler(counted, z, K=K, T=T, return_path=True), dtype=np.float64)
        if chars.shape != (K + 1, m, self.dim_):
            raise ValueError(f"velocity: Euler path has shape {chars.shape}, expected {(K + 1, m, self.dim_)}")
        self.characteristics_ = chars
        self.nfe_fit_ = counted.nfe * m  # each call evaluates the velocity at m points

        n_val = min(m - 1, max(1, round(float(self.validation_fraction) * m)))
        order = data_rng.permutation(m)
        self.val_index_, self.train_index_ = np.sort(order[:n_val]), np.sort(order[n_val:])
        train = chars[:, self.train_index_]
        self.x_shift_ = train.reshape(-1, self.dim_).mean(axis=0)
        self.x_scale_ = _nonzero(train.reshape(-1, self.dim_).std(axis=0))
        increments = np.diff(train, axis=0) / (T / K)
        self.u_scale_ = _nonzero(np.sqrt(np.mean(increments ** 2, axis=(0, 1))))

        with training.torch_threads(int(self.n_threads)):
            self.net_ = training.mlp(self.dim_ + 2, self.dim_, int(self.width), int(self.depth), self.activation,
                                     training.torch_generator(init_rng))
            self._train(torch, chars, batch_rng)
        return self

    def _draw_batch(self, rng, trajectories: np.ndarray, size: int):
        """Indices for ``size`` fit pairs and semigroup triples on the given trajectories.

        Pairs (k, l) are uniform over 0 <= k < l <= K (k = 0, l = K in endpoint mode). Triples take s = t_j with
        j uniform on 0..K-1 and t <= u two sorted uniform times on [s, T] (continuous, so that the learned map
        is consistent between grid times too).
        """
        K, T = int(self.K), self.T_
        traj = trajectories[rng.integers(trajectories.size, size=size)]
        if self.endpoint_only:
            k, l = np.zeros(size, dtype=int), np.full(size, K)
        else:
            k, l = np.triu_indices(K + 1, 1)
            pick = rng.integers(k.size, size=size)
            k, l = k[pick], l[pick]
        sg_traj = trajectories[rng.integers(trajectories.size, size=size)]
        j = rng.integers(K, size=size)
        s = self.grid_[j]
        tu = np.sort(rng.uniform(size=(size, 2)), axis=1)
        t, u = s + (T - s) * tu[:, 0], s + (T - s) * tu[:, 1]
        return traj, k, l, sg_traj, j, s, t, u

    def _objective(self, torch, chars_t, grid_t, batch, with_semigroup: bool):
        """(fit loss, semigroup penalty) on one batch, both mean squared norms in the data's units."""
        traj, k, l, sg_traj, j, s, t, u = (torch.as_tensor(a) for a in batch)
        x, y = chars_t[k, traj], chars_t[l, traj]
        fit = ((self._g(torch, grid_t[k], grid_t[l], x) - y) ** 2).sum(dim=1).mean()
        if not with_semigroup:
            return fit, torch.zeros(())
        s, t, u = (a.to(chars_t.dtype) for a in (s, t, u))
        x = chars_t[j, sg_traj]
        two_jumps = self._g(torch, t, u, self._g(torch, s, t, x))
        penalty = ((two_jumps - self._g(torch, s, u, x)) ** 2).sum(dim=1).mean()
        return fit, penalty

    def _g(self, torch, s, t, x):
        """g(s, t, x) = x + (t - s) u(s, t, x) in torch ``training.DTYPE``; s, t: (n,), x: (n, D)."""
        return x + (t - s)[:, None] * self._u(torch, s, t, x)

    def _u(self, torch, s, t, x):
        """The network's average velocity u(s, t, x), in data units per unit time; (n, D) ``training.DTYPE``."""
        shift, scale, u_scale = (training.as_tensor(a) for a in (self.x_shift_, self.x_scale_, self.u_scale_))
        features = torch.cat([s[:, None], t[:, None], (x - shift) / scale], dim=1)
        return u_scale * self.net_(features)

    def _train(self, torch, chars: np.ndarray, rng: np.random.Generator):
        K, batch_size = int(self.K), int(self.batch_size)
        with_semigroup = not self.endpoint_only and float(self.semigroup_weight) > 0
        weight = float(self.semigroup_weight) if with_semigroup else 0.0
        chars_t, grid_t = training.as_tensor(chars), training.as_tensor(self.grid_)
        steps, epochs = max(1, math.ceil(self.train_index_.size * K / batch_size)), int(self.epochs)
        if self.max_steps is not None and int(self.max_steps) < epochs * steps:
            steps = min(steps, math.ceil(int(self.max_steps) / _ROUNDS))
            epochs = math.ceil(int(self.max_steps) / steps)
        val_batch = self._draw_batch(rng, self.val_index_, max(batch_size, self.val_index_.size * K))

        def objective(batch):
            fit, penalty = self._objective(torch, chars_t, grid_t, batch, with_semigroup)
            return fit + weight * penalty

        def batch_losses(epoch):
            for _ in range(steps):
                yield objective(self._draw_batch(rng, self.train_index_, batch_size))

        log = training.train(self.net_, epochs=epochs, steps_per_epoch=steps, lr=self.lr,
                             batch_losses=batch_losses, validation_loss=lambda: objective(val_batch),
                             patience=int(self.patience), anneal="epoch", final_lr_ratio=0.01,
                             label="CharacteristicGenerator",
                             hint=f"lower lr (now {self.lr}) or check the Euler characteristics for blow-up near "
                                  f"t = 1 (lower T)")
        self.train_seconds_, self.epochs_, self.best_epoch_ = log.seconds, log.epochs, log.best_epoch
        self.steps_ = log.steps
        self.samples_per_second_ = log.steps * batch_size / log.seconds
        self.history_ = log.history

    # -- using the fitted map -----------------------------------------------------------------------------------
    def _check_fitted(self):
        from .velocity import NotFittedError

        if not hasattr(self, "net_"):
            raise NotFittedError("CharacteristicGenerator is not fitted yet: call fit first (fit(m, rng), before "
                                 "map / sample / semigroup_violation)")

    def map(self, z, s: float = 0.0, t: float | None = None) -> np.ndarray:
        """g(s, t, z): the fitted flow from time s to time t (default T), one network evaluation per point.

        z: (n, D) states at time s. 0 <= s <= t <= T. Returns (n, D) float64; g(s, s, z) = z exactly.
        """
        self._check_fitted()
        z = _validate.points("z", z, self.dim_)
        t = self.T_ if t is None else t
        s, t = float(_validate.finite_array("s", s, ndim=0)), float(_validate.finite_array("t", t, ndim=0))
        if not 0.0 <= s <= t <= self.T_:
            raise ValueError(f"s, t: need 0 <= s <= t <= T = {self.T_}, got s = {s}, t = {t}")
        if self.endpoint_only and (s != 0.0 or t != self.T_):
            raise ValueError(f"s, t: an endpoint_only generator maps s = 0 to t = T = {self.T_} only")
        return self._apply(z, np.full(z.shape[0], s), np.full(z.shape[0], t))

    def _apply(self, x: np.ndarray, s: np.ndarray, t: np.ndarray) -> np.ndarray:
        """g(s_i, t_i, x_i) row by row: the network's u (``training.DTYPE``), the step x + (t - s) u in float64."""
        import torch

        u = np.empty_like(x)
        with training.torch_threads(int(self.n_threads)), torch.no_grad():
            for lo in range(0, x.shape[0], _EVAL_BATCH):
                rows = slice(lo, lo + _EVAL_BATCH)
                s_t, t_t, x_t = (training.as_tensor(a[rows]) for a in (s, t, x))
                u[rows] = self._u(torch, s_t, t_t, x_t).double().numpy()
        if not np.all(np.isfinite(u)):
            raise FloatingPointError("the network returned NaN or inf")
        return x + (t - s)[:, None] * u

    def sample(self, n: int, rng: np.random.Generator, steps: int = 1) -> np.ndarray:
        """n draws of the generator: z ~ N(0, I_D) from ``rng``, then g chained over ``steps`` uniform steps of
        [0, T] (steps = 1: the one-step generator, one network evaluation per sample). Returns (n, D) float64."""
        self._check_fitted()
        n = _validate.positive_int("n", n)
        steps = _validate.positive_int("steps", steps)
        if self.endpoint_only and steps != 1:
            raise ValueError(f"steps: an endpoint_only generator allows steps = 1 only, got {steps}")
        times = np.linspace(0.0, self.T_, steps + 1)
        x = rng.standard_normal((n, self.dim_))
        for s, t in zip(times[:-1], times[1:]):
            x = self.map(x, s, t)
        return x

    def semigroup_violation(self, source, rng: np.random.Generator | None = None) -> float:
        """RMS of g(t, u, g(s, t, x)) - g(s, u, x) over sampled triples s <= t <= u, in data units.

        source: a Generator -> the held-out characteristics of ``fit`` (no new velocity evaluations), one triple
        triples drawn from ``source``; or prior points z (n, D) -> their K-step Euler characteristics under the
        fitted velocity (n K velocity point evaluations), triples drawn from ``rng``. (number of trajectories) * K
        triples, each on a random trajectory with s = t_j (j uniform on 0..K-1) and t <= u sorted uniform on [s, T],
        the distribution of the training penalty.
        """
        from . import solvers

        self._check_fitted()
        if self.endpoint_only:
            raise ValueError("semigroup_violation: undefined for an endpoint_only generator (it has no g(s, t, .))")
        if isinstance(source, np.random.Generator):
            chars, trajectories, rng = self.characteristics_, self.val_index_, source
        else:
            if not isinstance(rng, np.random.Generator):
                raise ValueError("rng: a numpy.random.Generator is required when source is an array of points")
            z = _validate.points("source", source, self.dim_)
            velocity, _ = _resolve_velocity(self.velocity, self.path_, self.dim_)
            chars = np.asarray(solvers.euler(velocity, z, K=int(self.K), T=self.T_, return_path=True))
            trajectories = np.arange(z.shape[0])
        _, _, _, traj, j, s, t, u = self._draw_batch(rng, trajectories, trajectories.size * int(self.K))
        x = chars[j, traj]
        diff = self._apply(self._apply(x, s, t), t, u) - self._apply(x, s, u)
        return float(np.sqrt(np.mean(np.sum(diff ** 2, axis=1))))


def _number_in(field: str, value, low: float, high: float, closed: bool) -> bool:
    """Whether ``value`` is a real number in [low, high) (closed) or (low, high); non-numbers raise naming field."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{field}: must be a number, got {value!r}")
    return (low <= value < high) if closed else (low < value < high)


def _nonzero(scale: np.ndarray) -> np.ndarray:
    """Per-coordinate scales with zeros (a coordinate that never moves) replaced by 1."""
    return np.where(scale > 0, scale, 1.0)
