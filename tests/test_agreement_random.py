"""Seeded random configurations against the numpy reference.

``test_agreement.py`` walks a grid at one size (n = 97, 5 states). This module draws
whole configurations instead, so that combinations the grid leaves out meet: sizes on
both sides of the 64-bit words and of the 32-state batched kernel, sums of couplings
with heaviside states, fields sitting exactly on the binary couplings' lattice of
k / sqrt(n) (where sign(0) = +1 and theta(0) = 1 decide), Glauber dynamics, Hebbian
couplings, max_steps = 0. Each case is a pure function of its index, so a failure
names a configuration that can be rebuilt with :func:`_case`.
"""

import numpy as np
import pytest
import scipy.sparse as sp

import rrnn
from rrnn import couplings

N_CASES = 40
SIZES = (1, 2, 31, 64, 65, 129, 257, 513)
BATCHES = (1, 3, 31, 32, 33, 64, 65)
KINDS = ("binary", "binary", "gaussian", "dense", "sparse", "sum", "hebbian")


def _couplings(kind, n, rng):
    """One coupling matrix of the given kind; ``dense`` and ``sparse`` values are
    sometimes rounded to quarters, so that fields tie with a threshold."""
    seed = int(rng.integers(1 << 30))
    if kind == "binary":
        return couplings.binary(n, seed=seed, backend="numpy")
    if kind == "gaussian":
        return couplings.gaussian(n, seed=seed)
    if kind == "dense":
        m = rng.standard_normal((n, n))
        return couplings.dense(np.round(4 * m) / 4 if rng.random() < 0.5 else m)
    if kind == "sparse":
        m = sp.random(n, n, density=rng.uniform(0.01, 0.3), random_state=rng, format="csr",
                      data_rvs=lambda size: np.round(4 * rng.standard_normal(size)) / 4)
        return couplings.sparse(m.indptr, m.indices, m.data, n)
    if kind == "hebbian":
        p = int(rng.integers(1, 6))
        return couplings.hebbian(np.where(rng.random((p, n)) < 0.5, 1, -1))
    # a sum holds at most one binary term
    first = _couplings(str(rng.choice(["binary", "gaussian", "dense"])), n, rng)
    return first + _couplings(str(rng.choice(["dense", "sparse"])), n, rng)


def _case(index):
    """Couplings, initial states and keyword arguments of ``rrnn.simulate`` for case
    ``index``: a pure function of the index."""
    rng = np.random.default_rng(20261128 + index)
    n, batch = int(rng.choice(SIZES)), int(rng.choice(BATCHES))
    kind = str(rng.choice(KINDS))
    activation = str(rng.choice(["sign", "heaviside"]))
    J = _couplings(kind, n, rng)
    low = -1 if activation == "sign" else 0
    s0 = np.where(rng.random((batch, n)) < rng.uniform(0.05, 0.95), 1, low).astype(np.int8)
    # on the lattice: self-coupling, threshold and fields are multiples of 1/sqrt(n),
    # like binary couplings' fields, so some units tie exactly
    on_lattice = rng.random() < 0.4
    step = 1 / np.sqrt(n) if on_lattice else 0.3
    kwargs = dict(activation=activation, update=str(rng.choice(["sync", "async"])),
                  max_steps=int(rng.integers(0, 30)), seed=int(rng.integers(1 << 30)),
                  self_coupling=float(rng.integers(-2, 4)) * step)
    if rng.random() < 0.5:
        kwargs["threshold"] = (float(rng.integers(-3, 4)) * step if on_lattice
                               else rng.normal(0, 0.2, n))
    if rng.random() < 0.4:
        kwargs["field"] = (rng.integers(-2, 3, (batch, n)) * step if on_lattice
                           else rng.normal(0, 0.3, n))
    if rng.random() < 0.15:
        kwargs["beta"] = float(rng.choice([0.5, 2.0, 50.0]))
    return J, s0, kwargs


_REFERENCE = {}


def _reference(index):
    if index not in _REFERENCE:
        J, s0, kwargs = _case(index)
        _REFERENCE[index] = (rrnn.simulate(J, s0, backend="numpy", **kwargs),
                             rrnn.local_fields(J, s0, backend="numpy", **_field_kwargs(kwargs)),
                             rrnn.sync_step(J, s0, backend="numpy", **_field_kwargs(kwargs)))
    return _REFERENCE[index]


def _field_kwargs(kwargs):
    return {k: kwargs[k] for k in ("self_coupling", "field", "threshold", "activation")
            if k in kwargs}


@pytest.mark.parametrize("index", range(N_CASES))
@pytest.mark.parametrize("n_threads", [1, 2])
def test_random_configuration_matches_reference(fast_backend, index, n_threads):
    J, s0, kwargs = _case(index)
    expected, fields, step = _reference(index)
    backend = fast_backend.name
    got = rrnn.simulate(J, s0, backend=backend, n_threads=n_threads, **kwargs)
    np.testing.assert_array_equal(got.states, expected.states)
    np.testing.assert_array_equal(got.steps, expected.steps)
    np.testing.assert_array_equal(got.converged, expected.converged)
    np.testing.assert_array_equal(got.period, expected.period)
    np.testing.assert_array_equal(
        rrnn.local_fields(J, s0, backend=backend, n_threads=n_threads, **_field_kwargs(kwargs)),
        fields)
    np.testing.assert_array_equal(
        rrnn.sync_step(J, s0, backend=backend, n_threads=n_threads, **_field_kwargs(kwargs)),
        step)
