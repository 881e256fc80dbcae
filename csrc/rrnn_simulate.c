/*
 * rrnn_simulate.c -- synchronous and asynchronous dynamics.
 *
 * The algorithm (steps, Brent cycle detection, async orders, the final
 * fixed-point check) is the one of rrnn/backends/numpy_ref.py.  All
 * accumulators are integers, so a full recomputation and any sequence of
 * incremental column updates give the same values; the code picks whichever
 * is cheaper, and neither the choice nor the thread count changes a result.
 *
 * Bit-packed term (see rrnn_fields.c): sign states are packed as m =
 * packed(x == -1) and use acc = n - x_i - 2 popcount(row_i XOR m); heaviside
 * states z are packed as P = packed(z == 1), |P| = Z, and use
 * acc = (Z - z_i) - 2 popcount(row_i AND P).
 *
 * Low-rank term: each trajectory keeps its overlaps M (int32, |M| <= n) and
 * their sum msum; acc_lr[i] = msum - 2 (sum of M over the patterns where
 * xi[mu][i] = -1) - p x_i is one O(p) masked sum over row i of lr_bits_t,
 * and a flip of unit j adds row j to M (O(p)).  A sync step updates M (or
 * recomputes it when many units flipped) and then evaluates every unit
 * (O(n p), parallel over units); an async sweep evaluates each unit when
 * its turn comes.
 *
 * Finite temperature (Glauber): the same loops with the rule of
 * rrnn_glauber_high, no convergence or cycle test, exactly max_steps steps
 * or sweeps.
 */
#include "rrnn_internal.h"

/* ------------------------------------------------------------------------ */
/* shared pieces                                                             */
/* ------------------------------------------------------------------------ */

static inline int rr_op(const rrnn_ctx *c)
{
    return c->act == RRNN_ACT_SIGN ? RRNN_OP_XOR : RRNN_OP_AND;
}

/* The value packed as a set bit. */
static inline int8_t rr_packval(const rrnn_ctx *c)
{
    return c->act == RRNN_ACT_SIGN ? (int8_t)-1 : (int8_t)1;
}

/* delta = new - old for a unit whose new value is v. */
static inline int64_t rr_delta(const rrnn_ctx *c, int8_t v)
{
    return c->act == RRNN_ACT_SIGN ? 2 * (int64_t)v : 2 * (int64_t)v - 1;
}

/* acc_bin from a raw popcount. */
static inline int64_t rr_binacc(const rrnn_ctx *c, int64_t pop, int8_t xi, int64_t Z)
{
    return c->act == RRNN_ACT_SIGN ? c->n - xi - 2 * pop : (Z - xi) - 2 * pop;
}

/* Rows per block of the dynamics' loops: at most 64 RR_BLOCK_WORDS. */
#define RR_BLOCK_WORDS 16

/* This thread's number in the enclosing parallel region (0 without OpenMP). */
static inline int64_t rr_thread(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* Full accumulators of ns states for rows [i0, i1); the first nlut states
 * also in the nibble layout nib (see rrnn_popc_batch).  The popcounts go
 * through pop, ns scratch rows of at least i1 - i0 int64 (the kernels count
 * in int64), into the int32 bit-packed accumulators ab. */
static void rr_full_rows(const rrnn_ctx *c, int64_t i0, int64_t i1, int64_t ns,
                         const uint64_t *const *pk, const uint8_t *nib, int64_t nlut,
                         int8_t *const *xs, const int64_t *Z, int32_t *const *ab,
                         int64_t *const *pop, int64_t *const *ad, int64_t *const *as)
{
    const rrnn_couplings *J = c->J;
    const int64_t n = c->n;
    if (ns == 0)
        return;
    if (c->hb) {
        rrnn_popc_batch(c->K, rr_op(c), J->bin_rows + i0 * c->W, c->W, 0, i1 - i0, pk, ns, nib,
                        nlut, pop);
        const int sign = c->act == RRNN_ACT_SIGN;
        for (int64_t s = 0; s < ns; s++) {
            int32_t *restrict a = ab[s];
            const int64_t *restrict p = pop[s]; /* p[i - i0]: row i of the block */
            const int8_t *restrict x = xs[s];
            const int64_t base = sign ? n : Z[s]; /* see rr_binacc */
            for (int64_t i = i0; i < i1; i++)
                a[i] = (int32_t)(base - x[i] - 2 * p[i - i0]);
        }
    }
    if (c->hd) {
        for (int64_t i = i0; i < i1; i++) {
            const int32_t *row = J->dense_rows + i * n;
            for (int64_t s = 0; s < ns; s++)
                ad[s][i] = c->K->ddot(row, xs[s], n) - (int64_t)row[i] * xs[s][i];
        }
    }
    if (c->hs) {
        for (int64_t s = 0; s < ns; s++)
            for (int64_t i = i0; i < i1; i++)
                as[s][i] = rrnn_sparse_row(J, i, xs[s]);
    }
}

/* Flips above which recomputing the bit-packed term from scratch beats one
 * column update per flip.  A column update costs about n/8 cycles (n int32
 * read-modify-writes, 8 per vector, one sign-table load each; less when sync
 * steps take them by fours, colupd4, where the column loads that miss the
 * caches dominate); a full synchronous pass about n W / 4 cycles per state
 * (batched popcounts), so the break-even is near 2 W flips (3 W and 4 W were
 * no better with colupd4, README "Session 24").
 * An asynchronous sweep compares against evaluating each remaining row on its
 * own: a call (~20 cycles) and W words that, at large n, come from memory
 * (about 2 W cycles at 4 bytes per cycle), while a flip's column also comes
 * from memory (2 W) besides its n/8 cycles of updates.  Both rules were
 * checked by alternated builds with identical results (README, "Session 22":
 * W was slower and 4 W no better for sync; counting rows as if in L1 was slower for
 * async, and never switching lost at J_D = 0, where most units flip).  The
 * dense and sparse terms cost as much per column as per row, so they are
 * always updated incrementally and do not move these thresholds. */
/* Flips ahead whose column words the incremental sync update prefetches. */
#define RR_PREFETCH_FLIPS 4

static int64_t rr_sync_threshold(const rrnn_ctx *c)
{
    return c->hb ? 2 * c->W : c->n + 1;
}

static int64_t rr_async_threshold(const rrnn_ctx *c)
{
    if (!c->hb)
        return c->n + 1;
    return c->n * (20 + 2 * c->W) / (c->n / 8 + 2 * c->W);
}

/* Next states xn[i] of units [i0, i1) from up-to-date accumulators; the
 * units that change are appended to f.  Returns their number.  Everything
 * the loop reads is copied to locals first: the int8 stores may alias
 * anything, and would otherwise force reloads on every unit. */
static int32_t rr_next_block(const rrnn_ctx *c, double self, int64_t i0, int64_t i1,
                             const int8_t *restrict x, int8_t *restrict xn,
                             const int32_t *restrict ab, const int64_t *restrict ad,
                             const int64_t *restrict as, const int64_t *restrict al,
                             const double *restrict bias, int32_t *restrict f)
{
    rrnn_ctx cc = *c;
    cc.self = self;
    const int sign = cc.act == RRNN_ACT_SIGN;
    int32_t m = 0;
    if (rrnn_binary_only(&cc)) {
        /* the common case (random binary networks) in SIMD, then the flips,
         * usually few, found 8 units at a time */
        cc.K->next_bin(ab, x, bias, cc.bs, self, sign, i0, i1, xn, NULL);
        for (int64_t i = i0; i < i1; i += 8) {
            const int64_t e = i + 8 < i1 ? i + 8 : i1;
            if (e - i == 8 && memcmp(x + i, xn + i, 8) == 0)
                continue;
            for (int64_t k = i; k < e; k++) {
                f[m] = (int32_t)k;
                m += xn[k] != x[k];
            }
        }
        return m;
    }
    for (int64_t i = i0; i < i1; i++) {
        double h = rrnn_field(&cc, cc.hb ? ab[i] : 0, cc.hd ? ad[i] : 0, cc.hs ? as[i] : 0,
                              cc.hl ? al[i] : 0, x[i], bias[i]);
        /* branch free: the sign of h is unpredictable */
        const int ge = h >= 0.0;
        const int8_t v = (int8_t)(sign ? 2 * ge - 1 : ge);
        xn[i] = v;
        f[m] = (int32_t)i;
        m += v != x[i];
    }
    return m;
}

/* rr_next_block with Glauber updates at inverse temperature beta; ns is the
 * seed of this trajectory's noise stream for this step. */
static int32_t rr_next_block_glauber(const rrnn_ctx *c, double self, int64_t i0, int64_t i1,
                                     const int8_t *restrict x, int8_t *restrict xn,
                                     const int32_t *restrict ab, const int64_t *restrict ad,
                                     const int64_t *restrict as, const int64_t *restrict al,
                                     const double *restrict bias, int32_t *restrict f,
                                     double beta, uint64_t ns)
{
    rrnn_ctx cc = *c;
    cc.self = self;
    const int8_t lo = cc.act == RRNN_ACT_SIGN ? (int8_t)-1 : (int8_t)0;
    int32_t m = 0;
    for (int64_t i = i0; i < i1; i++) {
        double h = rrnn_field(&cc, cc.hb ? ab[i] : 0, cc.hd ? ad[i] : 0, cc.hs ? as[i] : 0,
                              cc.hl ? al[i] : 0, x[i], bias[i]);
        const int8_t v = rrnn_glauber_high(h, beta, ns, i) ? (int8_t)1 : lo;
        xn[i] = v;
        f[m] = (int32_t)i;
        m += v != x[i];
    }
    return m;
}

/* Patterns per task of the parallel overlap updates: whole words, about four
 * tasks per thread and trajectory. */
static int64_t rr_lr_chunk(const rrnn_ctx *c, int nt)
{
    int64_t words = (c->lw + 4 * (int64_t)nt - 1) / (4 * (int64_t)nt);
    return 64 * (words < 1 ? 1 : words);
}

/* ------------------------------------------------------------------------ */
/* synchronous dynamics, a batch in lock step                                */
/* ------------------------------------------------------------------------ */

typedef struct {
    int8_t *x, *xn, *snap;
    int32_t *ab;
    int64_t *ad, *as, *al;
    uint64_t *pk;
    int64_t Z;
    int32_t *M;      /* low-rank overlaps (p,) and their sum */
    int64_t msum;
    int lr_full;     /* recompute M from scratch (else: from last step's flips) */
    int32_t *fl[2];  /* flipped units: written by block segment, then compacted
                        into one list of nfl units; [cur] = last step's */
    int32_t *cnt[2]; /* flips per block */
    int64_t nfl;
    int cur;
    int full;
    int active;
    int64_t steps, period, power, lam;
    uint8_t conv;
} rr_sync_traj;

typedef struct {
    void *p[16];
    int np;
} rr_pool;

static void *rr_take(rr_pool *pool, size_t bytes)
{
    void *p = rrnn_alloc(bytes);
    if (p != NULL)
        pool->p[pool->np++] = p;
    return p;
}

static void rr_release(rr_pool *pool)
{
    for (int k = 0; k < pool->np; k++)
        rrnn_free(pool->p[k]);
    pool->np = 0;
}

/* Runs trajectories b0 .. b0+nb-1 with nt threads; Glauber updates when
 * glauber (see rrnn_simulate). */
static int rr_sync_run(const rrnn_ctx *c, int8_t *states, int64_t b0, int64_t nb,
                       const double *bias, int64_t bias_stride, const double *selfs,
                       int64_t max_steps, int glauber, double beta, uint64_t noise_key,
                       int64_t *steps, uint8_t *conv, int64_t *period, int nt)
{
    const rrnn_couplings *J = c->J;
    const int64_t n = c->n, W = c->W, p = c->lp;
    const int64_t BS = rrnn_block_rows(n, nt, RR_BLOCK_WORDS);
    const int64_t nblk = (n + BS - 1) / BS;
    const int64_t thr = rr_sync_threshold(c);
    const int64_t CH = c->hl ? rr_lr_chunk(c, nt) : 64;
    const int64_t nch = (p + CH - 1) / CH;
    const int8_t pv = rr_packval(c);
    rr_pool pool = {{0}, 0};
    size_t un = (size_t)n, ub = (size_t)nb;

    rr_sync_traj *T = rr_take(&pool, sizeof(rr_sync_traj) * ub);
    int8_t *xalt = rr_take(&pool, un * ub);
    int8_t *snap = rr_take(&pool, un * ub);
    int32_t *fl = rr_take(&pool, sizeof(int32_t) * 2 * un * ub);
    int32_t *cnt = rr_take(&pool, sizeof(int32_t) * 2 * (size_t)nblk * ub);
    int32_t *abuf = c->hb ? rr_take(&pool, sizeof(int32_t) * un * ub) : NULL;
    /* popcount scratch of the full steps: per thread, one block row per state */
    int64_t *popbuf = c->hb ? rr_take(&pool, sizeof(int64_t) * (size_t)(nt * BS) * ub) : NULL;
    int64_t **pops = c->hb ? rr_take(&pool, sizeof(int64_t *) * (size_t)nt * ub) : NULL;
    int64_t *dbuf = c->hd ? rr_take(&pool, sizeof(int64_t) * un * ub) : NULL;
    int64_t *sbuf = c->hs ? rr_take(&pool, sizeof(int64_t) * un * ub) : NULL;
    uint64_t *pbuf = c->hb ? rr_take(&pool, sizeof(uint64_t) * (size_t)W * ub) : NULL;
    const int64_t nlut_max = c->hb ? rrnn_nib_states(c->K, nb, W) : 0;
    uint8_t *nib = nlut_max > 0 ? rr_take(&pool, rrnn_nib_bytes(W, nlut_max)) : NULL;
    int64_t *lbuf = c->hl ? rr_take(&pool, sizeof(int64_t) * un * ub) : NULL;
    int32_t *mbuf = c->hl ? rr_take(&pool, sizeof(int32_t) * (size_t)p * ub) : NULL;
    /* per-step lists: active, full, incremental, and the full set's arrays */
    int64_t *lists = rr_take(&pool, sizeof(int64_t) * 3 * ub);
    void **fptr = rr_take(&pool, sizeof(void *) * 6 * ub);
    int64_t *fZ = rr_take(&pool, sizeof(int64_t) * ub);
    if (!T || !xalt || !snap || !fl || !cnt || !lists || !fptr || !fZ ||
        (c->hb && (!abuf || !pbuf || !popbuf || !pops)) || (nlut_max > 0 && !nib) ||
        (c->hd && !dbuf) ||
        (c->hs && !sbuf) || (c->hl && (!lbuf || !mbuf))) {
        rr_release(&pool);
        return RRNN_ERR_NOMEM;
    }
    int64_t *A = lists, *F = lists + ub, *I = lists + 2 * ub;
    const uint64_t **fpk = (const uint64_t **)fptr;
    int8_t **fxs = (int8_t **)(fptr + ub);
    int32_t **fab = (int32_t **)(fptr + 2 * ub);
    int64_t **fad = (int64_t **)(fptr + 3 * ub);
    int64_t **fas = (int64_t **)(fptr + 4 * ub);

    for (int64_t q = 0; c->hb && q < (int64_t)nt * nb; q++)
        pops[q] = popbuf + q * BS;
    for (int64_t k = 0; k < nb; k++) {
        rr_sync_traj *tr = &T[k];
        tr->x = states + (b0 + k) * n;
        tr->xn = xalt + k * n;
        tr->snap = snap + k * n;
        memcpy(tr->snap, tr->x, un);
        tr->ab = c->hb ? abuf + k * n : NULL;
        tr->ad = c->hd ? dbuf + k * n : NULL;
        tr->as = c->hs ? sbuf + k * n : NULL;
        tr->al = c->hl ? lbuf + k * n : NULL;
        tr->M = c->hl ? mbuf + k * p : NULL;
        tr->msum = 0; /* sum_mu M[mu] = sum_j x_j sum_mu xi[mu][j] */
        for (int64_t j = 0; c->hl && j < n; j++)
            tr->msum += rrnn_lr_dtotal(c, j, tr->x[j]);
        tr->lr_full = 1;
        tr->pk = c->hb ? pbuf + k * W : NULL;
        tr->Z = c->hb ? rrnn_pack_eq(tr->x, n, pv, tr->pk) : 0;
        tr->fl[0] = fl + (2 * k) * n;
        tr->fl[1] = fl + (2 * k + 1) * n;
        tr->cnt[0] = cnt + (2 * k) * nblk;
        tr->cnt[1] = cnt + (2 * k + 1) * nblk;
        tr->cur = 0;
        tr->nfl = 0;
        tr->full = 1;
        tr->active = 1;
        tr->steps = 0;
        tr->period = -1;
        tr->power = 1;
        tr->lam = 0;
        tr->conv = 0;
    }

    int64_t nA = 0, nF = 0, nI = 0, nlut = 0;
    int done = 0, final = 0;
#pragma omp parallel num_threads(nt)
    for (int64_t t = 0;; t++) {
#pragma omp single
        {
            nA = nF = nI = 0;
            for (int64_t k = 0; k < nb; k++) {
                rr_sync_traj *tr = &T[k];
                if (!tr->active)
                    continue;
                A[nA++] = k;
                if (tr->full) {
                    fpk[nF] = tr->pk;
                    fxs[nF] = tr->x;
                    fZ[nF] = tr->Z;
                    fab[nF] = tr->ab;
                    fad[nF] = tr->ad;
                    fas[nF] = tr->as;
                    F[nF++] = k;
                } else {
                    I[nI++] = k;
                }
            }
            /* Glauber: exactly max_steps steps, no final fixed-point test */
            done = nA == 0 || (glauber && t == max_steps);
            final = t == max_steps;
            nlut = c->hb ? rrnn_nib_states(c->K, nF, W) : 0;
        }
        if (done)
            break;
        if (nlut > 0) {
#pragma omp for schedule(static)
            for (int64_t w = 0; w < W; w++)
                rrnn_nib_build(fpk, nlut, W, w, w + 1, nib);
        }

        /* Sparse columns of the last step's flips, one trajectory per task,
         * and the low-rank overlaps of the current states by chunks of
         * patterns (from scratch, or the last step's flips added): one loop,
         * one barrier. */
        const int64_t nsp = c->hs ? nI : 0, nlr = c->hl ? nA * nch : 0;
        if (nsp + nlr > 0) {
#pragma omp for schedule(dynamic, 1)
            for (int64_t q = 0; q < nsp + nlr; q++) {
                if (q < nsp) {
                    rr_sync_traj *tr = &T[I[q]];
                    const int32_t *f = tr->fl[tr->cur];
                    for (int64_t e = 0; e < tr->nfl; e++)
                        rrnn_sparse_col(J, f[e], rr_delta(c, tr->x[f[e]]), tr->as);
                    continue;
                }
                rr_sync_traj *tr = &T[A[(q - nsp) / nch]];
                const int64_t m0 = ((q - nsp) % nch) * CH, m1 = m0 + CH < p ? m0 + CH : p;
                if (tr->lr_full) {
                    rrnn_lr_overlaps(c, tr->x, m0, m1, tr->M);
                    continue;
                }
                const int32_t *f = tr->fl[tr->cur];
                for (int64_t e = 0; e < tr->nfl; e++)
                    c->K->colupd(J->lr_bits_t + (int64_t)f[e] * c->lw, m0, m1,
                                (int32_t)rr_delta(c, tr->x[f[e]]), tr->M);
            }
        }

        /* Per block of units: bring the accumulators up to date (full or
         * incremental), then compute the next state of every active
         * trajectory. */
#pragma omp for schedule(static)
        for (int64_t blk = 0; blk < nblk; blk++) {
            const int64_t i0 = blk * BS, i1 = i0 + BS < n ? i0 + BS : n;
            int64_t *const *tpop = c->hb ? pops + rr_thread() * nb : NULL;
            rr_full_rows(c, i0, i1, nF, fpk, nib, nlut, fxs, fZ, fab, tpop, fad, fas);
            if (c->hb || c->hd) {
                /* the flip D places ahead in the sequence of all
                 * trajectories' lists, (pq, pe), whose column words are
                 * prefetched: random columns miss the caches, and this
                 * block's update of one column is too short to hide it */
                const int64_t D = RR_PREFETCH_FLIPS;
                int64_t pq = 0, pe = D;
                while (pq < nI && pe >= T[I[pq]].nfl)
                    pe -= T[I[pq++]].nfl;
                for (int64_t q = 0; q < nI; q++) {
                    rr_sync_traj *tr = &T[I[q]];
                    const int32_t *f = tr->fl[tr->cur];
                    /* the binary columns go by fours through colupd4, which
                     * loads and stores the block's accumulators once per four */
                    const uint64_t *cols[4];
                    int32_t dels[4];
                    int ncol = 0;
                    for (int64_t e = 0; e < tr->nfl; e++) {
                        const int64_t j = f[e];
                        const int64_t d = rr_delta(c, tr->x[j]);
                        const int own = j >= i0 && j < i1;
                        if (c->hb && pq < nI) {
                            const rr_sync_traj *pt = &T[I[pq]];
                            const uint64_t *col = J->bin_cols + pt->fl[pt->cur][pe] * W;
                            for (int64_t w = i0 >> 6; w <= (i1 - 1) >> 6; w += 8)
                                __builtin_prefetch(col + w);
                            __builtin_prefetch(col + ((i1 - 1) >> 6));
                            if (++pe == pt->nfl) {
                                pe = 0;
                                while (++pq < nI && T[I[pq]].nfl == 0)
                                    ;
                            }
                        }
                        if (c->hb) {
                            cols[ncol] = J->bin_cols + j * W;
                            dels[ncol] = (int32_t)d;
                            if (++ncol == 4) {
                                c->K->colupd4(cols, dels, i0, i1, tr->ab);
                                ncol = 0;
                            }
                            if (own)
                                tr->ab[j] -= (int32_t)d;
                        }
                        if (c->hd) {
                            c->K->daxpy(J->dense_cols + j * n, i0, i1, d, tr->ad);
                            if (own)
                                tr->ad[j] -= (int64_t)J->dense_cols[j * n + j] * d;
                        }
                    }
                    for (int e = 0; e < ncol; e++)
                        c->K->colupd(cols[e], i0, i1, dels[e], tr->ab);
                }
            }
            for (int64_t q = 0; q < nA; q++) {
                const int64_t k = A[q];
                rr_sync_traj *tr = &T[k];
                if (c->hl)
                    rrnn_lr_acc_rows(c, i0, i1 - i0, tr->M, tr->msum, tr->x, tr->al + i0);
                const double *bk = bias + (b0 + k) * bias_stride;
                int32_t *fk = tr->fl[1 - tr->cur] + i0;
                if (glauber) {
                    const uint64_t ns =
                        rrnn_stream_seed(noise_key, ((uint64_t)(b0 + k) << 32) | (uint64_t)t);
                    tr->cnt[1 - tr->cur][blk] = rr_next_block_glauber(
                        c, selfs[b0 + k], i0, i1, tr->x, tr->xn, tr->ab, tr->ad, tr->as, tr->al,
                        bk, fk, beta, ns);
                } else {
                    tr->cnt[1 - tr->cur][blk] = rr_next_block(
                        c, selfs[b0 + k], i0, i1, tr->x, tr->xn, tr->ab, tr->ad, tr->as, tr->al,
                        bk, fk);
                }
            }
        }

        /* Per trajectory: commit, count, detect fixed points and cycles,
         * choose how the next step computes its fields. */
#pragma omp for schedule(static)
        for (int64_t q = 0; q < nA; q++) {
            rr_sync_traj *tr = &T[A[q]];
            const int nx = 1 - tr->cur;
            /* one list of this step's flips: the block segments moved down
             * in order (each lands at or below where it starts) */
            int32_t *fx = tr->fl[nx];
            int64_t flips = 0;
            for (int64_t blk = 0; blk < nblk; blk++) {
                memmove(fx + flips, fx + blk * BS, sizeof(int32_t) * (size_t)tr->cnt[nx][blk]);
                flips += tr->cnt[nx][blk];
            }
            tr->nfl = flips;
            /* recomputing M costs about as much as n/2 flips */
            tr->lr_full = 2 * flips > n;
            for (int64_t e = 0; c->hl && e < flips; e++)
                tr->msum += rrnn_lr_dtotal(c, fx[e], rr_delta(c, tr->xn[fx[e]]));
            if (glauber) {
                /* commit even an unchanged state: the flip lists must be this
                 * step's (empty) ones */
                int8_t *tmp = tr->x;
                tr->x = tr->xn;
                tr->xn = tmp;
                tr->cur = nx;
                tr->steps += flips > 0;
                tr->full = flips > thr;
                if (c->hb && tr->full)
                    tr->Z = rrnn_pack_eq(tr->x, n, pv, tr->pk);
                continue;
            }
            if (final || flips == 0) {
                tr->conv = flips == 0;
                tr->period = flips == 0 ? 0 : -1;
                tr->active = 0;
                continue;
            }
            int8_t *tmp = tr->x;
            tr->x = tr->xn;
            tr->xn = tmp;
            tr->cur = nx;
            tr->steps++;
            tr->lam++;
            if (memcmp(tr->x, tr->snap, un) == 0) {
                tr->period = tr->lam;
                tr->active = 0;
                continue;
            }
            if (tr->lam == tr->power) {
                memcpy(tr->snap, tr->x, un);
                tr->power *= 2;
                tr->lam = 0;
            }
            /* the packed state is only read by full steps: pack on demand */
            tr->full = flips > thr;
            if (c->hb && tr->full)
                tr->Z = rrnn_pack_eq(tr->x, n, pv, tr->pk);
        }
    }

    for (int64_t k = 0; k < nb; k++) {
        rr_sync_traj *tr = &T[k];
        int8_t *dst = states + (b0 + k) * n;
        if (tr->x != dst)
            memcpy(dst, tr->x, un);
        steps[b0 + k] = tr->steps;
        conv[b0 + k] = tr->conv;
        period[b0 + k] = tr->period;
    }
    rr_release(&pool);
    return RRNN_OK;
}

/* ------------------------------------------------------------------------ */
/* asynchronous dynamics, one trajectory                                     */
/* ------------------------------------------------------------------------ */

typedef struct {
    int32_t *perm;
    int32_t *ab;
    int64_t *ad, *as;
    uint64_t *pk;
    int32_t *M; /* low-rank overlaps */
} rr_async_scratch;

static int rr_async_alloc(const rrnn_ctx *c, rr_async_scratch *s)
{
    size_t un = (size_t)c->n;
    s->perm = rrnn_alloc(sizeof(int32_t) * un);
    s->ab = c->hb ? rrnn_alloc(sizeof(int32_t) * un) : NULL;
    s->ad = c->hd ? rrnn_alloc(sizeof(int64_t) * un) : NULL;
    s->as = c->hs ? rrnn_alloc(sizeof(int64_t) * un) : NULL;
    s->pk = c->hb ? rrnn_alloc(sizeof(uint64_t) * (size_t)c->W) : NULL;
    s->M = c->hl ? rrnn_alloc(sizeof(int32_t) * (size_t)c->lp) : NULL;
    if (!s->perm || (c->hb && (!s->ab || !s->pk)) || (c->hd && !s->ad) || (c->hs && !s->as) ||
        (c->hl && !s->M))
        return RRNN_ERR_NOMEM;
    return RRNN_OK;
}

static void rr_async_free(rr_async_scratch *s)
{
    rrnn_free(s->perm);
    rrnn_free(s->ab);
    rrnn_free(s->ad);
    rrnn_free(s->as);
    rrnn_free(s->pk);
    rrnn_free(s->M);
}

/* Full accumulators of one state, rows split among nt threads.  With
 * bin_only, only the bit-packed term is recomputed. */
static void rr_full_one(const rrnn_ctx *c, int8_t *x, const uint64_t *pk, int64_t Z,
                        int32_t *ab, int64_t *ad, int64_t *as, int bin_only, int nt)
{
    rrnn_ctx cc = *c;
    if (bin_only)
        cc.hd = cc.hs = 0;
    const int64_t n = c->n, BS = rrnn_block_rows(n, nt, RR_BLOCK_WORDS);
    const int64_t nblk = (n + BS - 1) / BS;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1 && nblk > 1)
    for (int64_t blk = 0; blk < nblk; blk++) {
        const int64_t i0 = blk * BS, i1 = i0 + BS < n ? i0 + BS : n;
        int64_t pop[64 * RR_BLOCK_WORDS];
        int64_t *pp = pop;
        rr_full_rows(&cc, i0, i1, 1, &pk, NULL, 0, &x, &Z, &ab, &pp, &ad, &as);
    }
}

/* Low-rank term of an async sweep, by windows of RR_LR_WIN units in update
 * order.  When a window opens, the masked sums of all its units come from
 * one pass over M (lrneg_rows: M is read once per window instead of once
 * per unit, and outgrows L1 at p ~ 8000).  A unit's sum_mu xi[mu][i] M[mu]
 * is then the window-start value plus, for each unit j that flipped earlier
 * in the window, delta_j L[i][j] with L[i][j] = p - 2 popcount(row_i XOR
 * row_j) over the lw words of lr_bits_t (padding bits are 0); the flips are
 * added to M when the window closes.  All integers: exactly the values of
 * an M updated after every flip. */
#define RR_LR_WIN 8

typedef struct {
    int64_t neg[RR_LR_WIN];          /* masked sums at the window start */
    int64_t msum0;                   /* sum of M at the window start */
    const uint64_t *frow[RR_LR_WIN]; /* lr_bits_t rows of the flipped units */
    int64_t fdelta[RR_LR_WIN];
    int nf;
} rr_lr_window;

/* Adds the window's flips to M. */
static void rr_lr_close(const rrnn_ctx *c, rr_lr_window *w, int32_t *M)
{
    for (int f = 0; f < w->nf; f++)
        c->K->colupd(w->frow[f], 0, c->lp, (int32_t)w->fdelta[f], M);
    w->nf = 0;
}

/* Opens a window on units[0 .. nu) (nu <= RR_LR_WIN), M up to date. */
static void rr_lr_open(const rrnn_ctx *c, rr_lr_window *w, const int32_t *units, int64_t nu,
                       const int32_t *M, int64_t msum)
{
    c->K->lrneg_rows(c->J->lr_bits_t, c->lw, units, 0, nu, M, c->lp, w->neg);
    w->msum0 = msum;
    w->nf = 0;
}

/* acc_lr of the unit at position u of the window (unit i, value xi). */
static int64_t rr_lr_window_acc(const rrnn_ctx *c, const rr_lr_window *w, int64_t u, int64_t i,
                                int8_t xi)
{
    int64_t s = w->msum0 - 2 * w->neg[u];
    if (w->nf > 0) {
        int64_t pop[RR_LR_WIN];
        int64_t *out[RR_LR_WIN];
        for (int f = 0; f < w->nf; f++)
            out[f] = pop + f;
        c->K->popc(RRNN_OP_XOR, c->J->lr_bits_t + i * c->lw, c->lw, 0, 1, w->frow, w->nf, out);
        for (int f = 0; f < w->nf; f++)
            s += w->fdelta[f] * (c->lp - 2 * pop[f]);
    }
    return s - c->lp * (int64_t)xi;
}

/* Low-rank overlaps of one state, patterns split among nt threads. */
static void rr_overlaps_one(const rrnn_ctx *c, const int8_t *x, int32_t *M, int nt)
{
    const int64_t p = c->lp, CH = rr_lr_chunk(c, nt), nch = (p + CH - 1) / CH;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1 && nch > 1)
    for (int64_t q = 0; q < nch; q++)
        rrnn_lr_overlaps(c, x, q * CH, (q + 1) * CH < p ? (q + 1) * CH : p, M);
}

/* The first position k' >= k of the update order perm whose unit would
 * change, or n, for couplings with only the bit-packed term and up-to-date
 * accumulators ab.  Near convergence most units keep their state, and this
 * loop, with few live values, runs several times faster than the general
 * one (which then handles the unit at k'). */
static int64_t rr_async_next_change(const rrnn_ctx *c, const int32_t *restrict perm, int64_t k,
                                    const int32_t *restrict ab, const int8_t *restrict x,
                                    const double *restrict bias)
{
    /* a local copy whose term flags the compiler sees as constants, so that
     * rrnn_field reduces to the bit-packed term */
    rrnn_ctx cc = *c;
    cc.hb = 1;
    cc.hd = cc.hs = cc.hl = 0;
    const int8_t lo = rrnn_activate(-1.0, cc.act);
    for (; k < cc.n; k++) {
        const int64_t i = perm[k];
        if ((rrnn_field(&cc, ab[i], 0, 0, 0, x[i], bias[i]) >= 0.0 ? (int8_t)1 : lo) != x[i])
            break;
    }
    return k;
}

/* One trajectory (batch row b), asynchronous sweeps in the orders of key;
 * Glauber updates with the noise of noise_key when glauber. */
static void rr_async_run(const rrnn_ctx *c0, double self, rr_async_scratch *s, int8_t *x,
                         int64_t b, const double *bias, int64_t max_steps, uint64_t key,
                         int glauber, double beta, uint64_t noise_key,
                         int64_t *steps, uint8_t *conv, int64_t *period, int nt)
{
    rrnn_ctx cc = *c0;
    cc.self = self;
    const rrnn_ctx *c = &cc;
    const rrnn_couplings *J = c->J;
    const int64_t n = c->n, W = c->W;
    const int op = rr_op(c);
    const int8_t pv = rr_packval(c);
    const int8_t lo = c->act == RRNN_ACT_SIGN ? (int8_t)-1 : (int8_t)0;
    const int64_t thr = rr_async_threshold(c);
    const int bin_only = rrnn_binary_only(c) && !glauber;
    int32_t *perm = s->perm;
    int32_t *ab = s->ab;
    int64_t *ad = s->ad, *as = s->as;
    uint64_t *pk = s->pk;
    int32_t *M = s->M;
    int64_t msum = 0; /* sum of M, kept up to date at every flip */
    rr_lr_window win = {{0}, 0, {0}, {0}, 0};
    int64_t Z = c->hb ? rrnn_pack_eq(x, n, pv, pk) : 0;
    int64_t nsteps = 0;
    int converged = 0;
    int valid = 1; /* ab holds the fields of x (else: evaluate rows lazily) */
    int64_t last_flips = 0;

    rr_full_one(c, x, pk, Z, ab, ad, as, 0, nt);
    if (c->hl) {
        rr_overlaps_one(c, x, M, nt);
        msum = rrnn_lr_total(M, c->lp);
    }

    for (int64_t t = 0; t < max_steps; t++) {
        if (c->hb && !valid && last_flips <= thr) {
            rr_full_one(c, x, pk, Z, ab, ad, as, 1, nt);
            valid = 1;
        }
        for (int64_t i = 0; i < n; i++)
            perm[i] = (int32_t)i;
        const uint64_t seed = rrnn_stream_seed(key, ((uint64_t)b << 32) | (uint64_t)t);
        for (int64_t i = n - 1; i >= 1; i--) {
            uint64_t r = rrnn_mix64(seed + ((uint64_t)i + 1) * RRNN_GOLDEN);
            int64_t j = (int64_t)(((r >> 32) * ((uint64_t)i + 1)) >> 32);
            int32_t tmp = perm[i];
            perm[i] = perm[j];
            perm[j] = tmp;
        }
        const uint64_t ns =
            glauber ? rrnn_stream_seed(noise_key, ((uint64_t)b << 32) | (uint64_t)t) : 0;
        int64_t changed = 0;
        for (int64_t k = 0; k < n; k++) {
            if (bin_only && valid) {
                k = rr_async_next_change(c, perm, k, ab, x, bias);
                if (k == n)
                    break;
            }
            const int64_t i = perm[k];
            if (c->hl && k % RR_LR_WIN == 0) {
                rr_lr_close(c, &win, M);
                rr_lr_open(c, &win, perm + k, n - k < RR_LR_WIN ? n - k : RR_LR_WIN, M, msum);
                /* the units come in random order: fetch the next window's
                 * pattern bits now */
                for (int64_t q = k + RR_LR_WIN; q < k + 2 * RR_LR_WIN && q < n; q++) {
                    const char *r = (const char *)(J->lr_bits_t + perm[q] * c->lw);
                    for (int64_t off = 0; off < 8 * c->lw; off += 64)
                        __builtin_prefetch(r + off);
                }
            }
            int64_t a = 0;
            if (c->hb) {
                if (valid) {
                    a = ab[i];
                } else {
                    int64_t p;
                    int64_t *pp = &p;
                    const uint64_t *pkc = pk;
                    c->K->popc(op, J->bin_rows + i * W, W, 0, 1, &pkc, 1, &pp);
                    a = rr_binacc(c, p, x[i], Z);
                }
            }
            const int64_t al = c->hl ? rr_lr_window_acc(c, &win, k % RR_LR_WIN, i, x[i]) : 0;
            double h = rrnn_field(c, a, c->hd ? ad[i] : 0, c->hs ? as[i] : 0, al, x[i], bias[i]);
            int8_t v;
            if (glauber)
                v = rrnn_glauber_high(h, beta, ns, i) ? (int8_t)1 : lo;
            else
                v = h >= 0.0 ? (int8_t)1 : lo;
            if (v == x[i])
                continue;
            const int64_t d = rr_delta(c, v);
            if (c->hb) {
                if (valid) {
                    c->K->colupd(J->bin_cols + i * W, 0, n, (int32_t)d, ab);
                    ab[i] -= (int32_t)d;
                }
                pk[i >> 6] ^= (uint64_t)1 << (i & 63);
                if (c->act != RRNN_ACT_SIGN)
                    Z += d;
            }
            if (c->hd) {
                c->K->daxpy(J->dense_cols + i * n, 0, n, d, ad);
                ad[i] -= (int64_t)J->dense_cols[i * n + i] * d;
            }
            if (c->hs)
                rrnn_sparse_col(J, i, d, as);
            if (c->hl) {
                win.frow[win.nf] = J->lr_bits_t + i * c->lw;
                win.fdelta[win.nf++] = d;
                msum += rrnn_lr_dtotal(c, i, d);
            }
            x[i] = v;
            changed++;
            if (valid && c->hb && changed > thr)
                valid = 0; /* many flips: evaluate rows lazily from here on */
        }
        if (c->hl)
            rr_lr_close(c, &win, M);
        last_flips = changed;
        if (glauber) { /* no convergence test */
            nsteps += changed > 0;
            continue;
        }
        if (changed == 0) {
            converged = 1;
            break;
        }
        nsteps++;
    }
    if (!converged && !glauber) {
        if (c->hb && !valid)
            rr_full_one(c, x, pk, Z, ab, ad, as, 1, nt);
        converged = 1;
        int64_t lr[64]; /* low-rank accumulators of units 64 k ... */
        for (int64_t i = 0; i < n && converged; i++) {
            if (c->hl && i % 64 == 0)
                rrnn_lr_acc_rows(c, i, n - i < 64 ? n - i : 64, M, msum, x, lr);
            const int64_t al = c->hl ? lr[i % 64] : 0;
            double h = rrnn_field(c, c->hb ? ab[i] : 0, c->hd ? ad[i] : 0, c->hs ? as[i] : 0,
                                  al, x[i], bias[i]);
            converged = rrnn_activate(h, c->act) == x[i];
        }
    }
    *steps = nsteps;
    *conv = (uint8_t)converged;
    *period = converged ? 0 : -1;
}

/* ------------------------------------------------------------------------ */
/* entry point                                                               */
/* ------------------------------------------------------------------------ */

int rrnn_simulate(const rrnn_couplings *J, int8_t *states, int64_t batch,
                  const double *bias, int64_t bias_stride, const double *self_coupling,
                  int32_t activation, int32_t update, int64_t max_steps,
                  uint64_t order_key, double beta, uint64_t noise_key,
                  int64_t *steps, uint8_t *converged, int64_t *period,
                  rrnn_exec ex)
{
    int st = rrnn_check_exec(ex);
    if (st != RRNN_OK)
        return st;
    if ((st = rrnn_check_couplings(J, 1)) != RRNN_OK)
        return st;
    const int64_t n = J->n;
    if (batch < 0 || max_steps < 0 || (bias_stride != 0 && bias_stride != n) ||
        (activation != RRNN_ACT_SIGN && activation != RRNN_ACT_HEAVISIDE) ||
        (update != RRNN_UPDATE_SYNC && update != RRNN_UPDATE_ASYNC) ||
        isnan(beta) || beta < 0.0)
        return RRNN_ERR_ARGUMENT;
    const int glauber = !isinf(beta);
    if (batch == 0)
        return RRNN_OK;
    if (steps == NULL || converged == NULL || period == NULL || self_coupling == NULL ||
        (n > 0 && (states == NULL || bias == NULL)))
        return RRNN_ERR_ARGUMENT;
    /* the async order and the noise counters are (b << 32) | t */
    if ((update == RRNN_UPDATE_ASYNC || glauber) &&
        (batch > ((int64_t)1 << 31) || max_steps > ((int64_t)1 << 32)))
        return RRNN_ERR_ARGUMENT;
    if (n == 0) {
        /* the empty network: nothing to update. Answered here because states may
         * be NULL, and pointer arithmetic or memcpy on NULL is undefined even for
         * zero lengths (found reading the code for the sanitizer audit) */
        for (int64_t b = 0; b < batch; b++) {
            steps[b] = 0;
            converged[b] = (uint8_t)!glauber;
            period[b] = glauber ? -1 : 0;
        }
        return RRNN_OK;
    }

    rrnn_ctx c;
    rrnn_ctx_init(&c, J, activation, 0.0, ex); /* self set per trajectory */
    const int nt = rrnn_nthreads(ex.n_threads);
    int status = RRNN_OK;

    if (update == RRNN_UPDATE_SYNC) {
        /* Small networks: whole groups of trajectories per thread.  Large
         * ones: the batch in lock step, units shared among threads. */
        if (nt > 1 && n <= 2048 && batch >= 2 * nt) {
            int64_t ngroups = 4 * (int64_t)nt;
            if (ngroups > batch)
                ngroups = batch;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
            for (int64_t g = 0; g < ngroups; g++) {
                int64_t lo = batch * g / ngroups, hi = batch * (g + 1) / ngroups;
                int r = rr_sync_run(&c, states, lo, hi - lo, bias, bias_stride, self_coupling,
                                    max_steps, glauber, beta, noise_key, steps, converged,
                                    period, 1);
                if (r != RRNN_OK) {
#pragma omp atomic write
                    status = r;
                }
            }
        } else {
            status = rr_sync_run(&c, states, 0, batch, bias, bias_stride, self_coupling,
                                 max_steps, glauber, beta, noise_key, steps, converged, period,
                                 nt);
        }
        return status;
    }

    /* Asynchronous: one trajectory per thread when there are several. */
    if (nt == 1 || batch == 1) {
        rr_async_scratch s;
        status = rr_async_alloc(&c, &s);
        if (status == RRNN_OK)
            for (int64_t b = 0; b < batch; b++)
                rr_async_run(&c, self_coupling[b], &s, states + b * n, b,
                             bias + b * bias_stride, max_steps, order_key, glauber, beta,
                             noise_key, steps + b, converged + b, period + b, nt);
        rr_async_free(&s);
        return status;
    }
#pragma omp parallel num_threads(nt)
    {
        rr_async_scratch s;
        int mine = rr_async_alloc(&c, &s);
        if (mine != RRNN_OK) {
#pragma omp atomic write
            status = mine;
        }
#pragma omp for schedule(dynamic, 1)
        for (int64_t b = 0; b < batch; b++)
            if (mine == RRNN_OK)
                rr_async_run(&c, self_coupling[b], &s, states + b * n, b,
                             bias + b * bias_stride, max_steps, order_key, glauber, beta,
                             noise_key, steps + b, converged + b, period + b, 1);
        rr_async_free(&s);
    }
    return status;
}
