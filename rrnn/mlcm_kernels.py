"""numba kernels of the MLCM: incremental fields, asynchronous sweeps, diluted couplings.

Kernels only compute: the caller (:mod:`rrnn.mlcm`) validates, allocates every
output and scratch buffer, and picks the kernel. Layouts:

* states ``S`` and main fields ``H``: (L, B, N) float32; ``H[l, b, i] = sum_j J^l_ij S[l, b, j]``
  (no self-coupling, it is added when a unit is visited);
* dense couplings transposed, ``Jt[l, j, i] = J^l_ij`` (row j = what unit j sends), so
  a flip of unit j adds a contiguous row to the fields;
* diluted couplings: ``idx[l, i, k]`` (int32) and ``w[l, i, k]`` (float32), the K inputs of
  unit i; the outgoing lists are the CSR arrays ``out_ptr[l]``, ``out_post``, ``out_slot``.

Asynchronous order comes from a counter-based generator (splitmix64 of key, sample
and sweep), so results do not depend on the thread count.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True, nogil=True, inline="always")
def _mix(z):
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@njit(cache=True, nogil=True)
def shuffle(perm, n, key, sample, sweep):
    """Fisher-Yates shuffle of ``perm[:n]`` drawn from (key, sample, sweep)."""
    base = _mix(np.uint64(key) ^ _mix(np.uint64(sample) * _GOLDEN + np.uint64(sweep)))
    for i in range(n):
        perm[i] = i
    for k in range(n - 1, 0, -1):
        r = np.int64(_mix(base + np.uint64(k)) % np.uint64(k + 1))
        tmp = perm[k]
        perm[k] = perm[r]
        perm[r] = tmp


@njit(cache=True, nogil=True)
def add_changes(H, rows, new, old, Jt):
    """``H[rows[r]] += (new[r] - old[r]) @ Jt`` touching only the changed units.

    H : (B, N) float32, updated in place; rows : (A,) int64; new, old : (A, N) float32;
    Jt : (N, N) float32.
    """
    A, N = new.shape
    for r in range(A):      # serial: these calls are short, a parallel region costs more
        row = rows[r]
        for j in range(N):
            d = new[r, j] - old[r, j]
            if d != 0.0:
                for k in range(N):
                    H[row, k] += d * Jt[j, k]


@njit(cache=True, nogil=True, inline="always")
def _visit(S, H, xin, outf, Jt, jd, lam_left, lam_right, kappa, gamma, heaviside, use_right,
           l, b, i):
    L = S.shape[0]
    N = S.shape[2]
    old = S[l, b, i]
    h = H[l, b, i] + jd * old - kappa[l, i] - gamma[l]
    if l == 0:
        h += xin[b, i]
    else:
        h += lam_left[l] * S[l - 1, b, i]
    if use_right:
        if l == L - 1:
            h += outf[b, i]
        else:
            h += lam_right[l] * S[l + 1, b, i]
    if h >= 0:
        new = np.float32(1.0)
    elif heaviside:
        new = np.float32(0.0)
    else:
        new = np.float32(-1.0)
    if new != old:
        d = new - old
        for k in range(N):
            H[l, b, k] += d * Jt[l, i, k]
        S[l, b, i] = new
        return True
    return False


@njit(cache=True, nogil=True, parallel=True)
def relax_async(S, H, xin, outf, Jt, jd, lam_left, lam_right, kappa, gamma, heaviside, use_right,
                t_max, sequential, key, sample_ids, perm, steps, converged):
    """Asynchronous sweeps until no unit changes in a whole sweep, or ``t_max`` sweeps.

    S, H : (L, B, N) float32, in place (H must hold the main fields of S);
    xin : (B, N) float32, the input field of layer 1 (already times lambda_in);
    outf : (B, N) float32, the label field of layer L (already times lambda_out);
    Jt : (L, N, N); lam_left, lam_right, gamma : (L,) float32; kappa : (L, N) float32;
    sample_ids : (B,) int64 (RNG stream per sample); perm : (B, L*N) int64 scratch;
    steps : (B,) int32 and converged : (B,) bool, outputs.
    ``sequential``: layer by layer, each layer in a fresh random order; otherwise one
    random order over all L*N units per sweep.
    """
    L, B, N = S.shape
    for b in prange(B):
        steps[b] = t_max
        converged[b] = False
        for t in range(t_max):
            changed = False
            if sequential:
                for l in range(L):
                    shuffle(perm[b], N, key, sample_ids[b], t * L + l)
                    for p in range(N):
                        if _visit(S, H, xin, outf, Jt, jd, lam_left, lam_right, kappa, gamma,
                                  heaviside, use_right, l, b, perm[b, p]):
                            changed = True
            else:
                shuffle(perm[b], L * N, key, sample_ids[b], t)
                for p in range(L * N):
                    u = perm[b, p]
                    if _visit(S, H, xin, outf, Jt, jd, lam_left, lam_right, kappa, gamma,
                              heaviside, use_right, u // N, b, u % N):
                        changed = True
            if not changed:
                steps[b] = t + 1
                converged[b] = True
                break


# ---------------------------------------------------------------- diluted couplings

@njit(cache=True, nogil=True, parallel=True)
def diluted_fields(H, S, idx, w, rows):
    """``H[r, i] = sum_k w[i, k] S[rows[r], idx[i, k]]`` for one layer.

    H : (A, N) float32 out; S : (B, N) float32; idx : (N, K) int32; w : (N, K) float32.
    """
    A = rows.shape[0]
    N, K = idx.shape
    for r in prange(A):
        row = rows[r]
        for i in range(N):
            acc = np.float32(0.0)
            for k in range(K):
                acc += w[i, k] * S[row, idx[i, k]]
            H[r, i] = acc


@njit(cache=True, nogil=True, parallel=True)
def diluted_add_changes(H, rows, new, old, out_ptr, out_post, out_slot, w):
    """Incremental fields with diluted couplings: a change of unit j adds
    ``d * w[i, slot]`` to every unit i that listens to j (outgoing CSR lists)."""
    A, N = new.shape
    for r in prange(A):
        row = rows[r]
        for j in range(N):
            d = new[r, j] - old[r, j]
            if d != 0.0:
                for e in range(out_ptr[j], out_ptr[j + 1]):
                    i = out_post[e]
                    H[row, i] += d * w[i, out_slot[e]]


@njit(cache=True, nogil=True, parallel=True)
def diluted_update(w, idx, S, target, cond, scale, decay):
    """Local rule on the existing synapses only:
    ``w[i, k] = w[i, k] * decay + scale * sum_b cond[b, i] target[b, i] S[b, idx[i, k]]``.

    w : (N, K) float32 in place; S, target : (B, N) float32; cond : (B, N) bool.
    Parallel over the post-synaptic unit i (each thread owns its rows of w).
    """
    B = S.shape[0]
    N, K = idx.shape
    for i in prange(N):
        if decay != 1.0:
            for k in range(K):
                w[i, k] *= decay
        for b in range(B):
            if cond[b, i]:
                c = scale * target[b, i]
                for k in range(K):
                    w[i, k] += c * S[b, idx[i, k]]
