"""Bad input raises a clear error naming the parameter, before any work starts."""

import numpy as np
import pytest

import rrnn
from rrnn import couplings


@pytest.fixture
def J():
    return couplings.binary(20, seed=0, backend="numpy")


@pytest.fixture
def s0():
    return np.ones(20, dtype=np.int8)


def test_wrong_state_shape(J):
    with pytest.raises(ValueError, match=r"s0: expected shape \(20,\)"):
        rrnn.simulate(J, np.ones(21), backend="numpy")
    with pytest.raises(ValueError, match="s0"):
        rrnn.simulate(J, np.ones((2, 3, 20)), backend="numpy")


def test_states_outside_allowed_values(J):
    bad = np.ones(20)
    bad[3] = 0
    with pytest.raises(ValueError, match=r"s0: sign states must be -1 or 1; found 0.* \(0, 3\)"):
        rrnn.simulate(J, bad, backend="numpy")
    with pytest.raises(ValueError, match="heaviside states must be 0 or 1"):
        rrnn.simulate(J, -np.ones(20), activation="heaviside", backend="numpy")
    with pytest.raises(ValueError, match="s0"):
        rrnn.simulate(J, np.full(20, np.nan), backend="numpy")


def test_wrong_state_dtype(J):
    with pytest.raises(TypeError, match="s0: expected a numeric array"):
        rrnn.simulate(J, np.array(["a"] * 20), backend="numpy")


def test_nan_couplings():
    m = np.zeros((4, 4))
    m[1, 2] = np.nan
    with pytest.raises(ValueError, match=r"matrix: entries must be finite; found nan at \(1, 2\)"):
        couplings.dense(m)
    with pytest.raises(ValueError, match="values: entries must be finite"):
        couplings.sparse([0, 1, 1], [1], [np.inf], 2)


def test_zero_and_bad_n():
    with pytest.raises(ValueError, match="n: expected an int >= 1, got 0"):
        couplings.binary(0)
    with pytest.raises(TypeError, match="n: expected an int"):
        couplings.gaussian(3.5)
    with pytest.raises(ValueError, match=r"matrix: expected a square \(n, n\) array, got shape \(0, 0\)|matrix size n"):
        couplings.dense(np.zeros((0, 0)))
    with pytest.raises(ValueError, match="square"):
        couplings.dense(np.zeros((3, 4)))


def test_negative_max_steps(J, s0):
    with pytest.raises(ValueError, match="max_steps: expected an int >= 0, got -1"):
        rrnn.simulate(J, s0, max_steps=-1, backend="numpy")
    with pytest.raises(TypeError, match="max_steps: expected an int"):
        rrnn.simulate(J, s0, max_steps=2.5, backend="numpy")


def test_unknown_backend_activation_update(J, s0, monkeypatch):
    with pytest.raises(ValueError, match="backend: unknown backend 'cuda'"):
        rrnn.simulate(J, s0, backend="cuda")
    monkeypatch.setenv("RRNN_BACKEND", "fortran")
    with pytest.raises(ValueError, match="RRNN_BACKEND: unknown backend 'fortran'"):
        rrnn.simulate(J, s0)
    monkeypatch.delenv("RRNN_BACKEND")
    with pytest.raises(ValueError, match="activation: expected one of 'sign', 'heaviside', got 'tanh'"):
        rrnn.simulate(J, s0, activation="tanh", backend="numpy")
    with pytest.raises(ValueError, match="update: expected one of 'sync', 'async', got 'glauber'"):
        rrnn.simulate(J, s0, update="glauber", backend="numpy")


def test_bad_scalars_and_vectors(J, s0):
    with pytest.raises(ValueError, match="self_coupling: expected a finite number, got nan"):
        rrnn.simulate(J, s0, self_coupling=float("nan"), backend="numpy")
    with pytest.raises(ValueError, match=r"field: expected a scalar or shape \(20,\)"):
        rrnn.simulate(J, s0, field=np.zeros(19), backend="numpy")
    with pytest.raises(ValueError, match=r"field - threshold overflows float64"):
        rrnn.simulate(J, s0, field=1e308, threshold=-1e308, backend="numpy")
    with pytest.raises(ValueError, match=r"field: expected a scalar or shape \(20,\), got \(1, 20\)"):
        rrnn.count_fixed_points(J, field=np.ones((1, 20)), backend="numpy")
    with pytest.raises(ValueError, match="threshold: values must be finite"):
        rrnn.simulate(J, s0, threshold=np.full(20, np.inf), backend="numpy")
    with pytest.raises(ValueError, match="n_threads: expected an int >= 1, got 0"):
        rrnn.simulate(J, s0, n_threads=0, backend="numpy")
    with pytest.raises(ValueError, match="seed: expected an int >= 0"):
        rrnn.simulate(J, s0, update="async", seed=-3, backend="numpy")
    with pytest.raises(TypeError, match="seed: expected an int >= 0, a numpy.random.SeedSequence"):
        rrnn.simulate(J, s0, update="sync", seed=1.5, backend="numpy")   # unused, still checked


def test_sync_step_and_local_fields_validate_like_simulate(J, s0):
    with pytest.raises(ValueError, match=r"s: expected shape \(20,\)"):
        rrnn.sync_step(J, np.ones(21), backend="numpy")
    with pytest.raises(ValueError, match="s: heaviside states must be 0 or 1"):
        rrnn.sync_step(J, -np.ones(20), activation="heaviside", backend="numpy")
    with pytest.raises(ValueError, match="activation: expected one of 'sign', 'heaviside'"):
        rrnn.sync_step(J, s0, activation="relu", backend="numpy")
    with pytest.raises(ValueError, match="self_coupling: expected a finite number, got inf"):
        rrnn.local_fields(J, s0, self_coupling=float("inf"), backend="numpy")
    with pytest.raises(ValueError, match="backend: unknown backend 'gpu'"):
        rrnn.sync_step(J, s0, backend="gpu")


def test_network_that_cannot_fit_is_refused_before_allocation():
    # 10^7 units bit-packed is 12.5 TB: refused with the estimate, instantly.
    with pytest.raises(MemoryError, match=r"binary\(n=10000000\) needs about 12.50 TB.*; use a "
                                          r"smaller n \(the matrix is already bit-packed"):
        couplings.binary(10_000_000)
    with pytest.raises(MemoryError, match=r"gaussian\(n=3000000\) needs about .*or bit-packed"):
        couplings.gaussian(3_000_000)
    # the O(n) row pointers alone: refused before the entry count is drawn
    with pytest.raises(MemoryError, match=r"sparse_reinforcement\(n=10000000000, d=0.5\) needs about 320.00 GB"):
        couplings.sparse_reinforcement(10**10, 0.5, 0.5)


def test_fields_and_step_refuse_a_batch_that_cannot_fit(monkeypatch):
    """The estimate is checked before the states are even scanned: with 6 MB available,
    200 units x 2,000 states (about 7.5 MB with float64 fields and the checks'
    temporaries) are refused; sync_step's int8 output (about 4.7 MB) fits."""
    J = couplings.binary(200, seed=0, backend="numpy")
    monkeypatch.setattr(rrnn.memory, "available_bytes", lambda: 6_000_000)
    s = np.ones((2_000, 200), dtype=np.int8)
    with pytest.raises(MemoryError, match=r"local_fields\(n=200, batch=2000\) needs about 7.5"):
        rrnn.local_fields(J, s, backend="numpy", n_threads=1)
    assert rrnn.sync_step(J, s, backend="numpy", n_threads=1).shape == (2_000, 200)
    # refused from the shape alone: states that are not even valid are never scanned
    with pytest.raises(MemoryError, match=r"local_fields\(n=200, batch=2000\)"):
        rrnn.local_fields(J, np.full((2_000, 200), 7, dtype=np.int8), backend="numpy")
    with pytest.raises(MemoryError, match=r"simulate\(n=200, batch=2000\)"):
        rrnn.simulate(J, np.full((2_000, 200), 7, dtype=np.int8), backend="numpy")


def test_bad_sparse_structure():
    with pytest.raises(ValueError, match=r"indptr: expected shape \(4,\)"):
        couplings.sparse([0, 1], [0], [1.0], 3)
    with pytest.raises(ValueError, match=r"indices: expected columns in \[0, 3\)"):
        couplings.sparse([0, 1, 1, 1], [5], [1.0], 3)


def test_sum_of_mismatched_sizes():
    with pytest.raises(ValueError, match="different sizes"):
        couplings.binary(4, backend="numpy") + couplings.binary(5, backend="numpy")


def test_bad_simd_request(monkeypatch, J, s0, c_backend):
    monkeypatch.setenv("RRNN_SIMD", "sse9")
    with pytest.raises(ValueError, match="RRNN_SIMD: unknown level 'sse9'"):
        rrnn.simulate(J, s0, backend="c")


def test_coupling_scales_and_pointers_out_of_range():
    """Entries whose fixed-point scale would under- or overflow are refused instead of
    becoming all zeros or garbage; unsigned row pointers that decrease are refused."""
    with pytest.raises(ValueError, match=r"std: expected a number in \[1e-290, 1e290\]"):
        couplings.gaussian(4, std=1e308)
    with pytest.raises(ValueError, match=r"std: expected a number in \[1e-290, 1e290\]"):
        couplings.gaussian(4, std=1e-320)
    with pytest.raises(ValueError, match=r"matrix: the largest \|value\| is 9.99989e-321"):
        couplings.dense([[0.0, 1e-320], [1e-320, 0.0]])
    with pytest.raises(ValueError, match=r"values: the largest \|value\| is 1e\+300"):
        couplings.sparse([0, 1, 1], [1], [1e300], 2)
    with pytest.raises(ValueError, match=r"indptr: expected non-decreasing .*; indptr\[2\] < indptr\[1\]"):
        couplings.sparse(np.array([0, 2, 1, 3], dtype=np.uint64), [0, 1, 2], [1.0, 1.0, 1.0], 3)


def test_dense_refuses_a_matrix_whose_conversion_cannot_fit(monkeypatch):
    """dense() needs a float64 copy and temporaries (about 29 bytes per entry): with
    1 MB available a 300 x 300 matrix (2.6 MB) is refused with the estimate."""
    monkeypatch.setattr(rrnn.memory, "available_bytes", lambda: 1_000_000)
    with pytest.raises(MemoryError, match=r"dense\(n=300\) needs about 2.6"):
        couplings.dense(np.zeros((300, 300), dtype=np.float32))
