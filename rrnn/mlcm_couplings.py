"""Recurrent coupling stores of the MLCM: dense and diluted.

Both hold the couplings ``J^l`` of the L layers and offer the same five operations,
which is all :class:`rrnn.mlcm.MLCM` asks of them:

- ``fields(l, S)``: ``S @ J^l.T`` for states S (A, N) float32;
- ``add_changes(l, H, rows, new, old, n_changed)``: incremental fields,
  ``H[rows] += (new - old) @ J^l.T``, touching only what changed when little did;
- ``row_sums(l)``: ``sum_j J^l_ij`` (N,) float32, for the kappa thresholds of eq. 7.1;
- ``update(l, pre, post, scale, decay)``: the local rule's outer-product step;
- ``arrays()``: the arrays to store in HDF5.

``Dense`` stores ``J^l`` transposed in float32 (thesis scale, N up to ~16,000);
``Diluted`` stores K random inputs per unit (N = 100,000 fits in memory).
"""

from __future__ import annotations

import numpy as np

from . import mlcm_kernels as K

__all__ = ["Dense", "Diluted", "distinct_rows", "sample_bits"]

# Incremental field updates beat a dense matmul below this fraction of changed units.
INCREMENTAL_BELOW = 0.25
# Diluted couplings: scattering K updates per changed (sample, unit) beats gathering the
# whole layer below this fraction of changes (measured at N = 20,000 and 100,000, K = 256).
SCATTER_BELOW = 0.01


class Dense:
    """Dense couplings stored transposed: ``Jt[l, j, i] = J^l_ij``, zero diagonal."""

    def __init__(self, Jt):
        self.Jt = Jt

    @classmethod
    def random(cls, L, N, scale, rng):
        Jt = np.empty((L, N, N), dtype=np.float32)
        for l in range(L):
            Jt[l] = rng.standard_normal((N, N), dtype=np.float32) * np.float32(scale / np.sqrt(N))
            np.fill_diagonal(Jt[l], 0.0)
        return cls(Jt)

    def fields(self, l, S):
        return S @ self.Jt[l]

    def add_changes(self, l, H, rows, new, old, n_changed):
        if n_changed < INCREMENTAL_BELOW * new.size:
            N = new.shape[1]
            K.add_changes(H, rows, new, old, self.Jt[l], np.empty(N, np.int64), np.empty(N, np.float32))
        else:
            H[rows] += (new - old) @ self.Jt[l]

    def row_sums(self, l):
        N = self.Jt.shape[2]
        out = np.empty(N, dtype=np.float32)
        K.column_sums(out, np.empty(N, dtype=np.float64), self.Jt[l])
        return out

    def update(self, l, pre, post, scale, decay):
        """J_ij <- decay J_ij + scale sum_b post[b, i] pre[b, j]; diagonal zero."""
        Jt = self.Jt[l]
        if decay != 1.0:
            Jt *= np.float32(decay)
        cols = np.flatnonzero(np.any(post != 0, axis=0))
        if cols.size > 0.5 * post.shape[1]:
            Jt += np.float32(scale) * (pre.T @ post)
        elif cols.size:
            # only the units with an unstable sample learn: a thinner product
            Jt[:, cols] += np.float32(scale) * (pre.T @ post[:, cols])
        np.fill_diagonal(Jt, 0.0)

    def arrays(self):
        return {"couplings_t": self.Jt}


def sample_bits(mask):
    """(B, N) bool -> (N, W) uint64 bit sets over the samples (bit b of word b // 64)."""
    B, N = mask.shape
    W = (B + 63) // 64
    padded = np.zeros((64 * W, N), dtype=bool)
    padded[:B] = mask
    packed = np.packbits(padded, axis=0, bitorder="little")      # (8 W, N) uint8
    return np.ascontiguousarray(packed.T).view("<u8")


def distinct_rows(X):
    """Distinct rows of X (A, N): ``first`` (U,) int64, the first row of each group, and
    ``group`` (A,) int64 with ``X[a] == X[first[group[a]]]`` exactly. Rows are grouped
    by a strided sample of their columns and then compared in full, so rows that differ
    early (the input pixels) cost little."""
    sample = X[:, ::max(1, X.shape[1] // 512)]
    first, group, seen = [], np.empty(len(X), dtype=np.int64), {}
    for a in range(len(X)):
        for u in seen.get(sample[a].tobytes(), ()):
            if np.array_equal(X[first[u]], X[a]):
                group[a] = u
                break
        else:
            seen.setdefault(sample[a].tobytes(), []).append(len(first))
            group[a] = len(first)
            first.append(a)
    return np.asarray(first, dtype=np.int64), group


class Diluted:
    """K distinct random inputs per unit (self excluded): ``idx[l, i, k]``, ``w[l, i, k]``.

    Fields are gathered with the states laid out by unit, (N, A) int8, so each synapse
    reads A contiguous bytes; a few changes are scattered through the outgoing lists
    instead (`SCATTER_BELOW`)."""

    def __init__(self, idx, w):
        self.idx, self.w = idx, w
        self._out = [self._outgoing(idx[l]) for l in range(idx.shape[0])]
        self._scratch = None

    @staticmethod
    def _outgoing(idx):
        N, Kd = idx.shape
        pre = idx.ravel().astype(np.int64)
        order = np.argsort(pre, kind="stable")
        ptr = np.zeros(N + 1, dtype=np.int64)
        np.cumsum(np.bincount(pre, minlength=N), out=ptr[1:])
        post = (order // Kd).astype(np.int32)
        return ptr, post, order

    @classmethod
    def random(cls, L, N, Kd, scale, rng):
        idx = np.empty((L, N, Kd), dtype=np.int32)
        w = np.empty((L, N, Kd), dtype=np.float32)
        for l in range(L):
            # K distinct inputs per unit: drawn with replacement, an input drawn twice
            # would act as one synapse with twice the weight and twice the learning rate
            r = np.empty((N, Kd), dtype=np.int64)
            for i in range(N):
                r[i] = rng.choice(N - 1, size=Kd, replace=False, shuffle=False)
            r += r >= np.arange(N)[:, None]          # skip self
            idx[l] = r
            w[l] = rng.standard_normal((N, Kd), dtype=np.float32) * np.float32(scale / np.sqrt(Kd))
        return cls(idx, w)

    def _buffers(self, N, A):
        """Scratch for the gather, (N, A) int8 and float32 views of flat buffers kept
        between calls (a fresh 40 MB array per call at N = 100,000 would pay its page
        faults every time)."""
        if self._scratch is None or self._scratch[0].size < N * A:
            self._scratch = (np.empty(N * A, dtype=np.int8), np.empty(N, dtype=bool),
                             np.empty(N * A, dtype=np.float32))
        St, live, Ht = self._scratch
        return St[:N * A].reshape(N, A), live, Ht[:N * A].reshape(N, A)

    def _gather(self, l, H, rows, X, accumulate):
        """``H[rows] (+)= X @ J^T`` for layer l; X : (A, N) float32."""
        A, N = X.shape
        St, live, Ht = self._buffers(N, A)
        if not K.by_unit(St, live, X):
            # values int8 cannot hold (the 1/2 padding of heaviside): float32 rows
            St = np.empty((N, A), dtype=np.float32)
            K.by_unit(St, live, X)
        K.diluted_gather(H, rows, accumulate, St, live, self.idx[l], self.w[l], Ht)

    def fields(self, l, S):
        H = np.empty_like(S)
        self._gather(l, H, np.arange(len(S), dtype=np.int64), S, False)
        return H

    def add_changes(self, l, H, rows, new, old, n_changed):
        if n_changed < SCATTER_BELOW * new.size:
            ptr, post, order = self._out[l]
            K.diluted_scatter(H, rows, new, old, ptr, post, order, self.w[l].reshape(-1))
            return
        first, group = distinct_rows(new)
        if len(first) <= len(new) // 2:
            # many equal rows (layer L clamped to the label patterns): fields of the
            # distinct new states, copied to their duplicates
            self._gather(l, H, rows[first], new[first], False)
            H[rows] = H[rows[first][group]]
        else:
            self._gather(l, H, rows, new - old, True)

    def row_sums(self, l):
        return self.w[l].sum(axis=1, dtype=np.float64).astype(np.float32)

    def update(self, l, pre, post, scale, decay):
        """w_ik <- decay w_ik + scale sum_b post[b, i] pre[b, idx_ik]; pre in {-1, 1} and
        post in {-1, 0, 1}, (B, N) float32."""
        B, N = pre.shape
        first, group = distinct_rows(pre)
        if len(first) == B:
            K.diluted_update_bits(self.w[l], self.idx[l], sample_bits(pre > 0), sample_bits(post > 0),
                                  sample_bits(post < 0), np.float32(scale), np.float32(decay))
            return
        # Equal rows of pre (layer L clamped to the label patterns) share one column:
        # post summed over each group gives the same integer sums from a smaller pre_t.
        U = len(first)
        post_u = np.zeros((U, N), dtype=np.float32)
        for u in range(U):
            post_u[u] = post[group == u].sum(axis=0)
        pre_t, live = np.empty((N, U), dtype=np.int8), np.empty(N, dtype=bool)
        K.by_unit(pre_t, live, pre[first])
        post_t = np.empty((N, U), dtype=np.int8)
        if not K.by_unit(post_t, live, post_u):      # more than 127 equal rows
            post_t = np.empty((N, U), dtype=np.int16)
            K.by_unit(post_t, live, post_u)
        K.diluted_update(self.w[l], self.idx[l], pre_t, post_t, np.float32(scale), np.float32(decay))

    def arrays(self):
        return {"indices": self.idx, "weights": self.w}
