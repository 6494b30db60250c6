"""The target registry, the shared contract (every rule of TARGET_RULES, each failed by a deliberately broken
target; argument validation) and vectorisation properties of every registered target's velocity (hypothesis)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import chargen_theory as ct
from chargen_theory.testing import TARGET_RULES, check_target, parametrize_with_checks, target_checks

PATHS = ["linear", "follmer", "trig"]
EXAMPLES = {
    "gaussian": dict(mean=[0.5, -1.0, 0.0], cov=[[1.0, 0.5, 0.0], [0.5, 0.25, 0.0], [0.0, 0.0, 0.3]]),
    "gmm": dict(means=[[0.0, 1.0], [1.0, -1.0]], covs=[[[0.2, 0.0], [0.0, 0.1]], [[0.0, 0.0], [0.0, 0.0]]],
                weights=[0.7, 0.3]),
    "box": dict(low=[-1.0, 0.0, 0.5], high=[1.0, 0.2, 2.0], sigma=0.1),
    "box_mixture": dict(lows=[[0.0], [2.0]], highs=[[1.0], [2.5]], weights=[0.4, 0.6]),
    "sphere": dict(intrinsic_dim=2, dim=4, radius=1.5, seed=3),
    "spheres": dict(radii=[0.5, 1.0], intrinsic_dim=1, dim=3, sigma=0.05),
    "subspace": dict(base="grid", base_params={"size": 3}, dim=3, seed=1),
    "8gaussians": {},
    "grid": {},
    "checkerboard": dict(sigma=0.05),
    "rings": {},
}
HAS_DENSITY = {"gaussian": False, "gmm": False, "box": True, "box_mixture": True, "sphere": False, "spheres": True,
               "subspace": False, "8gaussians": True, "grid": True, "checkerboard": True, "rings": False}


def test_every_registered_target_has_an_example():
    assert sorted(EXAMPLES) == ct.targets.names()


def test_unknown_name_lists_the_valid_names():
    with pytest.raises(ValueError, match="^target: unknown value 'moons'; allowed: 8gaussians, box"):
        ct.targets.get("moons")


def test_parameter_errors_name_the_parameter():
    with pytest.raises(ValueError, match="^radiuss: not a parameter of target '8gaussians'; allowed: radius, std"):
        ct.targets.get("8gaussians", radiuss=3.0)
    with pytest.raises(ValueError, match="^mean: required"):
        ct.targets.get("gaussian", cov=[[1.0]])


def test_register(scratch_registries):
    ct.targets.register("unit_box", lambda dim=1: ct.targets.get("box", low=[0.0] * dim, high=[1.0] * dim))
    assert "unit_box" in ct.targets.names()
    assert ct.targets.get("unit_box", dim=3).dim == 3
    with pytest.raises(ValueError, match="^name:"):
        ct.targets.register("unit_box", lambda: None)
    with pytest.raises(ValueError, match="^factory:"):
        ct.targets.register("other", 3)


@parametrize_with_checks({name: target_checks(name, EXAMPLES[name]) for name in sorted(EXAMPLES)})
def test_every_registered_target_follows_the_rule(check):
    check()


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_log_prob_exists_exactly_for_the_targets_with_a_density(name):
    target = ct.targets.get(name, **EXAMPLES[name])
    x = target.sample(20, np.random.default_rng(0))
    if HAS_DENSITY[name]:
        assert target.log_prob(x).shape == (20,)
    else:
        with pytest.raises(NotImplementedError):
            target.log_prob(x)


# -- a user's target, and broken ones that fail the rule they break -------------------------------------------------
class Normal2(ct.targets.Target):
    """N((shift, -shift), I_2): a toy user target with a closed-form posterior mean."""

    name, dim, intrinsic_dim = "normal2", 2, 2

    def __init__(self, shift=0.0):
        self.params = {"shift": shift}
        self.mean = np.array([shift, -shift], dtype=np.float64)

    def _sample(self, n, rng):
        return self.mean + rng.standard_normal((n, 2))

    def _posterior_mean(self, a, b, x):
        gain = (b / (a * a + b * b))[:, None]
        return self.mean + gain * (x - b[:, None] * self.mean)

    def _log_prob(self, x):
        return -0.5 * np.sum((x - self.mean) ** 2, axis=1) - np.log(2.0 * np.pi)


class NotATarget:
    def __init__(self, shift=0.0):
        self.name, self.params = "normal2", {"shift": shift}


class WrongName(Normal2):
    name = "normal"


class TooManyIntrinsicDims(Normal2):
    intrinsic_dim = 3


class ArrayParams(Normal2):
    def __init__(self, shift=0.0):
        super().__init__(shift)
        self.params = {"shift": np.array([shift])}


class ForgetsParams(Normal2):
    def __init__(self, shift=0.0):
        super().__init__(shift)
        self.params = {}


class Float32Samples(Normal2):
    def _sample(self, n, rng):
        return super()._sample(n, rng).astype(np.float32)


class NaNLateInTime(Normal2):
    def _posterior_mean(self, a, b, x):
        return np.where((b > 0.5)[:, None], np.nan, super()._posterior_mean(a, b, x))


class ColumnLogProb(Normal2):
    def _log_prob(self, x):
        return super()._log_prob(x)[:, None]


class IgnoresThePrior(Normal2):
    def _posterior_mean(self, a, b, x):
        return x


BROKEN = {  # rule id -> a target class that breaks it (registered as "normal2", built with shift = 1)
    "is_target": NotATarget,
    "name_is_the_registered_name": WrongName,
    "dimensions_are_consistent": TooManyIntrinsicDims,
    "params_are_json": ArrayParams,
    "rebuilds_from_params": ForgetsParams,
    "sample_returns_float64_n_by_d": Float32Samples,
    "velocity_is_finite_float64_n_by_d": NaNLateInTime,
    "log_prob_is_n_or_not_implemented": ColumnLogProb,
    "posterior_mean_at_t0_is_the_mean": IgnoresThePrior,
}


def test_a_user_registered_target_passes(scratch_registries):
    ct.targets.register("normal2", Normal2)
    check_target("normal2", {"shift": 1.0})


def test_every_target_rule_has_a_broken_target():
    assert list(BROKEN) == [rule.__name__ for rule in TARGET_RULES]


@pytest.mark.parametrize("rule", list(BROKEN))
def test_a_broken_target_fails_the_rule_it_breaks(rule, scratch_registries):
    ct.targets.register("normal2", BROKEN[rule])
    check = dict(target_checks("normal2", {"shift": 1.0}))[rule]
    with pytest.raises(AssertionError, match=f"^{rule}: "):
        check()
    with pytest.raises(AssertionError, match=f"\\n  {rule}: "):
        check_target("normal2", {"shift": 1.0})


class TwoFaults(WrongName, Float32Samples):
    pass


def test_check_target_reports_every_broken_rule_at_once(scratch_registries):
    ct.targets.register("normal2", TwoFaults)
    with pytest.raises(AssertionError) as info:
        check_target("normal2")
    message = str(info.value)
    assert message.startswith(f"check_target(normal2): 2 of {len(TARGET_RULES)} rules broken")
    assert "\n  name_is_the_registered_name: " in message and "\n  sample_returns_float64_n_by_d: " in message


def test_target_checks_reject_an_unknown_name_or_parameter():
    with pytest.raises(ValueError, match="^target: unknown value 'moons'"):
        target_checks("moons")
    with pytest.raises(ValueError, match="^radiuss: not a parameter"):
        target_checks("8gaussians", {"radiuss": 3.0})


@pytest.mark.parametrize("call, field", [
    (lambda t: t.sample(0, np.random.default_rng(0)), "n"),
    (lambda t: t.sample(-3, np.random.default_rng(0)), "n"),
    (lambda t: t.sample(2.5, np.random.default_rng(0)), "n"),
    (lambda t: t.sample(5, 0), "rng"),
    (lambda t: t.velocity(0.5, np.zeros((4, 3)), "linear"), "x"),
    (lambda t: t.velocity(0.5, np.zeros(2), "linear"), "x"),
    (lambda t: t.velocity(0.5, [[np.nan, 0.0]], "linear"), "x"),
    (lambda t: t.velocity(1.5, np.zeros((4, 2)), "linear"), "t"),
    (lambda t: t.velocity(-0.1, np.zeros((4, 2)), "linear"), "t"),
    (lambda t: t.velocity(np.full(3, 0.5), np.zeros((4, 2)), "linear"), "t"),
    (lambda t: t.velocity(0.5, np.zeros((4, 2)), "euler"), "path"),
    (lambda t: t.log_prob(np.zeros((4, 3))), "x"),
    (lambda t: t.flow_map(np.zeros((4, 2)), 2.0, "linear"), "t"),
    (lambda t: t.posterior_mean(-0.1, 0.5, np.zeros((4, 2))), "a, b"),
    (lambda t: t.posterior_mean(0.0, 0.0, np.zeros((4, 2))), "a, b"),
    (lambda t: t.posterior_mean(np.ones(3), 0.5, np.zeros((4, 2))), "a, b"),
])
def test_argument_errors_name_the_field(call, field):
    target = ct.targets.get("8gaussians")
    with pytest.raises(ValueError, match=f"^{field}:"):
        call(target)


TIMES = st.one_of(st.floats(0.0, 0.999), st.sampled_from([0.0, 1.0]))


@pytest.mark.parametrize("name", sorted(EXAMPLES))
@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 6), t=TIMES, seed=st.integers(0, 2 ** 32 - 1), scale=st.floats(0.1, 3.0))
def test_velocity_vectorisation(name, n, t, seed, scale):
    """Scalar t equals t broadcast to (n,); row i of a batch equals the single-row evaluation; shape (n, D)."""
    target = ct.targets.get(name, **EXAMPLES[name])
    rng = np.random.default_rng(seed)
    x = scale * rng.standard_normal((n, target.dim))
    times = rng.uniform(size=n)
    for path in PATHS:
        if t == 1.0 and ct.paths.get(path).singular_at_one:
            with pytest.raises(ValueError, match="^t: "):
                target.velocity(t, x, path)
            continue
        v = target.velocity(t, x, path)
        assert v.shape == (n, target.dim) and np.all(np.isfinite(v))
        np.testing.assert_allclose(target.velocity(np.full(n, t), x, path), v, rtol=1e-12, atol=1e-12)
        batch = target.velocity(times, x, path)
        for i in range(n):
            np.testing.assert_allclose(target.velocity(times[i], x[i:i + 1], path)[0], batch[i],
                                       rtol=1e-11, atol=1e-11)
