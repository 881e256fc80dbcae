/*
 * rrnn_fields.c -- local fields of a batch of states, one synchronous step
 * of them, and the raw batched popcount kernel.
 *
 * The bit-packed term is evaluated with popcounts.  For a state with values
 * in {-1, +1} and m = packed(x == -1) (bit set where x = -1):
 *     acc[i] = n - x[i] - 2 popcount(row_i XOR m)
 * (over all 64 W bit positions, 1 - 2 (row XOR m) is c_ij x_j; the padding
 * positions add 64 W - n and the diagonal, whose row bit is 0, adds x[i]).
 * For any state with values in {-1, 0, +1}, with P = packed(x == 1) and
 * M = packed(x == -1) holding |P| and |M| set bits:
 *     sum_{j != i, x_j = 1} c_ij = |P| - [x_i = 1] - 2 popcount(row_i AND P)
 * and acc[i] is that sum minus the same sum over M.
 *
 * The low-rank term goes through the overlaps of each state with the
 * patterns (O(n p) per state, parallel over patterns) and then one O(p)
 * masked sum per unit (rrnn_lr_acc_rows, eight rows per pass over the
 * overlaps); it is exact for any state values.
 */
#include "rrnn_internal.h"

/* Where rr_fields_run puts the field h of unit i: fields[i] = h, or, when
 * next is not NULL, next[i] = the unit's new state under activation act. */
typedef struct {
    double *fields;
    int8_t *next;
    int act;
} rr_sink;

static inline void rr_put(const rr_sink *o, int64_t i, double h)
{
    if (o->next != NULL)
        o->next[i] = rrnn_activate(h, o->act);
    else
        o->fields[i] = h;
}

/* Fields of state b for units [i0, i1), into row b of the sink.  pop holds
 * the popcounts of packed vector v for units prow0, prow0 + 1, ... at
 * pop + v * pstride. */
static void rr_fields_run(const rrnn_ctx *cp, const rrnn_couplings *J, const int8_t *states,
                          int64_t b, int64_t i0, int64_t i1, int and_mode,
                          const int64_t *vidx, const int64_t *cnt, const int64_t *pop,
                          int64_t pstride, int64_t prow0, const int32_t *ov, const int64_t *ovt,
                          double self, const double *restrict bias, const rr_sink *sink)
{
    rrnn_ctx c = *cp;
    c.self = self;
    const int64_t n = c.n;
    const int8_t *restrict x = states + b * n;
    const rr_sink out = {sink->fields ? sink->fields + b * n : NULL,
                         sink->next ? sink->next + b * n : NULL, sink->act};
    const int64_t v = c.hb ? vidx[2 * b] : 0, m = c.hb ? vidx[2 * b + 1] : -1;
    const int64_t *restrict pv = c.hb ? pop + v * pstride : NULL;
    const int64_t *restrict pm = m >= 0 ? pop + m * pstride : NULL;
    const int64_t cv = c.hb ? cnt[v] : 0, cm = m >= 0 ? cnt[m] : 0;
    if (rrnn_binary_only(&c) && !and_mode) {
        /* the common case (binary couplings, +-1 states) without the
         * per-unit branches of the general loop below: the accumulators of
         * up to 256 units, then their fields or next states in SIMD */
        int32_t acc[256]; /* |acc| <= n < 2^31 */
        for (int64_t a = i0; a < i1; a += 256) {
            const int64_t e = a + 256 < i1 ? a + 256 : i1;
            for (int64_t i = a; i < e; i++)
                acc[i - a] = (int32_t)(n - x[i] - 2 * pv[i - prow0]);
            c.K->next_bin(acc, x + a, bias + a, c.bs, self, out.act == RRNN_ACT_SIGN, 0, e - a,
                          out.next ? out.next + a : NULL, out.fields ? out.fields + a : NULL);
        }
        return;
    }
    int64_t lr[64]; /* low-rank accumulators of units i0 + 64 k ... */
    for (int64_t i = i0; i < i1; i++) {
        int64_t ab = 0, ad = 0, as = 0, al = 0;
        if (c.hl && i1 - i0 > 1 && (i - i0) % 64 == 0)
            rrnn_lr_acc_rows(&c, i, i1 - i < 64 ? i1 - i : 64, ov + b * c.lp, ovt[b], x, lr);
        if (c.hb) {
            if (!and_mode) {
                ab = n - x[i] - 2 * pv[i - prow0];
            } else {
                ab = cv - (x[i] == 1) - 2 * pv[i - prow0];
                if (pm != NULL)
                    ab -= cm - (x[i] == -1) - 2 * pm[i - prow0];
            }
        }
        if (c.hd) {
            const int32_t *drow = J->dense_rows + i * n;
            ad = c.K->ddot(drow, x, n) - (int64_t)drow[i] * x[i];
        }
        if (c.hs)
            as = rrnn_sparse_row(J, i, x);
        if (c.hl)
            al = i1 - i0 > 1 ? lr[(i - i0) % 64] : rrnn_lr_acc(&c, i, ov + b * c.lp, ovt[b], x[i]);
        rr_put(&out, i, rrnn_field(&c, ab, ad, as, al, x[i], bias[i]));
    }
}

/* rrnn_local_fields and rrnn_sync_step: the fields of every state into the
 * sink (its fields or its next states). */
static int rr_fields_batch(const rrnn_couplings *J, const int8_t *states, int64_t batch,
                           const double *bias, int64_t bias_stride,
                           const double *self_coupling, const rr_sink *sink, rrnn_exec ex)
{
    int st = rrnn_check_exec(ex);
    if (st != RRNN_OK)
        return st;
    if ((st = rrnn_check_couplings(J, 0)) != RRNN_OK)
        return st;
    const int64_t n = J->n;
    if (batch < 0 || (bias_stride != 0 && bias_stride != n))
        return RRNN_ERR_ARGUMENT;
    if (batch == 0 || n == 0)
        return RRNN_OK;
    if (states == NULL || bias == NULL || self_coupling == NULL)
        return RRNN_ERR_ARGUMENT;

    rrnn_ctx c;
    rrnn_ctx_init(&c, J, RRNN_ACT_SIGN, 0.0, ex); /* self set per state */
    const int64_t W = c.W;
    const int nt = rrnn_nthreads(ex.n_threads);

    /* Bit-packed vectors: XOR mode when no state holds a 0, else AND mode
     * with a P vector per state and an M vector per state holding a -1. */
    int and_mode = 0;
    int64_t nvec = 0;
    uint64_t *packed = NULL;
    uint8_t *nib = NULL; /* nibble layout of the packed states, see rrnn_popc_batch */
    int64_t *cnt = NULL, *vidx = NULL;
    int32_t *ov = NULL; /* low-rank overlaps (batch, p) and their sums (batch,) */
    int64_t *ovt = NULL;
    const uint64_t **stp = NULL;
    int status = RRNN_OK;
    if (c.hb) {
        vidx = rrnn_alloc(sizeof(int64_t) * 2 * (size_t)batch);
        if (vidx == NULL)
            return RRNN_ERR_NOMEM;
        for (int64_t b = 0; b < batch && !and_mode; b++)
            and_mode = memchr(states + b * n, 0, (size_t)n) != NULL;
        for (int64_t b = 0; b < batch; b++) {
            const int8_t *x = states + b * n;
            if (!and_mode) {
                vidx[2 * b] = nvec++;
                vidx[2 * b + 1] = -1;
            } else {
                int has_neg = 0;
                for (int64_t i = 0; i < n && !has_neg; i++)
                    has_neg = x[i] == -1;
                vidx[2 * b] = nvec++;
                vidx[2 * b + 1] = has_neg ? nvec++ : -1;
            }
        }
        packed = rrnn_alloc(sizeof(uint64_t) * (size_t)(nvec * W));
        cnt = rrnn_alloc(sizeof(int64_t) * (size_t)nvec);
        stp = rrnn_alloc(sizeof(uint64_t *) * (size_t)nvec);
        if (!packed || !cnt || !stp) {
            status = RRNN_ERR_NOMEM;
            goto done;
        }
#pragma omp parallel for schedule(static) num_threads(nt)
        for (int64_t b = 0; b < batch; b++) {
            const int8_t *x = states + b * n;
            int64_t v = vidx[2 * b], m = vidx[2 * b + 1];
            cnt[v] = rrnn_pack_eq(x, n, and_mode ? 1 : -1, packed + v * W);
            if (m >= 0)
                cnt[m] = rrnn_pack_eq(x, n, -1, packed + m * W);
        }
        for (int64_t v = 0; v < nvec; v++)
            stp[v] = packed + v * W;
    }

    if (c.hl) {
        const int64_t p = c.lp;
        ov = rrnn_alloc(sizeof(int32_t) * (size_t)(batch * p));
        ovt = rrnn_alloc(sizeof(int64_t) * (size_t)batch);
        if (!ov || !ovt) {
            status = RRNN_ERR_NOMEM;
            goto done;
        }
#pragma omp parallel for schedule(static) num_threads(nt)
        for (int64_t q = 0; q < batch * p; q++)
            ov[q] = (int32_t)c.K->bdot(J->lr_patterns + (q % p) * n, states + (q / p) * n, n);
        for (int64_t b = 0; b < batch; b++)
            ovt[b] = rrnn_lr_total(ov + b * p, p);
    }

    const int64_t nlut = c.hb ? rrnn_nib_prepare(c.K, stp, nvec, W, nt, &nib) : 0;
    if (nlut < 0) {
        status = RRNN_ERR_NOMEM;
        goto done;
    }

    const int64_t BS = rrnn_block_rows(n, nt, 4);
    const int64_t nblk = (n + BS - 1) / BS;
    const int op = and_mode ? RRNN_OP_AND : RRNN_OP_XOR;
#pragma omp parallel num_threads(nt)
    {
        /* The popcounts of one block of rows at a time, per thread: they are
         * still in cache when the field loop reads them, and a call does not
         * fault in a fresh (vectors, n) int64 array. */
        int64_t *bpop = NULL, **bout = NULL;
        int ok = 1;
        if (c.hb) {
            bpop = rrnn_alloc(sizeof(int64_t) * (size_t)(nvec * BS));
            bout = rrnn_alloc(sizeof(int64_t *) * (size_t)nvec);
            ok = bpop != NULL && bout != NULL;
            if (!ok) {
#pragma omp atomic write
                status = RRNN_ERR_NOMEM;
            } else {
                for (int64_t v = 0; v < nvec; v++)
                    bout[v] = bpop + v * BS;
            }
        }
#pragma omp for schedule(static)
        for (int64_t blk = 0; blk < nblk; blk++) {
            if (!ok)
                continue;
            const int64_t i0 = blk * BS, i1 = i0 + BS < n ? i0 + BS : n;
            /* rows from i0, so that the popcounts land at bpop[v * BS + i - i0] */
            if (c.hb)
                rrnn_popc_batch(c.K, op, J->bin_rows + i0 * W, W, 0, i1 - i0, stp, nvec, nib,
                                nlut, bout);
            /* dense rows are reused by every state: units outside; otherwise
             * states outside, so that each inner loop runs along contiguous
             * memory */
            const int64_t nbo = c.hd ? 1 : batch, nbi = c.hd ? batch : 1;
            const int64_t nio = c.hd ? i1 - i0 : 1, nii = c.hd ? 1 : i1 - i0;
            for (int64_t bo = 0; bo < nbo; bo++)
                for (int64_t io = 0; io < nio; io++)
                    for (int64_t bi = 0; bi < nbi; bi++)
                        rr_fields_run(&c, J, states, bo + bi, i0 + io, i0 + io + nii, and_mode,
                                      vidx, cnt, bpop, BS, i0, ov, ovt, self_coupling[bo + bi],
                                      bias + (bo + bi) * bias_stride, sink);
        }
        rrnn_free(bpop);
        rrnn_free((void *)bout);
    }

done:
    rrnn_free(vidx);
    rrnn_free(packed);
    rrnn_free(nib);
    rrnn_free(cnt);
    rrnn_free((void *)stp);
    rrnn_free(ov);
    rrnn_free(ovt);
    return status;
}

int rrnn_local_fields(const rrnn_couplings *J, const int8_t *states, int64_t batch,
                      const double *bias, int64_t bias_stride, const double *self_coupling,
                      double *fields, rrnn_exec ex)
{
    const rr_sink sink = {fields, NULL, RRNN_ACT_SIGN};
    if (fields == NULL)
        return RRNN_ERR_ARGUMENT;
    return rr_fields_batch(J, states, batch, bias, bias_stride, self_coupling, &sink, ex);
}

int rrnn_sync_step(const rrnn_couplings *J, const int8_t *states, int64_t batch,
                   const double *bias, int64_t bias_stride, const double *self_coupling,
                   int activation, int8_t *next, rrnn_exec ex)
{
    const rr_sink sink = {NULL, next, activation};
    if (next == NULL || (activation != RRNN_ACT_SIGN && activation != RRNN_ACT_HEAVISIDE))
        return RRNN_ERR_ARGUMENT;
    return rr_fields_batch(J, states, batch, bias, bias_stride, self_coupling, &sink, ex);
}

/* The argument checks of rrnn_xor_popcount and rrnn_xor_popcount_plain:
 * RRNN_OK with *work set when there is something to count. */
static int rr_check_popcount(const uint64_t *rows, int64_t n, int64_t words,
                             const uint64_t *packed, int64_t batch, const int64_t *out,
                             rrnn_exec ex, int *work)
{
    *work = 0;
    int st = rrnn_check_exec(ex);
    if (st != RRNN_OK)
        return st;
    if (n < 0 || words < 0 || batch < 0)
        return RRNN_ERR_ARGUMENT;
    if (n == 0 || batch == 0)
        return RRNN_OK;
    if (rows == NULL || packed == NULL || out == NULL)
        return RRNN_ERR_ARGUMENT;
    *work = 1;
    return RRNN_OK;
}

int rrnn_xor_popcount(const uint64_t *rows, int64_t n, int64_t words, const uint64_t *packed,
                      int64_t batch, int64_t *out, rrnn_exec ex)
{
    int work;
    const int st = rr_check_popcount(rows, n, words, packed, batch, out, ex, &work);
    if (st != RRNN_OK || !work)
        return st;
    const rrnn_kernels *K = rrnn_kernels_for(ex.simd);
    const uint64_t **stp = rrnn_alloc(sizeof(uint64_t *) * (size_t)batch);
    int64_t **outp = rrnn_alloc(sizeof(int64_t *) * (size_t)batch);
    if (stp == NULL || outp == NULL) {
        rrnn_free((void *)stp);
        rrnn_free(outp);
        return RRNN_ERR_NOMEM;
    }
    for (int64_t b = 0; b < batch; b++) {
        stp[b] = packed + b * words;
        outp[b] = out + b * n;
    }
    const int nt = rrnn_nthreads(ex.n_threads);
    uint8_t *nib;
    const int64_t nlut = rrnn_nib_prepare(K, stp, batch, words, nt, &nib);
    if (nlut < 0) {
        rrnn_free((void *)stp);
        rrnn_free(outp);
        return RRNN_ERR_NOMEM;
    }
    const int64_t BS = rrnn_block_rows(n, nt, 4);
    const int64_t nblk = (n + BS - 1) / BS;
#pragma omp parallel for schedule(static) num_threads(nt)
    for (int64_t blk = 0; blk < nblk; blk++) {
        const int64_t i0 = blk * BS, i1 = i0 + BS < n ? i0 + BS : n;
        rrnn_popc_batch(K, RRNN_OP_XOR, rows, words, i0, i1, stp, batch, nib, nlut, outp);
    }
    rrnn_free((void *)stp);
    rrnn_free(outp);
    rrnn_free(nib);
    return RRNN_OK;
}

int rrnn_xor_popcount_plain(const uint64_t *rows, int64_t n, int64_t words,
                            const uint64_t *packed, int64_t batch, int64_t *out, rrnn_exec ex)
{
    int work;
    const int st = rr_check_popcount(rows, n, words, packed, batch, out, ex, &work);
    if (st != RRNN_OK || !work)
        return st;
    const rrnn_kernels *K = rrnn_kernels_for(ex.simd);
#pragma omp parallel for schedule(static) num_threads(rrnn_nthreads(ex.n_threads))
    for (int64_t i = 0; i < n; i++)
        K->plain_row(rows + i * words, words, packed, batch, n, i, out);
    return RRNN_OK;
}
