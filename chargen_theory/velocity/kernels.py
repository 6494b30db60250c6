"""Blocked Gaussian-kernel averages: the hot path of the kernel velocity estimators.

Every kernel estimator here is a softmax average sum_j softmax_j(q_i . k_j) v_j over n samples, with the squared
distance |x - c|^2 = |x|^2 - 2 x.c + |c|^2 written as one matrix product of augmented query and key vectors (the
|x|^2 term is constant along j and drops out of the softmax). The (queries x samples) logits are never held in
full: query blocks of ``QUERY_BLOCK`` rows run over sample blocks of ``SAMPLE_BLOCK`` columns with an online
log-sum-exp (running row maximum, rescaled accumulators), so memory is O(QUERY_BLOCK * SAMPLE_BLOCK) whatever m and
n are (8 MiB of float64 logits at the defaults). Arithmetic is torch float64 on the CPU.

Threads: torch's intra-op setting (``torch.set_num_threads``) is used as is. Give it no more threads than there
are free cores: with 2 threads on 2 cores that other processes kept busy, OpenMP's busy-waiting made these
kernels 20x slower than with 1 thread (``OMP_WAIT_POLICY=passive`` also avoids that).
"""
from __future__ import annotations

import numpy as np
import torch

from ..smoothing import VARIANCE_FLOOR

QUERY_BLOCK = 512
SAMPLE_BLOCK = 2048
# The running maximum may trail the true one by up to MAX_LAG: exp(logit - running max) <= e^64 ~ 6e27 cannot
# overflow a float64 sum, and the rescaling pass is skipped unless a block raises a row's maximum by more than that.
MAX_LAG = 64.0
# Shifted logits below MIN_LOGIT are raised to it before exp: torch.exp is ~6x slower on inputs that underflow
# (below ~-708), and a weight e^-700 ~ 1e-304 instead of a smaller one changes an average by < n 1e-304 relative.
MIN_LOGIT = -700.0


def softmax_average(queries, keys, values, *, query_block: int = QUERY_BLOCK, sample_block: int = SAMPLE_BLOCK,
                    return_log_normaliser: bool = False):
    """sum_j softmax_j(q_i . k_j) values_j for every query i, blocked with an online log-sum-exp.

    Parameters
    ----------
    queries : (m, p) float64, keys : (n, p) float64, values : (n, c) float64.
    query_block, sample_block : block sizes (memory is query_block * sample_block float64 numbers).
    return_log_normaliser : also return log sum_j exp(q_i . k_j), shape (m,).

    Returns
    -------
    (m, c) float64 [, (m,) float64].
    """
    q = torch.from_numpy(np.ascontiguousarray(queries, dtype=np.float64))
    k = torch.from_numpy(np.ascontiguousarray(keys, dtype=np.float64))
    v = torch.from_numpy(np.ascontiguousarray(values, dtype=np.float64))
    m, n, c = q.shape[0], k.shape[0], v.shape[1]
    # Keys get a column of ones and queries a column holding minus the running row maximum, so that one matrix
    # product returns the shifted logits; values get a column of ones, so one product gives the weighted sum and
    # the normaliser together.
    keys1 = torch.cat([k, torch.ones(n, 1, dtype=torch.float64)], dim=1)
    values1_t = torch.cat([v, torch.ones(n, 1, dtype=torch.float64)], dim=1).T.contiguous()  # (c + 1, n)
    logits_buffer = torch.empty(min(query_block, m) * min(sample_block, n), dtype=torch.float64)
    out = torch.empty(m, c, dtype=torch.float64)
    log_normaliser = torch.empty(m, dtype=torch.float64)
    for q_start in range(0, m, query_block):
        q_block = q[q_start:q_start + query_block]
        rows = q_block.shape[0]
        q_shifted = torch.cat([q_block, torch.zeros(rows, 1, dtype=torch.float64)], dim=1)
        acc = torch.zeros(c + 1, rows, dtype=torch.float64)  # transposed: (c+1, k) @ (k, rows) is MKL's fast shape
        for k_start in range(0, n, sample_block):
            k_block = keys1[k_start:k_start + sample_block]
            logits = logits_buffer[:rows * k_block.shape[0]].view(rows, k_block.shape[0])
            torch.mm(q_shifted, k_block.T, out=logits)  # q.k - running max
            block_max = logits.amax(dim=1)
            if k_start == 0:
                shift = block_max
                logits.sub_(shift[:, None])
            else:  # move the running maximum only where this block exceeds it by more than MAX_LAG
                shift = torch.where(block_max > MAX_LAG, block_max, 0.0)
                if bool((shift > 0).any()):
                    logits.sub_(shift[:, None])
                    acc.mul_(torch.exp(-shift))
            q_shifted[:, -1] -= shift
            logits.clamp_(min=MIN_LOGIT).exp_()
            acc.addmm_(values1_t[:, k_start:k_start + sample_block], logits.T)
        torch.div(acc[:c].T, acc[c:].T, out=out[q_start:q_start + rows])
        torch.sub(acc[c].log(), q_shifted[:, -1], out=log_normaliser[q_start:q_start + rows])
    return (out.numpy(), log_normaliser.numpy()) if return_log_normaliser else out.numpy()


def gaussian_posterior_mean(x: np.ndarray, y: np.ndarray, b: np.ndarray, s2: np.ndarray) -> np.ndarray:
    """sum_i w_i y_i with w_i(x) ∝ exp(-|x - b y_i|^2 / (2 s2)): the mean of y_I under the posterior of the index I.

    x (m, D) queries, y (n, D) samples, b and s2 (m,) per query (s2 floored at smoothing.VARIANCE_FLOOR, which
    makes s2 = 0 the nearest-sample limit). Returns (m, D).
    """
    s2 = np.maximum(s2, VARIANCE_FLOOR)
    queries = np.hstack([x * (b / s2)[:, None], (-0.5 * b * b / s2)[:, None]])
    keys = np.hstack([y, np.einsum("nd,nd->n", y, y)[:, None]])
    return softmax_average(queries, keys, y)


def gaussian_kernel_regression(points: np.ndarray, centers: np.ndarray, responses: np.ndarray,
                               bandwidths: np.ndarray) -> np.ndarray:
    """Nadaraya-Watson estimate sum_j w_j r_j with w_j ∝ exp(-sum_p (x_p - c_jp)^2 / (2 h_p^2)).

    points (m, p), centers (n, p), responses (n, c), bandwidths (p,) > 0 (product Gaussian kernel). Returns (m, c).
    """
    inv_h2 = 1.0 / np.square(bandwidths)
    queries = np.hstack([points * inv_h2, np.ones((points.shape[0], 1))])
    keys = np.hstack([centers, (-0.5 * (centers * centers) @ inv_h2)[:, None]])
    return softmax_average(queries, keys, responses)


def gaussian_kde_log_density(x: np.ndarray, y: np.ndarray, bandwidth: float) -> np.ndarray:
    """log of the Gaussian KDE (1/n) sum_i N(x; y_i, bandwidth^2 I) at x (m, D), samples y (n, D) -> (m,)."""
    inv_h2 = 1.0 / (bandwidth * bandwidth)
    queries = np.hstack([x * inv_h2, np.full((x.shape[0], 1), -0.5 * inv_h2)])
    keys = np.hstack([y, np.einsum("nd,nd->n", y, y)[:, None]])
    _, log_sum = softmax_average(queries, keys, np.zeros((y.shape[0], 0)), return_log_normaliser=True)
    n, d = y.shape
    return log_sum - 0.5 * inv_h2 * np.einsum("md,md->m", x, x) - np.log(n) - 0.5 * d * np.log(2 * np.pi / inv_h2)
