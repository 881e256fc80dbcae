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
``sync_step(J, states, bias, self_coupling, activation, n_threads) -> (batch, n) int8``
``simulate(J, states, bias, self_coupling, activation, update, max_steps,
order_key, n_threads, beta=inf, noise_key=0) -> (steps int64, converged bool,
period int64)``, updating ``states`` (batch, n) int8 in place; ``beta`` is the
inverse temperature of Glauber updates (``inf``: zero temperature, the
deterministic rule) and ``noise_key`` seeds their random numbers;
``count_fixed_points(J, bias, self_coupling, activation, n_threads) -> int``.

``bias`` is ``field - threshold``, float64, of shape (n,) or (batch, n);
``self_coupling`` is float64 of shape (batch,) (one J_D per trajectory) for
``local_fields``, ``sync_step`` and ``simulate``, a float for ``count_fixed_points``.

A backend module lists the optional capabilities it implements in
``FEATURES`` (a frozenset of :data:`OPTIONAL_FEATURES`); a module without the
attribute implements none of them. ``rrnn.backends.get(..., require=...)``
refuses (explicit name) or skips (``"auto"``) a backend that lacks one.
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

#: Optional backend capabilities: the low-rank (Hebbian) coupling term and
#: finite-temperature Glauber updates.
FEATURE_LOWRANK = "lowrank"
FEATURE_GLAUBER = "glauber"
OPTIONAL_FEATURES = frozenset({FEATURE_LOWRANK, FEATURE_GLAUBER})

#: Largest n for exhaustive fixed-point enumeration.
MAX_ENUMERATION_N = 40


def activate(h: np.ndarray, activation: int) -> np.ndarray:
    """New states (same shape, int8) from fields ``h``: +1 where h >= 0, else
    -1 (``ACT_SIGN``) or 0 (``ACT_HEAVISIDE``)."""
    low = -1 if activation == ACT_SIGN else 0
    return np.where(h >= 0, 1, low).astype(np.int8)


def n_words(n: int) -> int:
    """Number of uint64 words in a bit-packed row of ``n`` units."""
    return (n + 63) // 64


@dataclass(frozen=True)
class KernelCouplings:
    """A coupling matrix as a sum of up to four integer-valued terms.

    The matrix is ``bin_scale * C_bin + dense_scale * Q_dense +
    sparse_scale * Q_sparse + lr_scale * L`` with zero diagonal; a term is
    absent when its rows array (``lr_patterns`` for the low-rank term) is
    ``None``. ``*_cols`` are transposes, used for incremental
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
    lr_patterns : ndarray (p, n) int8 or None
        Low-rank (Hebbian) term ``L_ij = sum_mu xi_i^mu xi_j^mu`` for i != j,
        patterns ``xi`` of +-1. Its accumulator is computed through the
        overlaps ``M_mu = sum_j xi_j^mu x_j`` (int64):
        ``acc_lr[i] = sum_mu xi_i^mu M_mu - p x_i``, exact for any state.
    lr_bits_t : ndarray (n, ceil(p/64)) uint64 or None
        The transpose, bit-packed like the binary term: bit ``k`` of word
        ``w`` of row ``i`` is set where ``xi_i^(64 w + k) = -1``; padding bits
        are 0. Per-unit access: ``acc_lr[i] = sum_mu M_mu - 2 sum_{bit set}
        M_mu - p x_i``, and a flip of unit j adds row j to M (O(p) each, p/8
        bytes read).
    lr_scale : float
        1/n for Hebbian couplings.
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
    lr_patterns: np.ndarray | None = None
    lr_bits_t: np.ndarray | None = None
    lr_scale: float = 0.0

    @property
    def has_binary(self) -> bool:
        return self.bin_rows is not None

    @property
    def has_dense(self) -> bool:
        return self.dense_rows is not None

    @property
    def has_sparse(self) -> bool:
        return self.sp_row_ptr is not None

    @property
    def has_lowrank(self) -> bool:
        return self.lr_patterns is not None

    @property
    def lr_p(self) -> int:
        """Number of patterns of the low-rank term (0 when absent)."""
        return 0 if self.lr_patterns is None else int(self.lr_patterns.shape[0])
