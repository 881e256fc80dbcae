"""numba kernels of the numba backend (see :mod:`rrnn.backends.numba_backend`).

The arithmetic follows :mod:`rrnn.backends.numpy_ref` exactly: couplings enter
through int64 accumulators, one per term, and the float64 field is assembled
in the reference order, so states, step counts and flags are bit-identical.
What differs is only how the accumulators are kept:

* bit-packed term, full computation: with ``p`` the state packed like the
  couplings (bit 1 where the state is not +1) and ``s = +-1`` the spin of the
  state, ``m_i = sum_{j!=i} c_ij s_j = n - s_i - 2 popcount(row_i XOR p)``
  (diagonal and padding bits are 0 in both). For heaviside states
  ``z = (s + 1) / 2``, ``acc_i = (m_i + r_i) / 2`` with
  ``r_i = sum_{j!=i} c_ij = (n - 1) - 2 popcount(row_i)``. A state row with
  values other than {+1, -1} or {+1, 0} takes an exact bit-by-bit path;
* incremental updates: changing unit ``j`` by ``delta`` adds
  ``c[i][j] * delta`` to every ``acc[i]``, reading column ``j`` as row ``j`` of
  the transposed arrays (``bin_cols``, ``dense_cols``, CSC). An asynchronous
  sweep costs O(n) plus O(n) per flipped unit; a synchronous step recomputes
  a term in full only when many units flipped;
* the low-rank (Hebbian) term keeps the overlaps ``M_mu = sum_j xi_j^mu x_j``
  (int32, |M| <= n) instead of n accumulators: an asynchronous unit costs
  O(p) (``sum_mu xi_i^mu M_mu - p x_i`` from row i of the bit-packed
  transpose, p/8 bytes: the int8 transpose made a sweep memory-bound), a flip
  O(p); a synchronous step updates M and recomputes the n accumulators from
  it (O(n p));
* finite temperature (Glauber): the same loops with the deterministic rule
  replaced by ``u < 1 / (1 + exp(-2 beta h))``, u from the counter-based
  generator, libm ``exp`` as in the reference.

The initial accumulators of a batch are computed in parallel over rows of J
(each row read once for all trajectories); the trajectories then run in
parallel over batch rows, one parallel region per call.

A coupling set is passed as one tuple ``jt`` (built by
``numba_backend._term_tuple``); absent terms carry placeholder arrays and a
False flag. All kernels are ``cache=True, nogil=True``; the ``parallel=True``
ones give each thread its own outputs (rows of J, batch rows or chunks of the
Gray sequence), so no result depends on the thread count. No ``fastmath``:
the field must round exactly like the reference. Helpers called per unit take
scalars, and helpers called per row take 2-D arrays and a row index: array
arguments and row views cost (atomic, thread-contended) reference counting
inside hot loops.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

_G = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_U0 = np.uint64(0)
_U1 = np.uint64(1)
_U27 = np.uint64(27)
_U30 = np.uint64(30)
_U31 = np.uint64(31)
_U32 = np.uint64(32)
_U11 = np.uint64(11)
_TWO_M53 = 2.0 ** -53
_M1 = np.uint64(0x5555555555555555)
_M2 = np.uint64(0x3333333333333333)
_M4 = np.uint64(0x0F0F0F0F0F0F0F0F)
_H01 = np.uint64(0x0101010101010101)
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)

ACT_SIGN = 0

# Term indices in the (batch, 4) masks of :func:`recompute`.
_BIN, _DENSE, _SPARSE, _LR = 0, 1, 2, 3

# A sync step recomputes a term in full instead of updating it incrementally
# when more than n / DIV units flipped (both are exact; only speed differs).
# Measured break-even: a full bit-packed pass (n * n/64 popcounts) costs about
# as much as n/64 column updates (n bit operations each); a full dense or
# sparse pass about as much as n/2 column updates (a row dot product is
# cheaper per coupling than a column read-modify-write).
_BIN_FULL_DIV = 64
_DENSE_FULL_DIV = 2
_SPARSE_FULL_DIV = 2
# Low-rank term: overlaps are updated per flipped unit (O(p) each) unless more
# than n / DIV units flipped, then recomputed (O(n p)); the accumulators are
# always recomputed from the overlaps (one O(p) masked sum per unit, reading
# the bit-packed transpose: an axpy over the (p, n) rows measured 10x slower).
_LR_FULL_DIV = 2

_KW = dict(cache=True, nogil=True)
_KWP = dict(cache=True, nogil=True, parallel=True)


# --------------------------------------------------------------------------
# random numbers (same formulas as rrnn.random and rrnn_random in C)
# --------------------------------------------------------------------------

@njit(**_KW)
def mix64(z):
    z = (z ^ (z >> _U30)) * _MIX1
    z = (z ^ (z >> _U27)) * _MIX2
    return z ^ (z >> _U31)


@njit(**_KW)
def stream_seed(key, stream):
    """``s = mix(key + mix(stream + G))``, shared by all indices of a stream."""
    return mix64(np.uint64(key) + mix64(np.uint64(stream) + _G))


@njit(**_KW)
def random_from_seed(s, index):
    """``mix(s + (index + 1) * G)``: word ``index`` of the stream seeded by s."""
    return mix64(s + (np.uint64(index) + _U1) * _G)


@njit(**_KW)
def random_u64(key, stream, index):
    return random_from_seed(stream_seed(key, stream), index)


@njit(**_KW)
def async_order(key, row, sweep, perm):
    """Fill ``perm`` (n,) int64 with ``rrnn.random.async_order(key, row, sweep, n)``."""
    n = perm.shape[0]
    for k in range(n):
        perm[k] = k
    s = stream_seed(key, (np.uint64(row) << _U32) | np.uint64(sweep))
    for i in range(n - 1, 0, -1):
        r = random_from_seed(s, i)
        j = np.int64(((r >> _U32) * (np.uint64(i) + _U1)) >> _U32)
        t = perm[i]
        perm[i] = perm[j]
        perm[j] = t


# --------------------------------------------------------------------------
# bits
# --------------------------------------------------------------------------

@njit(**_KW)
def popcount64(x):
    """SWAR popcount; LLVM turns it into ``popcnt`` where the CPU has one."""
    x = x - ((x >> _U1) & _M1)
    x = (x & _M2) + ((x >> np.uint64(2)) & _M2)
    x = (x + (x >> np.uint64(4))) & _M4
    return np.int64((x * _H01) >> np.uint64(56))


@njit(**_KWP)
def generate_binary(key, n, rows):
    """rows (n, words): word w of row i = random_u64(key, i, w), diagonal and
    padding bits cleared."""
    words = rows.shape[1]
    tail = n % 64
    for p_i in prange(n):
        i = np.int64(p_i)  # prange indices may be unsigned
        s = stream_seed(key, i)
        for w in range(words):
            rows[i, w] = random_from_seed(s, w)
        rows[i, i // 64] &= ~(_U1 << np.uint64(i % 64))
        if tail:
            rows[i, words - 1] &= (_U1 << np.uint64(tail)) - _U1


@njit(**_KW)
def _transpose64(a):
    """In-place transpose of a 64x64 bit block (bit b of word k <-> bit k of word b)."""
    j = 32
    m = np.uint64(0x00000000FFFFFFFF)
    while j != 0:
        uj = np.uint64(j)
        for k in range(64):
            if k & j == 0:
                t = ((a[k] >> uj) ^ a[k + j]) & m
                a[k + j] ^= t
                a[k] ^= t << uj
        j >>= 1
        m = m ^ (m << np.uint64(j))


@njit(**_KWP)
def transpose_bits(rows, n, cols):
    """cols = transpose of the (n x n) bit matrix rows, by 64x64 blocks; each
    thread writes whole block rows of ``cols``. Bits at columns >= n are ignored."""
    words = rows.shape[1]
    for p_bj in prange(words):
        bj = np.int64(p_bj)  # prange indices may be unsigned
        block = np.empty(64, dtype=np.uint64)
        tail = n - 64 * bj
        keep = _ALL if tail >= 64 else (_U1 << np.uint64(tail)) - _U1
        for bi in range(words):
            for k in range(64):
                i = 64 * bi + k
                block[k] = (rows[i, bj] & keep) if i < n else _U0
            _transpose64(block)
            for k in range(min(64, tail)):
                cols[64 * bj + k, bi] = block[k]


@njit(**_KW)
def pack_state(x, packed):
    """packed (words,) uint64: bit j set where x[j] != +1 (i.e. -1 or 0).
    Branch-free: states are random, so a branch would mispredict half the time."""
    n = x.shape[0]
    for w in range(packed.shape[0]):
        word = _U0
        base = 64 * w
        for b in range(min(64, n - base)):
            word |= np.uint64(x[base + b] != 1) << np.uint64(b)
        packed[w] = word


@njit(**_KWP)
def row_sums_binary(rows, n, out):
    """out[i] = sum_{j!=i} c_ij = (n - 1) - 2 popcount(row_i), for heaviside."""
    words = rows.shape[1]
    for p_i in prange(n):
        i = np.int64(p_i)  # prange indices may be unsigned
        pc = 0
        for w in range(words):
            pc += popcount64(rows[i, w])
        out[i] = (n - 1) - 2 * pc


@njit(**_KW)
def state_mode(x):
    """How the bit-packed term can read a state row: 0 for values in {+1, -1},
    1 for values in {+1, 0}, 2 for anything else (exact slow path)."""
    has_minus = False
    has_zero = False
    for j in range(x.shape[0]):
        v = x[j]
        if v == -1:
            has_minus = True
        elif v == 0:
            has_zero = True
        elif v != 1:
            return 2
    if has_minus and has_zero:
        return 2
    return 1 if has_zero else 0


# --------------------------------------------------------------------------
# accumulators: acc_t[i] = sum_{j != i} c_t[i][j] x[j], int64
# --------------------------------------------------------------------------

@njit(**_KW)
def acc_binary_row(rows, i, packed, b, n, s_i, heaviside, r_i):
    """acc_bin[i] of the state packed in packed[b]; s_i = +-1 spin of unit i."""
    pc = 0
    for w in range(packed.shape[1]):
        pc += popcount64(rows[i, w] ^ packed[b, w])
    m = n - s_i - 2 * pc
    if heaviside:
        return (m + r_i) // 2
    return m


@njit(**_KW)
def acc_binary_general(rows, i, x, b):
    """acc_bin[i] of x[b] for any int8 values, bit by bit (rows outside both
    activations)."""
    n = x.shape[1]
    acc = np.int64(0)
    for j in range(n):
        if j != i:
            bit = np.int64((rows[i, j // 64] >> np.uint64(j % 64)) & _U1)
            acc += (1 - 2 * bit) * np.int64(x[b, j])
    return acc


@njit(**_KW)
def acc_dense_row(rows, i, x, b):
    """acc_dense[i] of x[b]."""
    n = x.shape[1]
    acc = np.int64(0)
    for j in range(n):
        acc += np.int64(rows[i, j]) * np.int64(x[b, j])
    return acc - np.int64(rows[i, i]) * np.int64(x[b, i])


@njit(**_KW)
def acc_sparse_row(ptr, idx, val, i, x, b):
    """acc_sparse[i] of x[b]."""
    acc = np.int64(0)
    for e in range(ptr[i], ptr[i + 1]):
        j = idx[e]
        if j != i:
            acc += np.int64(val[e]) * np.int64(x[b, j])
    return acc


@njit(**_KW)
def lr_overlap(lr_rows, mu, x, b):
    """M_mu = sum_j xi[mu, j] x[b, j] (int64), pattern mu a row of (p, n)."""
    n = x.shape[1]
    acc = np.int64(0)
    for j in range(n):
        acc += np.int64(lr_rows[mu, j]) * np.int64(x[b, j])
    return acc


@njit(**_KW)
def lr_acc_unit(lr_bt, i, M, b, p, x_i):
    """acc_lr[i] = sum_mu xi_i^mu M_mu - p x_i from row i of the bit-packed
    transpose (bit set where xi_i^mu = -1):
    ``sum_mu M_mu - 2 sum_{mu: bit set} M_mu - p x_i``. Sums over one word (64
    terms with |M| <= n < 2**25) fit in int32, so the inner loop runs on
    int32 lanes (branch-free masks: vectorised)."""
    tot = np.int64(0)
    neg = np.int64(0)
    full = p // 64
    for w in range(full):
        word = lr_bt[i, w]
        base = 64 * w
        pt = np.int32(0)
        pn = np.int32(0)
        for k in range(64):
            m = M[b, base + k]
            pt += m
            pn += m & -np.int32((word >> np.uint64(k)) & _U1)
        tot += np.int64(pt)
        neg += np.int64(pn)
    if full * 64 < p:
        word = lr_bt[i, full]
        base = 64 * full
        for k in range(p - base):
            m = np.int64(M[b, base + k])
            tot += m
            neg += m & -np.int64((word >> np.uint64(k)) & _U1)
    return tot - 2 * neg - p * np.int64(x_i)


@njit(**_KW)
def lr_acc_all(lr_bt, M, b, x, p, acc):
    """acc[b, i] for every unit i of trajectory b, from the overlaps M[b]."""
    for i in range(x.shape[1]):
        acc[b, i] = lr_acc_unit(lr_bt, i, M, b, p, x[b, i])


@njit(**_KW)
def lr_add_unit(lr_bt, j, delta, M, b, p):
    """M[b, mu] += xi_j^mu * delta: unit j changed by delta."""
    d = np.int32(delta)
    d2 = np.int32(2 * delta)
    full = p // 64
    for w in range(full):  # fixed trip count of 64: vectorised
        word = lr_bt[j, w]
        base = 64 * w
        for k in range(64):
            M[b, base + k] += d - d2 * np.int32((word >> np.uint64(k)) & _U1)
    if full * 64 < p:
        word = lr_bt[j, full]
        base = 64 * full
        for k in range(p - base):
            M[b, base + k] += d - d2 * np.int32((word >> np.uint64(k)) & _U1)


@njit(**_KWP)
def recompute(jt, states, mask, rsum, packed, mode, acc_b, acc_d, acc_s, acc_l, M, lr_acc):
    """Full accumulators of every trajectory b and term t with mask[b, t].

    Parallel over rows of J, so that each row is read once for all selected
    trajectories. packed (batch, words) and mode (batch,) are scratch; rsum
    (n,) holds the row sums of the bit-packed term (used for {+1, 0} rows).
    The low-rank term computes the overlaps M (batch, p) (parallel over
    patterns) and, when ``lr_acc``, its accumulators from them (parallel over
    units; one O(p) dot product with a row of the transpose each).
    """
    (n, bin_rows, bin_cols, bin_scale, has_bin, dense_rows, dense_cols, dense_scale,
     has_dense, sp_row_ptr, sp_row_idx, sp_row_val, sp_col_ptr, sp_col_idx, sp_col_val,
     sparse_scale, has_sp, lr_rows, lr_bt, lr_scale, has_lr, lr_p) = jt
    batch = states.shape[0]
    if has_bin:
        for p_b in prange(batch):
            b = np.int64(p_b)  # prange indices may be unsigned
            if mask[b, _BIN]:
                mode[b] = state_mode(states[b])
                pack_state(states[b], packed[b])
    for p_i in prange(n):
        i = np.int64(p_i)  # prange indices may be unsigned
        for b in range(batch):
            if has_bin and mask[b, _BIN]:
                if mode[b] == 2:
                    acc_b[b, i] = acc_binary_general(bin_rows, i, states, b)
                else:
                    s_i = 2 * np.int64(states[b, i] == 1) - 1
                    acc_b[b, i] = acc_binary_row(bin_rows, i, packed, b, n, s_i,
                                                 mode[b] == 1, rsum[i])
            if has_dense and mask[b, _DENSE]:
                acc_d[b, i] = acc_dense_row(dense_rows, i, states, b)
            if has_sp and mask[b, _SPARSE]:
                acc_s[b, i] = acc_sparse_row(sp_row_ptr, sp_row_idx, sp_row_val, i, states, b)
    if has_lr:
        for p_mu in prange(lr_p):
            mu = np.int64(p_mu)  # prange indices may be unsigned
            for b in range(batch):
                if mask[b, _LR]:
                    M[b, mu] = lr_overlap(lr_rows, mu, states, b)
        if lr_acc:
            for p_i in prange(n):
                i = np.int64(p_i)  # prange indices may be unsigned
                for b in range(batch):
                    if mask[b, _LR]:
                        acc_l[b, i] = lr_acc_unit(lr_bt, i, M, b, lr_p, states[b, i])


@njit(**_KW)
def add_column_binary(cols, j, delta, acc, b):
    """acc[b, i] += c[i][j] * delta for i != j, column j = row j of ``cols``."""
    n = acc.shape[1]
    d2 = 2 * delta
    full = n // 64
    for w in range(full):  # fixed trip count of 64: vectorised
        word = cols[j, w]
        base = 64 * w
        for k in range(64):
            acc[b, base + k] += delta - d2 * np.int64((word >> np.uint64(k)) & _U1)
    if full < cols.shape[1]:
        word = cols[j, full]
        base = 64 * full
        for k in range(n - base):
            acc[b, base + k] += delta - d2 * np.int64((word >> np.uint64(k)) & _U1)
    # undo the diagonal term added above
    acc[b, j] -= delta - d2 * np.int64((cols[j, j // 64] >> np.uint64(j % 64)) & _U1)


@njit(**_KW)
def add_column_dense(cols, j, delta, acc, b):
    n = acc.shape[1]
    for i in range(n):
        acc[b, i] += np.int64(cols[j, i]) * delta
    acc[b, j] -= np.int64(cols[j, j]) * delta


@njit(**_KW)
def add_column_sparse(ptr, idx, val, j, delta, acc, b):
    for e in range(ptr[j], ptr[j + 1]):
        i = idx[e]
        if i != j:
            acc[b, i] += np.int64(val[e]) * delta


@njit(**_KW)
def field(a_b, bin_scale, a_d, dense_scale, a_s, sparse_scale, a_l, lr_scale,
          has_bin, has_dense, has_sp, has_lr, self_coupling, x_i, bias_i):
    """The local field of one unit from its accumulators, float64 operations
    in the reference order."""
    h = 0.0
    if has_bin:
        h += np.float64(a_b) * bin_scale
    if has_dense:
        h += np.float64(a_d) * dense_scale
    if has_sp:
        h += np.float64(a_s) * sparse_scale
    if has_lr:
        h += np.float64(a_l) * lr_scale
    h += self_coupling * np.float64(x_i)
    h += bias_i
    return h


@njit(**_KW)
def uniform01(r):
    """Top 53 bits of a random word as a float64 in [0, 1) (``rrnn.random.uniform01``)."""
    return np.float64(r >> _U11) * _TWO_M53


@njit(**_KW)
def glauber_high(h, beta, u):
    """Glauber rule: the high value when u < 1 / (1 + exp(-2 beta h)); libm exp
    (no fastmath, no vector math library), as the reference's math.exp."""
    z = -2.0 * beta * h
    return u < 1.0 / (1.0 + math.exp(z))


@njit(**_KW)
def _accumulators(jt, batch):
    """(batch, n) int64 accumulators per term and the (batch, p) overlaps of
    the low-rank term; absent terms share one array (never read for their
    value, never written)."""
    (n, bin_rows, bin_cols, bin_scale, has_bin, dense_rows, dense_cols, dense_scale,
     has_dense, sp_row_ptr, sp_row_idx, sp_row_val, sp_col_ptr, sp_col_idx, sp_col_val,
     sparse_scale, has_sp, lr_rows, lr_bt, lr_scale, has_lr, lr_p) = jt
    acc_b = np.zeros((batch, n), dtype=np.int64)
    acc_d = np.zeros((batch, n), dtype=np.int64) if has_dense else acc_b
    acc_s = np.zeros((batch, n), dtype=np.int64) if has_sp else acc_b
    acc_l = np.zeros((batch, n), dtype=np.int64) if has_lr else acc_b
    M = np.zeros((batch, lr_p), dtype=np.int32)  # |M_mu| <= n < 2**25
    return acc_b, acc_d, acc_s, acc_l, M


@njit(**_KW)
def _row_sums(jt):
    """Row sums of the bit-packed term (zeros when it is absent)."""
    n = jt[0]
    rsum = np.zeros(n, dtype=np.int64)
    if jt[4]:  # has_bin
        row_sums_binary(jt[1], n, rsum)
    return rsum


# --------------------------------------------------------------------------
# local fields
# --------------------------------------------------------------------------

@njit(**_KW)
def local_fields(jt, states, bias, bias_per_row, self_coupling, out):
    """out (batch, n) = fields of states (batch, n); bias (1 or batch, n),
    self_coupling (batch,)."""
    (n, bin_rows, bin_cols, bin_scale, has_bin, dense_rows, dense_cols, dense_scale,
     has_dense, sp_row_ptr, sp_row_idx, sp_row_val, sp_col_ptr, sp_col_idx, sp_col_val,
     sparse_scale, has_sp, lr_rows, lr_bt, lr_scale, has_lr, lr_p) = jt
    batch = states.shape[0]
    acc_b, acc_d, acc_s, acc_l, M = _accumulators(jt, batch)
    mask = np.ones((batch, 4), dtype=np.bool_)
    packed = np.zeros((batch, (n + 63) // 64), dtype=np.uint64)
    mode = np.zeros(batch, dtype=np.int64)
    recompute(jt, states, mask, _row_sums(jt), packed, mode, acc_b, acc_d, acc_s, acc_l, M,
              True)
    _assemble_fields(states, bias, bias_per_row, self_coupling, has_bin, acc_b, bin_scale,
                     has_dense, acc_d, dense_scale, has_sp, acc_s, sparse_scale,
                     has_lr, acc_l, lr_scale, out)


@njit(**_KWP)
def _assemble_fields(states, bias, bias_per_row, self_coupling, has_bin, acc_b, bin_scale,
                     has_dense, acc_d, dense_scale, has_sp, acc_s, sparse_scale,
                     has_lr, acc_l, lr_scale, out):
    batch, n = states.shape
    for p_b in prange(batch):
        b = np.int64(p_b)  # prange indices may be unsigned
        bb = b if bias_per_row else 0
        for i in range(n):
            out[b, i] = field(acc_b[b, i], bin_scale, acc_d[b, i], dense_scale,
                              acc_s[b, i], sparse_scale, acc_l[b, i], lr_scale,
                              has_bin, has_dense, has_sp, has_lr,
                              self_coupling[b], states[b, i], bias[bb, i])


# --------------------------------------------------------------------------
# dynamics
# --------------------------------------------------------------------------

@njit(**_KW)
def _is_fixed(x, bias, self_coupling, low, has_bin, acc_b, bin_scale,
              has_dense, acc_d, dense_scale, has_sp, acc_s, sparse_scale,
              has_lr, acc_l, lr_scale):
    """Whether x (n,) is a fixed point, given its accumulators (n,) per term."""
    for i in range(x.shape[0]):
        h = field(acc_b[i], bin_scale, acc_d[i], dense_scale, acc_s[i], sparse_scale,
                  acc_l[i], lr_scale, has_bin, has_dense, has_sp, has_lr,
                  self_coupling, x[i], bias[i])
        new = 1 if h >= 0 else low
        if new != x[i]:
            return False
    return True


@njit(**_KW)
def full_row(jt, states, b, heaviside, rsum, packed, mask_bin, mask_dense, mask_sp, mask_lr,
             acc_b, acc_d, acc_s, acc_l, M):
    """Full accumulators of trajectory b for the selected terms (serial);
    states[b] must hold only +1 and the activation's low value. The low-rank
    term recomputes its overlaps M[b] and then its accumulators."""
    (n, bin_rows, bin_cols, bin_scale, has_bin, dense_rows, dense_cols, dense_scale,
     has_dense, sp_row_ptr, sp_row_idx, sp_row_val, sp_col_ptr, sp_col_idx, sp_col_val,
     sparse_scale, has_sp, lr_rows, lr_bt, lr_scale, has_lr, lr_p) = jt
    if mask_bin:
        pack_state(states[b], packed[b])
        for i in range(n):
            s_i = 2 * np.int64(states[b, i] == 1) - 1
            acc_b[b, i] = acc_binary_row(bin_rows, i, packed, b, n, s_i, heaviside, rsum[i])
    if mask_dense:
        for i in range(n):
            acc_d[b, i] = acc_dense_row(dense_rows, i, states, b)
    if mask_sp:
        for i in range(n):
            acc_s[b, i] = acc_sparse_row(sp_row_ptr, sp_row_idx, sp_row_val, i, states, b)
    if mask_lr:
        for mu in range(lr_p):
            M[b, mu] = lr_overlap(lr_rows, mu, states, b)
        lr_acc_all(lr_bt, M, b, states, lr_p, acc_l)


@njit(**_KW)
def run_sync(jt, states, b, bias, self_coupling, activation, max_steps, rsum, packed,
             acc_b, acc_d, acc_s, acc_l, M, new, snapshot, beta, noise_key, finite):
    """Synchronous dynamics of trajectory b with Brent cycle detection, from its
    accumulators acc_t[b], as ``numpy_ref._run_sync``; returns
    (steps, converged, period). A term is updated incrementally when at most
    n / DIV units flipped, else recomputed in full. The low-rank term updates
    its overlaps and recomputes its accumulators from them (O(n p)).

    With ``finite``, Glauber steps at inverse temperature ``beta``
    (``numpy_ref._glauber_sync``): exactly max_steps steps, no cycle test."""
    (n, bin_rows, bin_cols, bin_scale, has_bin, dense_rows, dense_cols, dense_scale,
     has_dense, sp_row_ptr, sp_row_idx, sp_row_val, sp_col_ptr, sp_col_idx, sp_col_val,
     sparse_scale, has_sp, lr_rows, lr_bt, lr_scale, has_lr, lr_p) = jt
    heaviside = activation != ACT_SIGN
    low = -1 if activation == ACT_SIGN else 0
    x = states[b]
    steps = 0
    period = -1
    converged = False
    snapshot[b, :] = x
    power = 1
    lam = 0
    for t in range(max_steps):
        nflip = 0
        if finite:
            s_noise = stream_seed(noise_key, (np.uint64(b) << _U32) | np.uint64(t))
            for i in range(n):
                h = field(acc_b[b, i], bin_scale, acc_d[b, i], dense_scale, acc_s[b, i],
                          sparse_scale, acc_l[b, i], lr_scale, has_bin, has_dense, has_sp,
                          has_lr, self_coupling, x[i], bias[i])
                u = uniform01(random_from_seed(s_noise, i))
                v = 1 if glauber_high(h, beta, u) else low
                new[b, i] = v
                nflip += np.int64(v != x[i])
            if nflip == 0:
                continue
        else:
            for i in range(n):  # branch-free, vectorised
                h = field(acc_b[b, i], bin_scale, acc_d[b, i], dense_scale, acc_s[b, i],
                          sparse_scale, acc_l[b, i], lr_scale, has_bin, has_dense, has_sp,
                          has_lr, self_coupling, x[i], bias[i])
                v = 1 if h >= 0 else low
                new[b, i] = v
                nflip += np.int64(v != x[i])
            if nflip == 0:
                converged = True
                period = 0
                break
        full_bin = has_bin and nflip * _BIN_FULL_DIV > n
        full_dense = has_dense and nflip * _DENSE_FULL_DIV > n
        full_sp = has_sp and nflip * _SPARSE_FULL_DIV > n
        full_lr = has_lr and nflip * _LR_FULL_DIV > n
        if (has_bin and not full_bin) or (has_dense and not full_dense) or (
                has_sp and not full_sp) or (has_lr and not full_lr):
            for j in range(n):
                if new[b, j] != x[j]:
                    delta = np.int64(new[b, j]) - np.int64(x[j])
                    if has_bin and not full_bin:
                        add_column_binary(bin_cols, j, delta, acc_b, b)
                    if has_dense and not full_dense:
                        add_column_dense(dense_cols, j, delta, acc_d, b)
                    if has_sp and not full_sp:
                        add_column_sparse(sp_col_ptr, sp_col_idx, sp_col_val, j, delta,
                                          acc_s, b)
                    if has_lr and not full_lr:
                        lr_add_unit(lr_bt, j, delta, M, b, lr_p)
        x[:] = new[b]
        if full_bin or full_dense or full_sp or full_lr:
            full_row(jt, states, b, heaviside, rsum, packed, full_bin, full_dense, full_sp,
                     full_lr, acc_b, acc_d, acc_s, acc_l, M)
        if has_lr and not full_lr:
            lr_acc_all(lr_bt, M, b, states, lr_p, acc_l)
        steps += 1
        if finite:
            continue
        lam += 1
        same = True
        for i in range(n):
            if x[i] != snapshot[b, i]:
                same = False
                break
        if same:
            period = lam
            break
        if lam == power:
            snapshot[b, :] = x
            power *= 2
            lam = 0
    if not finite and not converged and period == -1:
        if _is_fixed(x, bias, self_coupling, low, has_bin, acc_b[b], bin_scale,
                     has_dense, acc_d[b], dense_scale, has_sp, acc_s[b], sparse_scale,
                     has_lr, acc_l[b], lr_scale):
            converged = True
            period = 0
    return steps, converged, period


@njit(**_KWP)
def _sync_rows(jt, states, bias, bias_per_row, self_coupling, activation, max_steps, rsum,
               packed, acc_b, acc_d, acc_s, acc_l, M, new, snapshot, beta, noise_key, finite,
               steps, converged, period):
    for p_b in prange(states.shape[0]):
        b = np.int64(p_b)  # prange indices may be unsigned
        bb = b if bias_per_row else 0
        s, c, p = run_sync(jt, states, b, bias[bb], self_coupling[b], activation, max_steps,
                           rsum, packed, acc_b, acc_d, acc_s, acc_l, M, new, snapshot,
                           beta, noise_key, finite)
        steps[b] = s
        converged[b] = c
        period[b] = p


@njit(**_KW)
def simulate_sync(jt, states, bias, bias_per_row, self_coupling, activation, max_steps,
                  beta, noise_key, finite, steps, converged, period):
    """Synchronous dynamics (``numpy_ref._run_sync``, or ``_glauber_sync`` when
    ``finite``) for every row of states (batch, n), in place, with
    self_coupling (batch,) one J_D per row: initial accumulators in parallel
    over rows of J, then the trajectories in parallel over batch rows."""
    n = jt[0]
    batch = states.shape[0]
    acc_b, acc_d, acc_s, acc_l, M = _accumulators(jt, batch)
    rsum = _row_sums(jt)
    packed = np.zeros((batch, (n + 63) // 64), dtype=np.uint64)
    mode = np.zeros(batch, dtype=np.int64)
    mask = np.ones((batch, 4), dtype=np.bool_)
    recompute(jt, states, mask, rsum, packed, mode, acc_b, acc_d, acc_s, acc_l, M, True)
    new = np.zeros((batch, n), dtype=np.int8)
    snapshot = np.zeros((batch, n), dtype=np.int8)
    _sync_rows(jt, states, bias, bias_per_row, self_coupling, activation, max_steps, rsum,
               packed, acc_b, acc_d, acc_s, acc_l, M, new, snapshot, beta, noise_key, finite,
               steps, converged, period)


@njit(**_KW)
def run_async(jt, states, b, bias, self_coupling, activation, max_steps, order_key,
              acc_b, acc_d, acc_s, acc_l, M, perm, beta, noise_key, finite):
    """Asynchronous sweeps of trajectory b from its accumulators acc_t[b], as
    ``numpy_ref._run_async`` with ``row = b`` (or ``_glauber_async`` when
    ``finite``); returns (steps, converged, period). The low-rank term keeps
    only the overlaps M[b]: evaluating a unit costs O(p), a flip O(p)."""
    (n, bin_rows, bin_cols, bin_scale, has_bin, dense_rows, dense_cols, dense_scale,
     has_dense, sp_row_ptr, sp_row_idx, sp_row_val, sp_col_ptr, sp_col_idx, sp_col_val,
     sparse_scale, has_sp, lr_rows, lr_bt, lr_scale, has_lr, lr_p) = jt
    low = -1 if activation == ACT_SIGN else 0
    x = states[b]
    order = perm[b]
    steps = 0
    converged = False
    s_noise = _U0
    for sweep in range(max_steps):
        async_order(order_key, b, sweep, order)
        if finite:
            s_noise = stream_seed(noise_key, (np.uint64(b) << _U32) | np.uint64(sweep))
        changed = 0
        for k in range(n):
            i = order[k]
            a_l = lr_acc_unit(lr_bt, i, M, b, lr_p, x[i]) if has_lr else np.int64(0)
            h = field(acc_b[b, i], bin_scale, acc_d[b, i], dense_scale, acc_s[b, i],
                      sparse_scale, a_l, lr_scale, has_bin, has_dense, has_sp, has_lr,
                      self_coupling, x[i], bias[i])
            if finite:
                v = 1 if glauber_high(h, beta, uniform01(random_from_seed(s_noise, i))) else low
            else:
                v = 1 if h >= 0 else low
            if v != x[i]:
                delta = np.int64(v) - np.int64(x[i])
                if has_bin:
                    add_column_binary(bin_cols, i, delta, acc_b, b)
                if has_dense:
                    add_column_dense(dense_cols, i, delta, acc_d, b)
                if has_sp:
                    add_column_sparse(sp_col_ptr, sp_col_idx, sp_col_val, i, delta, acc_s, b)
                if has_lr:
                    lr_add_unit(lr_bt, i, delta, M, b, lr_p)
                x[i] = v
                changed += 1
        if finite:
            steps += np.int64(changed > 0)
            continue
        if changed == 0:
            converged = True
            break
        steps += 1
    if finite:
        return steps, False, -1
    if not converged:
        if has_lr:
            lr_acc_all(lr_bt, M, b, states, lr_p, acc_l)
        converged = _is_fixed(x, bias, self_coupling, low, has_bin, acc_b[b], bin_scale,
                              has_dense, acc_d[b], dense_scale, has_sp, acc_s[b], sparse_scale,
                              has_lr, acc_l[b], lr_scale)
    return steps, converged, (0 if converged else -1)


@njit(**_KWP)
def _async_rows(jt, states, bias, bias_per_row, self_coupling, activation, max_steps,
                order_key, acc_b, acc_d, acc_s, acc_l, M, perm, beta, noise_key, finite,
                steps, converged, period):
    for p_b in prange(states.shape[0]):
        b = np.int64(p_b)  # prange indices may be unsigned
        bb = b if bias_per_row else 0
        s, c, p = run_async(jt, states, b, bias[bb], self_coupling[b], activation, max_steps,
                            order_key, acc_b, acc_d, acc_s, acc_l, M, perm, beta, noise_key,
                            finite)
        steps[b] = s
        converged[b] = c
        period[b] = p


@njit(**_KW)
def simulate_async(jt, states, bias, bias_per_row, self_coupling, activation, max_steps,
                   order_key, beta, noise_key, finite, steps, converged, period):
    """Asynchronous dynamics (``numpy_ref._run_async``, or ``_glauber_async``
    when ``finite``) for every row of states (batch, n), in place, with
    self_coupling (batch,) one J_D per row; parallel over batch rows (the
    batch row index is the ``row`` of the update order and of the noise)."""
    n = jt[0]
    batch = states.shape[0]
    acc_b, acc_d, acc_s, acc_l, M = _accumulators(jt, batch)
    packed = np.zeros((batch, (n + 63) // 64), dtype=np.uint64)
    mode = np.zeros(batch, dtype=np.int64)
    mask = np.ones((batch, 4), dtype=np.bool_)
    # the low-rank accumulators are evaluated per unit from the overlaps
    recompute(jt, states, mask, _row_sums(jt), packed, mode, acc_b, acc_d, acc_s, acc_l, M,
              False)
    perm = np.zeros((batch, n), dtype=np.int64)
    _async_rows(jt, states, bias, bias_per_row, self_coupling, activation, max_steps,
                order_key, acc_b, acc_d, acc_s, acc_l, M, perm, beta, noise_key, finite,
                steps, converged, period)


# --------------------------------------------------------------------------
# fixed points
# --------------------------------------------------------------------------

@njit(**_KWP)
def count_fixed_points(cols_b, cols_d, cols_s, cols_l, has_b, has_d, has_s, has_l,
                       bin_scale, dense_scale, sparse_scale, lr_scale,
                       bias, self_coupling, activation, chunk_bits, counts):
    """Fixed points over all 2^n states in Gray-code order.

    ``cols_*`` (n, n) int64 hold column j of each term in row j, diagonal
    zero (all zero for an absent term). Chunk c covers Gray indices
    [c << chunk_bits, (c + 1) << chunk_bits): it starts with a full
    computation, then each state differs from the previous one in a single
    unit, bit ctz(k) of the Gray index k. counts (n_chunks,) int64 receives
    the count of each chunk.
    """
    n = bias.shape[0]
    low = -1 if activation == ACT_SIGN else 0
    size = np.int64(1) << chunk_bits
    for p_c in prange(counts.shape[0]):
        c = np.int64(p_c)  # prange indices may be unsigned
        x = np.empty(n, dtype=np.int8)
        acc_b = np.zeros(n, dtype=np.int64)
        acc_d = np.zeros(n, dtype=np.int64)
        acc_s = np.zeros(n, dtype=np.int64)
        acc_l = np.zeros(n, dtype=np.int64)
        k0 = c << chunk_bits
        g = k0 ^ (k0 >> 1)
        for j in range(n):
            x[j] = 1 if (g >> j) & 1 else low
        for j in range(n):
            xj = np.int64(x[j])
            for i in range(n):
                acc_b[i] += cols_b[j, i] * xj
                acc_d[i] += cols_d[j, i] * xj
                acc_s[i] += cols_s[j, i] * xj
                acc_l[i] += cols_l[j, i] * xj
        cnt = 0
        for k in range(k0, k0 + size):
            if k != k0:
                j = 0
                while not (k >> j) & 1:
                    j += 1
                v = low if x[j] == 1 else 1
                delta = np.int64(v) - np.int64(x[j])
                x[j] = v
                if has_b:
                    for i in range(n):
                        acc_b[i] += cols_b[j, i] * delta
                if has_d:
                    for i in range(n):
                        acc_d[i] += cols_d[j, i] * delta
                if has_s:
                    for i in range(n):
                        acc_s[i] += cols_s[j, i] * delta
                if has_l:
                    for i in range(n):
                        acc_l[i] += cols_l[j, i] * delta
            fixed = True
            for i in range(n):
                h = field(acc_b[i], bin_scale, acc_d[i], dense_scale, acc_s[i], sparse_scale,
                          acc_l[i], lr_scale, has_b, has_d, has_s, has_l,
                          self_coupling, x[i], bias[i])
                v = 1 if h >= 0 else low
                if v != x[i]:
                    fixed = False
                    break
            if fixed:
                cnt += 1
        counts[c] = cnt


@njit(**_KW)
def expand_columns_binary(cols, n, out):
    """out[j, i] = c[i][j] (+-1) from bit-packed columns, diagonal 0."""
    for j in range(n):
        for i in range(n):
            bit = (cols[j, i // 64] >> np.uint64(i % 64)) & _U1
            out[j, i] = 0 if i == j else 1 - 2 * np.int64(bit)


@njit(**_KW)
def expand_columns_dense(cols, n, out):
    for j in range(n):
        for i in range(n):
            out[j, i] = 0 if i == j else np.int64(cols[j, i])


@njit(**_KW)
def expand_columns_sparse(ptr, idx, val, n, out):
    """Columns of a CSC matrix, duplicates summed, diagonal 0."""
    for j in range(n):
        for e in range(ptr[j], ptr[j + 1]):
            i = idx[e]
            if i != j:
                out[j, i] += np.int64(val[e])


@njit(**_KW)
def expand_columns_lowrank(lr_rows, n, out):
    """out[j, i] = sum_mu xi_i^mu xi_j^mu for i != j, from the (p, n) patterns."""
    p = lr_rows.shape[0]
    for j in range(n):
        for i in range(n):
            if i != j:
                acc = np.int64(0)
                for mu in range(p):
                    acc += np.int64(lr_rows[mu, i]) * np.int64(lr_rows[mu, j])
                out[j, i] = acc
