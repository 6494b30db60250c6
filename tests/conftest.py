"""Fixtures shared by several test modules."""
import pytest


@pytest.fixture(scope="module")
def one_torch_thread():
    """Run a module's tests with torch capped at one thread (2 shared cores: oversubscription slows torch ~20x),
    restoring the previous setting afterwards. Opt in with ``pytestmark = pytest.mark.usefixtures(...)``."""
    from chargen_theory import training

    with training.torch_threads(1):
        yield
