/*
 * rrnn_util.c -- build facts, argument checks, scratch memory, the counter
 * based generator, random couplings, bit transpose and the bandwidth and
 * compute-peak probes.
 */
#include "rrnn_internal.h"

/* ------------------------------------------------------------------------ */
/* build facts                                                               */
/* ------------------------------------------------------------------------ */

int rrnn_openmp_enabled(void)
{
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

int rrnn_max_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

/* ------------------------------------------------------------------------ */
/* shared helpers                                                            */
/* ------------------------------------------------------------------------ */

int rrnn_check_exec(rrnn_exec ex)
{
    if (ex.n_threads < 1 || ex.simd < RRNN_SIMD_PORTABLE || ex.simd > RRNN_SIMD_AVX512)
        return RRNN_ERR_ARGUMENT;
    if (ex.simd > rrnn_simd_detect())
        return RRNN_ERR_UNSUPPORTED;
    return RRNN_OK;
}

int rrnn_check_couplings(const rrnn_couplings *J, int need_cols)
{
    if (J == NULL || J->n < 0 || J->n >= ((int64_t)1 << 31))
        return RRNN_ERR_ARGUMENT;
    if (J->bin_rows != NULL) {
        if (J->bin_words != (J->n + 63) / 64 || (need_cols && J->bin_cols == NULL))
            return RRNN_ERR_ARGUMENT;
    }
    if (J->dense_rows != NULL && need_cols && J->dense_cols == NULL)
        return RRNN_ERR_ARGUMENT;
    if (J->lr_patterns != NULL) {
        /* n < 2^25: 64 overlaps sum exactly in int32 (see lrneg) */
        if (J->lr_bits_t == NULL || J->lr_p < 1 || J->lr_p >= ((int64_t)1 << 31) ||
            J->lr_words != (J->lr_p + 63) / 64 || J->n >= ((int64_t)1 << 25))
            return RRNN_ERR_ARGUMENT;
    }
    if (J->sp_row_ptr != NULL) {
        int64_t nnz = J->sp_row_ptr[J->n];
        if (nnz < 0 || (nnz > 0 && (J->sp_row_idx == NULL || J->sp_row_val == NULL)))
            return RRNN_ERR_ARGUMENT;
        if (need_cols) {
            if (J->sp_col_ptr == NULL || J->sp_col_ptr[J->n] != nnz ||
                (nnz > 0 && (J->sp_col_idx == NULL || J->sp_col_val == NULL)))
                return RRNN_ERR_ARGUMENT;
        }
    }
    return RRNN_OK;
}

void rrnn_ctx_init(rrnn_ctx *c, const rrnn_couplings *J, int act, double self, rrnn_exec ex)
{
    c->J = J;
    c->n = J->n;
    c->W = (J->n + 63) / 64;
    c->hb = J->bin_rows != NULL;
    c->hd = J->dense_rows != NULL;
    c->hs = J->sp_row_ptr != NULL;
    c->hl = J->lr_patterns != NULL;
    c->bs = J->bin_scale;
    c->ds = J->dense_scale;
    c->ss = J->sparse_scale;
    c->ls = J->lr_scale;
    c->lp = c->hl ? J->lr_p : 0;
    c->lw = c->hl ? J->lr_words : 0;
    c->lr_matrix = NULL;
    c->self = self;
    c->act = act;
    c->K = rrnn_kernels_for(ex.simd);
}

void *rrnn_alloc(size_t bytes)
{
    void *p = NULL;
    size_t size = (bytes + 63) / 64 * 64;
    if (size == 0)
        size = 64;
    if (posix_memalign(&p, 64, size) != 0)
        return NULL;
    return p;
}

void rrnn_free(void *p)
{
    free(p);
}

int64_t rrnn_pack_eq(const int8_t *x, int64_t n, int8_t v, uint64_t *out)
{
    int64_t count = 0;
    for (int64_t w = 0; w * 64 < n; w++) {
        int64_t m = n - w * 64 < 64 ? n - w * 64 : 64;
        const int8_t *xw = x + w * 64;
        uint64_t word = 0;
        for (int64_t b = 0; b < m; b++)
            word |= (uint64_t)(xw[b] == v) << b;
        out[w] = word;
        count += __builtin_popcountll(word);
    }
    return count;
}

/* ------------------------------------------------------------------------ */
/* nibble layout of packed states for the table kernel                      */
/* ------------------------------------------------------------------------ */

int64_t rrnn_nib_states(const rrnn_kernels *K, int64_t ns, int64_t W)
{
    /* whole 32-state chunks only; below 4 words the table set-up dominates */
    if (K->popc_nib == NULL || W < 4)
        return 0;
    return ns / 32 * 32;
}

void rrnn_nib_build(const uint64_t *const *st, int64_t nlut, int64_t W, int64_t w0, int64_t w1,
                    uint8_t *nib)
{
    const int64_t nch = nlut / 32;
    for (int64_t w = w0; w < w1; w++)
        for (int64_t c = 0; c < nch; c++) {
            uint64_t x[32];
            for (int k = 0; k < 32; k++)
                x[k] = st[32 * c + k][w];
            /* contiguous 32-byte runs: nibble q of the 32 states */
            for (int q = 0; q < 16; q++) {
                uint8_t *d = nib + ((16 * w + q) * nch + c) * 32;
                for (int k = 0; k < 32; k++)
                    d[k] = (uint8_t)((x[k] >> (4 * q)) & 15u);
            }
        }
}

int64_t rrnn_nib_prepare(const rrnn_kernels *K, const uint64_t *const *st, int64_t ns,
                         int64_t W, int nt, uint8_t **nib)
{
    const int64_t nlut = rrnn_nib_states(K, ns, W);
    *nib = NULL;
    if (nlut == 0)
        return 0;
    if ((*nib = rrnn_alloc(rrnn_nib_bytes(W, nlut))) == NULL)
        return -1;
    uint8_t *d = *nib;
#pragma omp parallel for schedule(static) num_threads(nt)
    for (int64_t w = 0; w < W; w++)
        rrnn_nib_build(st, nlut, W, w, w + 1, d);
    return nlut;
}

void rrnn_popc_batch(const rrnn_kernels *K, int op, const uint64_t *rows, int64_t W, int64_t i0,
                     int64_t i1, const uint64_t *const *st, int64_t ns, const uint8_t *nib,
                     int64_t nlut, int64_t *const *out)
{
    if (nlut > 0) {
        const int64_t e = K->popc_nib(op, rows, W, i0, i1, nib, nlut / 32, out);
        if (e < i1)
            K->popc(op, rows, W, e, i1, st, nlut, out);
    }
    if (ns > nlut)
        K->popc(op, rows, W, i0, i1, st + nlut, ns - nlut, out + nlut);
}

/* ------------------------------------------------------------------------ */
/* random numbers and random couplings                                       */
/* ------------------------------------------------------------------------ */

uint64_t rrnn_random(uint64_t key, uint64_t stream, uint64_t index)
{
    return rrnn_mix64(rrnn_stream_seed(key, stream) + (index + 1) * RRNN_GOLDEN);
}

int rrnn_generate_binary(uint64_t key, int64_t n, uint64_t *rows, rrnn_exec ex)
{
    int st = rrnn_check_exec(ex);
    if (st != RRNN_OK)
        return st;
    if (n < 0 || (n > 0 && rows == NULL))
        return RRNN_ERR_ARGUMENT;
    const int64_t W = (n + 63) / 64;
    const uint64_t tail = (n % 64) ? (((uint64_t)1 << (n % 64)) - 1) : ~(uint64_t)0;
#pragma omp parallel for schedule(static) num_threads(rrnn_nthreads(ex.n_threads))
    for (int64_t i = 0; i < n; i++) {
        uint64_t s = rrnn_stream_seed(key, (uint64_t)i);
        uint64_t *r = rows + i * W;
        uint64_t c = s;
        for (int64_t w = 0; w < W; w++) {
            c += RRNN_GOLDEN; /* s + (w + 1) * G */
            r[w] = rrnn_mix64(c);
        }
        r[W - 1] &= tail;
        r[i >> 6] &= ~((uint64_t)1 << (i & 63));
    }
    return RRNN_OK;
}

/* ------------------------------------------------------------------------ */
/* bit transpose                                                             */
/* ------------------------------------------------------------------------ */

/* In-place transpose of a 64 x 64 bit block: bit c of a[r] <-> bit r of a[c].
 * Six rounds of swapping off-diagonal sub-blocks (32, 16, ..., 1 bits); each
 * round's inner loop runs over contiguous rows, so it vectorises. */
#define RRNN_T64_ROUND(J, M)                                       \
    for (int b = 0; b < 64; b += 2 * (J))                          \
        for (int k = 0; k < (J); k++) {                            \
            uint64_t x = a[b + k], y = a[b + k + (J)];             \
            uint64_t t = ((x >> (J)) ^ y) & (M);                   \
            a[b + k] = x ^ (t << (J));                             \
            a[b + k + (J)] = y ^ t;                                \
        }

static void rrnn_transpose64(uint64_t *restrict a)
{
    RRNN_T64_ROUND(32, 0x00000000FFFFFFFFULL)
    RRNN_T64_ROUND(16, 0x0000FFFF0000FFFFULL)
    RRNN_T64_ROUND(8, 0x00FF00FF00FF00FFULL)
    RRNN_T64_ROUND(4, 0x0F0F0F0F0F0F0F0FULL)
    RRNN_T64_ROUND(2, 0x3333333333333333ULL)
    RRNN_T64_ROUND(1, 0x5555555555555555ULL)
}

int rrnn_transpose_bits(const uint64_t *rows, int64_t n, uint64_t *cols, rrnn_exec ex)
{
    int st = rrnn_check_exec(ex);
    if (st != RRNN_OK)
        return st;
    if (n < 0 || (n > 0 && (rows == NULL || cols == NULL)))
        return RRNN_ERR_ARGUMENT;
    const int64_t W = (n + 63) / 64;
    /* Tiles of TB x TB blocks of 64 x 64 bits: a tile reads TB words from
     * each of 64 TB input rows and writes TB words to each of 64 TB output
     * rows, both runs of whole cache lines, and fits in L2.  Tiles are
     * disjoint in the output, so threads never write the same words. */
    const int64_t TB = 32;
    const int64_t nt_tiles = (W + TB - 1) / TB;
    /* First touch of a fresh output in address order (page faults are much
     * cheaper in order than in the scattered order of the tiles). */
    const int64_t total = n * W;
#pragma omp parallel for schedule(static) num_threads(rrnn_nthreads(ex.n_threads))
    for (int64_t p = 0; p < total; p += 512)
        cols[p] = 0;
#pragma omp parallel for schedule(dynamic, 1) num_threads(rrnn_nthreads(ex.n_threads))
    for (int64_t tile = 0; tile < nt_tiles * nt_tiles; tile++) {
        const int64_t ti = tile / nt_tiles, tj = tile % nt_tiles;
        const int64_t bi1 = (ti + 1) * TB < W ? (ti + 1) * TB : W;
        const int64_t bj1 = (tj + 1) * TB < W ? (tj + 1) * TB : W;
        uint64_t blk[64];
        for (int64_t bi = ti * TB; bi < bi1; bi++) {
            const int64_t r1 = n - bi * 64 < 64 ? n - bi * 64 : 64;
            for (int64_t bj = tj * TB; bj < bj1; bj++) {
                for (int64_t r = 0; r < r1; r++)
                    blk[r] = rows[(bi * 64 + r) * W + bj];
                for (int64_t r = r1; r < 64; r++)
                    blk[r] = 0;
                rrnn_transpose64(blk);
                const int64_t c1 = n - bj * 64 < 64 ? n - bj * 64 : 64;
                for (int64_t c = 0; c < c1; c++)
                    cols[(bj * 64 + c) * W + bi] = blk[c];
            }
        }
    }
    return RRNN_OK;
}

/* ------------------------------------------------------------------------ */
/* probes: memory bandwidth and compute peak                                 */
/* ------------------------------------------------------------------------ */

int rrnn_stream_read(const uint64_t *data, int64_t n_words, uint64_t *out, rrnn_exec ex)
{
    int st = rrnn_check_exec(ex);
    if (st != RRNN_OK)
        return st;
    if (n_words < 0 || out == NULL || (n_words > 0 && data == NULL))
        return RRNN_ERR_ARGUMENT;
    const rrnn_kernels *K = rrnn_kernels_for(ex.simd);
    uint64_t acc = 0;
#pragma omp parallel num_threads(rrnn_nthreads(ex.n_threads)) reduction(^ : acc)
    {
        int t = 0, T = 1;
#ifdef _OPENMP
        t = omp_get_thread_num();
        T = omp_get_num_threads();
#endif
        /* One contiguous slice per thread, cut on cache lines. */
        int64_t lines = (n_words + 7) / 8;
        int64_t a = lines * t / T * 8, b = lines * (t + 1) / T * 8;
        if (a > n_words)
            a = n_words;
        if (b > n_words)
            b = n_words;
        acc ^= K->xorsum(data + a, b - a);
    }
    *out = acc;
    return RRNN_OK;
}

int rrnn_popcount_peak(int64_t rounds, uint64_t *word_ops, uint64_t *out, rrnn_exec ex)
{
    int st = rrnn_check_exec(ex);
    if (st != RRNN_OK)
        return st;
    if (rounds < 0 || word_ops == NULL || out == NULL)
        return RRNN_ERR_ARGUMENT;
    const rrnn_kernels *K = rrnn_kernels_for(ex.simd);
    uint64_t acc = 0, ops = 0;
#pragma omp parallel num_threads(rrnn_nthreads(ex.n_threads)) reduction(+ : acc, ops)
    {
        uint64_t seed = 0x9E3779B97F4A7C15ULL, mine = 0;
#ifdef _OPENMP
        seed += (uint64_t)omp_get_thread_num();
#endif
        acc += K->peak(rounds, seed, &mine);
        ops += mine;
    }
    *word_ops = ops;
    *out = acc;
    return RRNN_OK;
}
