/*
 * rrnn_internal.h -- private declarations shared by the C files of csrc.
 *
 * Not part of the public API and not seen by cffi.  Internal functions with
 * external linkage are hidden from the shared object (RRNN_HIDDEN) and are
 * still prefixed rrnn_.
 */
#ifndef RRNN_INTERNAL_H
#define RRNN_INTERNAL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rrnn_core.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#define RRNN_HIDDEN __attribute__((visibility("hidden")))

/* Kernel operation of the batched popcount: popcount(row OP packed). */
#define RRNN_OP_XOR 0
#define RRNN_OP_AND 1

/* Counter-based generator (see rrnn_random in rrnn_core.h). */
#define RRNN_GOLDEN 0x9E3779B97F4A7C15ULL

static inline uint64_t rrnn_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* s of rrnn_random(key, stream, .): the per-stream seed. */
static inline uint64_t rrnn_stream_seed(uint64_t key, uint64_t stream)
{
    return rrnn_mix64(key + rrnn_mix64(stream + RRNN_GOLDEN));
}

/* ------------------------------------------------------------------------ */
/* The problem, flattened for the kernels                                    */
/* ------------------------------------------------------------------------ */

typedef struct rrnn_kernels rrnn_kernels;

/* Exhaustive enumeration (n <= 40): with a single coupling term the field is
 * a monotone function of the integer accumulator, so "unit i is stable with
 * value +1 (or low)" is exactly "lhi[i] <= acc[i] <= uhi[i]" (or llo/ulo).
 * Entries i >= n accept everything. */
#define RRNN_ENUM_MAX 40
#define RRNN_ENUM_PAD 48
typedef struct {
    int64_t lhi[RRNN_ENUM_PAD], uhi[RRNN_ENUM_PAD];
    int64_t llo[RRNN_ENUM_PAD], ulo[RRNN_ENUM_PAD];
} rrnn_fp_bounds;

typedef struct {
    const rrnn_couplings *J;
    int64_t n;
    int64_t W;                 /* words per bit-packed row */
    int hb, hd, hs, hl;        /* which terms are present */
    double bs, ds, ss, ls;     /* their scales */
    int64_t lp, lw;            /* low-rank term: patterns, words per lr_bits_t row */
    const int32_t *lr_matrix;  /* (n, n) low-rank matrix, exhaustive count only */
    double self;               /* self coupling */
    int act;                   /* RRNN_ACT_* */
    const rrnn_kernels *K;     /* SIMD variant */
} rrnn_ctx;

/* The local field, in exactly the order of the specification. */
static inline double rrnn_field(const rrnn_ctx *c, int64_t ab, int64_t ad, int64_t as,
                                int64_t al, int8_t xi, double bias)
{
    double h = 0.0;
    if (c->hb)
        h += (double)ab * c->bs;
    if (c->hd)
        h += (double)ad * c->ds;
    if (c->hs)
        h += (double)as * c->ss;
    if (c->hl)
        h += (double)al * c->ls;
    h += c->self * (double)xi;
    h += bias;
    return h;
}

static inline int8_t rrnn_activate(double h, int act)
{
    return h >= 0.0 ? (int8_t)1 : (act == RRNN_ACT_SIGN ? (int8_t)-1 : (int8_t)0);
}

/* Whether the couplings have only the bit-packed term (random binary
 * networks): the case of the fast field loops (rrnn_kernels.next_bin). */
static inline int rrnn_binary_only(const rrnn_ctx *c)
{
    return c->hb && !c->hd && !c->hs && !c->hl;
}

/* Glauber rule for unit i: whether it takes the high value, with u the
 * uniform of index i in the noise stream whose seed is s (rrnn_stream_seed).
 * The same float operations as numpy_ref.glauber_high; exp overflows to
 * +inf, which gives the low value. */
static inline int rrnn_glauber_high(double h, double beta, uint64_t s, int64_t i)
{
    const uint64_t r = rrnn_mix64(s + ((uint64_t)i + 1) * RRNN_GOLDEN);
    const double u = (double)(r >> 11) * 0x1p-53;
    const double z = -2.0 * beta * h;
    return u < 1.0 / (1.0 + exp(z));
}

/* ------------------------------------------------------------------------ */
/* SIMD kernel table: one instance per level, see rrnn_kernels_internal.h    */
/* ------------------------------------------------------------------------ */

struct rrnn_kernels {
    /* out[s][i] = sum_w popcount(rows[i*W+w] OP st[s][w]) for i in [i0, i1). */
    void (*popc)(int op, const uint64_t *rows, int64_t W, int64_t i0, int64_t i1,
                 const uint64_t *const *st, int64_t ns, int64_t *const *out);
    /* acc[i] += delta * (1 - 2*bit_i(colbits)) for i in [i0, i1); i0 % 64 == 0;
     * int32 accumulators (binary fields, |acc| <= n, and low-rank overlaps). */
    void (*colupd)(const uint64_t *colbits, int64_t i0, int64_t i1, int32_t delta,
                   int32_t *acc);
    /* sum_j row[j] * x[j] over j in [0, n). */
    int64_t (*ddot)(const int32_t *row, const int8_t *x, int64_t n);
    /* acc[i] += col[i] * delta for i in [i0, i1). */
    void (*daxpy)(const int32_t *col, int64_t i0, int64_t i1, int64_t delta, int64_t *acc);
    /* XOR of d[0 .. n). */
    uint64_t (*xorsum)(const uint64_t *d, int64_t n);
    /* Register-only XOR/popcount/add rounds (compute-peak probe); *ops gets
     * the word-state products done, the return value is a checksum. */
    uint64_t (*peak)(int64_t rounds, uint64_t seed, uint64_t *ops);
    /* Low-rank term: sum of M[mu] over the set bits mu < p of one row of
     * lr_bits_t (|M| < 2^25). */
    int64_t (*lrneg)(const uint64_t *bits, const int32_t *M, int64_t p);
    /* lrneg of nu rows of bits_t (lw words each): row idx[u], or i0 + u when
     * idx is NULL, into out[u]. */
    void (*lrneg_rows)(const uint64_t *bits_t, int64_t lw, const int32_t *idx, int64_t i0,
                       int64_t nu, const int32_t *M, int64_t p, int64_t *out);
    /* sum_j a[j] * x[j] over j in [0, n) for a of +-1 and x in {-1, 0, 1},
     * n < 2^31. */
    int64_t (*bdot)(const int8_t *a, const int8_t *x, int64_t n);
    /* Fixed points among Gray codes k0 <= k < k1 (see rrnn_count.c);
     * bd may be NULL (then fields are evaluated in floating point). */
    int64_t (*count_range)(const rrnn_ctx *c, const double *bias, const rrnn_fp_bounds *bd,
                           uint64_t k0, uint64_t k1);
    /* popc for the 32 nch states of a nibble layout (rrnn_nib_build), rows
     * [i0, e) with e = i0 + 4 floor((i1 - i0) / 4), which it returns; NULL
     * at levels where the plain popc is faster.  Use rrnn_popc_batch. */
    int64_t (*popc_nib)(int op, const uint64_t *rows, int64_t W, int64_t i0, int64_t i1,
                        const uint8_t *nib, int64_t nch, int64_t *const *out);
    /* The plain loop (benchmark baseline): out[b * n + i] = sum_w
     * popcount(row[w] XOR packed[b * W + w]) for every b < batch. */
    void (*plain_row)(const uint64_t *row, int64_t W, const uint64_t *packed, int64_t batch,
                      int64_t n, int64_t i, int64_t *out);
    /* xn[i] = sign or heaviside of h = ab[i] bs + self x[i] + bias[i] for i
     * in [i0, i1) (rrnn_field with only the bit-packed term); sign selects
     * +-1 over {0, 1}.  With hout not NULL: hout[i] = h instead. */
    void (*next_bin)(const int32_t *ab, const int8_t *x, const double *bias, double bs,
                     double self, int sign, int64_t i0, int64_t i1, int8_t *xn, double *hout);
    /* colupd of four columns at once: acc[i] += sum_k delta[k] * (1 - 2*bit_i(colbits[k]))
     * for i in [i0, i1); i0 % 64 == 0. */
    void (*colupd4)(const uint64_t *const *colbits, const int32_t *delta, int64_t i0,
                    int64_t i1, int32_t *acc);
};

RRNN_HIDDEN const rrnn_kernels *rrnn_kernels_for(int simd);

/* ------------------------------------------------------------------------ */
/* Shared helpers                                                            */
/* ------------------------------------------------------------------------ */

/* Validates ex; returns RRNN_OK or an error code. */
RRNN_HIDDEN int rrnn_check_exec(rrnn_exec ex);

/* Validates J (terms consistent with n); need_cols: *_cols required. */
RRNN_HIDDEN int rrnn_check_couplings(const rrnn_couplings *J, int need_cols);

/* Fills c from J, activation, self coupling and ex. */
RRNN_HIDDEN void rrnn_ctx_init(rrnn_ctx *c, const rrnn_couplings *J, int act, double self,
                               rrnn_exec ex);

/* 64-byte aligned allocation of at least one byte; free with rrnn_free. */
RRNN_HIDDEN void *rrnn_alloc(size_t bytes);
RRNN_HIDDEN void rrnn_free(void *p);

/* Bit-packs x (n int8): bit j set when x[j] == v.  Returns the number of set
 * bits.  out has W words; padding bits are 0. */
RRNN_HIDDEN int64_t rrnn_pack_eq(const int8_t *x, int64_t n, int8_t v, uint64_t *out);

/* Batched popcounts through the nibble-table kernel (rrnn_kernels.popc_nib).
 * Its layout holds the first nlut = rrnn_nib_states(K, ns, W) states, nibble
 * g of state 32 c + k at byte (g nch + c) 32 + k, nch = nlut / 32:
 * rrnn_nib_bytes(W, nlut) bytes, filled word range by word range by
 * rrnn_nib_build (so callers can share the work among threads). */
RRNN_HIDDEN int64_t rrnn_nib_states(const rrnn_kernels *K, int64_t ns, int64_t W);
static inline size_t rrnn_nib_bytes(int64_t W, int64_t nlut)
{
    return (size_t)(16 * W) * (size_t)nlut;
}
RRNN_HIDDEN void rrnn_nib_build(const uint64_t *const *st, int64_t nlut, int64_t W, int64_t w0,
                                int64_t w1, uint8_t *nib);
/* rrnn_nib_states and rrnn_nib_build for a caller outside a parallel region:
 * allocates *nib (NULL when no state needs it) and fills it with nt threads.
 * Returns nlut, or -1 when out of memory.  Free *nib with rrnn_free. */
RRNN_HIDDEN int64_t rrnn_nib_prepare(const rrnn_kernels *K, const uint64_t *const *st,
                                     int64_t ns, int64_t W, int nt, uint8_t **nib);
/* out[s][i] = popcount over the W words of rows[i] OP st[s], i in [i0, i1),
 * s < ns: the first nlut states from nib (NULL when nlut = 0), the others
 * and any tail rows with K->popc. */
RRNN_HIDDEN void rrnn_popc_batch(const rrnn_kernels *K, int op, const uint64_t *rows, int64_t W,
                                 int64_t i0, int64_t i1, const uint64_t *const *st, int64_t ns,
                                 const uint8_t *nib, int64_t nlut, int64_t *const *out);

/* Low-rank term: acc_lr[i] of a state with value xi at unit i, from its
 * overlaps M and their sum T:  sum_mu xi[mu][i] M[mu] = T - 2 (sum of M[mu]
 * where xi[mu][i] = -1), minus the diagonal p xi. */
static inline int64_t rrnn_lr_acc(const rrnn_ctx *c, int64_t i, const int32_t *M, int64_t T,
                                  int8_t xi)
{
    return T - 2 * c->K->lrneg(c->J->lr_bits_t + i * c->lw, M, c->lp) - c->lp * (int64_t)xi;
}

/* Low-rank term: acc_lr of units i0 .. i0+nu-1 into acc[0 .. nu), several
 * rows per pass over M (see lrneg_rows). */
static inline void rrnn_lr_acc_rows(const rrnn_ctx *c, int64_t i0, int64_t nu, const int32_t *M,
                                    int64_t T, const int8_t *x, int64_t *acc)
{
    c->K->lrneg_rows(c->J->lr_bits_t, c->lw, NULL, i0, nu, M, c->lp, acc);
    for (int64_t u = 0; u < nu; u++)
        acc[u] = T - 2 * acc[u] - c->lp * (int64_t)x[i0 + u];
}

/* Low-rank term: overlaps M[mu] = sum_j xi[mu][j] x[j] for mu in [m0, m1). */
static inline void rrnn_lr_overlaps(const rrnn_ctx *c, const int8_t *x, int64_t m0, int64_t m1,
                                    int32_t *M)
{
    for (int64_t mu = m0; mu < m1; mu++)
        M[mu] = (int32_t)c->K->bdot(c->J->lr_patterns + mu * c->n, x, c->n);
}

/* Low-rank term: sum_mu M[mu]. */
static inline int64_t rrnn_lr_total(const int32_t *M, int64_t p)
{
    int64_t T = 0;
    for (int64_t mu = 0; mu < p; mu++)
        T += M[mu];
    return T;
}

/* Low-rank term: the change of T when unit j changes by delta,
 * delta * sum_mu xi[mu][j] = delta * (p - 2 popcount(row j of lr_bits_t)). */
static inline int64_t rrnn_lr_dtotal(const rrnn_ctx *c, int64_t j, int64_t delta)
{
    const uint64_t *row = c->J->lr_bits_t + j * c->lw;
    const int64_t rem = c->lp & 63;
    int64_t neg = 0;
    for (int64_t w = 0; w < c->lw; w++) {
        uint64_t word = row[w];
        if (w == c->lw - 1 && rem)
            word &= ((uint64_t)1 << rem) - 1; /* as lrneg: padding never counts */
        neg += __builtin_popcountll(word);
    }
    return delta * (c->lp - 2 * neg);
}

/* Sparse term: sum over CSR row i of val*x[idx] with idx != i. */
static inline int64_t rrnn_sparse_row(const rrnn_couplings *J, int64_t i, const int8_t *x)
{
    int64_t s = 0;
    for (int64_t k = J->sp_row_ptr[i]; k < J->sp_row_ptr[i + 1]; k++) {
        int64_t j = J->sp_row_idx[k];
        if (j != i)
            s += (int64_t)J->sp_row_val[k] * x[j];
    }
    return s;
}

/* Sparse term: acc[i] += val*delta over CSC column j, i != j. */
static inline void rrnn_sparse_col(const rrnn_couplings *J, int64_t j, int64_t delta,
                                   int64_t *acc)
{
    for (int64_t k = J->sp_col_ptr[j]; k < J->sp_col_ptr[j + 1]; k++) {
        int64_t i = J->sp_col_idx[k];
        if (i != j)
            acc[i] += (int64_t)J->sp_col_val[k] * delta;
    }
}

/* Rows per work item of a parallel loop over rows: a multiple of 64 (so that
 * bit-packed columns split on word boundaries), at most 64 * max_words, and
 * small enough to give every thread a few items. */
static inline int64_t rrnn_block_rows(int64_t n, int nt, int64_t max_words)
{
    int64_t per = (n + 64 * 4 * (int64_t)nt - 1) / (64 * 4 * (int64_t)nt);
    if (per < 1)
        per = 1;
    if (per > max_words)
        per = max_words;
    return 64 * per;
}

static inline int rrnn_nthreads(int want)
{
#ifdef _OPENMP
    return want < 1 ? 1 : want;
#else
    (void)want;
    return 1;
#endif
}

#endif /* RRNN_INTERNAL_H */
