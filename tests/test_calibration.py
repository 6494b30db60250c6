"""The verdict rules' error rates measured by simulation (chargen_theory.calibration): false contradictions on
consistent series at most 5% per rule, power at a slope gap of 0.1, and the coverage of the slope interval.

Monte-Carlo allowance: a measured rate r from N series is read through its Clopper-Pearson 95% interval; a rate
"at most 5%" means the interval's upper end is <= 5%, a power "at least 80%" that its lower end is >= 80%."""
import numpy as np
import pytest

from chargen_theory import calibration as cal
from chargen_theory import rates


def test_synthetic_errors_follow_their_law():
    law = cal.Law(-0.5, c=2.0, b=0.5, log_power=1.0, sigma=0.1, sigma_seed=0.2, scale=3.0)
    levels = cal.N_LEVELS
    errors = cal.synthetic_errors(law, levels, variable="n", n_seeds=4, n_series=5000, rng=np.random.default_rng(0))
    assert errors.shape == (5000, len(levels), 4)
    mean = 3.0 * levels ** -0.5 * (1 + 2.0 / np.sqrt(levels)) * np.log(levels)
    np.testing.assert_allclose(np.median(errors, axis=(0, 2)), mean, rtol=0.02)
    logs = np.log(errors)
    # the seed effect (0.2) is shared by all levels, the rest (0.1) is not: levels correlate at 0.04 / 0.05
    corr = np.corrcoef(logs[:, 0, :].ravel(), logs[:, -1, :].ravel())[0, 1]
    assert corr == pytest.approx(0.04 / 0.05, abs=0.02)
    assert np.std(logs[:, 0, :] - logs[:, -1, :]) == pytest.approx(np.sqrt(2) * 0.1, rel=0.03)
    h = cal.synthetic_errors(cal.Law(1.0, c=4.0, b=1.0, sigma=0.0), cal.H_LEVELS, variable="h", n_seeds=1,
                             n_series=1, rng=np.random.default_rng(1))
    np.testing.assert_allclose(h[0, :, 0], cal.H_LEVELS * (1 + 4 * cal.H_LEVELS), rtol=1e-12)


def test_clopper_pearson_against_known_values():
    assert cal.clopper_pearson(0, 300) == pytest.approx((0.0, 1 - 0.025 ** (1 / 300)), rel=1e-9)
    low, high = cal.clopper_pearson(5, 10)
    assert (low, high) == pytest.approx((0.187086, 0.812914), abs=1e-6)   # the standard table value


@pytest.mark.parametrize("rule", list(cal.RULES))
def test_false_contradictions_stay_below_five_percent(rule):
    """Consistent series (true exponent = claim, with each pre-asymptotic term of the grid), the suite's design and
    noise: the share judged a contradiction, pooled over the terms, is at most 5% (Clopper-Pearson upper end)."""
    result = cal.calibrate(rule, 0.0, 60, np.random.default_rng(10))
    assert result["n"] >= 240
    assert cal.clopper_pearson(result["k"], result["n"])[1] <= 0.05, result


@pytest.mark.parametrize("rule", [name for name in cal.RULES if "unknown" not in name])
def test_power_at_a_gap_of_a_tenth(rule):
    """A claim 0.1 too fast (the data decay more slowly), no pre-asymptotic term, the default design (10 seeds,
    the suite's levels and noise): contradicted in at least 80% of the series (Clopper-Pearson lower end). Not for
    an unknown log power: judged at the far end of its range, the log factor's own curvature reads as a drift
    toward the claim ("pre-asymptotic"), so the range costs power (measured in benchmarks/RESULTS.md)."""
    setting = cal.settings(rule, 0.1)[0]
    assert setting.law.c == 0.0 and setting.n_seeds == rates.MIN_SEEDS_CONTRADICTION
    shares = setting.run(200, np.random.default_rng(11))
    k = round(cal.contradiction_rate(shares) * 200)
    assert cal.clopper_pearson(k, 200)[0] >= 0.8, shares


def test_seed_t_interval_covers_where_the_bootstrap_did_not():
    rng = np.random.default_rng(12)
    for n_seeds in (3, 10):
        errors = cal.synthetic_errors(cal.Law(-0.5, sigma=0.1), cal.N_LEVELS, variable="n", n_seeds=n_seeds,
                                      n_series=300, rng=rng)
        covered = cal.coverage(errors, cal.N_LEVELS, -0.5, variable="n", rng=rng, n_boot=400)
        low, high = cal.clopper_pearson(round(covered["seed-t"] * 300), 300, 0.99)
        assert low <= 0.95 <= high
        if n_seeds == 3:  # the expanded percentile bootstrap over 3 seeds covers about 74%
            assert cal.clopper_pearson(round(covered["bootstrap"] * 300), 300, 0.99)[1] < 0.9


@pytest.mark.slow
@pytest.mark.parametrize("rule", list(cal.RULES))
@pytest.mark.parametrize("design", [{}, {"sigma": 0.19}, {"levels": cal.N_LEVELS_4}, {"n_seeds": 20}],
                         ids=["default", "noisy", "4-levels", "20-seeds"])
def test_false_contradictions_stay_below_five_percent_slow(rule, design):
    """The same at 300 series per pre-asymptotic term, also with the noisiest quartile (sd 0.19), four levels
    (n = 250 ... 16000 by 4x) and 20 seeds."""
    if rule.startswith("deterministic") and "levels" in design:
        pytest.skip("the Euler rule is calibrated on the suite's h levels")
    result = cal.calibrate(rule, 0.0, 300, np.random.default_rng(13), **design)
    assert cal.clopper_pearson(result["k"], result["n"])[1] <= 0.05, result


def test_detectable_gap_is_detected_about_80_percent_of_the_time():
    """A true gap equal to the design's (median) detectable_gap is contradicted in about 80% of the series: 76%
    measured (the window and drift tests take a little of the tail test's nominal 80%)."""
    rng = np.random.default_rng(14)
    pilot = cal.synthetic_errors(cal.Law(-0.5), cal.N_LEVELS, variable="n", n_seeds=10, n_series=100, rng=rng)
    fits = [rates.fit_slope(cal.N_LEVELS, values, variable="n") for values in pilot]
    gap = float(np.median([rates.detectable_gap(fit, rates.slope_allowance(fit)) for fit in fits]))
    setting = cal.Setting(cal.RULES["rate"], -0.5, cal.N_LEVELS, "n", cal.Law(-0.5 + gap))
    rate = cal.contradiction_rate(setting.run(300, rng))
    low, high = cal.clopper_pearson(round(rate * 300), 300)
    assert high >= 0.7 and low <= 0.85, rate
