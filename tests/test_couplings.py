"""Coupling constructors: statistics, storage, quantization, sums."""

import math

import numpy as np
import pytest
from scipy import stats

import rrnn
from rrnn import couplings


def test_binary_values_and_statistics():
    n = 400
    J = couplings.binary(n, seed=1, backend="numpy")
    d = J.to_dense()
    off = d[~np.eye(n, dtype=bool)]
    assert np.all(np.diag(d) == 0)
    assert set(np.unique(off)) == {-1 / math.sqrt(n), 1 / math.sqrt(n)}
    # fraction of negative signs is Binomial(n(n-1), 1/2): within 5 sigma
    frac = np.mean(off < 0)
    assert abs(frac - 0.5) < 5 * 0.5 / math.sqrt(off.size)
    assert J.bits.nbytes == n * 7 * 8          # one bit per weight, 7 words per row
    # distinct seeds give distinct matrices; the same seed the same
    assert np.array_equal(J.bits, couplings.binary(n, seed=1, backend="numpy").bits)
    assert not np.array_equal(J.bits, couplings.binary(n, seed=2, backend="numpy").bits)


def test_binary_rows_are_uncorrelated():
    n = 300
    c = couplings.binary(n, seed=5, backend="numpy").signs().astype(np.float64)
    overlap = (c @ c.T)[~np.eye(n, dtype=bool)] / (n - 2)
    assert abs(overlap.mean()) < 5 / math.sqrt(n * (n - 1))
    assert overlap.std() == pytest.approx(1 / math.sqrt(n), rel=0.1)


def test_gaussian_is_normal_with_requested_std():
    n = 500
    J = couplings.gaussian(n, seed=3, std=0.2)
    off = J.to_dense()[~np.eye(n, dtype=bool)]
    assert off.std() == pytest.approx(0.2, rel=0.01)
    assert stats.kstest(off / 0.2, "norm").pvalue > 1e-3
    default = couplings.gaussian(n, seed=3)
    assert default.to_dense()[~np.eye(n, dtype=bool)].std() == pytest.approx(1 / math.sqrt(n), rel=0.01)


def test_dense_quantization_error_is_below_float32_resolution(rng):
    m = rng.normal(size=(50, 50))
    J = couplings.dense(m)
    np.fill_diagonal(m, 0)
    err = np.abs(J.to_dense() - m).max()
    assert err <= np.abs(m).max() * 2.0**-30
    assert err < np.abs(m).max() * np.finfo(np.float32).eps


def test_sparse_sums_duplicates_and_drops_diagonal():
    J = couplings.sparse([0, 3, 3, 4], [1, 1, 0, 2], [0.5, 0.25, 9.0, -1.0], 3)
    expected = np.zeros((3, 3))
    expected[0, 1] = 0.75
    expected[2, 2] = 0.0   # diagonal dropped
    np.testing.assert_allclose(J.to_dense(), expected, atol=1e-9)
    assert J.nnz == 1


def test_sums_combine_terms():
    n = 30
    b = couplings.binary(n, seed=1, backend="numpy")
    g = couplings.gaussian(n, seed=2)
    s = couplings.sparse(np.arange(n + 1), (np.arange(n) + 1) % n, np.ones(n), n)
    total = b + g + s
    np.testing.assert_allclose(total.to_dense(), b.to_dense() + g.to_dense() + s.to_dense(), atol=1e-12)
    merged = g + couplings.gaussian(n, seed=3)
    assert isinstance(merged, couplings.DenseCouplings)
    np.testing.assert_allclose(merged.to_dense(),
                               g.to_dense() + couplings.gaussian(n, seed=3).to_dense(), atol=1e-8)
    with pytest.raises(ValueError, match="one binary term"):
        b + couplings.binary(n, seed=9, backend="numpy")


def test_binary_and_its_dense_copy_give_the_same_dynamics(rng):
    """Two storage formats of the same matrix: identical trajectories (generic J_D)."""
    n = 80
    b = couplings.binary(n, seed=6, backend="numpy")
    d = couplings.dense(b.to_dense())
    s0 = rng.choice([-1, 1], size=(4, n))
    r1 = rrnn.simulate(b, s0, self_coupling=0.37, backend="numpy", max_steps=50)
    r2 = rrnn.simulate(d, s0, self_coupling=0.37, backend="numpy", max_steps=50)
    np.testing.assert_array_equal(r1.states, r2.states)
    np.testing.assert_array_equal(r1.steps, r2.steps)


def test_plain_array_is_accepted_as_dense(rng):
    m = rng.normal(size=(10, 10))
    s0 = rng.choice([-1, 1], size=10)
    r1 = rrnn.simulate(m, s0, backend="numpy")
    r2 = rrnn.simulate(couplings.dense(m), s0, backend="numpy")
    np.testing.assert_array_equal(r1.states, r2.states)


def test_unseeded_draws_are_repeated_by_their_stored_entropy():
    """seed=None draws fresh entropy once: the stored ``seed_entropy`` repeats the
    couplings, the async orders and the Glauber noise exactly."""
    for make in (lambda s: couplings.binary(70, seed=s), lambda s: couplings.gaussian(70, seed=s)):
        J = make(None)
        again = make(J.seed_entropy)
        assert np.array_equal(J.to_dense(), again.to_dense())
        assert not np.array_equal(J.to_dense(), make(None).to_dense())
    J = couplings.binary(70, seed=1)
    s0 = np.where(np.random.default_rng(2).random((3, 70)) < 0.5, 1, -1).astype(np.int8)
    for kwargs in (dict(update="async", max_steps=3), dict(update="sync", beta=0.5, max_steps=5)):
        first = rrnn.simulate(J, s0, seed=None, backend="numpy", **kwargs)
        again = rrnn.simulate(J, s0, seed=first.seed_entropy, backend="numpy", **kwargs)
        assert np.array_equal(first.states, again.states), kwargs
        assert np.array_equal(first.steps, again.steps), kwargs
