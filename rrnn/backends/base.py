"""What every backend receives: kernel-ready couplings and integer codes.

The public API (``rrnn.simulate`` and friends) validates user input once and
turns coupling objects into a :class:`KernelCouplings`: plain, contiguous
arrays of the right dtype, mirroring the ``rrnn_couplings`` struct of
``csrc/rrnn_core.h``. Backends only compute.

Backend interface (all three backends implement these methods with these
signatures; arrays are C-contiguous with exactly the stated dtypes):

``generate_binary(key, n, n_threads) -> (n, words) uint64``
``transpose_bits(rows, n, n_threads) -> (n, words) uint64``
``local_fields(J, states, bias, self_coupling, n_threads) -> (batch, n) float64``
``simulate(J, states, bias, self_coupling, activation, update, max_steps,
order_key, n_threads) -> (steps int64, converged bool, period int64)``,
updating ``states`` (batch, n) int8 in place;
``count_fixed_points(J, bias, self_coupling, activation, n_threads) -> int``.

``bias`` is ``field - threshold``, float64, of shape (n,) or (batch, n);
``self_coupling`` is float64 of shape (batch,) (one J_D per trajectory) for
``local_fields`` and ``simulate``, a float for ``count_fixed_points``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ACT_SIGN = 0
ACT_HEAVISIDE = 1
ACTIVATIONS = {"sign": ACT_SIGN, "heaviside": ACT_HEAVISIDE}

UPDATE_SYNC = 0
UPDATE_ASYNC = 1
UPDATES = {"sync": UPDATE_SYNC, "async": UPDATE_ASYNC}

#: Largest n for exhaustive fixed-point enumeration.
MAX_ENUMERATION_N = 40


def n_words(n: int) -> int:
    """Number of uint64 words in a bit-packed row of ``n`` units."""
    return (n + 63) // 64


@dataclass(frozen=True)
class KernelCouplings:
    """A coupling matrix as a sum of up to three integer-valued terms.

    The matrix is ``bin_scale * C_bin + dense_scale * Q_dense +
    sparse_scale * Q_sparse`` with zero diagonal; a term is absent when its
    rows array is ``None``. ``*_cols`` are transposes, used for incremental
    field updates; they may be ``None`` when only ``local_fields`` is needed.

    Attributes
    ----------
    n : int
    bin_rows, bin_cols : ndarray (n, words) uint64 or None
        Bit ``b`` of word ``w`` of row ``i`` is column ``64 w + b``; a set bit
        means -1, a clear bit +1; diagonal and padding bits are 0.
    dense_rows, dense_cols : ndarray (n, n) int32 or None
        Fixed-point couplings; diagonal ignored.
    sp_row_ptr, sp_row_idx, sp_row_val : CSR arrays (int64, int64, int32)
    sp_col_ptr, sp_col_idx, sp_col_val : the same matrix in CSC form
    """

    n: int
    bin_rows: np.ndarray | None = None
    bin_cols: np.ndarray | None = None
    bin_scale: float = 0.0
    dense_rows: np.ndarray | None = None
    dense_cols: np.ndarray | None = None
    dense_scale: float = 0.0
    sp_row_ptr: np.ndarray | None = None
    sp_row_idx: np.ndarray | None = None
    sp_row_val: np.ndarray | None = None
    sp_col_ptr: np.ndarray | None = None
    sp_col_idx: np.ndarray | None = None
    sp_col_val: np.ndarray | None = None
    sparse_scale: float = 0.0

    @property
    def has_binary(self) -> bool:
        return self.bin_rows is not None

    @property
    def has_dense(self) -> bool:
        return self.dense_rows is not None

    @property
    def has_sparse(self) -> bool:
        return self.sp_row_ptr is not None
