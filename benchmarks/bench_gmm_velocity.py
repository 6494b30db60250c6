"""Exact GMM velocity: points per second vs a plain per-component loop."""
from __future__ import annotations

import functools

import numpy as np

from _runner import interleaved, ratio_row
from chargen_theory import paths, targets

NAME, ORDER = "gmm_velocity", 50

WHY = ("with few components the loop's K passes are already vectorised over points, so batching over components only "
       "saves Python overhead; the (rows, K, D) work arrays of the batched version cost memory traffic the loop does "
       "not have.")


def naive_gmm_velocity(means, covs, weights, t: float, x: np.ndarray, path) -> np.ndarray:
    """The exact GMM velocity written plainly: one Python iteration per component, dense inverses (reference)."""
    a, b, da, db = (float(c) for c in path.coefficients(t))
    log_w, post = [], []
    for m, S, pi in zip(means, covs, weights):
        C = a * a * np.eye(len(m)) + b * b * S
        C_inv = np.linalg.inv(C)
        r = x - b * m
        log_w.append(np.log(pi) - 0.5 * (np.linalg.slogdet(C)[1] + np.einsum("ni,ij,nj->n", r, C_inv, r)))
        post.append(m + b * r @ C_inv @ S)
    log_w = np.stack(log_w, axis=1)
    w = np.exp(log_w - log_w.max(axis=1, keepdims=True))
    w /= w.sum(axis=1, keepdims=True)
    m1 = np.einsum("nk,knd->nd", w, np.stack(post))
    return da * (x - b * m1) / a + db * m1


def rows(settings):
    path = paths.get("linear")
    rng = settings.rng(5)
    D, K = 8, 32
    A = rng.standard_normal((K, D, D)) / np.sqrt(D)
    problems = [("8gaussians (K=8, D=2)", targets.get("8gaussians")),
                (f"gmm (K={K}, D={D}, full covariances)",
                 targets.get("gmm", means=2 * rng.standard_normal((K, D)), covs=A @ A.transpose(0, 2, 1) + 0.01 *
                             np.eye(D), weights=np.full(K, 1.0 / K)))]
    npts = settings.pick(full=50_000, quick=20_000)
    out = []
    for label, target in problems:
        x = 0.5 * target.sample(npts, settings.rng(6)) + 0.5 * settings.rng(7).standard_normal((npts, target.dim))
        ours = functools.partial(target.velocity, 0.5, x, path)
        naive = functools.partial(naive_gmm_velocity, target.means, target.covs, target.weights, 0.5, x, path)
        ours_t, naive_t = interleaved([ours, naive], settings.repeats)
        err = float(np.max(np.abs(ours() - naive())))
        note = f"max |ours - loop| = {err:.1e}" + ("" if err < 1e-9 else " — VALUES DIFFER")
        out.append(ratio_row(NAME, f"exact velocity {label}, t=0.5: points/s", npts / ours_t, npts / naive_t,
                             "pts/s", ">= 1.0x", "per-component loop", note, profile=ours, why=WHY))
    return out
