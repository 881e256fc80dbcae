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

from .backends.numba_kernels import popcount64

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
def add_changes(H, rows, new, old, Jt, idx, dv):
    """``H[rows[r]] += (new[r] - old[r]) @ Jt`` touching only the changed units.

    The changed units of a sample are added in increasing order, four rows of Jt per
    pass over the sample's fields: each field is loaded and stored once per four
    changes instead of once per change, with the same roundings in the same order as
    one change at a time (bit-identical), 1.2-1.4x faster.

    H : (B, N) float32, updated in place; rows : (A,) int64; new, old : (A, N) float32;
    Jt : (N, N) float32; idx : (N,) int64 and dv : (N,) float32, scratch.
    """
    A, N = new.shape
    for r in range(A):      # serial: these calls are short, a parallel region costs more
        m = 0
        for j in range(N):
            d = new[r, j] - old[r, j]
            if d != 0.0:
                idx[m] = j
                dv[m] = d
                m += 1
        h = H[rows[r]]
        q = 0
        while q + 4 <= m:
            j0, j1, j2, j3 = Jt[idx[q]], Jt[idx[q + 1]], Jt[idx[q + 2]], Jt[idx[q + 3]]
            d0, d1, d2, d3 = dv[q], dv[q + 1], dv[q + 2], dv[q + 3]
            for k in range(N):
                t = h[k]
                t += d0 * j0[k]
                t += d1 * j1[k]
                t += d2 * j2[k]
                t += d3 * j3[k]
                h[k] = t
            q += 4
        for q in range(q, m):
            jq, d = Jt[idx[q]], dv[q]
            for k in range(N):
                h[k] += d * jq[k]


@njit(cache=True, nogil=True)
def column_sums(out, acc, Jt):
    """``out[i] = sum_j Jt[j, i]``, accumulated in float64 row by row, then rounded to
    float32: bit for bit what ``Jt.sum(axis=0, dtype=np.float64).astype(np.float32)``
    gives (numpy reduces a non-contiguous axis in the same order), 4x faster. The {0,1}
    thresholds kappa need these sums of the current couplings at every relaxation.

    out : (N,) float32; acc : (N,) float64 scratch; Jt : (N, N) float32.
    """
    N, M = Jt.shape
    acc[:] = 0.0
    for j in range(N):
        for i in range(M):
            acc[i] += Jt[j, i]
    for i in range(M):
        out[i] = np.float32(acc[i])


@njit(cache=True, nogil=True, inline="always")
def _visit(S, H, xin, outf, Jt, jd, lam_left, lam_right, kappa, gamma, heaviside, use_right,
           l, b, i):
    L = S.shape[0]
    N = S.shape[2]
    old = S[l, b, i]
    h = H[l, b, i] + jd[l] * old - kappa[l, i] - gamma[l]
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
    Jt : (L, N, N); jd, lam_left, lam_right, gamma : (L,) float32; kappa : (L, N) float32;
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


@njit(cache=True, nogil=True, parallel=True)
def sync_layer(new, n_changed, S, H, l, rows, xin, outf, jd, lam_left, lam_right, kappa, gamma,
               heaviside, use_right):
    """Next states of layer l for the samples ``rows``, all units at once (synchronous):
    ``h = H + jd s + left + right - kappa - gamma``, summed in this order (the order of
    the numpy expression it replaces), ``new = 1`` where ``h >= 0``, else 0 (heaviside)
    or -1.

    new : (A, N) float32 out; n_changed : (A,) int64 out, units whose state changes;
    S, H : (L, B, N) float32 (read only); rows : (A,) int64; xin, outf : (B, N) float32,
    the input field of layer 1 and the label field of layer L; lam_left, lam_right,
    gamma : (L,) float32; kappa : (L, N) float32.
    """
    L, B, N = S.shape
    A = rows.shape[0]
    lo = np.float32(0.0) if heaviside else np.float32(-1.0)
    one = np.float32(1.0)
    for r in prange(A):
        b = rows[r]
        count = 0
        for i in range(N):
            s = S[l, b, i]
            h = H[l, b, i] + jd * s
            if l == 0:
                h = h + xin[b, i]
            else:
                h = h + lam_left[l] * S[l - 1, b, i]
            if use_right:
                if l == L - 1:
                    h = h + outf[b, i]
                else:
                    h = h + lam_right[l] * S[l + 1, b, i]
            h = h - kappa[l, i]
            h = h - gamma[l]
            v = one if h >= 0 else lo
            new[r, i] = v
            if v != s:
                count += 1
        n_changed[r] = count


@njit(cache=True, nogil=True)
def _kth_largest(h, k):
    """The k-th largest value of the float32 array h (1 <= k <= len(h)).

    Radix selection, one byte at a time, on the order-preserving integer image of the
    floats: no data-dependent branches in the histogram passes, so it runs several
    times faster than a quickselect (or numpy's argpartition) on rows of ~1,000 fields.
    """
    n = h.shape[0]
    keys = h.view(np.uint32).copy()
    for i in range(n):              # negative floats: flip all bits; positive: the sign bit
        u = keys[i]
        keys[i] = u ^ ((np.uint32(0) - (u >> 31)) | np.uint32(0x80000000))
    hist = np.empty(256, dtype=np.int64)
    m = n
    prefix = np.uint32(0)
    for shift in (24, 16, 8, 0):
        hist[:] = 0
        for i in range(m):
            hist[(keys[i] >> shift) & 255] += 1
        b = 255
        while hist[b] < k:          # buckets from the top until the k-th key is inside
            k -= hist[b]
            b -= 1
        prefix |= np.uint32(b) << shift
        kept = 0                    # keep only the keys of bucket b, for the next byte
        for i in range(m):          # (branch-free: the bucket test is unpredictable)
            key = keys[i]
            keys[kept] = key
            kept += (key >> shift) & 255 == b
        m = kept
    u = prefix ^ np.uint32(0x80000000) if prefix >> 31 else ~prefix
    return np.array([u], dtype=np.uint32).view(np.float32)[0]


@njit(cache=True, nogil=True, parallel=True)
def wta_layer(new, n_changed, S, H, l, rows, jd, lam_left, lam_right, kappa, gamma, use_right,
              k):
    """Winner-takes-all next {0, 1} states of a middle layer l (0 < l < L - 1): the k units
    with the largest field ``h`` (as in :func:`sync_layer`) fire. Among equal fields at the
    k-th place the lower unit index wins, so the choice does not depend on the selection
    algorithm.

    Arguments as in :func:`sync_layer`; k : int, 1 <= k <= N.
    """
    N = S.shape[2]
    A = rows.shape[0]
    left, right, g = lam_left[l], lam_right[l], gamma[l]
    kap = kappa[l]
    for r in prange(A):
        b = rows[r]
        own, prev, nxt, hl = S[l, b], S[l - 1, b], S[l + 1, b], H[l, b]
        h = np.empty(N, dtype=np.float32)
        for i in range(N):
            x = hl[i] + jd * own[i] + left * prev[i]      # the order of sync_layer's sum
            if use_right:
                x = x + right * nxt[i]
            h[i] = (x - kap[i]) - g
        kth = _kth_largest(h, k)
        n_gt = 0
        n_eq = 0
        for i in range(N):
            n_gt += h[i] > kth
            n_eq += h[i] == kth
        ties = k - n_gt             # places left for the fields equal to kth
        count = 0
        if ties == n_eq:            # no tie is cut at the k-th place: h >= kth fires
            for i in range(N):
                v = np.float32(h[i] >= kth)
                new[r, i] = v
                count += v != own[i]
        else:                       # the first ties (by index) fill the places left
            seen = 0
            for i in range(N):
                equal = h[i] == kth
                seen += equal
                v = np.float32((h[i] > kth) | (equal & (seen <= ties)))
                new[r, i] = v
                count += v != own[i]
        n_changed[r] = count


# ---------------------------------------------------------------- diluted couplings

@njit(cache=True, nogil=True, parallel=True)
def by_unit(Xt, live, X):
    """Transpose ``X`` to one row per unit and flag the rows with a non-zero value.

    Xt : (N, A) int8 or float32 out; live : (N,) bool out; X : (A, N) float32.
    Returns False if some value of X did not fit Xt exactly (then Xt is garbage).
    """
    A, N = X.shape
    n_bad = 0                  # a sum reduction: a flag written inside prange would be private
    for i in prange(N):
        nz = False
        for a in range(A):
            x = X[a, i]
            Xt[i, a] = x
            if Xt[i, a] != x:
                n_bad += 1
            if x != 0.0:
                nz = True
        live[i] = nz
    return n_bad == 0


@njit(cache=True, nogil=True, inline="always")
def _add_synapse(h, wk, s):
    for a in range(h.shape[0]):
        h[a] += wk * np.float32(s[a])


@njit(cache=True, nogil=True, parallel=True)
def diluted_gather(H, rows, accumulate, St, live, idx, w, Ht):
    """Fields of the states (or state changes) ``St`` through diluted couplings:
    ``f[a, i] = sum_k w[i, k] St[idx[i, k], a]``, then ``H[rows[a], i] += f[a, i]``
    (``accumulate``) or ``= f[a, i]``. Presynaptic rows with ``live[j]`` False (all zero:
    unchanged units, zero padding) are skipped.

    H : (B, N) float32, in place; rows : (A,) int64; St : (N, A) int8 or float32, one row
    per unit so the A values a synapse reads are contiguous; live : (N,) bool;
    idx : (N, K) int32; w : (N, K) float32; Ht : (N, A) float32 scratch.
    The sum over k runs in synapse order for every (a, i).
    """
    N, Kd = idx.shape
    A = St.shape[1]
    for i in prange(N):
        h = Ht[i]
        for a in range(A):
            h[a] = 0.0
        k = 0
        # Four synapses per pass over h, added in synapse order: the four random rows
        # are fetched together (the gather waits on memory, not on arithmetic). A zero
        # row among them adds +-0, which leaves every partial sum unchanged (they start
        # at +0), so only groups without a live row are skipped.
        while k + 4 <= Kd:
            j0, j1, j2, j3 = idx[i, k], idx[i, k + 1], idx[i, k + 2], idx[i, k + 3]
            if live[j0] or live[j1] or live[j2] or live[j3]:
                w0, w1, w2, w3 = w[i, k], w[i, k + 1], w[i, k + 2], w[i, k + 3]
                s0, s1, s2, s3 = St[j0], St[j1], St[j2], St[j3]
                for a in range(A):
                    x = h[a] + w0 * np.float32(s0[a])
                    x = x + w1 * np.float32(s1[a])
                    x = x + w2 * np.float32(s2[a])
                    h[a] = x + w3 * np.float32(s3[a])
            k += 4
        for kk in range(k, Kd):
            if live[idx[i, kk]]:
                _add_synapse(h, w[i, kk], St[idx[i, kk]])
        if accumulate:
            for a in range(A):
                H[rows[a], i] += h[a]
        else:
            for a in range(A):
                H[rows[a], i] = h[a]


@njit(cache=True, nogil=True, parallel=True)
def diluted_scatter(H, rows, new, old, out_ptr, out_post, out_src, w_flat):
    """Few changes: a change d of unit j adds ``d * w_ij`` to every unit i that listens
    to j. H : (B, N) float32, in place; rows : (A,) int64; new, old : (A, N) float32;
    out_ptr : (N + 1,) int64, out_post : (E,) int32, out_src : (E,) int64, the outgoing
    CSR lists (post-synaptic unit and flat position ``i * K + k`` of the weight);
    w_flat : (N * K,) float32. Parallel over samples: each thread owns its rows of H."""
    A, N = new.shape
    for r in prange(A):
        row = rows[r]
        for j in range(N):
            d = new[r, j] - old[r, j]
            if d != 0.0:
                for e in range(out_ptr[j], out_ptr[j + 1]):
                    H[row, out_post[e]] += d * w_flat[out_src[e]]


@njit(cache=True, nogil=True, parallel=True)
def diluted_update_bits(w, idx, pre_bits, pos_bits, neg_bits, scale, decay):
    """`diluted_update` with +-1 states and post in {-1, 0, 1} as bit sets over the
    samples: ``sum_b post_b pre_b = 2 (|P & X| - |M & X|) - (|P| - |M|)`` with X the
    samples where pre is +1 and P, M those where post is +1, -1. A unit's states fit one
    cache line (16 bytes for 100 samples instead of 100), so the random reads stay in
    cache.

    w : (N, K) float32 in place; idx : (N, K) int32; pre_bits, pos_bits, neg_bits :
    (N, W) uint64, bit b of word b // 64 is sample b.
    """
    N, Kd = idx.shape
    W = pre_bits.shape[1]
    for i in prange(N):
        _decay(w, i, decay)
        n_pos = 0
        n_neg = 0
        for c in range(W):
            n_pos += popcount64(pos_bits[i, c])
            n_neg += popcount64(neg_bits[i, c])
        if n_pos + n_neg == 0:
            continue
        base = np.int64(n_pos) - np.int64(n_neg)
        for k in range(Kd):
            x = pre_bits[idx[i, k]]
            agree = np.int64(0)
            for c in range(W):
                agree += np.int64(popcount64(pos_bits[i, c] & x[c])) - np.int64(popcount64(neg_bits[i, c] & x[c]))
            _learn(w, i, k, 2 * agree - base, scale)


@njit(cache=True, nogil=True, inline="always")
def _decay(w, i, decay):
    """Weight decay of unit i's synapses (skipped at decay = 1, the default)."""
    if decay != 1.0:
        for k in range(w.shape[1]):
            w[i, k] *= decay


@njit(cache=True, nogil=True, inline="always")
def _learn(w, i, k, acc, scale):
    if acc != 0:
        w[i, k] += scale * np.float32(acc)


@njit(cache=True, nogil=True, parallel=True)
def diluted_update(w, idx, pre_t, post_t, scale, decay):
    """Local rule on the existing synapses only:
    ``w[i, k] = w[i, k] * decay + scale * sum_b post_t[i, b] pre_t[idx[i, k], b]``.

    w : (N, K) float32 in place; pre_t : (N, B) int8, +-1 states; post_t : (N, B) int8 or
    int16, 0 for a stable (sample, unit) pair (column b may stand for several samples
    with equal states: post_t then holds their sum). The integer sum is exact, so this is the dense
    ``J <- decay J + scale pre.T @ post`` restricted to the synapses. Units without an
    unstable sample only decay. Parallel over the post-synaptic unit i.
    """
    N, Kd = idx.shape
    B = pre_t.shape[1]
    for i in prange(N):
        _decay(w, i, decay)
        n_unstable = 0
        for b in range(B):
            if post_t[i, b] != 0:
                n_unstable += 1
        if n_unstable == 0:
            continue
        k = 0
        while k + 4 <= Kd:      # four random rows in flight, as in diluted_gather
            p0, p1, p2, p3 = pre_t[idx[i, k]], pre_t[idx[i, k + 1]], pre_t[idx[i, k + 2]], pre_t[idx[i, k + 3]]
            a0 = a1 = a2 = a3 = np.int32(0)
            for b in range(B):    # integer sums vectorise (float ones may not be reordered)
                q = np.int32(post_t[i, b])
                a0 += q * np.int32(p0[b])
                a1 += q * np.int32(p1[b])
                a2 += q * np.int32(p2[b])
                a3 += q * np.int32(p3[b])
            _learn(w, i, k, a0, scale)
            _learn(w, i, k + 1, a1, scale)
            _learn(w, i, k + 2, a2, scale)
            _learn(w, i, k + 3, a3, scale)
            k += 4
        for kk in range(k, Kd):
            p = pre_t[idx[i, kk]]
            acc = np.int32(0)
            for b in range(B):
                acc += np.int32(post_t[i, b]) * np.int32(p[b])
            _learn(w, i, kk, acc, scale)
