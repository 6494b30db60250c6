"""Self-normalised Monte Carlo reference for posterior means, shared by the target tests, and its own check.

E[X1 | a X0 + b X1 = x] = E_y[y L(y)] / E_y[L(y)] with L(y) = N(x; b y, a^2 I) and y ~ target; the estimate uses
N target samples and comes with a delta-method standard error.
"""
import numpy as np


def mc_posterior_mean(samples, a, b, x):
    """Estimate and standard error of E[X1 | a X0 + b X1 = x] from target ``samples`` (N, D) at scalar a > 0, b;
    x: (m, D). Returns (mean (m, D), se (m, D), ess (m,))."""
    sq = (samples * samples).sum(axis=1)
    log_w = -((x * x).sum(axis=1)[:, None] - 2 * b * x @ samples.T + b * b * sq[None, :]) / (2 * a * a)
    w = np.exp(log_w - log_w.max(axis=1, keepdims=True))
    w /= w.sum(axis=1, keepdims=True)
    mean = w @ samples
    w2 = w * w
    var = w2 @ (samples * samples) - 2 * mean * (w2 @ samples) + mean * mean * w2.sum(axis=1, keepdims=True)
    return mean, np.sqrt(np.maximum(var, 0.0)), 1.0 / w2.sum(axis=1)


def marginal_points(target, a, b, m, rng):
    """m fresh draws of X_t = a X0 + b X1: query points where the posterior has mass."""
    return a * rng.standard_normal((m, target.dim)) + b * target.sample(m, rng)


def test_mc_reference_matches_the_one_dimensional_gaussian_posterior():
    rng = np.random.default_rng(1)
    m, s2 = 0.7, 2.0
    y = m + np.sqrt(s2) * rng.standard_normal((200_000, 1))
    a, b = 0.6, 0.8
    x = np.array([[-1.0], [0.3], [1.5]])
    est, se, ess = mc_posterior_mean(y, a, b, x)
    exact = m + b * s2 / (a * a + b * b * s2) * (x - b * m)  # conjugate normal posterior, by hand
    assert np.all(ess > 1000)
    assert np.all(np.abs(est - exact) < 5 * se)
    assert np.all(se < 0.02)
