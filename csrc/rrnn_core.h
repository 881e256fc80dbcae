/*
 * rrnn_core.h -- the public C API of the rrnn core.
 *
 * This file is also the cffi cdef: csrc/build_core.py drops the preprocessor
 * lines and hands the rest to ffibuilder.cdef(), so keep it to plain
 * declarations (no macros with bodies, no inline code).
 *
 * Conventions
 * -----------
 * - Every function returns an int status: RRNN_OK (0) or a negative error
 *   code; rrnn/backends/c_backend.py turns the code into a Python exception.
 * - All arrays are C-contiguous and owned by the caller. Kernels may allocate
 *   private scratch memory and free it before returning (RRNN_ERR_NOMEM when
 *   that fails); they never keep state between calls.
 * - States are int8: +1/-1 for activation 0 ("sign"), 1/0 for activation 1
 *   ("heaviside").
 * - Couplings enter only through integer accumulators, so every field is
 *   exact and does not depend on summation order, SIMD width or threads:
 *       acc_t[i] = sum_{j != i} c_t[i][j] * x[j]            (int64)
 *   where c_t is +-1 for the bit-packed term, a 32-bit fixed-point integer
 *   for the dense and sparse terms, and sum_mu xi[mu][i] xi[mu][j] for the
 *   low-rank term.  The local field is then, in exactly this order of float64
 *   operations (compile with -ffp-contract=off):
 *       h = 0.0
 *       h += (double)acc_bin[i]    * bin_scale      (if the term is present)
 *       h += (double)acc_dense[i]  * dense_scale    (if present)
 *       h += (double)acc_sparse[i] * sparse_scale   (if present)
 *       h += (double)acc_lr[i]     * lr_scale       (if present)
 *       h += self_coupling * (double)x[i]
 *       h += bias[i]                                (bias = field - threshold)
 *   and the new state is (h >= 0) ? +1 : (sign ? -1 : 0) at zero temperature.
 * - Finite temperature (Glauber, beta finite in rrnn_simulate): the unit takes
 *   +1 when u < 1.0 / (1.0 + exp(z)) with z = -2.0 * beta * h (libm exp),
 *   else the low value; u = (rrnn_random(noise_key, (row << 32) | t, i) >> 11)
 *   * 2^-53, t the sync step or async sweep and i the unit.
 */
#include <stdint.h>

#define RRNN_OK 0
#define RRNN_ERR_ARGUMENT -1
#define RRNN_ERR_NOMEM -2
#define RRNN_ERR_UNSUPPORTED -3

#define RRNN_ACT_SIGN 0
#define RRNN_ACT_HEAVISIDE 1

#define RRNN_UPDATE_SYNC 0
#define RRNN_UPDATE_ASYNC 1

#define RRNN_SIMD_PORTABLE 0
#define RRNN_SIMD_AVX2 1
#define RRNN_SIMD_AVX512 2

/* How a call runs: thread count and SIMD level, passed per call (no global
 * state).  simd must be <= rrnn_simd_detect(); n_threads >= 1. */
typedef struct {
    int32_t n_threads;
    int32_t simd;
} rrnn_exec;

/* The coupling matrix as a sum of up to four terms; a term is absent when
 * its rows pointer (lr_patterns for the low-rank term) is NULL.  *_cols are
 * the transposes (row j of *_cols is column j of the matrix), used for
 * incremental field updates; they may be NULL for rrnn_local_fields, and must
 * be present for rrnn_simulate and rrnn_count_fixed_points whenever the rows
 * are. */
typedef struct {
    int64_t n;
    /* Bit-packed +-1 term, (n, bin_words) uint64 with bin_words = ceil(n/64).
     * Bit b of word w of row i is column j = 64*w + b; a set bit means
     * c[i][j] = -1, a clear bit c[i][j] = +1.  Diagonal and padding bits are
     * 0 and are ignored. */
    const uint64_t *bin_rows;
    const uint64_t *bin_cols;
    int64_t bin_words;
    double bin_scale;
    /* Dense fixed-point term, (n, n) int32; diagonal ignored. */
    const int32_t *dense_rows;
    const int32_t *dense_cols;
    double dense_scale;
    /* Sparse fixed-point term, CSR (ptr: n+1, idx/val: nnz) and its CSC
     * counterpart; no duplicate entries; diagonal entries ignored. */
    const int64_t *sp_row_ptr;
    const int64_t *sp_row_idx;
    const int32_t *sp_row_val;
    const int64_t *sp_col_ptr;
    const int64_t *sp_col_idx;
    const int32_t *sp_col_val;
    double sparse_scale;
    /* Low-rank (Hebbian) term L[i][j] = sum_mu xi[mu][i] * xi[mu][j] for
     * i != j, from lr_p >= 1 patterns of +-1, never formed as a matrix:
     * lr_patterns (lr_p, n) int8 and its bit-packed transpose lr_bits_t
     * (n, lr_words) uint64, lr_words = ceil(lr_p/64): bit k of word w of row
     * i is set where xi[64*w+k][i] = -1; padding bits are 0.  Both are
     * required whenever the term is present (every function), and n < 2^25.
     * It enters through the overlaps M[mu] = sum_j xi[mu][j] * x[j]:
     *     acc_lr[i] = sum_mu xi[mu][i] * M[mu] - lr_p * x[i]
     * so a full field costs O(n lr_p) and a flip O(lr_p). */
    const int8_t *lr_patterns;
    const uint64_t *lr_bits_t;
    int64_t lr_p;
    int64_t lr_words;
    double lr_scale;
} rrnn_couplings;

/* Build facts. */
int rrnn_openmp_enabled(void);
int rrnn_max_threads(void);
int rrnn_simd_detect(void);          /* best level this CPU supports */

/* Counter-based random numbers: a pure function of (key, stream, index).
 *   mix(z):  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
 *            z = (z ^ (z >> 27)) * 0x94D049BB133111EB;  return z ^ (z >> 31);
 *   s = mix(key + mix(stream + G));  return mix(s + (index + 1) * G);
 * with G = 0x9E3779B97F4A7C15 and all arithmetic modulo 2^64. */
uint64_t rrnn_random(uint64_t key, uint64_t stream, uint64_t index);

/* Random +-1 couplings: word w of row i is rrnn_random(key, i, w) with the
 * diagonal bit and the padding bits (columns >= n) cleared.
 * rows: (n, ceil(n/64)) uint64, written. */
int rrnn_generate_binary(uint64_t key, int64_t n, uint64_t *rows, rrnn_exec ex);

/* cols = transpose of the (n x n) bit matrix rows; both (n, ceil(n/64)). */
int rrnn_transpose_bits(const uint64_t *rows, int64_t n, uint64_t *cols, rrnn_exec ex);

/* Local fields h (batch, n) float64 of the given states (batch, n) int8.
 * bias is (n,) when bias_stride == 0, else (batch, n) with bias_stride == n;
 * self_coupling is (batch,): the J_D of each state. */
int rrnn_local_fields(const rrnn_couplings *J, const int8_t *states, int64_t batch,
                      const double *bias, int64_t bias_stride, const double *self_coupling,
                      double *fields, rrnn_exec ex);

/* One synchronous step: next (batch, n) int8 = the activation (RRNN_ACT_*)
 * of the local fields of states, every unit from the given state (the first
 * step of rrnn_simulate with update sync).  Arguments as for
 * rrnn_local_fields; next must not overlap states. */
int rrnn_sync_step(const rrnn_couplings *J, const int8_t *states, int64_t batch,
                   const double *bias, int64_t bias_stride, const double *self_coupling,
                   int activation, int8_t *next, rrnn_exec ex);

/* Run batch independent trajectories to a fixed point, a detected cycle
 * (sync only) or max_steps updates; states (batch, n) is updated in place.
 * bias as for rrnn_local_fields; self_coupling is (batch,), one J_D per
 * trajectory.
 * Outputs (batch,): steps = updates (sync steps or async sweeps) that changed
 * the state; converged = 1 for a fixed point; period = 0 for a fixed point,
 * k >= 1 for a detected sync cycle, -1 otherwise.  order_key seeds the async
 * update orders (ignored for sync).
 * beta is the inverse temperature: +infinity selects the deterministic rule;
 * finite beta >= 0 selects Glauber updates with random numbers from
 * noise_key (see the conventions above), runs exactly max_steps steps or
 * sweeps with no convergence test, and returns converged = 0, period = -1.
 * The exact algorithm, which all backends share, is in
 * rrnn/backends/numpy_ref.py. */
int rrnn_simulate(const rrnn_couplings *J, int8_t *states, int64_t batch,
                  const double *bias, int64_t bias_stride, const double *self_coupling,
                  int32_t activation, int32_t update, int64_t max_steps,
                  uint64_t order_key, double beta, uint64_t noise_key,
                  int64_t *steps, uint8_t *converged, int64_t *period,
                  rrnn_exec ex);

/* Number of fixed points over all 2^n states (n <= 40), enumerated in Gray
 * code order with incremental fields; bias is (n,). */
int rrnn_count_fixed_points(const rrnn_couplings *J, const double *bias,
                            double self_coupling, int32_t activation,
                            int64_t *count, rrnn_exec ex);

/* Memory-bandwidth probe: read n_words uint64 once, in parallel, and return
 * their XOR in *out (so the read cannot be optimised away). */
int rrnn_stream_read(const uint64_t *data, int64_t n_words, uint64_t *out, rrnn_exec ex);

/* Compute-peak probe: every thread runs `rounds` rounds of the batched
 * kernel's instruction mix at the dispatched SIMD level, with no memory
 * traffic beyond L1: XOR/VPOPCNTQ/add on registers (AVX-512), nibble-table
 * lookups as for batches of 32 states and more (AVX2), scalar POPCNT.
 * *word_ops receives the coupling-word x state products done by all
 * threads, *out a checksum. */
int rrnn_popcount_peak(int64_t rounds, uint64_t *word_ops, uint64_t *out, rrnn_exec ex);

/* Raw batched popcount kernel, exposed for benchmarks and tests:
 * out[b][i] = popcount(rows[i] XOR packed[b]) over words, (batch, n) int64;
 * packed is (batch, words) uint64. */
int rrnn_xor_popcount(const uint64_t *rows, int64_t n, int64_t words,
                      const uint64_t *packed, int64_t batch, int64_t *out,
                      rrnn_exec ex);

/* Baseline for the benchmarks: the same result as rrnn_xor_popcount from
 * the plain loop (rows in parallel; per row, per state, per word, XOR and
 * popcount), compiled for the dispatched SIMD level without hand tuning. */
int rrnn_xor_popcount_plain(const uint64_t *rows, int64_t n, int64_t words,
                            const uint64_t *packed, int64_t batch, int64_t *out,
                            rrnn_exec ex);
