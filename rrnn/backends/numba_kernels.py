"""numba kernels of the numba backend (see :mod:`rrnn.backends.numba_backend`).

The arithmetic follows :mod:`rrnn.backends.numpy_ref` exactly: couplings enter
through int64 accumulators, one per term, and the float64 field is assembled
in the reference order, so states, step counts and flags are bit-identical.
What differs is only how the accumulators are kept:

* bit-packed term, full computation: with ``p`` the states packed like the
  couplings (bit 1 where the state is not +1) and ``s = +-1`` the spin of the
  state, ``m_i = sum_{j!=i} c_ij s_j = n - s_i - 2 popcount(row_i XOR p)``
  (diagonal and padding bits are 0 in both). For heaviside states
  ``z = (s + 1) / 2``, ``acc_i = (m_i + r_i) / 2`` with
  ``r_i = sum_{j!=i} c_ij = (n - 1) - 2 popcount(row_i)``;
* incremental updates: changing unit ``j`` by ``delta`` adds
  ``c[i][j] * delta`` to every ``acc[i]``, reading column ``j`` as row ``j`` of
  the transposed arrays (``bin_cols``, ``dense_cols``, CSC).

A coupling set is passed as one tuple ``jt`` (built by
``numba_backend._term_tuple``); absent terms carry 1x1 / empty placeholder
arrays and a False flag. All kernels are ``cache=True, nogil=True``; the
``parallel=True`` ones give each thread its own outputs (rows of J, batch rows
or chunks of the Gray sequence), so no result depends on the thread count.
No ``fastmath`` anywhere: the field must round exactly like the reference.
"""

from __future__ import annotations

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
_M1 = np.uint64(0x5555555555555555)
_M2 = np.uint64(0x3333333333333333)
_M4 = np.uint64(0x0F0F0F0F0F0F0F0F)
_H01 = np.uint64(0x0101010101010101)
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)

ACT_SIGN = 0

# Sync steps switch from incremental updates to a full recomputation of a
# term when more than n / DIV units flipped (both are exact; only speed
# differs). A full bit-packed pass costs n * words popcounts, an incremental
# one n bit operations per flip; dense and sparse cost about the same per
# coupling either way.
_BIN_FULL_DIV = 32
_DENSE_FULL_DIV = 2
_SPARSE_FULL_DIV = 2

_KW = dict(cache=True, nogil=True)


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
    return mix64(s + (np.uint64(index) + _U1) * _G)


@njit(**_KW)
def random_u64(key, stream, index):
    return random_from_seed(stream_seed(key, stream), index)


@njit(**_KW)
def async_order(key, row, sweep, perm):
    """Fill ``perm`` (n,) int64 with the order of ``rrnn.random.async_order``."""
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


@njit(cache=True, nogil=True, parallel=True)
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


@njit(cache=True, nogil=True, parallel=True)
def transpose_bits(rows, n, cols):
    """cols = transpose of the (n x n) bit matrix rows, by 64x64 blocks; each
    thread writes one block row of ``cols``. Bits at columns >= n are ignored."""
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
    """packed (words,) uint64: bit j set where x[j] != +1 (i.e. -1 or 0)."""
    n = x.shape[0]
    for w in range(packed.shape[0]):
        word = _U0
        base = 64 * w
        for b in range(min(64, n - base)):
            if x[base + b] != 1:
                word |= _U1 << np.uint64(b)
        packed[w] = word


@njit(cache=True, nogil=True, parallel=True)
def row_sums_binary(rows, n, out):
    """out[i] = sum_{j!=i} c_ij = (n - 1) - 2 popcount(row_i), for heaviside."""
    words = rows.shape[1]
    for p_i in prange(n):
        i = np.int64(p_i)  # prange indices may be unsigned
        pc = 0
        for w in range(words):
            pc += popcount64(rows[i, w])
        out[i] = (n - 1) - 2 * pc


# --------------------------------------------------------------------------
# accumulators
# --------------------------------------------------------------------------

@njit(**_KW)
def acc_binary_row(rows, i, packed, n, s_i, heaviside, r_i):
    """acc_bin[i] of one packed state; s_i = +-1 spin of unit i."""
    pc = 0
    for w in range(packed.shape[0]):
        pc += popcount64(rows[i, w] ^ packed[w])
    m = n - s_i - 2 * pc
    if heaviside:
        return (m + r_i) // 2
    return m


@njit(**_KW)
def acc_dense_row(rows, i, x):
    n = x.shape[0]
    acc = np.int64(0)
    for j in range(n):
        acc += np.int64(rows[i, j]) * np.int64(x[j])
    return acc - np.int64(rows[i, i]) * np.int64(x[i])


@njit(**_KW)
def acc_sparse_row(ptr, idx, val, i, x):
    acc = np.int64(0)
    for e in range(ptr[i], ptr[i + 1]):
        j = idx[e]
        if j != i:
            acc += np.int64(val[e]) * np.int64(x[j])
    return acc


@njit(**_KW)
def full_binary(rows, x, packed, heaviside, rsum, acc):
    n = x.shape[0]
    pack_state(x, packed)
    for i in range(n):
        s_i = 1 if x[i] == 1 else -1
        acc[i] = acc_binary_row(rows, i, packed, n, s_i, heaviside, rsum[i])


@njit(**_KW)
def full_dense(rows, x, acc):
    for i in range(x.shape[0]):
        acc[i] = acc_dense_row(rows, i, x)


@njit(**_KW)
def full_sparse(ptr, idx, val, x, acc):
    for i in range(x.shape[0]):
        acc[i] = acc_sparse_row(ptr, idx, val, i, x)


@njit(**_KW)
def add_column_binary(cols, j, delta, acc):
    """acc[i] += c[i][j] * delta for i != j, column j = row j of ``cols``."""
    n = acc.shape[0]
    d2 = 2 * delta
    for w in range(cols.shape[1]):
        word = cols[j, w]
        base = 64 * w
        for b in range(min(64, n - base)):
            acc[base + b] += delta - d2 * np.int64((word >> np.uint64(b)) & _U1)
    # undo the diagonal contribution added above
    acc[j] -= delta - d2 * np.int64((cols[j, j // 64] >> np.uint64(j % 64)) & _U1)


@njit(**_KW)
def add_column_dense(cols, j, delta, acc):
    n = acc.shape[0]
    for i in range(n):
        acc[i] += np.int64(cols[j, i]) * delta
    acc[j] -= np.int64(cols[j, j]) * delta


@njit(**_KW)
def add_column_sparse(ptr, idx, val, j, delta, acc):
    for e in range(ptr[j], ptr[j + 1]):
        i = idx[e]
        if i != j:
            acc[i] += np.int64(val[e]) * delta


@njit(**_KW)
def field(a_b, bin_scale, a_d, dense_scale, a_s, sparse_scale, has_bin, has_dense, has_sp,
          self_coupling, x_i, bias_i):
    """The local field of one unit from its accumulators, float64 operations in
    the reference order. Scalars only: array arguments in a per-unit call cost
    reference counting inside the hot loop."""
    h = 0.0
    if has_bin:
        h += np.float64(a_b) * bin_scale
    if has_dense:
        h += np.float64(a_d) * dense_scale
    if has_sp:
        h += np.float64(a_s) * sparse_scale
    h += self_coupling * np.float64(x_i)
    h += bias_i
    return h


# --------------------------------------------------------------------------
# local fields
# --------------------------------------------------------------------------

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


@njit(**_KW)
def only_values(x, a, b):
    """True when every x[j] is a or b."""
    for j in range(x.shape[0]):
        if x[j] != a and x[j] != b:
            return False
    return True


@njit(**_KW)
def acc_binary_general(rows, i, x):
    """acc_bin[i] = sum_{j!=i} c_ij x_j for any int8 values, bit by bit."""
    n = x.shape[0]
    acc = np.int64(0)
    for j in range(n):
        if j != i:
            bit = np.int64((rows[i, j // 64] >> np.uint64(j % 64)) & _U1)
            acc += (1 - 2 * bit) * np.int64(x[j])
    return acc


@njit(cache=True, nogil=True, parallel=True)
def local_fields(jt, states, bias, bias_per_row, self_coupling, out):
    """out (batch, n) = fields of states (batch, n); parallel over rows of J."""
    (n, bin_rows, bin_cols, bin_scale, has_bin, dense_rows, dense_cols, dense_scale,
     has_dense, sp_row_ptr, sp_row_idx, sp_row_val, sp_col_ptr, sp_col_idx, sp_col_val,
     sparse_scale, has_sp) = jt
    batch = states.shape[0]
    words = (n + 63) // 64
    packed = np.zeros((batch, words), dtype=np.uint64)
    mode = np.zeros(batch, dtype=np.int64)
    if has_bin:
        for p_b in prange(batch):
            b = np.int64(p_b)  # prange indices may be unsigned
            mode[b] = state_mode(states[b])
            pack_state(states[b], packed[b])
    for p_i in prange(n):
        i = np.int64(p_i)  # prange indices may be unsigned
        r_i = np.int64(0)
        if has_bin:
            pc = 0
            for w in range(words):
                pc += popcount64(bin_rows[i, w])
            r_i = (n - 1) - 2 * pc
        for b in range(batch):
            x = states[b]
            h = 0.0
            if has_bin:
                if mode[b] == 2:
                    a = acc_binary_general(bin_rows, i, x)
                else:
                    s_i = 1 if x[i] == 1 else -1
                    a = acc_binary_row(bin_rows, i, packed[b], n, s_i, mode[b] == 1, r_i)
                h += np.float64(a) * bin_scale
            if has_dense:
                h += np.float64(acc_dense_row(dense_rows, i, x)) * dense_scale
            if has_sp:
                a = acc_sparse_row(sp_row_ptr, sp_row_idx, sp_row_val, i, x)
                h += np.float64(a) * sparse_scale
            h += self_coupling * np.float64(x[i])
            h += bias[b if bias_per_row else 0, i]
            out[b, i] = h


# --------------------------------------------------------------------------
# dynamics
# --------------------------------------------------------------------------

@njit(**_KW)
def _full_accs(jt, x, packed, heaviside, rsum, acc_b, acc_d, acc_s):
    (n, bin_rows, bin_cols, bin_scale, has_bin, dense_rows, dense_cols, dense_scale,
     has_dense, sp_row_ptr, sp_row_idx, sp_row_val, sp_col_ptr, sp_col_idx, sp_col_val,
     sparse_scale, has_sp) = jt
    if has_bin:
        # Rows the activation cannot produce (e.g. 0 under sign) take the
        # exact slow path; after one update every value is +1 or low.
        if only_values(x, 1, 0 if heaviside else -1):
            full_binary(bin_rows, x, packed, heaviside, rsum, acc_b)
        else:
            for i in range(x.shape[0]):
                acc_b[i] = acc_binary_general(bin_rows, i, x)
    if has_dense:
        full_dense(dense_rows, x, acc_d)
    if has_sp:
        full_sparse(sp_row_ptr, sp_row_idx, sp_row_val, x, acc_s)


@njit(**_KW)
def _is_fixed(x, bias, self_coupling, low, has_bin, acc_b, bin_scale,
              has_dense, acc_d, dense_scale, has_sp, acc_s, sparse_scale):
    for i in range(x.shape[0]):
        h = field(acc_b[i], bin_scale, acc_d[i], dense_scale, acc_s[i], sparse_scale,
                  has_bin, has_dense, has_sp, self_coupling, x[i], bias[i])
        new = 1 if h >= 0 else low
        if new != x[i]:
            return False
    return True


@njit(**_KW)
def run_sync(jt, x, bias, self_coupling, activation, max_steps, rsum,
             packed, acc_b, acc_d, acc_s, new, flips, snapshot):
    """Synchronous dynamics of one trajectory with Brent cycle detection,
    as ``numpy_ref._run_sync``; returns (steps, converged, period)."""
    (n, bin_rows, bin_cols, bin_scale, has_bin, dense_rows, dense_cols, dense_scale,
     has_dense, sp_row_ptr, sp_row_idx, sp_row_val, sp_col_ptr, sp_col_idx, sp_col_val,
     sparse_scale, has_sp) = jt
    heaviside = activation != ACT_SIGN
    low = -1 if activation == ACT_SIGN else 0
    _full_accs(jt, x, packed, heaviside, rsum, acc_b, acc_d, acc_s)
    steps = 0
    period = -1
    converged = False
    snapshot[:] = x
    power = 1
    lam = 0
    for _ in range(max_steps):
        nflip = 0
        for i in range(n):
            h = field(acc_b[i], bin_scale, acc_d[i], dense_scale, acc_s[i], sparse_scale,
                      has_bin, has_dense, has_sp, self_coupling, x[i], bias[i])
            v = 1 if h >= 0 else low
            new[i] = v
            if v != x[i]:
                flips[nflip] = i
                nflip += 1
        if nflip == 0:
            converged = True
            period = 0
            break
        inc_bin = has_bin and nflip * _BIN_FULL_DIV <= n
        inc_dense = has_dense and nflip * _DENSE_FULL_DIV <= n
        inc_sp = has_sp and nflip * _SPARSE_FULL_DIV <= n
        for k in range(nflip):
            j = flips[k]
            delta = np.int64(new[j]) - np.int64(x[j])
            if inc_bin:
                add_column_binary(bin_cols, j, delta, acc_b)
            if inc_dense:
                add_column_dense(dense_cols, j, delta, acc_d)
            if inc_sp:
                add_column_sparse(sp_col_ptr, sp_col_idx, sp_col_val, j, delta, acc_s)
            x[j] = new[j]
        if has_bin and not inc_bin:
            full_binary(bin_rows, x, packed, heaviside, rsum, acc_b)
        if has_dense and not inc_dense:
            full_dense(dense_rows, x, acc_d)
        if has_sp and not inc_sp:
            full_sparse(sp_row_ptr, sp_row_idx, sp_row_val, x, acc_s)
        steps += 1
        lam += 1
        same = True
        for i in range(n):
            if x[i] != snapshot[i]:
                same = False
                break
        if same:
            period = lam
            break
        if lam == power:
            snapshot[:] = x
            power *= 2
            lam = 0
    if not converged and period == -1:
        if _is_fixed(x, bias, self_coupling, low, has_bin, acc_b, bin_scale,
                     has_dense, acc_d, dense_scale, has_sp, acc_s, sparse_scale):
            converged = True
            period = 0
    return steps, converged, period


@njit(**_KW)
def run_async(jt, x, bias, self_coupling, activation, max_steps, order_key, row,
              rsum, packed, acc_b, acc_d, acc_s, perm):
    """Asynchronous sweeps of one trajectory, as ``numpy_ref._run_async``;
    a sweep costs O(n) plus O(n) per flipped unit."""
    (n, bin_rows, bin_cols, bin_scale, has_bin, dense_rows, dense_cols, dense_scale,
     has_dense, sp_row_ptr, sp_row_idx, sp_row_val, sp_col_ptr, sp_col_idx, sp_col_val,
     sparse_scale, has_sp) = jt
    heaviside = activation != ACT_SIGN
    low = -1 if activation == ACT_SIGN else 0
    _full_accs(jt, x, packed, heaviside, rsum, acc_b, acc_d, acc_s)
    steps = 0
    converged = False
    for sweep in range(max_steps):
        async_order(order_key, row, sweep, perm)
        changed = 0
        for k in range(n):
            i = perm[k]
            h = field(acc_b[i], bin_scale, acc_d[i], dense_scale, acc_s[i], sparse_scale,
                      has_bin, has_dense, has_sp, self_coupling, x[i], bias[i])
            v = 1 if h >= 0 else low
            if v != x[i]:
                delta = np.int64(v) - np.int64(x[i])
                if has_bin:
                    add_column_binary(bin_cols, i, delta, acc_b)
                if has_dense:
                    add_column_dense(dense_cols, i, delta, acc_d)
                if has_sp:
                    add_column_sparse(sp_col_ptr, sp_col_idx, sp_col_val, i, delta, acc_s)
                x[i] = v
                changed += 1
        if changed == 0:
            converged = True
            break
        steps += 1
    if not converged:
        converged = _is_fixed(x, bias, self_coupling, low, has_bin, acc_b, bin_scale,
                              has_dense, acc_d, dense_scale, has_sp, acc_s, sparse_scale)
    return steps, converged, (0 if converged else -1)


@njit(cache=True, nogil=True, parallel=True)
def simulate(jt, states, bias, bias_per_row, self_coupling, activation, update,
             max_steps, order_key, rsum, steps, converged, period):
    """Run every row of states (batch, n) in place; parallel over batch rows,
    each with its own scratch rows."""
    n = jt[0]
    batch = states.shape[0]
    words = (n + 63) // 64
    packed = np.zeros((batch, words), dtype=np.uint64)
    acc_b = np.zeros((batch, n), dtype=np.int64)
    acc_d = np.zeros((batch, n), dtype=np.int64)
    acc_s = np.zeros((batch, n), dtype=np.int64)
    idx = np.zeros((batch, n), dtype=np.int64)
    new = np.zeros((batch, n), dtype=np.int8)
    snapshot = np.zeros((batch, n), dtype=np.int8)
    for p_b in prange(batch):
        b = np.int64(p_b)  # prange indices may be unsigned
        bb = b if bias_per_row else 0
        if update == 0:
            s, c, p = run_sync(jt, states[b], bias[bb], self_coupling, activation,
                               max_steps, rsum, packed[b], acc_b[b], acc_d[b], acc_s[b],
                               new[b], idx[b], snapshot[b])
        else:
            s, c, p = run_async(jt, states[b], bias[bb], self_coupling, activation,
                                max_steps, order_key, b, rsum, packed[b], acc_b[b],
                                acc_d[b], acc_s[b], idx[b])
        steps[b] = s
        converged[b] = c
        period[b] = p


# --------------------------------------------------------------------------
# fixed points
# --------------------------------------------------------------------------

@njit(cache=True, nogil=True, parallel=True)
def count_fixed_points(cols_b, cols_d, cols_s, has_b, has_d, has_s,
                       bin_scale, dense_scale, sparse_scale,
                       bias, self_coupling, activation, chunk_bits, counts):
    """Fixed points over all 2^n states in Gray-code order.

    ``cols_*`` (n, n) int64 hold column j of each term in row j, diagonal
    zero. Chunk c covers Gray indices [c << chunk_bits, (c + 1) << chunk_bits);
    it starts with a full computation and then changes one unit per state.
    counts (n_chunks,) int64 receives the count of each chunk.
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
        k0 = np.int64(c) << chunk_bits
        g = k0 ^ (k0 >> 1)
        for j in range(n):
            x[j] = 1 if (g >> j) & 1 else low
        for j in range(n):
            if x[j] != 0:
                xj = np.int64(x[j])
                for i in range(n):
                    acc_b[i] += cols_b[j, i] * xj
                    acc_d[i] += cols_d[j, i] * xj
                    acc_s[i] += cols_s[j, i] * xj
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
            fixed = True
            for i in range(n):
                h = field(acc_b[i], bin_scale, acc_d[i], dense_scale, acc_s[i], sparse_scale,
                          has_b, has_d, has_s, self_coupling, x[i], bias[i])
                v = 1 if h >= 0 else low
                if v != x[i]:
                    fixed = False
                    break
            if fixed:
                cnt += 1
        counts[c] = cnt


@njit(cache=True, nogil=True)
def expand_columns_binary(cols, n, out):
    """out[j, i] = c[i][j] (+-1) from bit-packed columns, diagonal 0."""
    for j in range(n):
        for i in range(n):
            bit = (cols[j, i // 64] >> np.uint64(i % 64)) & _U1
            out[j, i] = 0 if i == j else 1 - 2 * np.int64(bit)


@njit(cache=True, nogil=True)
def expand_columns_dense(cols, n, out):
    for j in range(n):
        for i in range(n):
            out[j, i] = 0 if i == j else np.int64(cols[j, i])


@njit(cache=True, nogil=True)
def expand_columns_sparse(ptr, idx, val, n, out):
    """Columns of a CSC matrix, duplicates summed, diagonal 0."""
    for j in range(n):
        for e in range(ptr[j], ptr[j + 1]):
            i = idx[e]
            if i != j:
                out[j, i] += np.int64(val[e])
