// CKernels: the engine's hot loops, compiled once per instruction set and chosen at run time.
//
// Each kernels_<path>.c compiles the same body (kernels_body.h) under a clang target attribute,
// so one binary carries an AVX-512, an AVX2+FMA and a baseline SSE2 version on x86-64 (NEON on
// aarch64). `wl_current()` returns the table in use: the best path the CPU supports, unless the
// WEIGHTLENS_KERNELS environment variable or a per-thread override (tests, benchmarks) says
// otherwise. Callers read the table once per operation and pass it to their worker threads.
// See docs/ENGINE.md, "Kernel dispatch".
#ifndef WEIGHTLENS_CKERNELS_H
#define WEIGHTLENS_CKERNELS_H

#include <stddef.h>
#include <stdint.h>

#pragma clang assume_nonnull begin

/// A read-only strided matrix view: element (i, j) is base[i * rs + j * cs].
typedef struct wl_view {
    const float *base;
    long rows, cols, rs, cs;
} wl_view;

/// Per-chunk accumulators of the weight statistics (see wl_kernels.stats_row).
typedef struct wl_stats {
    double sum, sum_squares;   // of x - shift
    double squares;            // of x (this row only; the caller folds it into the L2 norm)
    float min, max;            // NaN never wins
    long near_zero, below, above;
} wl_stats;

/// Histogram parameters for wl_kernels.stats_row.
typedef struct wl_hist {
    float lo, hi, near_zero;   // range and |x| threshold
    double shift, scale;       // moments are taken about `shift`; bin = (x - lo) * scale
    long bins;
} wl_hist;

/// The integer screen of max |L·R| (kernels_qmax.h): tiles of WL_QMR rows × WL_QNR columns, the
/// same on every path; factors deeper than WL_QMAX_DEPTH are not screened.
#define WL_QMR 6
#define WL_QNR 32
#define WL_QMAX_DEPTH 16384

/// gemm_d's shapes.
#define WL_GEMM_D_B_LOWER 1
#define WL_GEMM_D_A_UPPER 2

/// gemm_tile's flags.
#define WL_GEMM_ACCUMULATE 1
#define WL_GEMM_LOWER 2

/// One instruction set's kernels. Every path computes the same results up to rounding order.
typedef struct wl_kernels {
    /// "avx512", "avx2", "baseline" or "neon".
    const char *name;
    /// GEMM blocking: MR × NR register tile (NR = two vectors), KC-deep slices, MC-row blocks.
    long mr, nr, kc, mc;
    /// Where a Krylov step on a tall operator is faster as the fused `normal_apply` pass than as
    /// two skinny products (measured per path: docs/ENGINE.md, "Truncated SVD"): 1 for every
    /// block, 2 for 16-column blocks only (the AVX2 path's two-slice loop), 0 never.
    int fused_normal;

    // --- matrix products (GotoBLAS-style; the caller splits the work into jobs) ---
    /// Packs depth p0..<p0+kcb, columns j0..<j0+NR of `b` into one NR-wide panel (zero-padded).
    void (*gemm_pack_b)(wl_view b, long p0, long kcb, long j0, float *dst);
    /// C[i0..<i0+mcb, j0..<j0+ncb] (=|+=) A·B for one job. `packed_b` holds every panel of B as
    /// gemm_pack_b wrote them: slice p0 (depth kcb) at p0·panels_b·NR, panel j at j·kcb·NR.
    /// flags: WL_GEMM_ACCUMULATE (+=), WL_GEMM_LOWER (a Gram product: register tiles wholly above
    /// the diagonal are skipped, the upper triangle is left unspecified).
    void (*gemm_tile)(wl_view a, const float *packed_b, long panels_b, long k, long i0, long mcb,
                      long j0, long ncb, long n, float *c, long ldc, int flags);
    /// The lower triangle of XᵀX (k×k, row stride ldc; the upper triangle unspecified) for X of m rows
    /// × k columns (row stride ld), both operands read in place: the Gram matrix of a thin factor.
    void (*gram_cols)(const float *x, long m, long k, long ld, float *c, long ldc);
    /// The lower triangle of X·Xᵀ (k×k, row stride ldc; the upper triangle unspecified) for X of k
    /// rows × n columns (row stride ld), by dot products of rows: the Gram matrix of a wide factor.
    void (*gram_rows)(const float *x, long k, long n, long ld, float *c, long ldc);
    /// One pass over the long-side indices t0..<t1 of the p×q operator `op` for both products of a
    /// Krylov step: row t − t0 of y (stride ldy) = Σ_i op[i, t]·x_i, then w_i += Σ_t op[i, t]·y_t.
    /// x and w are p rows of b floats (strides ldx, ldw); b is a multiple of 16.
    void (*normal_apply)(wl_view op, long t0, long t1, const float *x, long ldx, long b,
                         float *y, long ldy, float *w, long ldw);

    // --- the integer screen of max |L·R| (kernels_qmax.h; layouts described there) ---
    /// Depth values per packed step: 2 (vpmaddubsw and the other paths' products) or 4 (vpdpbusd,
    /// the AVX-512 path on CPUs with VNNI and the AVX2 path on CPUs with AVX-VNNI). Panels hold
    /// ⌈k/qdepth⌉ steps.
    long qdepth;
    /// Quantises `rows` ≤ WL_QMR rows of L (row stride ld, depth k) into one packed panel and its
    /// row terms (3 × WL_QMR Floats). 0, or 1 when a value is not finite. scratch: k bytes.
    int (*qpack_rows)(const float *l, long ld, long rows, long k, uint32_t *dst, float *terms, int8_t *scratch);
    /// Quantises `cols` ≤ WL_QNR columns of R (k rows, row stride ld) into one packed panel, its
    /// column terms (3 × WL_QNR Floats) and corrections (WL_QNR). 0, or 1 when a value is not finite.
    int (*qpack_cols)(const float *r, long ld, long cols, long k, int8_t *dst, float *terms, int32_t *corr, int8_t *scratch);
    /// Bounds of the tiles of `panels` consecutive row panels (each kp = ⌈k/qdepth⌉ steps of WL_QMR
    /// words, row terms 3 × WL_QMR Floats apiece) against one column panel: upper[i·ustride] an
    /// upper bound of every |entry| of tile i. Returns the largest lower bound of a tile's largest
    /// |entry| after widening (lower − slack·upper − tiny), or 0 when none is positive.
    float (*qmax_panel)(const uint32_t *a, long panels, const float *row_terms, const int8_t *b, long kp,
                        const float *col_terms, const int32_t *corr, float *upper, long ustride, float slack, float tiny);

    // --- vectors ---
    float (*dot)(const float *a, const float *b, long n);
    /// Float inputs, Double accumulation.
    double (*dot_f64acc)(const float *a, const float *b, long n);
    /// Σ (a_i − b_i)², accumulated in Double.
    double (*sqdiff_f64acc)(const float *a, const float *b, long n);
    /// y += alpha · x.
    void (*axpy)(float alpha, const float *x, float *y, long n);
    /// y (Double) += alpha · x (Float).
    void (*axpy_f32_f64)(double alpha, const float *x, double *y, long n);
    /// out[r·cols + c] += Σ_t z[t·ldz + r0 + r] · z[t·ldz + c] for r < width, c < cols, t < rows,
    /// accumulated in Double (Float inputs): new rows of a Gram matrix of columns of z, with
    /// register tiles of 4 × VL results held over blocks of 24 rows (read from L1 by every tile).
    void (*gram_rows_d)(const float *z, long ldz, long rows, long r0, long width, long cols, double *out);
    double (*dot_d)(const double *a, const double *b, long n);
    void (*axpy_d)(double alpha, const double *x, double *y, long n);
    /// C (m×n, row stride ldc) = A·B in Double for small operands (a LoRA layer's r×r products):
    /// A's entry (i, p) at a[i·ars + p·acs], B row-major (ldb). shape: WL_GEMM_D_B_LOWER (B lower
    /// triangular: B[p, j] = 0 for p < j) and/or WL_GEMM_D_A_UPPER (A[i, p] = 0 for p < i), whose
    /// zero steps are skipped.
    void (*gemm_d)(long m, long n, long k, const double *a, long ars, long acs, const double *b, long ldb, double *c,
                   long ldc, int shape);
    /// row_j −= vi · w_j + wi · v_j (the symmetric rank-2 update of a Householder step).
    void (*rank2_d)(double *row, const double *v, const double *w, double vi, double wi, long n);
    /// Plane rotation of two rows: (x, y) ← (c·x − s·y, s·x + c·y).
    void (*rot_d)(double *x, double *y, double c, double s, long n);
    /// y[0..<len] += S·x restricted to S's first `cols` columns (and, by symmetry, the same
    /// entries' mirror images), S symmetric with its lower triangle stored by columns (column j at
    /// a + j·lda, rows j..<len): one pass over those columns, four at a time. cols = len is the
    /// whole product; two calls on [0, c) and on the trailing matrix from c split it between threads.
    void (*symv_lower_d)(const double *a, long lda, long len, long cols, const double *x, double *y);
    /// The blocked tridiagonalisation's trailing update A −= V·Wᵀ + W·Vᵀ on the first `cols`
    /// columns of the lower triangle of the len×len matrix `a` stored by columns (column j at
    /// a + j·lda, rows j..<len used; entries just above the diagonal in 4-column blocks are
    /// updated too, which full symmetric storage tolerates). V and W have nb columns: column p of
    /// V at v + p·ldv, of W at w + p·ldw.
    void (*syr2k_lower_d)(double *a, long lda, long len, long cols, const double *v, long ldv, const double *w, long ldw, long nb);

    // --- element conversion (contiguous) ---
    void (*f16_to_f32)(const uint16_t *src, float *dst, long n);
    void (*bf16_to_f32)(const uint16_t *src, float *dst, long n);
    void (*e4m3_to_f32)(const uint8_t *src, float *dst, long n);
    void (*e5m2_to_f32)(const uint8_t *src, float *dst, long n);

    // --- statistics and rendering ---
    /// Adds one row's moments, extremes, near-zero count and histogram counts (`counts`, `bins`
    /// entries; none when bins is 0) to `acc`; acc->squares receives this row's Σx² (overwritten,
    /// not added).
    void (*stats_row)(const float *x, long n, const wl_hist *hist, wl_stats *acc, long *counts);
    /// One pass over a row for the model overview: out[0] += Σ(x − shift), out[1] += Σ(x − shift)²,
    /// out[2] += Σx² (Double accumulation); returns max |x| (NaN never wins).
    float (*moments_row)(const float *x, long n, double shift, double *out);
    /// acc_j = x_j if |x_j| > |acc_j| (NaN never wins), over n values.
    void (*fold_maxabs)(float *acc, const float *x, long n);
    /// acc_j += x_j (Double accumulators).
    void (*fold_sum)(double *acc, const float *x, long n);
    /// Colour lookup: out_i = lut[idx], idx = x_i·k + base truncated and clamped to 0…255,
    /// 128 for NaN (the multiply and the add are rounded separately, as in Swift).
    void (*colorize)(const float *x, long n, float k, float base, const uint32_t *lut, uint32_t *out);
    /// Length of the run of 32-bit pixels equal to `value` starting at p (at most n).
    long (*run_length)(const uint32_t *p, long n, uint32_t value);
} wl_kernels;

/// The instruction-set paths, best first; WL_PATH_COUNT entries.
enum { WL_PATH_AVX512 = 0, WL_PATH_AVX2 = 1, WL_PATH_BASELINE = 2, WL_PATH_NEON = 3, WL_PATH_COUNT = 4 };

/// The table of `path`, or NULL when this binary has no such path (other architecture). On a CPU
/// with AVX-512 VNNI the AVX-512 path's table uses it for the integer screen, on one with AVX-VNNI
/// the AVX2 path's.
const wl_kernels *_Nullable wl_table(int path);
/// The table of `path` without optional extensions (AVX-512 without VNNI, AVX2 without AVX-VNNI):
/// what wl_table gives on CPUs that lack them, so tests can check both on one machine.
const wl_kernels *_Nullable wl_table_base(int path);
/// Whether this CPU (and its OS, for the AVX register state) can run `path`.
int wl_cpu_supports(int path);
/// The best path this CPU supports.
int wl_best_path(void);

/// Outcome of reading WEIGHTLENS_KERNELS at start: 0 unset or honoured; 1 unknown name;
/// 2 known path that this CPU or binary cannot run (the best path is used instead).
int wl_environment_status(void);
/// The WEIGHTLENS_KERNELS value read at start (empty when unset).
const char *wl_environment_value(void);

/// The process-wide table: chosen once, on first use (CPUID and WEIGHTLENS_KERNELS).
const wl_kernels *wl_process_table(void);
/// Per-thread override for tests and benchmarks (NULL: none). Returns the previous override.
const wl_kernels *_Nullable wl_set_thread_override(const wl_kernels *_Nullable table);

extern _Thread_local const wl_kernels *_Nullable wl_thread_override;
extern const wl_kernels *_Nullable wl_process;

/// The table for work started on this thread: the thread override, else the process table.
static inline const wl_kernels *wl_current(void) {
    const wl_kernels *t = wl_thread_override;
    if (t) return t;
    t = __atomic_load_n(&wl_process, __ATOMIC_ACQUIRE);
    return t ? t : wl_process_table();
}

#pragma clang assume_nonnull end

#endif
