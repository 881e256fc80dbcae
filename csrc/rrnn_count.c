/*
 * rrnn_count.c -- exhaustive fixed-point count.
 *
 * The 2^n states are visited in Gray-code order, so that consecutive states
 * differ in one unit and the accumulators follow with one column update per
 * state (rk_count_range in rrnn_kernels_internal.h).  The sequence is cut
 * into 2^k contiguous chunks, each starting with a full computation; the
 * count is a sum of integers and does not depend on how chunks are shared
 * among threads.
 *
 * The low-rank term is expanded to an (n, n) int32 matrix first (n <= 40).
 *
 * With a single coupling term (and finite parameters) the stability test is
 * done on integers: h is a composition of correctly rounded, monotone
 * operations of the accumulator, so for each unit and value the stable
 * accumulators form an interval, found once by bisection with the exact
 * float formula.  Same answers as evaluating every field, much faster.
 */
#include <math.h>

#include "rrnn_internal.h"

#define RR_BIG ((int64_t)1 << 62)

/* Smallest a in [lo, hi] with pred(a) true for a predicate false...true on
 * the range; hi + 1 if none. */
static int64_t rr_first_true(const rrnn_ctx *c, int64_t lo, int64_t hi, int8_t xi, double bias,
                             int flip)
{
    int64_t a = lo, b = hi + 1; /* answer in [a, b] */
    while (a < b) {
        int64_t m = a + (b - a) / 2;
        double h = rrnn_field(c, m, m, m, m, xi, bias);
        int p = h >= 0.0;
        if (flip)
            p = !p;
        if (p)
            b = m;
        else
            a = m + 1;
    }
    return a;
}

/* Fills bd and returns 1 when the integer test applies. */
static int rr_bounds(const rrnn_ctx *c, const double *bias, rrnn_fp_bounds *bd)
{
    const rrnn_couplings *J = c->J;
    const int64_t n = c->n;
    const int8_t lo = c->act == RRNN_ACT_SIGN ? (int8_t)-1 : (int8_t)0;
    if (c->hb + c->hd + c->hs + c->hl != 1)
        return 0;
    const double scale = c->hb ? c->bs : (c->hd ? c->ds : (c->hs ? c->ss : c->ls));
    if (!isfinite(scale) || !isfinite(c->self))
        return 0;
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(bias[i]))
            return 0;
    for (int64_t i = 0; i < RRNN_ENUM_PAD; i++) {
        bd->lhi[i] = bd->llo[i] = -RR_BIG;
        bd->uhi[i] = bd->ulo[i] = RR_BIG;
    }
    for (int64_t i = 0; i < n; i++) {
        int64_t M = 0; /* |acc_i| <= M */
        if (c->hb) {
            M = n - 1;
        } else if (c->hd) {
            for (int64_t j = 0; j < n; j++)
                if (j != i)
                    M += llabs((int64_t)J->dense_rows[i * n + j]);
        } else if (c->hs) {
            for (int64_t k = J->sp_row_ptr[i]; k < J->sp_row_ptr[i + 1]; k++)
                if (J->sp_row_idx[k] != i)
                    M += llabs((int64_t)J->sp_row_val[k]);
        } else {
            for (int64_t j = 0; j < n; j++)
                M += llabs((int64_t)c->lr_matrix[i * n + j]);
        }
        for (int v = 0; v < 2; v++) {
            const int8_t xi = v ? (int8_t)1 : lo;
            int64_t L, U; /* acc in [L, U] <=> h >= 0 */
            if (scale > 0.0) {
                L = rr_first_true(c, -M, M, xi, bias[i], 0);
                U = RR_BIG;
            } else if (scale < 0.0) {
                /* h >= 0 for acc <= last true = first false - 1 */
                L = -RR_BIG;
                U = rr_first_true(c, -M, M, xi, bias[i], 1) - 1;
            } else {
                int p = rrnn_field(c, 0, 0, 0, 0, xi, bias[i]) >= 0.0;
                L = p ? -RR_BIG : 1;
                U = p ? RR_BIG : 0;
            }
            if (L <= -M)
                L = -RR_BIG;
            if (U >= M)
                U = RR_BIG;
            if (v) { /* stable at +1: h >= 0 */
                bd->lhi[i] = L;
                bd->uhi[i] = U;
            } else { /* stable low: h < 0, the complement of [L, U] in [-M, M] */
                if (L == -RR_BIG && U == RR_BIG) { /* never stable */
                    bd->llo[i] = 1;
                    bd->ulo[i] = 0;
                } else if (L == -RR_BIG) {
                    bd->llo[i] = U + 1;
                    bd->ulo[i] = RR_BIG;
                } else if (U == RR_BIG) {
                    bd->llo[i] = -RR_BIG;
                    bd->ulo[i] = L - 1;
                } else { /* L > U: h >= 0 nowhere in range */
                    bd->llo[i] = -RR_BIG;
                    bd->ulo[i] = RR_BIG;
                }
            }
        }
    }
    return 1;
}

int rrnn_count_fixed_points(const rrnn_couplings *J, const double *bias,
                            double self_coupling, int32_t activation,
                            int64_t *count, rrnn_exec ex)
{
    int st = rrnn_check_exec(ex);
    if (st != RRNN_OK)
        return st;
    if ((st = rrnn_check_couplings(J, 1)) != RRNN_OK)
        return st;
    if (J->n > RRNN_ENUM_MAX || count == NULL || (J->n > 0 && bias == NULL) ||
        (activation != RRNN_ACT_SIGN && activation != RRNN_ACT_HEAVISIDE))
        return RRNN_ERR_ARGUMENT;
    rrnn_ctx c;
    rrnn_ctx_init(&c, J, activation, self_coupling, ex);
    /* The low-rank term as an explicit (n, n) matrix (n <= 40): its columns
     * then update like the dense term's. */
    int32_t *lr_matrix = NULL;
    if (c.hl) {
        const int64_t n = c.n;
        lr_matrix = rrnn_alloc(sizeof(int32_t) * (size_t)(n * n));
        if (lr_matrix == NULL)
            return RRNN_ERR_NOMEM;
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < n; j++) {
                int64_t v = 0;
                if (i != j)
                    for (int64_t mu = 0; mu < c.lp; mu++)
                        v += (int64_t)J->lr_patterns[mu * n + i] * J->lr_patterns[mu * n + j];
                lr_matrix[i * n + j] = (int32_t)v; /* |v| <= p < 2^31 */
            }
        c.lr_matrix = lr_matrix;
    }
    rrnn_fp_bounds bounds;
    const rrnn_fp_bounds *bd = rr_bounds(&c, bias, &bounds) ? &bounds : NULL;
    const int64_t n = c.n;
    const int chunk_bits = n < 12 ? (int)n : 12;
    const int64_t nchunks = (int64_t)1 << chunk_bits;
    const uint64_t len = (uint64_t)1 << (n - chunk_bits);
    int64_t total = 0;
#pragma omp parallel for schedule(dynamic, 1) reduction(+ : total) \
    num_threads(rrnn_nthreads(ex.n_threads))
    for (int64_t k = 0; k < nchunks; k++)
        total += c.K->count_range(&c, bias, bd, (uint64_t)k * len, (uint64_t)(k + 1) * len);
    rrnn_free(lr_matrix);
    *count = total;
    return RRNN_OK;
}
