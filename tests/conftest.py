"""Fixtures shared by several test modules."""
import pytest


@pytest.fixture(scope="module")
def one_torch_thread():
    """Run a module's tests with torch capped at one thread (2 shared cores: oversubscription slows torch ~20x),
    restoring the previous setting afterwards. Opt in with ``pytestmark = pytest.mark.usefixtures(...)``."""
    from chargen_theory import training

    with training.torch_threads(1):
        yield


@pytest.fixture
def scratch_registries():
    """Let a test register estimators, generators, targets, experiment kinds and claims without leaking them into
    other tests: every registry's additions are put back afterwards."""
    import chargen_theory as ct

    registries = (ct.velocity.ESTIMATORS, ct.generators.GENERATORS, ct.targets.TARGETS, ct.experiments.KINDS,
                  ct.claims.CLAIMS)
    saved = [registry.snapshot() for registry in registries]
    yield
    for registry, state in zip(registries, saved):
        registry.restore(state)
