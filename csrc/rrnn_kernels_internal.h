/*
 * rrnn_kernels_internal.h -- the SIMD-dependent kernels, written once.
 *
 * rrnn_kernels.c includes this file three times, each time with
 *   RK_LEVEL   0 (portable C), 1 (AVX2 + POPCNT) or 2 (AVX-512 VPOPCNTDQ),
 *   RK_TGT     the matching __attribute__((target(...))) (empty for 0),
 *   RK_SUFFIX  the name suffix of this instance,
 * and collects the instances into one rrnn_kernels table per level.  Every
 * function here is static and carries RK_TGT, so each instance is compiled
 * for its own instruction set and the right one is chosen at run time.
 *
 * All arithmetic here is integer; the only floating-point code (the field in
 * rk_count_range) goes through rrnn_field, whose result does not depend on
 * the instruction set because the build disables contraction (no FMA).
 */

#define RK_CAT2(a, b) a##b
#define RK_CAT(a, b) RK_CAT2(a, b)
#define RK_SFX(name) RK_CAT(name, RK_SUFFIX)
#define RK_INLINE static inline __attribute__((always_inline))

/* ------------------------------------------------------------------------ */
/* scalar popcount                                                           */
/* ------------------------------------------------------------------------ */

RK_TGT RK_INLINE uint64_t RK_SFX(rk_pop64)(uint64_t x)
{
#if RK_LEVEL >= 1
    return (uint64_t)__builtin_popcountll(x);
#else
    x = x - ((x >> 1) & 0x5555555555555555ULL);
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
    return (x * 0x0101010101010101ULL) >> 56;
#endif
}

#define RK_SOP(op, a, b) ((op) == RRNN_OP_AND ? ((a) & (b)) : ((a) ^ (b)))

/* ------------------------------------------------------------------------ */
/* batched popcount: register blocks of R rows x S states                    */
/* ------------------------------------------------------------------------ */

#if RK_LEVEL == 2

#define RK_RMAX 4
#define RK_SMAX 6
#define RK_VOP(op, a, b) \
    ((op) == RRNN_OP_AND ? _mm512_and_si512((a), (b)) : _mm512_xor_si512((a), (b)))

/* out[s][i+r] = popcount over all W words of rows[i+r] OP st[s]. */
RK_TGT RK_INLINE void RK_SFX(rk_blk)(const int op, const int R, const int S,
                                     const uint64_t *row0, int64_t W,
                                     const uint64_t *const *st, int64_t *const *out, int64_t i)
{
    __m512i acc[RK_RMAX][RK_SMAX];
    const uint64_t *sp[RK_SMAX];
    for (int s = 0; s < S; s++)
        sp[s] = st[s];
    for (int r = 0; r < R; r++)
        for (int s = 0; s < S; s++)
            acc[r][s] = _mm512_setzero_si512();
    int64_t w = 0;
    if (R == 1) {
        /* One row streamed from memory: two chunks per iteration with
         * separate accumulators, so that loads and adds overlap. */
        __m512i acc2[RK_SMAX];
        for (int s = 0; s < S; s++)
            acc2[s] = _mm512_setzero_si512();
        for (; w + 16 <= W; w += 16) {
            __m512i ra = _mm512_loadu_si512((const void *)(row0 + w));
            __m512i rb = _mm512_loadu_si512((const void *)(row0 + w + 8));
            for (int s = 0; s < S; s++) {
                __m512i sa = _mm512_loadu_si512((const void *)(sp[s] + w));
                __m512i sb = _mm512_loadu_si512((const void *)(sp[s] + w + 8));
                acc[0][s] = _mm512_add_epi64(acc[0][s], _mm512_popcnt_epi64(RK_VOP(op, ra, sa)));
                acc2[s] = _mm512_add_epi64(acc2[s], _mm512_popcnt_epi64(RK_VOP(op, rb, sb)));
            }
        }
        for (int s = 0; s < S; s++)
            acc[0][s] = _mm512_add_epi64(acc[0][s], acc2[s]);
    }
    for (; w + 8 <= W; w += 8) {
        __m512i rv[RK_RMAX];
        for (int r = 0; r < R; r++)
            rv[r] = _mm512_loadu_si512((const void *)(row0 + r * W + w));
        for (int s = 0; s < S; s++) {
            __m512i sv = _mm512_loadu_si512((const void *)(sp[s] + w));
            /* one load per state vector: keep it in a register for all rows
             * rather than let the compiler fold a load into every XOR */
            __asm__("" : "+v"(sv));
            for (int r = 0; r < R; r++)
                acc[r][s] = _mm512_add_epi64(acc[r][s],
                                             _mm512_popcnt_epi64(RK_VOP(op, rv[r], sv)));
        }
    }
    if (w < W) {
        __mmask8 m = (__mmask8)((1u << (unsigned)(W - w)) - 1u);
        __m512i rv[RK_RMAX];
        for (int r = 0; r < R; r++)
            rv[r] = _mm512_maskz_loadu_epi64(m, (const void *)(row0 + r * W + w));
        for (int s = 0; s < S; s++) {
            __m512i sv = _mm512_maskz_loadu_epi64(m, (const void *)(sp[s] + w));
            for (int r = 0; r < R; r++)
                acc[r][s] = _mm512_add_epi64(acc[r][s],
                                             _mm512_popcnt_epi64(RK_VOP(op, rv[r], sv)));
        }
    }
    for (int r = 0; r < R; r++)
        for (int s = 0; s < S; s++)
            out[s][i + r] = (int64_t)_mm512_reduce_add_epi64(acc[r][s]);
}

#elif RK_LEVEL == 1

#define RK_RMAX 2
#define RK_SMAX 3
#define RK_VOP(op, a, b) \
    ((op) == RRNN_OP_AND ? _mm256_and_si256((a), (b)) : _mm256_xor_si256((a), (b)))

/* Nibble-table popcount (Mula): per-byte counts (0..8) of v. */
RK_TGT RK_INLINE __m256i RK_SFX(rk_pop8)(__m256i v, __m256i lut, __m256i m4)
{
    __m256i lo = _mm256_and_si256(v, m4);
    __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
    return _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo), _mm256_shuffle_epi8(lut, hi));
}

/* Byte counters absorb up to 31 chunks (31 * 8 < 256) before they are
 * widened with vpsadbw into 64-bit totals kept in memory. */
#define RK_BYTE_CHUNKS 31

RK_TGT RK_INLINE void RK_SFX(rk_blk)(const int op, const int R, const int S,
                                     const uint64_t *row0, int64_t W,
                                     const uint64_t *const *st, int64_t *const *out, int64_t i)
{
    const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
                                         0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    __m256i tot[RK_RMAX][RK_SMAX];
    const uint64_t *sp[RK_SMAX];
    for (int s = 0; s < S; s++)
        sp[s] = st[s];
    for (int r = 0; r < R; r++)
        for (int s = 0; s < S; s++)
            tot[r][s] = _mm256_setzero_si256();
    int64_t w = 0;
    while (w + 4 <= W) {
        int64_t w1 = w + 4 * RK_BYTE_CHUNKS;
        if (w1 > W - W % 4)
            w1 = W - W % 4;
        __m256i acc[RK_RMAX][RK_SMAX];
        for (int r = 0; r < R; r++)
            for (int s = 0; s < S; s++)
                acc[r][s] = _mm256_setzero_si256();
        for (; w < w1; w += 4) {
            __m256i rv[RK_RMAX];
            for (int r = 0; r < R; r++)
                rv[r] = _mm256_loadu_si256((const __m256i *)(row0 + r * W + w));
            for (int s = 0; s < S; s++) {
                __m256i sv = _mm256_loadu_si256((const __m256i *)(sp[s] + w));
                for (int r = 0; r < R; r++)
                    acc[r][s] = _mm256_add_epi8(
                        acc[r][s], RK_SFX(rk_pop8)(RK_VOP(op, rv[r], sv), lut, m4));
            }
        }
        for (int r = 0; r < R; r++)
            for (int s = 0; s < S; s++)
                tot[r][s] = _mm256_add_epi64(tot[r][s],
                                             _mm256_sad_epu8(acc[r][s], _mm256_setzero_si256()));
    }
    for (int r = 0; r < R; r++)
        for (int s = 0; s < S; s++) {
            __m256i a = tot[r][s];
            __m128i q = _mm_add_epi64(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
            uint64_t t = (uint64_t)_mm_cvtsi128_si64(q) + (uint64_t)_mm_extract_epi64(q, 1);
            for (int64_t v = w; v < W; v++)
                t += RK_SFX(rk_pop64)(RK_SOP(op, row0[r * W + v], sp[s][v]));
            out[s][i + r] = (int64_t)t;
        }
}

#else

#define RK_RMAX 1
#define RK_SMAX 4

RK_TGT RK_INLINE void RK_SFX(rk_blk)(const int op, const int R, const int S,
                                     const uint64_t *row0, int64_t W,
                                     const uint64_t *const *st, int64_t *const *out, int64_t i)
{
    (void)R;
    for (int s = 0; s < S; s++) {
        const uint64_t *sv = st[s];
        uint64_t t0 = 0, t1 = 0;
        int64_t w = 0;
        for (; w + 2 <= W; w += 2) {
            t0 += RK_SFX(rk_pop64)(RK_SOP(op, row0[w], sv[w]));
            t1 += RK_SFX(rk_pop64)(RK_SOP(op, row0[w + 1], sv[w + 1]));
        }
        if (w < W)
            t0 += RK_SFX(rk_pop64)(RK_SOP(op, row0[w], sv[w]));
        out[s][i] = (int64_t)(t0 + t1);
    }
}

#endif

typedef void (*RK_SFX(rk_blk_fn))(const uint64_t *, int64_t, const uint64_t *const *,
                                   int64_t *const *, int64_t);

/* Instances with constant block sizes (so that GCC unrolls and keeps the
 * accumulators in registers): rk_blk_<op>_<R>_<S>. */
#define RK_BLKDEF(OPN, OPV, R, S)                                                        \
    RK_TGT static void RK_SFX(rk_blk_##OPN##_##R##_##S)(                                \
        const uint64_t *row0, int64_t W, const uint64_t *const *st, int64_t *const *out, \
        int64_t i)                                                                       \
    {                                                                                    \
        RK_SFX(rk_blk)(OPV, R, S, row0, W, st, out, i);                                 \
    }

#if RK_LEVEL == 2
/* Full groups: 4 rows x 1..6 states (<= 24 zmm accumulators, 4 row vectors
 * and one state vector in registers); tail rows: 1 row x 1..6 states. */
#define RK_BLKSET(OPN, OPV)                                                              \
    RK_BLKDEF(OPN, OPV, 4, 1) RK_BLKDEF(OPN, OPV, 4, 2) RK_BLKDEF(OPN, OPV, 4, 3)        \
    RK_BLKDEF(OPN, OPV, 4, 4) RK_BLKDEF(OPN, OPV, 4, 5) RK_BLKDEF(OPN, OPV, 4, 6)        \
    RK_BLKDEF(OPN, OPV, 1, 1) RK_BLKDEF(OPN, OPV, 1, 2) RK_BLKDEF(OPN, OPV, 1, 3)        \
    RK_BLKDEF(OPN, OPV, 1, 4) RK_BLKDEF(OPN, OPV, 1, 5) RK_BLKDEF(OPN, OPV, 1, 6)        \
    static const RK_SFX(rk_blk_fn) RK_SFX(rk_grp_##OPN)[RK_SMAX + 1] = {                 \
        0, RK_SFX(rk_blk_##OPN##_4_1), RK_SFX(rk_blk_##OPN##_4_2),                       \
        RK_SFX(rk_blk_##OPN##_4_3), RK_SFX(rk_blk_##OPN##_4_4),                          \
        RK_SFX(rk_blk_##OPN##_4_5), RK_SFX(rk_blk_##OPN##_4_6)};                         \
    static const RK_SFX(rk_blk_fn) RK_SFX(rk_one_##OPN)[RK_SMAX + 1] = {                 \
        0, RK_SFX(rk_blk_##OPN##_1_1), RK_SFX(rk_blk_##OPN##_1_2),                       \
        RK_SFX(rk_blk_##OPN##_1_3), RK_SFX(rk_blk_##OPN##_1_4),                          \
        RK_SFX(rk_blk_##OPN##_1_5), RK_SFX(rk_blk_##OPN##_1_6)};
#define RK_GROUP_ROWS 4
#define RK_BLK_ROWS(S) 4
#define RK_STREAM_STATES 1
#elif RK_LEVEL == 1
/* 2 rows x 1..3 states: 6 byte counters, 2 row vectors, the table, the
 * mask and temporaries fill the 16 ymm registers. */
#define RK_BLKSET(OPN, OPV)                                                              \
    RK_BLKDEF(OPN, OPV, 2, 1) RK_BLKDEF(OPN, OPV, 2, 2) RK_BLKDEF(OPN, OPV, 2, 3)        \
    RK_BLKDEF(OPN, OPV, 1, 1) RK_BLKDEF(OPN, OPV, 1, 2) RK_BLKDEF(OPN, OPV, 1, 3)        \
    static const RK_SFX(rk_blk_fn) RK_SFX(rk_grp_##OPN)[RK_SMAX + 1] = {                 \
        0, RK_SFX(rk_blk_##OPN##_2_1), RK_SFX(rk_blk_##OPN##_2_2),                       \
        RK_SFX(rk_blk_##OPN##_2_3)};                                                     \
    static const RK_SFX(rk_blk_fn) RK_SFX(rk_one_##OPN)[RK_SMAX + 1] = {                 \
        0, RK_SFX(rk_blk_##OPN##_1_1), RK_SFX(rk_blk_##OPN##_1_2),                       \
        RK_SFX(rk_blk_##OPN##_1_3)};
#define RK_GROUP_ROWS 2
#define RK_BLK_ROWS(S) 2
#define RK_STREAM_STATES 1
#else
#define RK_BLKSET(OPN, OPV)                                                              \
    RK_BLKDEF(OPN, OPV, 1, 1) RK_BLKDEF(OPN, OPV, 1, 2) RK_BLKDEF(OPN, OPV, 1, 3)        \
    RK_BLKDEF(OPN, OPV, 1, 4)                                                            \
    static const RK_SFX(rk_blk_fn) RK_SFX(rk_grp_##OPN)[RK_SMAX + 1] = {                 \
        0, RK_SFX(rk_blk_##OPN##_1_1), RK_SFX(rk_blk_##OPN##_1_2),                       \
        RK_SFX(rk_blk_##OPN##_1_3), RK_SFX(rk_blk_##OPN##_1_4)};                         \
    static const RK_SFX(rk_blk_fn) *const RK_SFX(rk_one_##OPN) = RK_SFX(rk_grp_##OPN);
#define RK_GROUP_ROWS 1
#define RK_BLK_ROWS(S) 1
#define RK_STREAM_STATES 0
#endif

RK_BLKSET(xor, RRNN_OP_XOR)
RK_BLKSET(and, RRNN_OP_AND)

#if RK_LEVEL == 1
/* How far ahead rk_row1 prefetches, in words (16 kB: a row and a quarter at
 * n = 100,000; measured distances of 1 to 8 such rows did equally well). */
#define RK_ROW1_AHEAD 2048

/* popcount(row OP sv) over W words, for one state streamed against rows read
 * once from memory (the few-states path of rk_popc).  On the AVX2 Zen 3 the
 * nibble-table loop runs at about the memory stream rate, so the hardware
 * prefetcher alone left the loads late: a pass took 1.3-1.4x the time to
 * stream the matrix.  Here two byte counters per 16 words shorten the
 * dependency chain, and a software prefetch RK_ROW1_AHEAD words down the
 * rows of the call (contiguous; avail words from row on, never past them)
 * is interleaved with the loads: 1.15-1.2x in the same measurements (one
 * large prefetch burst per row instead made it 1.7x). */
RK_TGT RK_INLINE uint64_t RK_SFX(rk_row1)(const int op, const uint64_t *row,
                                          const uint64_t *sv, int64_t W, int64_t avail)
{
    const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
                                         0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
    const __m256i m4 = _mm256_set1_epi8(0x0F), zero = _mm256_setzero_si256();
    const int64_t pf_last = avail - RK_ROW1_AHEAD - 16; /* last w that may prefetch */
    __m256i tot = zero;
    int64_t w = 0;
#define RK_ROW1_POP(k)                                                                   \
    RK_SFX(rk_pop8)(RK_VOP(op, _mm256_loadu_si256((const __m256i *)(row + w + (k))),   \
                           _mm256_loadu_si256((const __m256i *)(sv + w + (k)))),         \
                    lut, m4)
    while (w + 16 <= W) {
        /* 15 passes of 16 words: each byte counter takes 2 x 15 x 8 = 240 < 256 */
        int64_t w1 = w + 16 * 15;
        if (w1 > W - W % 16)
            w1 = W - W % 16;
        __m256i a0 = zero, a1 = zero;
        for (; w < w1; w += 16) {
            if (w <= pf_last) {
                __builtin_prefetch(row + w + RK_ROW1_AHEAD, 0, 0);
                __builtin_prefetch(row + w + RK_ROW1_AHEAD + 8, 0, 0);
            }
            a0 = _mm256_add_epi8(a0, RK_ROW1_POP(0));
            a1 = _mm256_add_epi8(a1, RK_ROW1_POP(4));
            a0 = _mm256_add_epi8(a0, RK_ROW1_POP(8));
            a1 = _mm256_add_epi8(a1, RK_ROW1_POP(12));
        }
        tot = _mm256_add_epi64(tot, _mm256_add_epi64(_mm256_sad_epu8(a0, zero),
                                                     _mm256_sad_epu8(a1, zero)));
    }
    __m256i a0 = zero;
    for (; w + 4 <= W; w += 4)
        a0 = _mm256_add_epi8(a0, RK_ROW1_POP(0));
#undef RK_ROW1_POP
    tot = _mm256_add_epi64(tot, _mm256_sad_epu8(a0, zero));
    __m128i q = _mm_add_epi64(_mm256_castsi256_si128(tot), _mm256_extracti128_si256(tot, 1));
    uint64_t t = (uint64_t)_mm_cvtsi128_si64(q) + (uint64_t)_mm_extract_epi64(q, 1);
    for (; w < W; w++)
        t += RK_SFX(rk_pop64)(RK_SOP(op, row[w], sv[w]));
    return t;
}
#endif

RK_TGT static void RK_SFX(rk_popc)(int op, const uint64_t *rows, int64_t W, int64_t i0,
                                   int64_t i1, const uint64_t *const *st, int64_t ns,
                                   int64_t *const *out)
{
    const RK_SFX(rk_blk_fn) *grp = op == RRNN_OP_AND ? RK_SFX(rk_grp_and) : RK_SFX(rk_grp_xor);
    const RK_SFX(rk_blk_fn) *one = op == RRNN_OP_AND ? RK_SFX(rk_one_and) : RK_SFX(rk_one_xor);
    int64_t i = i0;
    /* Few states: memory bound, stream the rows one by one (the loop at the
     * end).  Otherwise row groups: the group's rows stay in cache while
     * every state block streams past them; the states stay in L2. */
    if (ns > RK_STREAM_STATES) {
        const int64_t nblocks = (ns + RK_SMAX - 1) / RK_SMAX;
        const int64_t lines = (RK_GROUP_ROWS * W * 8 + 63) / 64; /* of one group */
        for (; i + RK_GROUP_ROWS <= i1; i += RK_GROUP_ROWS) {
            /* the next group's rows come from memory: fetch them into L2 a
             * slice per state block, while this group computes */
            const char *next = (const char *)(rows + (i + RK_GROUP_ROWS) * W);
            /* (with few state blocks the group is short and hardware
             * prefetch does better on its own) */
            const int have_next = nblocks >= 4 && i + 2 * RK_GROUP_ROWS <= i1;
            for (int64_t s0 = 0, blk = 0; s0 < ns; s0 += RK_SMAX, blk++) {
                int S = (int)(ns - s0 < RK_SMAX ? ns - s0 : RK_SMAX);
                int R = RK_BLK_ROWS(S);
                if (have_next) {
                    int64_t l0 = lines * blk / nblocks, l1 = lines * (blk + 1) / nblocks;
                    for (int64_t l = l0; l < l1; l++)
                        __builtin_prefetch(next + 64 * l, 0, 2);
                }
                for (int r = 0; r < RK_GROUP_ROWS; r += R)
                    grp[S](rows + (i + r) * W, W, st + s0, out + s0, i + r);
            }
        }
    }
#if RK_LEVEL == 1
    if (ns == 1) {
        for (; i < i1; i++)
            out[0][i] = (int64_t)(op == RRNN_OP_AND
                                      ? RK_SFX(rk_row1)(RRNN_OP_AND, rows + i * W, st[0], W,
                                                        (i1 - i) * W)
                                      : RK_SFX(rk_row1)(RRNN_OP_XOR, rows + i * W, st[0], W,
                                                        (i1 - i) * W));
        return;
    }
#endif
    for (; i < i1; i++)
        for (int64_t s0 = 0; s0 < ns; s0 += RK_SMAX) {
            int S = (int)(ns - s0 < RK_SMAX ? ns - s0 : RK_SMAX);
            one[S](rows + i * W, W, st + s0, out + s0, i);
        }
}

/* ------------------------------------------------------------------------ */
/* batched popcount by nibble tables (AVX2): 32 states per vector            */
/* ------------------------------------------------------------------------ */

#if RK_LEVEL == 1

/* popcount(q OP p) for the two nibbles q of a row byte (the entry: its low
 * nibble first) and a state nibble p (the byte of the 32-byte row; the 16
 * values twice, so one aligned load fills both lanes).  Indexing by the whole
 * byte costs one byte load and one shift per two table rows; indexing by the
 * nibble cost a shift and a mask per row. */
static const uint8_t RK_SFX(rk_nibtab)[2][256][2][32] __attribute__((aligned(64))) = {
#define RK_P16(OP, Q)                                                                      \
    __builtin_popcount((Q) OP 0), __builtin_popcount((Q) OP 1), __builtin_popcount((Q) OP 2),    \
    __builtin_popcount((Q) OP 3), __builtin_popcount((Q) OP 4), __builtin_popcount((Q) OP 5),    \
    __builtin_popcount((Q) OP 6), __builtin_popcount((Q) OP 7), __builtin_popcount((Q) OP 8),    \
    __builtin_popcount((Q) OP 9), __builtin_popcount((Q) OP 10), __builtin_popcount((Q) OP 11),  \
    __builtin_popcount((Q) OP 12), __builtin_popcount((Q) OP 13), __builtin_popcount((Q) OP 14), \
    __builtin_popcount((Q) OP 15)
#define RK_ROW(OP, Q) {RK_P16(OP, Q), RK_P16(OP, Q)}
#define RK_BYTE(OP, H, L) {RK_ROW(OP, L), RK_ROW(OP, H)}
#define RK_B16(OP, H)                                                                      \
    RK_BYTE(OP, H, 0), RK_BYTE(OP, H, 1), RK_BYTE(OP, H, 2), RK_BYTE(OP, H, 3),                \
    RK_BYTE(OP, H, 4), RK_BYTE(OP, H, 5), RK_BYTE(OP, H, 6), RK_BYTE(OP, H, 7),                \
    RK_BYTE(OP, H, 8), RK_BYTE(OP, H, 9), RK_BYTE(OP, H, 10), RK_BYTE(OP, H, 11),              \
    RK_BYTE(OP, H, 12), RK_BYTE(OP, H, 13), RK_BYTE(OP, H, 14), RK_BYTE(OP, H, 15)
#define RK_TAB(OP)                                                                         \
    {RK_B16(OP, 0), RK_B16(OP, 1), RK_B16(OP, 2), RK_B16(OP, 3), RK_B16(OP, 4),               \
     RK_B16(OP, 5), RK_B16(OP, 6), RK_B16(OP, 7), RK_B16(OP, 8), RK_B16(OP, 9),               \
     RK_B16(OP, 10), RK_B16(OP, 11), RK_B16(OP, 12), RK_B16(OP, 13), RK_B16(OP, 14),          \
     RK_B16(OP, 15)}
    RK_TAB(&), RK_TAB(^)
#undef RK_TAB
#undef RK_B16
#undef RK_BYTE
#undef RK_ROW
#undef RK_P16
};

/* Rows per register block, words per byte-counter round (3 words = 48
 * nibbles, at most 4 each: 192 < 256) and words per column tile (2,048
 * nibbles: its 16-bit counters stay below 8,192 + 4 x 48). */
#define RK_NR 4
#define RK_NWORDS 3
#define RK_NTILE 128
#define RK_NSUB 256

/* One row byte (two nibbles) of 4 rows against two 32-state index vectors
 * per nibble, for whole words of 64 states (two chunks).  Written in asm
 * because GCC, kept from computing all the shuffles of an unrolled word
 * before adding them, shuffles the accumulators between registers and
 * reloads offsets from the stack: 40 instructions per nibble where 26 do.
 * Operands: the 4 x 2 byte counters a, the index vectors at pq (advanced by
 * two nibbles, 2 gs bytes), the row bytes at offset B from r0..r3 and the
 * byte table tab (rk_nibtab[op]: entry v at 64 v, low nibble first).  The
 * memory clobber: the asm reads the rows, the layout and the table. */
#define RK_NIB_HALF(TOFF)                                                                  \
    "vmovdqa (%[pq]), %%ymm12\n\t"                                                         \
    "vmovdqa 32(%[pq]), %%ymm13\n\t"                                                       \
    "vmovdqa " TOFF "(%[tab],%[g0]), %%ymm14\n\t"                                          \
    "vpshufb %%ymm12, %%ymm14, %%ymm15\n\t"                                                \
    "vpaddb %%ymm15, %[a00], %[a00]\n\t"                                                   \
    "vpshufb %%ymm13, %%ymm14, %%ymm15\n\t"                                                \
    "vpaddb %%ymm15, %[a01], %[a01]\n\t"                                                   \
    "vmovdqa " TOFF "(%[tab],%[g1]), %%ymm14\n\t"                                          \
    "vpshufb %%ymm12, %%ymm14, %%ymm15\n\t"                                                \
    "vpaddb %%ymm15, %[a10], %[a10]\n\t"                                                   \
    "vpshufb %%ymm13, %%ymm14, %%ymm15\n\t"                                                \
    "vpaddb %%ymm15, %[a11], %[a11]\n\t"                                                   \
    "vmovdqa " TOFF "(%[tab],%[g2]), %%ymm14\n\t"                                          \
    "vpshufb %%ymm12, %%ymm14, %%ymm15\n\t"                                                \
    "vpaddb %%ymm15, %[a20], %[a20]\n\t"                                                   \
    "vpshufb %%ymm13, %%ymm14, %%ymm15\n\t"                                                \
    "vpaddb %%ymm15, %[a21], %[a21]\n\t"                                                   \
    "vmovdqa " TOFF "(%[tab],%[g3]), %%ymm14\n\t"                                          \
    "vpshufb %%ymm12, %%ymm14, %%ymm15\n\t"                                                \
    "vpaddb %%ymm15, %[a30], %[a30]\n\t"                                                   \
    "vpshufb %%ymm13, %%ymm14, %%ymm15\n\t"                                                \
    "vpaddb %%ymm15, %[a31], %[a31]\n\t"                                                   \
    "add %[gs], %[pq]\n\t"
#define RK_NIB_BYTE(B, A, PQ, GS, R0, R1, R2, R3, TAB)                                     \
    do {                                                                                   \
        uint64_t g0_, g1_, g2_, g3_;                                                       \
        __asm__("movzbl " #B "(%[r0]), %k[g0]\n\t"                                         \
                "movzbl " #B "(%[r1]), %k[g1]\n\t"                                         \
                "movzbl " #B "(%[r2]), %k[g2]\n\t"                                         \
                "movzbl " #B "(%[r3]), %k[g3]\n\t"                                         \
                "shl $6, %k[g0]\n\t"                                                       \
                "shl $6, %k[g1]\n\t"                                                       \
                "shl $6, %k[g2]\n\t"                                                       \
                "shl $6, %k[g3]\n\t"                                                       \
                RK_NIB_HALF("0") RK_NIB_HALF("32")                                         \
                : [a00] "+x"(A[0][0]), [a01] "+x"(A[0][1]), [a10] "+x"(A[1][0]),           \
                  [a11] "+x"(A[1][1]), [a20] "+x"(A[2][0]), [a21] "+x"(A[2][1]),           \
                  [a30] "+x"(A[3][0]), [a31] "+x"(A[3][1]), [pq] "+r"(PQ), [g0] "=&r"(g0_), \
                  [g1] "=&r"(g1_), [g2] "=&r"(g2_), [g3] "=&r"(g3_)                        \
                : [r0] "r"(R0), [r1] "r"(R1), [r2] "r"(R2), [r3] "r"(R3), [tab] "r"(TAB),  \
                  [gs] "r"(GS)                                                             \
                : "xmm12", "xmm13", "xmm14", "xmm15", "memory");                           \
    } while (0)
/* One row word (8 bytes) of the 4 rows. */
#define RK_NIB_WORD(A, PQ, GS, R0, R1, R2, R3, TAB)                                        \
    do {                                                                                   \
        RK_NIB_BYTE(0, A, PQ, GS, R0, R1, R2, R3, TAB);                                    \
        RK_NIB_BYTE(1, A, PQ, GS, R0, R1, R2, R3, TAB);                                    \
        RK_NIB_BYTE(2, A, PQ, GS, R0, R1, R2, R3, TAB);                                    \
        RK_NIB_BYTE(3, A, PQ, GS, R0, R1, R2, R3, TAB);                                    \
        RK_NIB_BYTE(4, A, PQ, GS, R0, R1, R2, R3, TAB);                                    \
        RK_NIB_BYTE(5, A, PQ, GS, R0, R1, R2, R3, TAB);                                    \
        RK_NIB_BYTE(6, A, PQ, GS, R0, R1, R2, R3, TAB);                                    \
        RK_NIB_BYTE(7, A, PQ, GS, R0, R1, R2, R3, TAB);                                    \
    } while (0)
#if RK_NR != 4
#error "RK_NIB_BYTE handles blocks of 4 rows"
#endif

/* Rows [i, i + 4) x states of chunks c0 (and c0 + 1 when C == 2), words
 * [w0, w1): acc32[r][32 k + lane] += popcount over those words. */
RK_TGT RK_INLINE void RK_SFX(rk_nib_blk)(const int C, const uint8_t (*tab)[2][32],
                                         const uint64_t *row0, int64_t W, const uint8_t *nib,
                                         int64_t nch, int64_t c0, int64_t w0, int64_t w1,
                                         uint32_t (*acc32)[64])
{
    uint16_t acc16[RK_NR][64] __attribute__((aligned(32)));
    memset(acc16, 0, sizeof acc16);
    const int64_t gstride = 32 * nch; /* bytes from one nibble index to the next */
    for (int64_t w = w0; w < w1;) {
        const int64_t we = w + RK_NWORDS < w1 ? w + RK_NWORDS : w1;
        __m256i a[RK_NR][2];
        for (int r = 0; r < RK_NR; r++)
            a[r][0] = a[r][1] = _mm256_setzero_si256();
        for (; w < we; w++) {
            const uint8_t *jb[RK_NR]; /* the row words' bytes */
            for (int r = 0; r < RK_NR; r++)
                jb[r] = (const uint8_t *)(row0 + r * W + w);
            const uint8_t *p = nib + 16 * w * gstride + 32 * c0;
            if (C == 2) {
                RK_NIB_WORD(a, p, gstride, jb[0], jb[1], jb[2], jb[3], tab);
            } else {
                /* one chunk (an odd last chunk): the same in C */
#pragma GCC unroll 8
                for (int b = 0; b < 8; b++)
                    for (int h = 0; h < 2; h++) { /* nibble 2 b + h */
                        const __m256i x =
                            _mm256_load_si256((const __m256i *)(p + (2 * b + h) * gstride));
                        for (int r = 0; r < RK_NR; r++) {
                            const __m256i t = _mm256_load_si256((const __m256i *)tab[jb[r][b]][h]);
                            a[r][0] = _mm256_add_epi8(a[r][0], _mm256_shuffle_epi8(t, x));
                        }
                        /* add each product as it comes: without this GCC
                         * computes all the shuffles first and spills them */
                        for (int r = 0; r < RK_NR; r++)
                            __asm__("" : "+x"(a[r][0]));
                    }
            }
        }
        for (int r = 0; r < RK_NR; r++)
            for (int h = 0; h < C; h++) {
                __m256i *d = (__m256i *)&acc16[r][32 * h];
                const __m256i lo = _mm256_cvtepu8_epi16(_mm256_castsi256_si128(a[r][h]));
                const __m256i hi = _mm256_cvtepu8_epi16(_mm256_extracti128_si256(a[r][h], 1));
                d[0] = _mm256_add_epi16(d[0], lo);
                d[1] = _mm256_add_epi16(d[1], hi);
            }
    }
    for (int r = 0; r < RK_NR; r++)
        for (int k = 0; k < 32 * C; k++)
            acc32[r][k] += acc16[r][k];
}

/* out[s][i] = popcount over all W words of rows[i] OP state s, for the
 * nch * 32 states of the nibble layout nib (see rrnn_nib_build) and rows
 * i in [i0, i0 + 4 * floor((i1 - i0) / 4)); returns that end row.  One
 * vpshufb looks up 32 states' nibbles in the table of one row nibble: 128
 * bit products per instruction, against 64 for the Mula popcount of the
 * XOR (two shuffles per 256 bits). */
RK_TGT static int64_t RK_SFX(rk_popc_nib)(int op, const uint64_t *rows, int64_t W, int64_t i0,
                                          int64_t i1, const uint8_t *nib, int64_t nch,
                                          int64_t *const *out)
{
    const uint8_t(*tab)[2][32] = RK_SFX(rk_nibtab)[op == RRNN_OP_AND ? 0 : 1];
    const int64_t iend = i0 + (i1 - i0) / RK_NR * RK_NR;
    uint32_t acc32[RK_NSUB][64] __attribute__((aligned(32)));
    for (int64_t ib = i0; ib < iend; ib += RK_NSUB) {
        const int64_t ie = ib + RK_NSUB < iend ? ib + RK_NSUB : iend;
        for (int64_t c0 = 0; c0 < nch; c0 += 2) {
            const int C = nch - c0 >= 2 ? 2 : 1;
            memset(acc32, 0, sizeof acc32);
            for (int64_t w0 = 0; w0 < W; w0 += RK_NTILE) {
                const int64_t w1 = w0 + RK_NTILE < W ? w0 + RK_NTILE : W;
                for (int64_t i = ib; i < ie; i += RK_NR) {
                    /* a constant C in each call: one inlined copy per width */
                    if (C == 2)
                        RK_SFX(rk_nib_blk)(2, tab, rows + i * W, W, nib, nch, c0, w0, w1,
                                           acc32 + (i - ib));
                    else
                        RK_SFX(rk_nib_blk)(1, tab, rows + i * W, W, nib, nch, c0, w0, w1,
                                           acc32 + (i - ib));
                }
            }
            for (int k = 0; k < 32 * C; k++) {
                int64_t *o = out[32 * c0 + k];
                for (int64_t i = ib; i < ie; i++)
                    o[i] = acc32[i - ib][k];
            }
        }
    }
    return iend;
}

#undef RK_NR
#undef RK_NWORDS
#undef RK_NTILE
#undef RK_NSUB
#define RK_POPC_NIB RK_SFX(rk_popc_nib)
#else
#define RK_POPC_NIB NULL
#endif

/* ------------------------------------------------------------------------ */
/* incremental update with one bit-packed column                            */
/* ------------------------------------------------------------------------ */

/* M[mu] += delta * (1 - 2 bit_mu) for mu in [m0, m1), m0 % 64 == 0, int32
 * accumulators: the incremental bit-packed fields of the dynamics (one
 * column of bin_cols per flip; |field| <= n < 2^31) and the low-rank
 * overlaps (one row of lr_bits_t per flip).  Half the bytes of int64
 * accumulators, so half the vector operations per flip: in a synchronous
 * step the block's accumulators sit in L1 and these operations, not memory,
 * set the cost (session 21: the int64 version took half of simulate's time
 * at n = 50,000, batch 16, near J_D*). */
#if RK_LEVEL == 1
/* Entry b: lane k is -1 where bit k of byte b is set, else +1 (8 kB).  The
 * AVX2 column update multiplies delta by it with one vpsignd, in place of
 * broadcasting the byte and testing each lane's bit: at n = 1,024 (a sync
 * block's accumulators, in L1) 1.4-1.8x faster in a standalone measurement. */
#define RK_SG(B, K, P) (((B) >> (K)) & 1 ? -(P) : (P))
#define RK_SG8(B, P)                                                                       \
    {RK_SG(B, 0, P), RK_SG(B, 1, P), RK_SG(B, 2, P), RK_SG(B, 3, P),                       \
     RK_SG(B, 4, P), RK_SG(B, 5, P), RK_SG(B, 6, P), RK_SG(B, 7, P)}
#define RK_SG16(H, P)                                                                      \
    RK_SG8(16 * (H) + 0, P), RK_SG8(16 * (H) + 1, P), RK_SG8(16 * (H) + 2, P),             \
    RK_SG8(16 * (H) + 3, P), RK_SG8(16 * (H) + 4, P), RK_SG8(16 * (H) + 5, P),             \
    RK_SG8(16 * (H) + 6, P), RK_SG8(16 * (H) + 7, P), RK_SG8(16 * (H) + 8, P),             \
    RK_SG8(16 * (H) + 9, P), RK_SG8(16 * (H) + 10, P), RK_SG8(16 * (H) + 11, P),           \
    RK_SG8(16 * (H) + 12, P), RK_SG8(16 * (H) + 13, P), RK_SG8(16 * (H) + 14, P),          \
    RK_SG8(16 * (H) + 15, P)
#define RK_SGTAB(P)                                                                        \
    {RK_SG16(0, P), RK_SG16(1, P), RK_SG16(2, P), RK_SG16(3, P), RK_SG16(4, P),            \
     RK_SG16(5, P), RK_SG16(6, P), RK_SG16(7, P), RK_SG16(8, P), RK_SG16(9, P),            \
     RK_SG16(10, P), RK_SG16(11, P), RK_SG16(12, P), RK_SG16(13, P), RK_SG16(14, P),       \
     RK_SG16(15, P)}
static const int32_t RK_SFX(rk_signtab)[256][8] __attribute__((aligned(32))) = RK_SGTAB(1);
/* its negation, for rk_colupd4's negative deltas */
static const int32_t RK_SFX(rk_negsigntab)[256][8] __attribute__((aligned(32))) = RK_SGTAB(-1);
#undef RK_SGTAB
#undef RK_SG16
#undef RK_SG8
#undef RK_SG
#endif

RK_TGT static void RK_SFX(rk_colupd)(const uint64_t *bits, int64_t m0, int64_t m1, int32_t delta,
                                     int32_t *M)
{
    int64_t mu = m0;
#if RK_LEVEL == 2
    const __m512i d = _mm512_set1_epi32(delta);
    for (; mu + 64 <= m1; mu += 64) {
        const uint64_t word = bits[mu >> 6];
        for (int q = 0; q < 4; q++) {
            __m512i v = _mm512_loadu_si512((const void *)(M + mu + 16 * q));
            const __mmask16 k = (__mmask16)(word >> (16 * q));
            v = _mm512_mask_sub_epi32(_mm512_add_epi32(v, d), k, v, d);
            _mm512_storeu_si512((void *)(M + mu + 16 * q), v);
        }
    }
    if (mu < m1) {
        const uint64_t word = bits[mu >> 6];
        for (int q = 0; q < 4 && mu + 16 * q < m1; q++) {
            const int64_t left = m1 - (mu + 16 * q);
            const __mmask16 lanes = (__mmask16)(left >= 16 ? 0xFFFFu : (1u << left) - 1u);
            __m512i v = _mm512_maskz_loadu_epi32(lanes, (const void *)(M + mu + 16 * q));
            const __mmask16 k = (__mmask16)(word >> (16 * q));
            v = _mm512_mask_sub_epi32(_mm512_add_epi32(v, d), k, v, d);
            _mm512_mask_storeu_epi32((void *)(M + mu + 16 * q), lanes, v);
        }
        mu = m1;
    }
#elif RK_LEVEL == 1
    const __m256i d = _mm256_set1_epi32(delta);
    for (; mu + 64 <= m1; mu += 64) {
        const uint64_t word = bits[mu >> 6];
        for (int q = 0; q < 8; q++) {
            const __m256i t = _mm256_load_si256(
                (const __m256i *)RK_SFX(rk_signtab)[(word >> (8 * q)) & 0xFF]);
            __m256i *pm = (__m256i *)(M + mu + 8 * q);
            _mm256_storeu_si256(pm, _mm256_add_epi32(_mm256_loadu_si256(pm),
                                                     _mm256_sign_epi32(d, t)));
        }
    }
#endif
    const int32_t d2s = 2 * delta;
    for (; mu < m1; mu += 64) {
        const uint64_t word = bits[mu >> 6];
        const int64_t m = m1 - mu < 64 ? m1 - mu : 64;
        int32_t *a = M + mu;
        for (int64_t b = 0; b < m; b++)
            a[b] += delta - d2s * (int32_t)((word >> b) & 1u);
    }
}

/* M[mu] += sum over k < 4 of delta[k] * (1 - 2 bit_mu(bits[k])), mu in
 * [m0, m1), m0 % 64 == 0: four columns per pass over the accumulators, for
 * the flips of one synchronous step.  At AVX2, when the four |delta| are
 * equal and 1 or 2 (the +-1 and {0, 1} dynamics), the sign of each delta
 * picks rk_signtab or its negation, so a column costs a byte load, a shift
 * and one vpaddd with the table entry as operand, and the accumulators are
 * loaded and stored once per four columns: 15 instructions per 8 units
 * where four rk_colupd calls take 28.  Elsewhere, and for the tail, it is
 * four rk_colupd calls. */
RK_TGT static void RK_SFX(rk_colupd4)(const uint64_t *const *bits, const int32_t *delta,
                                      int64_t m0, int64_t m1, int32_t *M)
{
    int64_t mu = m0;
#if RK_LEVEL == 1
    const int32_t ad = delta[0] < 0 ? -delta[0] : delta[0];
    int same = ad == 1 || ad == 2;
    for (int k = 1; k < 4; k++)
        same = same && (delta[k] == ad || delta[k] == -ad);
    if (same) {
        const int32_t(*t[4])[8];
        const uint8_t *b[4];
        for (int k = 0; k < 4; k++) {
            t[k] = delta[k] > 0 ? RK_SFX(rk_signtab) : RK_SFX(rk_negsigntab);
            b[k] = (const uint8_t *)bits[k];
        }
        const __m128i dbl = _mm_cvtsi32_si128(ad == 2); /* shift: times |delta| */
        for (; mu + 64 <= m1; mu += 64) {
            const int64_t o = mu >> 3; /* byte of bit mu */
#pragma GCC unroll 8
            for (int q = 0; q < 8; q++) {
                __m256i v = _mm256_load_si256((const __m256i *)t[0][b[0][o + q]]);
                v = _mm256_add_epi32(v, _mm256_load_si256((const __m256i *)t[1][b[1][o + q]]));
                v = _mm256_add_epi32(v, _mm256_load_si256((const __m256i *)t[2][b[2][o + q]]));
                v = _mm256_add_epi32(v, _mm256_load_si256((const __m256i *)t[3][b[3][o + q]]));
                v = _mm256_sll_epi32(v, dbl);
                __m256i *pm = (__m256i *)(M + mu + 8 * q);
                _mm256_storeu_si256(pm, _mm256_add_epi32(_mm256_loadu_si256(pm), v));
            }
        }
    }
#endif
    if (mu < m1)
        for (int k = 0; k < 4; k++)
            RK_SFX(rk_colupd)(bits[k], mu, m1, delta[k], M);
}

/* acc[i] += delta (1 - 2 bit_i) with int64 accumulators for i in [i0, i1),
 * i0 % 64 == 0: the Gray-code enumeration's (rk_count_range, n <= 40; at
 * AVX-512 it has its own register loop), so a plain loop. */
RK_TGT RK_INLINE void RK_SFX(rk_colupd64_in)(const uint64_t *colbits, int64_t i0, int64_t i1,
                                             int64_t delta, int64_t *acc)
{
    const int64_t d2 = 2 * delta;
    for (int64_t i = i0; i < i1; i += 64) {
        uint64_t word = colbits[i >> 6];
        int64_t m = i1 - i < 64 ? i1 - i : 64;
        int64_t *a = acc + i;
        for (int64_t b = 0; b < m; b++)
            a[b] += delta - d2 * (int64_t)((word >> b) & 1u);
    }
}

/* ------------------------------------------------------------------------ */
/* dense term                                                                */
/* ------------------------------------------------------------------------ */

RK_TGT RK_INLINE int64_t RK_SFX(rk_ddot_in)(const int32_t *row, const int8_t *x, int64_t n)
{
    int64_t s = 0, j = 0;
#if RK_LEVEL == 2
    /* States are -1, 0 or +1, so no multiplies: add the entry where x > 0 and
     * subtract it where x < 0, in int64 lanes (fixed-point entries use up to
     * 31 bits).  Four independent accumulators hide the add latency; integer
     * sums do not depend on the order, so the result equals the scalar loop's. */
    const __m512i zero = _mm512_setzero_si512();
    __m512i p0 = zero, p1 = zero, m0 = zero, m1 = zero;
    for (; j + 64 <= n; j += 64) {
        const __m512i xv = _mm512_loadu_si512((const void *)(x + j));
        const __mmask64 pos = _mm512_cmpgt_epi8_mask(xv, zero);
        const __mmask64 neg = _mm512_cmplt_epi8_mask(xv, zero);
        for (int q = 0; q < 8; q += 2) {
            const __m512i r0 = _mm512_cvtepi32_epi64(
                _mm256_loadu_si256((const __m256i *)(row + j + 8 * q)));
            const __m512i r1 = _mm512_cvtepi32_epi64(
                _mm256_loadu_si256((const __m256i *)(row + j + 8 * q + 8)));
            p0 = _mm512_mask_add_epi64(p0, (__mmask8)(pos >> (8 * q)), p0, r0);
            m0 = _mm512_mask_add_epi64(m0, (__mmask8)(neg >> (8 * q)), m0, r0);
            p1 = _mm512_mask_add_epi64(p1, (__mmask8)(pos >> (8 * q + 8)), p1, r1);
            m1 = _mm512_mask_add_epi64(m1, (__mmask8)(neg >> (8 * q + 8)), m1, r1);
        }
    }
    s = _mm512_reduce_add_epi64(_mm512_sub_epi64(_mm512_add_epi64(p0, p1),
                                                 _mm512_add_epi64(m0, m1)));
#elif RK_LEVEL == 1
    /* vpmuldq multiplies the even int32 lanes into exact int64 products; the
     * odd lanes follow after a 32-bit shift.  Two accumulators per parity
     * hide the add latency; integer sums do not depend on the order. */
    __m256i e0 = _mm256_setzero_si256(), o0 = e0, e1 = e0, o1 = e0;
    for (; j + 16 <= n; j += 16) {
        const __m256i r0 = _mm256_loadu_si256((const __m256i *)(row + j));
        const __m256i r1 = _mm256_loadu_si256((const __m256i *)(row + j + 8));
        const __m256i x0 = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(x + j)));
        const __m256i x1 = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(x + j + 8)));
        e0 = _mm256_add_epi64(e0, _mm256_mul_epi32(r0, x0));
        o0 = _mm256_add_epi64(o0, _mm256_mul_epi32(_mm256_srli_epi64(r0, 32),
                                                   _mm256_srli_epi64(x0, 32)));
        e1 = _mm256_add_epi64(e1, _mm256_mul_epi32(r1, x1));
        o1 = _mm256_add_epi64(o1, _mm256_mul_epi32(_mm256_srli_epi64(r1, 32),
                                                   _mm256_srli_epi64(x1, 32)));
    }
    int64_t lanes[4];
    _mm256_storeu_si256((__m256i *)lanes,
                        _mm256_add_epi64(_mm256_add_epi64(e0, o0), _mm256_add_epi64(e1, o1)));
    s = lanes[0] + lanes[1] + lanes[2] + lanes[3];
#endif
    for (; j < n; j++)
        s += (int64_t)row[j] * (int64_t)x[j];
    return s;
}

RK_TGT static int64_t RK_SFX(rk_ddot)(const int32_t *row, const int8_t *x, int64_t n)
{
    return RK_SFX(rk_ddot_in)(row, x, n);
}

RK_TGT RK_INLINE void RK_SFX(rk_daxpy_in)(const int32_t *col, int64_t i0, int64_t i1,
                                          int64_t delta, int64_t *acc)
{
    for (int64_t i = i0; i < i1; i++)
        acc[i] += (int64_t)col[i] * delta;
}

RK_TGT static void RK_SFX(rk_daxpy)(const int32_t *col, int64_t i0, int64_t i1, int64_t delta,
                                    int64_t *acc)
{
    RK_SFX(rk_daxpy_in)(col, i0, i1, delta, acc);
}

/* ------------------------------------------------------------------------ */
/* memory-bandwidth probe                                                    */
/* ------------------------------------------------------------------------ */

RK_TGT static uint64_t RK_SFX(rk_xorsum)(const uint64_t *d, int64_t n)
{
    int64_t w = 0;
    uint64_t t = 0;
#if RK_LEVEL == 2
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    for (; w + 32 <= n; w += 32) {
        a0 = _mm512_xor_si512(a0, _mm512_loadu_si512((const void *)(d + w)));
        a1 = _mm512_xor_si512(a1, _mm512_loadu_si512((const void *)(d + w + 8)));
        a2 = _mm512_xor_si512(a2, _mm512_loadu_si512((const void *)(d + w + 16)));
        a3 = _mm512_xor_si512(a3, _mm512_loadu_si512((const void *)(d + w + 24)));
    }
    a0 = _mm512_xor_si512(_mm512_xor_si512(a0, a1), _mm512_xor_si512(a2, a3));
    uint64_t lanes[8];
    _mm512_storeu_si512((void *)lanes, a0);
    for (int k = 0; k < 8; k++)
        t ^= lanes[k];
#elif RK_LEVEL == 1
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    for (; w + 16 <= n; w += 16) {
        a0 = _mm256_xor_si256(a0, _mm256_loadu_si256((const __m256i *)(d + w)));
        a1 = _mm256_xor_si256(a1, _mm256_loadu_si256((const __m256i *)(d + w + 4)));
        a2 = _mm256_xor_si256(a2, _mm256_loadu_si256((const __m256i *)(d + w + 8)));
        a3 = _mm256_xor_si256(a3, _mm256_loadu_si256((const __m256i *)(d + w + 12)));
    }
    a0 = _mm256_xor_si256(_mm256_xor_si256(a0, a1), _mm256_xor_si256(a2, a3));
    uint64_t lanes[4];
    _mm256_storeu_si256((__m256i *)lanes, a0);
    for (int k = 0; k < 4; k++)
        t ^= lanes[k];
#else
    uint64_t t1 = 0, t2 = 0, t3 = 0;
    for (; w + 4 <= n; w += 4) {
        t ^= d[w];
        t1 ^= d[w + 1];
        t2 ^= d[w + 2];
        t3 ^= d[w + 3];
    }
    t ^= t1 ^ t2 ^ t3;
#endif
    for (; w < n; w++)
        t ^= d[w];
    return t;
}

/* ------------------------------------------------------------------------ */
/* compute-peak probe                                                        */
/* ------------------------------------------------------------------------ */

/* The batched kernel's instruction mix (XOR, popcount, add per word-state)
 * with every operand in a register: 4 row words x 3 state words per round,
 * 12 independent accumulators, no loads.  Its rate is the most this core can
 * give the batched kernel at this SIMD level.  The empty asm statements make
 * the state words opaque, so the compiler cannot hoist the work out of the
 * loop.  *ops receives the word-state products done. */
RK_TGT static uint64_t RK_SFX(rk_peak)(int64_t rounds, uint64_t seed, uint64_t *ops)
{
#if RK_LEVEL == 2
    __m512i r0 = _mm512_set1_epi64((long long)(seed * 3u)), r1 = _mm512_set1_epi64((long long)(seed * 5u));
    __m512i r2 = _mm512_set1_epi64((long long)(seed * 7u)), r3 = _mm512_set1_epi64((long long)(seed * 11u));
    __m512i s0 = _mm512_set1_epi64((long long)(seed ^ 13u)), s1 = _mm512_set1_epi64((long long)(seed ^ 17u));
    __m512i s2 = _mm512_set1_epi64((long long)(seed ^ 19u));
    __m512i a[12];
    for (int k = 0; k < 12; k++)
        a[k] = _mm512_setzero_si512();
#define RK_PK(k, r, st) a[k] = _mm512_add_epi64(a[k], _mm512_popcnt_epi64(_mm512_xor_si512(r, st)))
    for (int64_t t = 0; t < rounds; t++) {
        RK_PK(0, r0, s0); RK_PK(1, r1, s0); RK_PK(2, r2, s0); RK_PK(3, r3, s0);
        RK_PK(4, r0, s1); RK_PK(5, r1, s1); RK_PK(6, r2, s1); RK_PK(7, r3, s1);
        RK_PK(8, r0, s2); RK_PK(9, r1, s2); RK_PK(10, r2, s2); RK_PK(11, r3, s2);
        __asm__("" : "+v"(s0), "+v"(s1), "+v"(s2));
    }
#undef RK_PK
    __m512i sum = a[0];
    for (int k = 1; k < 12; k++)
        sum = _mm512_add_epi64(sum, a[k]);
    *ops = (uint64_t)rounds * 12u * 8u;
    return (uint64_t)_mm512_reduce_add_epi64(sum);
#elif RK_LEVEL == 1
    /* the inner loop of rk_nib_blk (the batched kernel from 32 states on),
     * the same asm block: 4 row words x 2 state words per round, with the
     * row bytes, index vectors and table rows loaded from L1 */
    const uint8_t(*tab)[2][32] = RK_SFX(rk_nibtab)[1];
    uint8_t idx[16][2][32] __attribute__((aligned(32)));
    const uint64_t sw[2] = {seed ^ 13u, seed ^ 17u};
    for (int q = 0; q < 16; q++)
        for (int h = 0; h < 2; h++)
            memset(idx[q][h], (int)((sw[h] >> (4 * q)) & 15u), 32);
    uint64_t rw[4] = {seed * 3u, seed * 5u, seed * 7u, seed * 11u};
    const uint8_t *jb = (const uint8_t *)rw;
    __m256i tot = _mm256_setzero_si256();
    int64_t t = 0;
    while (t < rounds) {
        /* 3 rounds of 16 nibbles: byte counters <= 192 */
        int64_t t1 = t + 3 < rounds ? t + 3 : rounds;
        __m256i a[4][2];
        for (int r = 0; r < 4; r++)
            a[r][0] = a[r][1] = _mm256_setzero_si256();
        for (; t < t1; t++) {
            const uint8_t *p = &idx[0][0][0];
            const int64_t gs = 64;
            RK_NIB_WORD(a, p, gs, jb, jb + 8, jb + 16, jb + 24, tab);
        }
        for (int r = 0; r < 4; r++)
            for (int h = 0; h < 2; h++)
                tot = _mm256_add_epi64(tot, _mm256_sad_epu8(a[r][h], _mm256_setzero_si256()));
    }
    uint64_t lanes[4];
    _mm256_storeu_si256((__m256i *)lanes, tot);
    *ops = (uint64_t)rounds * 4u * 2u * 32u;
    return lanes[0] + lanes[1] + lanes[2] + lanes[3];
#else
    uint64_t r0 = seed * 3u, r1 = seed * 5u, s0 = seed ^ 13u, s1 = seed ^ 17u;
    uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    for (int64_t t = 0; t < rounds; t++) {
        a0 += RK_SFX(rk_pop64)(r0 ^ s0);
        a1 += RK_SFX(rk_pop64)(r1 ^ s0);
        a2 += RK_SFX(rk_pop64)(r0 ^ s1);
        a3 += RK_SFX(rk_pop64)(r1 ^ s1);
        __asm__("" : "+r"(s0), "+r"(s1));
    }
    *ops = (uint64_t)rounds * 4u;
    return a0 + a1 + a2 + a3;
#endif
}

/* ------------------------------------------------------------------------ */
/* low-rank term: overlaps M (int32) against the bit-packed pattern transpose */
/* ------------------------------------------------------------------------ */

#if RK_LEVEL == 2 && !defined(RK_MASK16_DEFINED)
#define RK_MASK16_DEFINED
/* 16-bit pieces of the uint64 words of lr_bits_t, read as masks */
typedef __mmask16 __attribute__((may_alias)) rk_mask16;
#endif

/* Sum of M[mu] over the set bits mu < p of bits.  |M| <= 2^25 - 1, so an
 * int32 lane sums 64 values exactly before it is widened to int64. */
RK_TGT static int64_t RK_SFX(rk_lrneg)(const uint64_t *bits, const int32_t *M, int64_t p)
{
    const int64_t full = p >> 6, rem = p & 63;
    int64_t w = 0;
#if RK_LEVEL == 2
    /* masks straight from memory, 16 bits at a time: no shifts of mask
     * registers on the critical path */
    const rk_mask16 *k16 = (const rk_mask16 *)bits;
    __m512i tot = _mm512_setzero_si512(); /* 8 int64 lanes */
    while (w < full) {
        /* one value per lane of each of a0..a3 per word: 64 in their sum */
        const int64_t wend = w + 16 < full ? w + 16 : full;
        __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
        for (; w < wend; w++) {
            const int32_t *m = M + 64 * w;
            a0 = _mm512_mask_add_epi32(a0, k16[4 * w], a0, _mm512_loadu_si512(m));
            a1 = _mm512_mask_add_epi32(a1, k16[4 * w + 1], a1,
                                       _mm512_loadu_si512(m + 16));
            a2 = _mm512_mask_add_epi32(a2, k16[4 * w + 2], a2,
                                       _mm512_loadu_si512(m + 32));
            a3 = _mm512_mask_add_epi32(a3, k16[4 * w + 3], a3,
                                       _mm512_loadu_si512(m + 48));
        }
        const __m512i a = _mm512_add_epi32(_mm512_add_epi32(a0, a1), _mm512_add_epi32(a2, a3));
        tot = _mm512_add_epi64(tot, _mm512_cvtepi32_epi64(_mm512_castsi512_si256(a)));
        tot = _mm512_add_epi64(tot, _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(a, 1)));
    }
    if (rem) { /* partial word: padding bits and lanes >= p never count */
        const uint64_t word = bits[full] & (((uint64_t)1 << rem) - 1);
        const int32_t *m = M + 64 * full;
        __m512i a = _mm512_setzero_si512();
        for (int q = 0; q < 4; q++) {
            const __mmask16 k = (__mmask16)(word >> (16 * q));
            a = _mm512_add_epi32(a, _mm512_maskz_loadu_epi32(k, m + 16 * q));
        }
        tot = _mm512_add_epi64(tot, _mm512_cvtepi32_epi64(_mm512_castsi512_si256(a)));
        tot = _mm512_add_epi64(tot, _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(a, 1)));
    }
    return _mm512_reduce_add_epi64(tot);
#elif RK_LEVEL == 1
    const __m256i sel = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    __m256i tot = _mm256_setzero_si256(); /* 4 int64 lanes */
    while (w < full) {
        /* two values per lane of each of a[0..3] per word: 64 in their sum */
        const int64_t wend = w + 8 < full ? w + 8 : full;
        __m256i a[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                        _mm256_setzero_si256()};
        for (; w < wend; w++) {
            const uint64_t word = bits[w];
            const int32_t *m = M + 64 * w;
            for (int q = 0; q < 8; q++) {
                __m256i k = _mm256_set1_epi32((int)((word >> (8 * q)) & 0xFF));
                k = _mm256_cmpeq_epi32(_mm256_and_si256(k, sel), sel);
                a[q & 3] = _mm256_add_epi32(
                    a[q & 3], _mm256_and_si256(k, _mm256_loadu_si256((const __m256i *)(m + 8 * q))));
            }
        }
        const __m256i v = _mm256_add_epi32(_mm256_add_epi32(a[0], a[1]), _mm256_add_epi32(a[2], a[3]));
        tot = _mm256_add_epi64(tot, _mm256_cvtepi32_epi64(_mm256_castsi256_si128(v)));
        tot = _mm256_add_epi64(tot, _mm256_cvtepi32_epi64(_mm256_extracti128_si256(v, 1)));
    }
    int64_t lanes[4];
    _mm256_storeu_si256((__m256i *)lanes, tot);
    int64_t s = lanes[0] + lanes[1] + lanes[2] + lanes[3];
#else
    int64_t s = 0;
    for (; w < full; w++) {
        const uint64_t word = bits[w];
        const int32_t *m = M + 64 * w;
        int64_t t = 0;
        for (int k = 0; k < 64; k++)
            t += (int64_t)m[k] & -(int64_t)((word >> k) & 1u);
        s += t;
    }
#endif
#if RK_LEVEL != 2
    if (rem) {
        const uint64_t word = bits[full];
        const int32_t *m = M + 64 * full;
        for (int64_t k = 0; k < rem; k++)
            s += (int64_t)m[k] & -(int64_t)((word >> k) & 1u);
    }
    return s;
#endif
}

/* rk_lrneg of nu rows of the transpose (row idx[u], or i0 + u when idx is
 * NULL) into out[u].  AVX-512 evaluates eight rows per pass over M, so that
 * M is read once per eight rows (M outgrows L1 at p ~ 8000). */
RK_TGT static void RK_SFX(rk_lrneg_rows)(const uint64_t *bits_t, int64_t lw, const int32_t *idx,
                                         int64_t i0, int64_t nu, const int32_t *M, int64_t p,
                                         int64_t *out)
{
#if RK_LEVEL == 2
    const int64_t full = p >> 6, rem = p & 63;
    for (int64_t u0 = 0; u0 < nu; u0 += 8) {
        /* a short last group repeats its first row (computed, not stored) */
        const rk_mask16 *k[8];
        for (int g = 0; g < 8; g++) {
            const int64_t u = u0 + g < nu ? u0 + g : u0;
            const int64_t row = idx != NULL ? (int64_t)idx[u] : i0 + u;
            k[g] = (const rk_mask16 *)(bits_t + row * lw);
        }
        __m512i tot[8]; /* int64 lanes */
        for (int g = 0; g < 8; g++)
            tot[g] = _mm512_setzero_si512();
        int64_t w = 0;
        while (w < full) {
            /* four values per lane of acc[g] per word: 64 in 16 words */
            const int64_t wend = w + 16 < full ? w + 16 : full;
            __m512i acc[8];
            for (int g = 0; g < 8; g++)
                acc[g] = _mm512_setzero_si512();
            for (; w < wend; w++) {
                const int32_t *m = M + 64 * w;
                for (int q = 0; q < 4; q++) {
                    const __m512i v = _mm512_loadu_si512((const void *)(m + 16 * q));
                    for (int g = 0; g < 8; g++)
                        acc[g] = _mm512_mask_add_epi32(acc[g], k[g][4 * w + q], acc[g], v);
                }
            }
            for (int g = 0; g < 8; g++) {
                tot[g] = _mm512_add_epi64(tot[g], _mm512_cvtepi32_epi64(_mm512_castsi512_si256(acc[g])));
                tot[g] = _mm512_add_epi64(tot[g],
                                          _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(acc[g], 1)));
            }
        }
        if (rem) { /* partial word: padding bits and lanes >= p never count */
            const uint64_t valid = ((uint64_t)1 << rem) - 1;
            const int32_t *m = M + 64 * full;
            for (int q = 0; q < 4; q++) {
                const __mmask16 lanes = (__mmask16)(valid >> (16 * q));
                const __m512i v = _mm512_maskz_loadu_epi32(lanes, (const void *)(m + 16 * q));
                for (int g = 0; g < 8; g++) {
                    const __mmask16 kk = (__mmask16)(k[g][4 * full + q] & lanes);
                    tot[g] = _mm512_add_epi64(
                        tot[g], _mm512_cvtepi32_epi64(_mm512_castsi512_si256(
                                    _mm512_maskz_mov_epi32(kk, v))));
                    tot[g] = _mm512_add_epi64(
                        tot[g], _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(
                                    _mm512_maskz_mov_epi32(kk, v), 1)));
                }
            }
        }
        for (int g = 0; g < 8 && u0 + g < nu; g++)
            out[u0 + g] = _mm512_reduce_add_epi64(tot[g]);
    }
#else
    for (int64_t u = 0; u < nu; u++) {
        const int64_t row = idx != NULL ? (int64_t)idx[u] : i0 + u;
        out[u] = RK_SFX(rk_lrneg)(bits_t + row * lw, M, p);
    }
#endif
}

/* sum_j a[j] x[j] for a pattern a of +-1 and a state x in {-1, 0, 1}.  The
 * products (x or -x) are summed in int8 lanes for at most 127 vectors, then
 * widened; the int32 total is exact for n < 2^31. */
RK_TGT static int64_t RK_SFX(rk_bdot)(const int8_t *a, const int8_t *x, int64_t n)
{
    int64_t j = 0;
    int32_t s = 0;
#if RK_LEVEL == 2
    const __m512i zero = _mm512_setzero_si512();
    const __m512i one8 = _mm512_set1_epi8(1), one16 = _mm512_set1_epi16(1);
    __m512i tot = zero; /* int32 lanes */
    while (j + 64 <= n) {
        const int64_t jend = j + 64 * 127 < n ? j + 64 * 127 : n;
        __m512i acc = zero;
        for (; j + 64 <= jend; j += 64) {
            const __m512i va = _mm512_loadu_si512((const void *)(a + j));
            const __m512i vx = _mm512_loadu_si512((const void *)(x + j));
            /* -x where a = -1 (sign bit set) */
            acc = _mm512_add_epi8(acc, _mm512_mask_sub_epi8(vx, _mm512_movepi8_mask(va), zero, vx));
        }
        tot = _mm512_add_epi32(tot, _mm512_madd_epi16(_mm512_maddubs_epi16(one8, acc), one16));
    }
    s = _mm512_reduce_add_epi32(tot);
#elif RK_LEVEL == 1
    const __m256i one8 = _mm256_set1_epi8(1), one16 = _mm256_set1_epi16(1);
    __m256i tot = _mm256_setzero_si256(); /* int32 lanes */
    while (j + 32 <= n) {
        const int64_t jend = j + 32 * 127 < n ? j + 32 * 127 : n;
        __m256i acc = _mm256_setzero_si256();
        for (; j + 32 <= jend; j += 32) {
            const __m256i va = _mm256_loadu_si256((const __m256i *)(a + j));
            const __m256i vx = _mm256_loadu_si256((const __m256i *)(x + j));
            acc = _mm256_add_epi8(acc, _mm256_sign_epi8(vx, va)); /* x * sign(a) */
        }
        tot = _mm256_add_epi32(tot, _mm256_madd_epi16(_mm256_maddubs_epi16(one8, acc), one16));
    }
    int32_t lanes[8];
    _mm256_storeu_si256((__m256i *)lanes, tot);
    for (int k = 0; k < 8; k++)
        s += lanes[k];
#endif
    for (; j < n; j++)
        s += (int32_t)a[j] * (int32_t)x[j];
    return s;
}

/* ------------------------------------------------------------------------ */
/* exhaustive fixed-point count over a range of Gray codes                   */
/* ------------------------------------------------------------------------ */

/* Float path: evaluate the fields of every unit until one is unstable. */
RK_TGT RK_INLINE int RK_SFX(rk_is_fixed)(const rrnn_ctx *c, const double *bias,
                                         const int8_t *x, const int64_t *ab, const int64_t *ad,
                                         const int64_t *as, const int64_t *al)
{
    for (int64_t i = 0; i < c->n; i++) {
        double h = rrnn_field(c, ab[i], ad[i], as[i], al[i], x[i], bias[i]);
        if (rrnn_activate(h, c->act) != x[i])
            return 0;
    }
    return 1;
}

/* Integer path (one coupling term): g has bit i set when x_i = +1. */
RK_TGT RK_INLINE int RK_SFX(rk_is_fixed_int)(int64_t n, const int64_t *acc, uint64_t g,
                                             const rrnn_fp_bounds *bd)
{
#if RK_LEVEL == 2
    for (int64_t q = 0; q < n; q += 8) {
        __mmask8 lanes = (__mmask8)(n - q >= 8 ? 0xFFu : (1u << (n - q)) - 1u);
        __mmask8 k = (__mmask8)(g >> q);
        __m512i a = _mm512_loadu_si512((const void *)(acc + q));
        __m512i lo = _mm512_mask_blend_epi64(k, _mm512_loadu_si512((const void *)(bd->llo + q)),
                                             _mm512_loadu_si512((const void *)(bd->lhi + q)));
        __m512i hi = _mm512_mask_blend_epi64(k, _mm512_loadu_si512((const void *)(bd->ulo + q)),
                                             _mm512_loadu_si512((const void *)(bd->uhi + q)));
        __mmask8 ok = _mm512_mask_cmpge_epi64_mask(lanes, a, lo);
        ok = _mm512_mask_cmple_epi64_mask(ok, a, hi);
        if (ok != lanes)
            return 0;
    }
    return 1;
#else
    for (int64_t i = 0; i < n; i++) {
        int up = (int)((g >> i) & 1u);
        int64_t lo = up ? bd->lhi[i] : bd->llo[i];
        int64_t hi = up ? bd->uhi[i] : bd->ulo[i];
        if (acc[i] < lo || acc[i] > hi)
            return 0;
    }
    return 1;
#endif
}

#if RK_LEVEL == 2
/* Integer path with the accumulators of one bit-packed, dense or low-rank
 * term held in five zmm registers (n <= 40): no store-to-load forwarding
 * through memory on the critical path.  Lanes >= n drift but are never tested
 * (their bounds accept everything). */
RK_TGT static int64_t RK_SFX(rk_count_reg)(const rrnn_ctx *c, const rrnn_fp_bounds *bd,
                                           const int64_t *acc0, uint64_t g, uint64_t k0,
                                           uint64_t k1)
{
    const rrnn_couplings *J = c->J;
    const int64_t n = c->n, W = c->W;
    const int sign = c->act == RRNN_ACT_SIGN;
    __m512i a[5], lhi[5], uhi[5], llo[5], ulo[5];
    for (int q = 0; q < 5; q++) {
        a[q] = _mm512_loadu_si512((const void *)(acc0 + 8 * q));
        lhi[q] = _mm512_loadu_si512((const void *)(bd->lhi + 8 * q));
        uhi[q] = _mm512_loadu_si512((const void *)(bd->uhi + 8 * q));
        llo[q] = _mm512_loadu_si512((const void *)(bd->llo + 8 * q));
        ulo[q] = _mm512_loadu_si512((const void *)(bd->ulo + 8 * q));
    }
    const int nq = (int)((n + 7) / 8);
    int64_t count = 0;
    for (uint64_t k = k0;; k++) {
        int fixed = 1;
        for (int q = 0; q < nq && fixed; q++) {
            __mmask8 up = (__mmask8)(g >> (8 * q));
            __m512i lo = _mm512_mask_blend_epi64(up, llo[q], lhi[q]);
            __m512i hi = _mm512_mask_blend_epi64(up, ulo[q], uhi[q]);
            __mmask8 ok = _mm512_cmpge_epi64_mask(a[q], lo) & _mm512_cmple_epi64_mask(a[q], hi);
            fixed = ok == 0xFF;
        }
        count += fixed;
        if (k + 1 >= k1)
            break;
        const int64_t u = __builtin_ctzll(k + 1);
        const int up = (int)((g >> u) & 1u); /* old value: +1 if set */
        /* delta = new - old: sign +-2, heaviside +-1 */
        const int64_t delta = up ? (sign ? -2 : -1) : (sign ? 2 : 1);
        const __m512i d = _mm512_set1_epi64(delta);
        if (c->hb) {
            const uint64_t col = J->bin_cols[u * W];
            for (int q = 0; q < 5; q++) {
                __mmask8 kq = (__mmask8)(col >> (8 * q));
                a[q] = _mm512_mask_sub_epi64(_mm512_add_epi64(a[q], d), kq, a[q], d);
            }
            /* the diagonal bit is 0 (counted as +1): take it back */
            const int qu = (int)(u >> 3);
            for (int q = 0; q < 5; q++)
                if (q == qu)
                    a[q] = _mm512_mask_sub_epi64(a[q], (__mmask8)(1u << (u & 7)), a[q], d);
        } else { /* an int32 column: dense, or the low-rank matrix */
            const int32_t *col = (c->hd ? J->dense_cols : c->lr_matrix) + u * n;
            for (int q = 0; q < nq; q++) {
                __mmask8 lanes = (__mmask8)(n - 8 * q >= 8 ? 0xFFu : (1u << (n - 8 * q)) - 1u);
                __m512i v = _mm512_cvtepi32_epi64(
                    _mm256_maskz_loadu_epi32(lanes, (const void *)(col + 8 * q)));
                if (delta == 2 || delta == -2)
                    v = _mm512_add_epi64(v, v);
                if (q == (int)(u >> 3)) /* no diagonal term */
                    v = _mm512_mask_blend_epi64((__mmask8)(1u << (u & 7)), v,
                                                _mm512_setzero_si512());
                a[q] = delta > 0 ? _mm512_add_epi64(a[q], v) : _mm512_sub_epi64(a[q], v);
            }
        }
        g ^= (uint64_t)1 << u;
    }
    return count;
}
#endif

/* State of Gray code g: unit u is +1 when bit u of g is set, else the low
 * value (-1 for sign, 0 for heaviside).  Codes k0 <= k < k1 are visited in
 * order, g(k) = k ^ (k >> 1), so consecutive states differ in unit ctz(k). */
RK_TGT static int64_t RK_SFX(rk_count_range)(const rrnn_ctx *c, const double *bias,
                                             const rrnn_fp_bounds *bd, uint64_t k0, uint64_t k1)
{
    const rrnn_couplings *J = c->J;
    const int64_t n = c->n, W = c->W;
    const int8_t lo = c->act == RRNN_ACT_SIGN ? (int8_t)-1 : (int8_t)0;
    /* 64 states, not RRNN_ENUM_PAD: the AVX-512 dense dot product reads 64
     * states per step.  With n <= 40 that loop never runs, but the compiler
     * cannot know it and warns (-Warray-bounds) about a 48-byte array. */
    int8_t x[64];
    int64_t ab[RRNN_ENUM_PAD], ad[RRNN_ENUM_PAD], as[RRNN_ENUM_PAD], al[RRNN_ENUM_PAD];
    if (k0 >= k1)
        return 0;
    uint64_t g = k0 ^ (k0 >> 1);
    for (int64_t u = 0; u < 64; u++)
        x[u] = (u < n && ((g >> u) & 1u)) ? (int8_t)1 : lo;
    for (int64_t u = 0; u < RRNN_ENUM_PAD; u++)
        ab[u] = ad[u] = as[u] = al[u] = 0;
    for (int64_t i = 0; i < n; i++) {
        if (c->hb) {
            int64_t s = 0;
            for (int64_t j = 0; j < n; j++)
                if (j != i)
                    s += (1 - 2 * (int64_t)((J->bin_rows[i * W + (j >> 6)] >> (j & 63)) & 1u)) *
                         x[j];
            ab[i] = s;
        }
        if (c->hd)
            ad[i] = RK_SFX(rk_ddot_in)(J->dense_rows + i * n, x, n) -
                    (int64_t)J->dense_rows[i * n + i] * x[i];
        if (c->hs)
            as[i] = rrnn_sparse_row(J, i, x);
        if (c->hl) /* the matrix has a zero diagonal */
            al[i] = RK_SFX(rk_ddot_in)(c->lr_matrix + i * n, x, n);
    }
    /* the single term, if bd */
    const int64_t *acc1 = c->hb ? ab : (c->hd ? ad : (c->hs ? as : al));
#if RK_LEVEL == 2
    if (bd != NULL && !c->hs)
        return RK_SFX(rk_count_reg)(c, bd, acc1, g, k0, k1);
#endif
#define RK_FIXED() (bd ? RK_SFX(rk_is_fixed_int)(n, acc1, g, bd) \
                       : RK_SFX(rk_is_fixed)(c, bias, x, ab, ad, as, al))
    int64_t count = RK_FIXED();
    for (uint64_t k = k0 + 1; k < k1; k++) {
        int64_t u = __builtin_ctzll(k);
        int8_t nu = x[u] == 1 ? lo : (int8_t)1;
        int64_t delta = (int64_t)nu - x[u];
        if (c->hb) {
#if RK_LEVEL == 2
            /* whole vectors over the padded array: masked stores would
             * defeat store-to-load forwarding in the test that follows */
            const __m512i d = _mm512_set1_epi64(delta);
            const uint64_t col = J->bin_cols[u * W];
            for (int64_t q = 0; q * 8 < n; q++) {
                __m512i v = _mm512_loadu_si512((const void *)(ab + 8 * q));
                v = _mm512_mask_sub_epi64(_mm512_add_epi64(v, d), (__mmask8)(col >> (8 * q)), v,
                                          d);
                _mm512_storeu_si512((void *)(ab + 8 * q), v);
            }
#else
            RK_SFX(rk_colupd64_in)(J->bin_cols + u * W, 0, n, delta, ab);
#endif
            ab[u] -= delta; /* the diagonal bit is 0, i.e. counted as +1 */
        }
        if (c->hd) {
            RK_SFX(rk_daxpy_in)(J->dense_cols + u * n, 0, n, delta, ad);
            ad[u] -= (int64_t)J->dense_cols[u * n + u] * delta;
        }
        if (c->hs)
            rrnn_sparse_col(J, u, delta, as);
        if (c->hl)
            RK_SFX(rk_daxpy_in)(c->lr_matrix + u * n, 0, n, delta, al);
        x[u] = nu;
        g ^= (uint64_t)1 << u;
        count += RK_FIXED();
    }
#undef RK_FIXED
    return count;
}

/* ------------------------------------------------------------------------ */
/* next states from the binary-term accumulators alone                      */
/* ------------------------------------------------------------------------ */

#if RK_LEVEL >= 1 && !defined(RK_NEXT_LUT_DEFINED)
#define RK_NEXT_LUT_DEFINED
/* The 4 new states of a 4-bit mask of h >= 0, as 4 bytes: {0, 1} and +-1. */
#define RK_NX(m, lo) \
    ((uint32_t)(uint8_t)((m) & 1 ? 1 : (lo)) | (uint32_t)(uint8_t)((m) & 2 ? 1 : (lo)) << 8 | \
     (uint32_t)(uint8_t)((m) & 4 ? 1 : (lo)) << 16 | (uint32_t)(uint8_t)((m) & 8 ? 1 : (lo)) << 24)
#define RK_NX16(lo)                                                                        \
    {RK_NX(0, lo),  RK_NX(1, lo),  RK_NX(2, lo),  RK_NX(3, lo), RK_NX(4, lo),  RK_NX(5, lo), \
     RK_NX(6, lo),  RK_NX(7, lo),  RK_NX(8, lo),  RK_NX(9, lo), RK_NX(10, lo), RK_NX(11, lo), \
     RK_NX(12, lo), RK_NX(13, lo), RK_NX(14, lo), RK_NX(15, lo)}
static const uint32_t rk_next_lut[2][16] = {RK_NX16(0), RK_NX16(-1)};
#undef RK_NX16
#undef RK_NX
#endif

/* xn[i] = activation(h_i) for i in [i0, i1), or hout[i] = h_i when hout is
 * not NULL, with h_i = 0.0 + ab[i] bs + self x[i] + bias[i]: rrnn_field's
 * double operations in its order, for couplings with only the bit-packed
 * term (int32 accumulators, |ab[i]| <= n). */
RK_TGT static void RK_SFX(rk_next_bin)(const int32_t *ab, const int8_t *x, const double *bias,
                                       double bs, double self, int sign, int64_t i0,
                                       int64_t i1, int8_t *xn, double *hout)
{
    int64_t i = i0;
#if RK_LEVEL >= 1
    const __m256d vbs = _mm256_set1_pd(bs), vself = _mm256_set1_pd(self);
    const __m256d zero = _mm256_setzero_pd();
    const uint32_t *lut = rk_next_lut[sign ? 1 : 0];
    for (; i + 4 <= i1; i += 4) {
        /* int32 -> double is exact */
        const __m256d d = _mm256_cvtepi32_pd(_mm_loadu_si128((const __m128i *)(ab + i)));
        int32_t x4;
        memcpy(&x4, x + i, 4);
        const __m256d xd = _mm256_cvtepi32_pd(_mm_cvtepi8_epi32(_mm_cvtsi32_si128(x4)));
        __m256d h = _mm256_add_pd(zero, _mm256_mul_pd(d, vbs));
        h = _mm256_add_pd(h, _mm256_mul_pd(vself, xd));
        h = _mm256_add_pd(h, _mm256_loadu_pd(bias + i));
        if (hout != NULL) {
            _mm256_storeu_pd(hout + i, h);
            continue;
        }
        const int m = _mm256_movemask_pd(_mm256_cmp_pd(h, zero, _CMP_GE_OQ));
        memcpy(xn + i, &lut[m], 4);
    }
#endif
    const int8_t lo = sign ? (int8_t)-1 : (int8_t)0;
    for (; i < i1; i++) {
        double h = 0.0;
        h += (double)ab[i] * bs;
        h += self * (double)x[i];
        h += bias[i];
        if (hout != NULL)
            hout[i] = h;
        else
            xn[i] = h >= 0.0 ? (int8_t)1 : lo;
    }
}

/* The plain XOR/popcount loop, a benchmark baseline: out[b * n + i] for
 * one row i and every state b, written the way one first would and left to
 * the compiler at this level's target (GCC vectorises it with VPOPCNTQ at
 * AVX-512 and keeps scalar POPCNT at AVX2). */
RK_TGT static void RK_SFX(rk_plain_row)(const uint64_t *row, int64_t W, const uint64_t *packed,
                                        int64_t batch, int64_t n, int64_t i, int64_t *out)
{
    for (int64_t b = 0; b < batch; b++) {
        const uint64_t *x = packed + b * W;
        uint64_t a = 0;
        for (int64_t w = 0; w < W; w++)
            a += RK_SFX(rk_pop64)(row[w] ^ x[w]);
        out[b * n + i] = (int64_t)a;
    }
}

static const rrnn_kernels RK_SFX(rk_table) = {
    RK_SFX(rk_popc), RK_SFX(rk_colupd), RK_SFX(rk_ddot), RK_SFX(rk_daxpy),
    RK_SFX(rk_xorsum), RK_SFX(rk_peak), RK_SFX(rk_lrneg), RK_SFX(rk_lrneg_rows), RK_SFX(rk_bdot),
    RK_SFX(rk_count_range), RK_POPC_NIB, RK_SFX(rk_plain_row), RK_SFX(rk_next_bin),
    RK_SFX(rk_colupd4),
};

#undef RK_RMAX
#undef RK_SMAX
#undef RK_VOP
#undef RK_BLKSET
#undef RK_GROUP_ROWS
#undef RK_BLK_ROWS
#undef RK_STREAM_STATES
#undef RK_BYTE_CHUNKS
#undef RK_ROW1_AHEAD
#undef RK_POPC_NIB
