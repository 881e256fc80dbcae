"""The numpy reference backend: slow, plain, and the oracle for the others.

Every coupling term is expanded to a dense int64 matrix and fields are
recomputed from scratch with integer matrix products, so there is no
incremental bookkeeping to get wrong. The C and numba backends must produce
bit-identical states, step counts and flags; they may be faster in any way
that keeps that true (incremental updates, batching, SIMD, threads).

The algorithms in this module *are* the specification of the dynamics:

Local field of unit ``i`` (float64, in exactly this order)::

    h = 0.0
    h += float(acc_bin[i])    * bin_scale      # acc_t[i] = sum_{j!=i} c_t[i, j] x[j]
    h += float(acc_dense[i])  * dense_scale
    h += float(acc_sparse[i]) * sparse_scale
    h += float(acc_lr[i])     * lr_scale       # low-rank (Hebbian) term
    h += self_coupling * x[i]
    h += bias[i]                               # bias = field - threshold
    new x[i] = +1 if h >= 0 else (-1 for sign, 0 for heaviside)

Finite temperature (``beta`` finite, Glauber updates): the unit takes the
high value (+1) when ``u < 1 / (1 + exp(-2.0 * beta * h))`` (evaluated as
``z = -2.0 * beta * h`` left to right, libm ``exp``, ``inf`` on overflow),
else the low value (-1 for sign, 0 for heaviside: the same probability
formula for both activations), with ``u = uniform01(random_u64(noise_key,
(row << 32) | t, i))``, ``t`` the sync step or async sweep index and ``i`` the
unit. Async sweeps keep the zero-temperature update order. There is no
convergence test: exactly ``max_steps`` steps or sweeps run; ``steps`` counts
those that changed the state, ``converged`` is False and ``period`` -1.
"""

from __future__ import annotations

import math

import numpy as np

from .. import random as rrandom
from .base import ACT_SIGN, OPTIONAL_FEATURES, UPDATE_SYNC, KernelCouplings, activate, n_words

name = "numpy"
FEATURES = OPTIONAL_FEATURES


def available() -> tuple[bool, str]:
    """The reference backend needs only numpy."""
    return True, ""


# --------------------------------------------------------------------------
# couplings
# --------------------------------------------------------------------------

def generate_binary(key: int, n: int, n_threads: int = 1) -> np.ndarray:
    """Random +-1 couplings, bit-packed; see ``rrnn_generate_binary``."""
    words = n_words(n)
    rows = rrandom.random_u64(key, np.arange(n, dtype=np.uint64)[:, None],
                              np.arange(words, dtype=np.uint64)[None, :])
    return _clear_diagonal_and_padding(np.ascontiguousarray(rows), n)


def _clear_diagonal_and_padding(rows: np.ndarray, n: int) -> np.ndarray:
    i = np.arange(n)
    rows[i, i // 64] &= ~(np.uint64(1) << (i % 64).astype(np.uint64))
    tail = n % 64
    if tail:
        rows[:, -1] &= (np.uint64(1) << np.uint64(tail)) - np.uint64(1)
    return rows


def unpack_bits(rows: np.ndarray, n: int) -> np.ndarray:
    """Bit-packed rows (m, words) uint64 -> (m, n) uint8 of the bits."""
    as_bytes = np.ascontiguousarray(rows).astype("<u8").view(np.uint8)
    bits = np.unpackbits(as_bytes.reshape(rows.shape[0], -1), axis=1, bitorder="little")
    return bits[:, :n]


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """(m, n) array of 0/1 -> bit-packed (m, ceil(n/64)) uint64."""
    m, n = bits.shape
    padded = np.zeros((m, n_words(n) * 64), dtype=np.uint8)
    padded[:, :n] = bits
    packed = np.packbits(padded, axis=1, bitorder="little")
    return np.ascontiguousarray(packed).view("<u8").astype(np.uint64)


def transpose_bits(rows: np.ndarray, n: int, n_threads: int = 1) -> np.ndarray:
    """Transpose of an (n x n) bit matrix, both bit-packed."""
    return pack_bits(np.ascontiguousarray(unpack_bits(rows, n).T))


def integer_matrices(J: KernelCouplings) -> list[tuple[np.ndarray, float]]:
    """Each present term as (dense int64 matrix with zero diagonal, scale)."""
    n = J.n
    terms = []
    if J.has_binary:
        c = 1 - 2 * unpack_bits(J.bin_rows, n).astype(np.int64)
        np.fill_diagonal(c, 0)
        terms.append((c, J.bin_scale))
    if J.has_dense:
        c = J.dense_rows.astype(np.int64)
        np.fill_diagonal(c, 0)
        terms.append((c, J.dense_scale))
    if J.has_sparse:
        c = np.zeros((n, n), dtype=np.int64)
        rows = np.repeat(np.arange(n), np.diff(J.sp_row_ptr))
        np.add.at(c, (rows, J.sp_row_idx), J.sp_row_val.astype(np.int64))
        np.fill_diagonal(c, 0)
        terms.append((c, J.sparse_scale))
    if J.has_lowrank:
        xi = J.lr_patterns.astype(np.int64)
        c = xi.T @ xi
        np.fill_diagonal(c, 0)
        terms.append((c, J.lr_scale))
    return terms


def glauber_high(h: float, beta: float, u: float) -> bool:
    """Whether a Glauber update at field h takes the high value (+1)."""
    z = -2.0 * beta * h
    try:
        e = math.exp(z)      # libm, like C and numba (np.exp's SIMD path may differ)
    except OverflowError:
        e = math.inf
    return u < 1.0 / (1.0 + e)


def _noise(noise_key: int, row: int, t: int, n: int) -> np.ndarray:
    """Uniforms u (n,) of step/sweep t of trajectory row."""
    stream = (np.uint64(row) << np.uint64(32)) | np.uint64(t)
    return rrandom.uniform01(rrandom.random_u64(noise_key, stream, np.arange(n, dtype=np.uint64)))


# --------------------------------------------------------------------------
# fields and dynamics
# --------------------------------------------------------------------------

def _fields(terms, x: np.ndarray, bias: np.ndarray, self_coupling) -> np.ndarray:
    """Local fields of states x (..., n) int8, as float64, in the fixed order.

    ``self_coupling`` is a float or an array broadcasting against x[..., 0].
    """
    xi = x.astype(np.int64)
    h = np.zeros(x.shape, dtype=np.float64)
    for c, scale in terms:
        h += (xi @ c.T).astype(np.float64) * scale
    h += np.asarray(self_coupling, dtype=np.float64)[..., None] * x.astype(np.float64)
    h += bias
    return h


def _bias_row(bias: np.ndarray, b: int) -> np.ndarray:
    return bias if bias.ndim == 1 else bias[b]


def local_fields(J: KernelCouplings, states: np.ndarray, bias: np.ndarray,
                 self_coupling: np.ndarray, n_threads: int = 1) -> np.ndarray:
    """Local fields (batch, n) float64 of states (batch, n) int8.

    ``self_coupling`` is (batch,) float64: one J_D per row.
    """
    self_coupling = np.broadcast_to(np.asarray(self_coupling, dtype=np.float64), states.shape[:1])
    return _fields(integer_matrices(J), states, bias, self_coupling)


def sync_step(J: KernelCouplings, states: np.ndarray, bias: np.ndarray,
              self_coupling: np.ndarray, activation: int, n_threads: int = 1) -> np.ndarray:
    """One synchronous step: new states (batch, n) int8 of states (batch, n) int8."""
    return activate(local_fields(J, states, bias, self_coupling, n_threads), activation)


def simulate(J: KernelCouplings, states: np.ndarray, bias: np.ndarray,
             self_coupling: np.ndarray, activation: int, update: int, max_steps: int,
             order_key: int, n_threads: int = 1, beta: float = math.inf, noise_key: int = 0):
    """Run every row of ``states`` (batch, n) int8 in place; see module doc.

    ``self_coupling`` is (batch,) float64: one J_D per row. ``beta`` finite
    selects Glauber updates with random numbers from ``noise_key``.

    Returns
    -------
    steps : ndarray (batch,) int64
    converged : ndarray (batch,) bool
    period : ndarray (batch,) int64
    """
    terms = integer_matrices(J)
    batch = states.shape[0]
    self_coupling = np.broadcast_to(np.asarray(self_coupling, dtype=np.float64), (batch,))
    steps = np.zeros(batch, dtype=np.int64)
    converged = np.zeros(batch, dtype=bool)
    period = np.full(batch, -1, dtype=np.int64)
    if math.isinf(beta):
        run = _run_sync if update == UPDATE_SYNC else _run_async
        for b in range(batch):
            steps[b], converged[b], period[b] = run(
                terms, states[b], _bias_row(bias, b), float(self_coupling[b]), activation,
                max_steps, order_key, b)
        return steps, converged, period
    run = _glauber_sync if update == UPDATE_SYNC else _glauber_async
    for b in range(batch):
        steps[b] = run(terms, states[b], _bias_row(bias, b), float(self_coupling[b]),
                       activation, max_steps, order_key, b, float(beta), noise_key)
    return steps, converged, period


def _glauber_sync(terms, x, bias, self_coupling, activation, max_steps, order_key, row,
                  beta, noise_key):
    """Synchronous Glauber steps (x updated in place); returns the changing steps."""
    n = x.shape[0]
    low = -1 if activation == ACT_SIGN else 0
    steps = 0
    for t in range(max_steps):
        h = _fields(terms, x, bias, self_coupling)
        u = _noise(noise_key, row, t, n)
        new = np.array([1 if glauber_high(float(h[i]), beta, float(u[i])) else low
                        for i in range(n)], dtype=np.int8)
        if not np.array_equal(new, x):
            steps += 1
        x[:] = new
    return steps


def _glauber_async(terms, x, bias, self_coupling, activation, max_steps, order_key, row,
                   beta, noise_key):
    """Asynchronous Glauber sweeps (x updated in place); returns the changing sweeps."""
    n = x.shape[0]
    low = -1 if activation == ACT_SIGN else 0
    accs = [c @ x.astype(np.int64) for c, _ in terms]
    steps = 0
    for sweep in range(max_steps):
        u = _noise(noise_key, row, sweep, n)
        changed = 0
        for i in rrandom.async_order(order_key, row, sweep, n):
            h = _unit_field(accs, terms, self_coupling, x[i], bias[i], i)
            new = 1 if glauber_high(h, beta, float(u[i])) else low
            if new != x[i]:
                delta = new - int(x[i])
                for acc, (c, _) in zip(accs, terms):
                    acc += c[:, i] * delta
                x[i] = new
                changed += 1
        steps += changed > 0
    return steps


def _unit_field(accs, terms, self_coupling, x_i, bias_i, i) -> float:
    """Field of one unit from up-to-date accumulators, in the fixed float order."""
    h = 0.0
    for acc, (_, scale) in zip(accs, terms):
        h += float(acc[i]) * scale
    h += self_coupling * float(x_i)
    h += bias_i
    return h


def _is_fixed_point(terms, x, bias, self_coupling, activation) -> bool:
    return bool(np.array_equal(activate(_fields(terms, x, bias, self_coupling), activation), x))


def _run_sync(terms, x, bias, self_coupling, activation, max_steps, order_key, row):
    """Synchronous dynamics with Brent cycle detection (x updated in place)."""
    steps, period, converged = 0, -1, False
    snapshot, power, lam = x.copy(), 1, 0
    for _ in range(max_steps):
        new = activate(_fields(terms, x, bias, self_coupling), activation)
        if np.array_equal(new, x):
            converged, period = True, 0
            break
        x[:] = new
        steps += 1
        lam += 1
        if np.array_equal(x, snapshot):
            period = lam
            break
        if lam == power:
            snapshot, power, lam = x.copy(), power * 2, 0
    if not converged and period == -1 and _is_fixed_point(terms, x, bias, self_coupling, activation):
        converged, period = True, 0
    return steps, converged, period


def _run_async(terms, x, bias, self_coupling, activation, max_steps, order_key, row):
    """Asynchronous sweeps in counter-based random orders (x updated in place)."""
    n = x.shape[0]
    steps, converged = 0, False
    low = -1 if activation == ACT_SIGN else 0
    accs = [c @ x.astype(np.int64) for c, _ in terms]
    for sweep in range(max_steps):
        changed = 0
        for i in rrandom.async_order(order_key, row, sweep, n):
            h = _unit_field(accs, terms, self_coupling, x[i], bias[i], i)
            new = 1 if h >= 0 else low
            if new != x[i]:
                delta = new - int(x[i])
                for acc, (c, _) in zip(accs, terms):
                    acc += c[:, i] * delta
                x[i] = new
                changed += 1
        if changed == 0:
            converged = True
            break
        steps += 1
    if not converged:
        converged = _is_fixed_point(terms, x, bias, self_coupling, activation)
    return steps, converged, (0 if converged else -1)


def count_fixed_points(J: KernelCouplings, bias: np.ndarray, self_coupling: float,
                       activation: int, n_threads: int = 1) -> int:
    """Exhaustive count of fixed points over all 2**n states (bias (n,))."""
    n = J.n
    terms = integer_matrices(J)
    low = -1 if activation == ACT_SIGN else 0
    count = 0
    chunk = 1 << min(n, 16)
    for start in range(0, 1 << n, chunk):
        codes = np.arange(start, start + chunk, dtype=np.int64)
        bits = (codes[:, None] >> np.arange(n)) & 1
        x = np.where(bits == 1, 1, low).astype(np.int8)
        new = activate(_fields(terms, x, bias, self_coupling), activation)
        count += int(np.all(new == x, axis=1).sum())
    return count
