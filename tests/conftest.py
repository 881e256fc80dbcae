"""Shared fixtures: backends parametrised over the registry, a fresh RNG per test."""

import numpy as np
import pytest

from rrnn import backends

COMPILED = ("c", "numba")


def _backend_or_skip(name):
    module, reason = backends.load(name)
    if module is None:
        pytest.skip(f"backend {name!r} unavailable: {reason}")
    return module


@pytest.fixture(params=COMPILED)
def fast_backend(request):
    """Each compiled backend (c, numba), compared against the numpy oracle."""
    return _backend_or_skip(request.param)


@pytest.fixture(params=backends.BACKENDS)
def any_backend(request):
    """Every registered backend, including the numpy reference."""
    return _backend_or_skip(request.param)


@pytest.fixture
def c_backend():
    """The C backend module (for tests of its SIMD levels and raw kernels)."""
    return _backend_or_skip("c")


@pytest.fixture
def reference():
    return _backend_or_skip("numpy")


@pytest.fixture
def rng():
    """A fresh, seeded generator per test: no module-level seeding."""
    return np.random.default_rng(12345)
