"""The numba backend: JIT-compiled kernels with the reference's exact results.

The kernels live in :mod:`rrnn.backends.numba_kernels`; this module only
coerces arrays, allocates outputs and sets the thread count per call. Fields
are exact integer accumulators turned into float64 in the reference order
(:mod:`rrnn.backends.numpy_ref`), so states, steps, flags, fields and
fixed-point counts are bit-identical to the reference and do not depend on
the thread count. The first call of each kernel compiles it (cached on disk
afterwards).
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

import math

from .base import (MAX_ENUMERATION_N, OPTIONAL_FEATURES, UPDATE_SYNC, KernelCouplings, activate,
                   n_words)

name = "numba"
FEATURES = OPTIONAL_FEATURES

try:
    import numba
    from . import numba_kernels as _k
    _IMPORT_ERROR = ""
except Exception as exc:  # numba missing or broken: the backend is unavailable
    numba = _k = None
    _IMPORT_ERROR = f"numba is not importable ({type(exc).__name__}: {exc})"


def available() -> tuple[bool, str]:
    """(True, "") when numba imports, else (False, reason)."""
    return (_k is not None), _IMPORT_ERROR


@contextmanager
def _threads(n_threads: int):
    """Run the enclosed kernels on ``n_threads`` threads (capped at numba's
    pool size), restoring the previous setting afterwards."""
    previous = numba.get_num_threads()
    wanted = max(1, min(int(n_threads), numba.config.NUMBA_NUM_THREADS))
    numba.set_num_threads(wanted)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def _arr(a, dtype, ndim):
    """``a`` as a C-contiguous array of ``dtype``, or a placeholder when None."""
    if a is None:
        return np.zeros((1,) * ndim, dtype=dtype) if ndim == 2 else np.zeros(0, dtype=dtype)
    return np.ascontiguousarray(a, dtype=dtype)


def _require_cols(J: KernelCouplings) -> None:
    if ((J.has_binary and J.bin_cols is None) or (J.has_dense and J.dense_cols is None)
            or (J.has_sparse and J.sp_col_ptr is None)
            or (J.has_lowrank and J.lr_bits_t is None)):
        raise ValueError("KernelCouplings: transposed couplings (*_cols / CSC) are "
                         "required for simulate and count_fixed_points")


def _term_tuple(J: KernelCouplings, need_cols: bool):
    """The coupling terms as the flat tuple the kernels unpack."""
    has_bin, has_dense, has_sp = J.has_binary, J.has_dense, J.has_sparse
    if need_cols:
        _require_cols(J)
    if J.has_lowrank and J.lr_bits_t is None:
        raise ValueError("KernelCouplings: the numba backend needs lr_bits_t (the "
                         "bit-packed transpose) for every use of a low-rank term")
    return (
        np.int64(J.n),
        _arr(J.bin_rows, np.uint64, 2), _arr(J.bin_cols, np.uint64, 2),
        float(J.bin_scale), bool(has_bin),
        _arr(J.dense_rows, np.int32, 2), _arr(J.dense_cols, np.int32, 2),
        float(J.dense_scale), bool(has_dense),
        _arr(J.sp_row_ptr, np.int64, 1), _arr(J.sp_row_idx, np.int64, 1),
        _arr(J.sp_row_val, np.int32, 1),
        _arr(J.sp_col_ptr, np.int64, 1), _arr(J.sp_col_idx, np.int64, 1),
        _arr(J.sp_col_val, np.int32, 1),
        float(J.sparse_scale), bool(has_sp),
        _arr(J.lr_patterns, np.int8, 2), _arr(J.lr_bits_t, np.uint64, 2),
        float(J.lr_scale), bool(J.has_lowrank), np.int64(J.lr_p),
    )


def _bias2d(bias: np.ndarray, batch: int, n: int):
    """bias (n,) or (batch, n) -> (2-D float64 array, per-row flag).

    The shape is checked because the kernels index without bounds checks."""
    bias = np.ascontiguousarray(bias, dtype=np.float64)
    if bias.shape == (n,):
        return bias.reshape(1, n), False
    if bias.shape == (batch, n):
        return bias, True
    raise ValueError(f"bias: expected shape ({n},) or ({batch}, {n}), got {bias.shape}")


def _per_row(self_coupling, batch: int) -> np.ndarray:
    """self_coupling (a float or (batch,)) as a C-contiguous (batch,) float64 array."""
    return np.ascontiguousarray(
        np.broadcast_to(np.asarray(self_coupling, dtype=np.float64), (batch,)))


# --------------------------------------------------------------------------
# couplings
# --------------------------------------------------------------------------

def generate_binary(key: int, n: int, n_threads: int = 1) -> np.ndarray:
    """Random +-1 couplings, bit-packed; see ``rrnn_generate_binary``."""
    rows = np.empty((n, n_words(n)), dtype=np.uint64)
    with _threads(n_threads):
        _k.generate_binary(np.uint64(key), np.int64(n), rows)
    return rows


def transpose_bits(rows: np.ndarray, n: int, n_threads: int = 1) -> np.ndarray:
    """Transpose of an (n x n) bit matrix, both bit-packed (n, words) uint64."""
    rows = np.ascontiguousarray(rows, dtype=np.uint64)
    if rows.shape != (n, n_words(n)):
        raise ValueError(f"rows: expected shape ({n}, {n_words(n)}), got {rows.shape}")
    cols = np.zeros((n, n_words(n)), dtype=np.uint64)
    with _threads(n_threads):
        _k.transpose_bits(rows, np.int64(n), cols)
    return cols


# --------------------------------------------------------------------------
# fields and dynamics
# --------------------------------------------------------------------------

def local_fields(J: KernelCouplings, states: np.ndarray, bias: np.ndarray,
                 self_coupling: np.ndarray, n_threads: int = 1) -> np.ndarray:
    """Local fields (batch, n) float64 of states (batch, n) int8.

    ``self_coupling`` is (batch,) float64 (or a float): one J_D per row.
    """
    states = np.ascontiguousarray(states, dtype=np.int8)
    if states.ndim != 2 or states.shape[1] != J.n:
        raise ValueError(f"states: expected shape (batch, {J.n}), got {states.shape}")
    bias2, per_row = _bias2d(bias, states.shape[0], J.n)
    out = np.empty(states.shape, dtype=np.float64)
    with _threads(n_threads):
        _k.local_fields(_term_tuple(J, need_cols=False), states, bias2, per_row,
                        _per_row(self_coupling, states.shape[0]), out)
    return out


def sync_step(J: KernelCouplings, states: np.ndarray, bias: np.ndarray,
              self_coupling: np.ndarray, activation: int, n_threads: int = 1) -> np.ndarray:
    """One synchronous step: new states (batch, n) int8 of states (batch, n) int8."""
    return activate(local_fields(J, states, bias, self_coupling, n_threads), activation)


def simulate(J: KernelCouplings, states: np.ndarray, bias: np.ndarray,
             self_coupling: np.ndarray, activation: int, update: int, max_steps: int,
             order_key: int, n_threads: int = 1, beta: float = math.inf, noise_key: int = 0):
    """Run every row of ``states`` (batch, n) int8 in place; see ``numpy_ref``.

    ``self_coupling`` is (batch,) float64 (or a float): one J_D per row.
    ``beta`` finite selects Glauber updates with random numbers from ``noise_key``.

    Returns
    -------
    steps : ndarray (batch,) int64
    converged : ndarray (batch,) bool
    period : ndarray (batch,) int64
    """
    if (states.dtype != np.int8 or not states.flags.c_contiguous or states.ndim != 2
            or states.shape[1] != J.n):
        raise ValueError(f"states: expected a C-contiguous (batch, {J.n}) int8 array "
                         f"(updated in place), got {states.dtype} {states.shape}")
    batch = states.shape[0]
    steps = np.zeros(batch, dtype=np.int64)
    converged = np.zeros(batch, dtype=np.bool_)
    period = np.full(batch, -1, dtype=np.int64)
    bias2, per_row = _bias2d(bias, batch, J.n)
    self_coupling = _per_row(self_coupling, batch)
    jt = _term_tuple(J, need_cols=True)
    finite = not math.isinf(beta)
    noise = (float(beta) if finite else 0.0, np.uint64(noise_key), finite)
    with _threads(n_threads):
        if update == UPDATE_SYNC:
            _k.simulate_sync(jt, states, bias2, per_row, self_coupling,
                             np.int64(activation), np.int64(max_steps), *noise, steps,
                             converged, period)
        else:
            _k.simulate_async(jt, states, bias2, per_row, self_coupling,
                              np.int64(activation), np.int64(max_steps), np.uint64(order_key),
                              *noise, steps, converged, period)
    return steps, converged, period


def count_fixed_points(J: KernelCouplings, bias: np.ndarray, self_coupling: float,
                       activation: int, n_threads: int = 1) -> int:
    """Exhaustive count of fixed points over all 2**n states (bias (n,)).

    Gray-code enumeration with one column update per state, parallel over
    contiguous chunks of the Gray sequence.
    """
    n = J.n
    if n > MAX_ENUMERATION_N:
        raise ValueError(f"count_fixed_points: n = {n} > {MAX_ENUMERATION_N}")
    _require_cols(J)
    bias = np.ascontiguousarray(bias, dtype=np.float64).reshape(-1)
    if bias.shape[0] != n:
        raise ValueError(f"count_fixed_points: bias must have shape ({n},), got {bias.shape}")
    cols_b = np.zeros((n, n), dtype=np.int64)
    cols_d = np.zeros((n, n), dtype=np.int64)
    cols_s = np.zeros((n, n), dtype=np.int64)
    cols_l = np.zeros((n, n), dtype=np.int64)
    if J.has_binary:
        _k.expand_columns_binary(np.ascontiguousarray(J.bin_cols, dtype=np.uint64),
                                 np.int64(n), cols_b)
    if J.has_dense:
        _k.expand_columns_dense(np.ascontiguousarray(J.dense_cols, dtype=np.int32),
                                np.int64(n), cols_d)
    if J.has_sparse:
        _k.expand_columns_sparse(np.ascontiguousarray(J.sp_col_ptr, dtype=np.int64),
                                 np.ascontiguousarray(J.sp_col_idx, dtype=np.int64),
                                 np.ascontiguousarray(J.sp_col_val, dtype=np.int32),
                                 np.int64(n), cols_s)
    if J.has_lowrank:
        _k.expand_columns_lowrank(np.ascontiguousarray(J.lr_patterns, dtype=np.int8),
                                  np.int64(n), cols_l)
    # Up to 1024 chunks of at least 2^10 states (fewer for small n).
    chunk_bits = max(min(n, 10), n - 10)
    counts = np.zeros(1 << (n - chunk_bits), dtype=np.int64)
    with _threads(n_threads):
        _k.count_fixed_points(cols_b, cols_d, cols_s, cols_l, bool(J.has_binary),
                              bool(J.has_dense), bool(J.has_sparse), bool(J.has_lowrank),
                              float(J.bin_scale), float(J.dense_scale),
                              float(J.sparse_scale), float(J.lr_scale), bias, float(self_coupling),
                              np.int64(activation), np.int64(chunk_bits), counts)
    return int(counts.sum())
