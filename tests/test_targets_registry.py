"""The target registry, the shared contract (params, shapes, dtypes, validation) and vectorisation properties of
every registered target's velocity (hypothesis)."""
import json

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import chargen_theory as ct

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


def test_register(monkeypatch):
    monkeypatch.setattr(ct.targets, "_REGISTRY", dict(ct.targets._REGISTRY))
    ct.targets.register("unit_box", lambda dim=1: ct.targets.get("box", low=[0.0] * dim, high=[1.0] * dim))
    assert "unit_box" in ct.targets.names()
    assert ct.targets.get("unit_box", dim=3).dim == 3
    with pytest.raises(ValueError, match="^name:"):
        ct.targets.register("unit_box", lambda: None)
    with pytest.raises(ValueError, match="^factory:"):
        ct.targets.register("other", 3)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_contract(name):
    target = ct.targets.get(name, **EXAMPLES[name])
    assert isinstance(target, ct.targets.Target)
    assert target.name == name and 1 <= target.intrinsic_dim <= target.dim
    params = json.loads(json.dumps(target.params))  # JSON-serialisable
    rebuilt = ct.targets.get(name, **params)
    rng = np.random.default_rng(60)
    y = target.sample(50, rng)
    assert y.shape == (50, target.dim) and y.dtype == np.float64
    np.testing.assert_array_equal(rebuilt.sample(50, np.random.default_rng(60)), y)
    x = y + 0.1 * rng.standard_normal(y.shape)
    for path in PATHS:
        v = target.velocity(rng.uniform(size=50), x, path)
        assert v.shape == (50, target.dim) and v.dtype == np.float64 and np.all(np.isfinite(v))
        np.testing.assert_array_equal(rebuilt.velocity(0.4, x, path), target.velocity(0.4, x, path))
    if HAS_DENSITY[name]:
        lp = target.log_prob(x)
        assert lp.shape == (50,) and np.all(lp < np.inf)
    else:
        with pytest.raises(NotImplementedError):
            target.log_prob(x)
    np.testing.assert_allclose(target.posterior_mean(1.0, 0.0, x), np.broadcast_to(y.mean(axis=0), x.shape),
                               atol=1.0)  # t = 0: the target mean (loose: a 50-sample mean)


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
