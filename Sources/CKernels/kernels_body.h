// The kernels, written once with clang vector extensions and compiled once per instruction set:
// each kernels_<path>.c includes this file between `#pragma clang attribute push(target(...))`
// and `pop`, after defining
//   WL_TABLE      the table's symbol (wl_kernels_avx2, …)
//   WL_NAME       its name as WEIGHTLENS_KERNELS spells it ("avx2")
//   WL_VL         Float lanes per vector register: 16 (AVX-512), 8 (AVX2), 4 (SSE2, NEON)
//   WL_FMA        1 where a fused multiply-add is one instruction
//   WL_F16C       16 or 8: convert halves with vcvtph2ps at that width; 0: integer bit arithmetic
//   WL_FUSED_NORMAL  1 where the fused Krylov pass beats two skinny products, 2 where it does for
//                 16-column blocks only (default 0; the table's fused_normal)
// The package compiles this target with -ffp-contract=off, so `a * b + c` is always a multiply and
// an add, exactly as Swift computes it; only MADD fuses, and only where the path has FMA. Without
// FMA, MADD is a separate multiply and add: never a call to libm's fmaf per lane.
#include <stdlib.h>
#include <string.h>

typedef float vf __attribute__((ext_vector_type(WL_VL)));
typedef double vd __attribute__((ext_vector_type(WL_VL / 2)));
typedef float vf2 __attribute__((ext_vector_type(WL_VL / 2)));
typedef uint32_t vu __attribute__((ext_vector_type(WL_VL)));
typedef int32_t vi __attribute__((ext_vector_type(WL_VL)));
typedef int64_t vl2 __attribute__((ext_vector_type(WL_VL / 2)));
typedef uint16_t vh __attribute__((ext_vector_type(WL_VL)));
typedef uint8_t vb __attribute__((ext_vector_type(WL_VL)));

#define WL_INLINE static inline __attribute__((always_inline))
#ifndef WL_FUSED_NORMAL
#define WL_FUSED_NORMAL 0
#endif
#define MR 6
#define NR (2 * WL_VL)
#define KC 256
#define MC 96
#define SKINNY 64

#if WL_FMA
#define MADD(acc, a, b) __builtin_elementwise_fma((a), (b), (acc))
#else
#define MADD(acc, a, b) ((acc) + (a) * (b))
#endif

WL_INLINE vf ldf(const float *p) { vf v; __builtin_memcpy(&v, p, sizeof v); return v; }
WL_INLINE void stf(float *p, vf v) { __builtin_memcpy(p, &v, sizeof v); }
WL_INLINE vd ldd(const double *p) { vd v; __builtin_memcpy(&v, p, sizeof v); return v; }
WL_INLINE void std_(double *p, vd v) { __builtin_memcpy(p, &v, sizeof v); }
WL_INLINE vd lo_d(vf v) { return __builtin_convertvector(v.lo, vd); }
WL_INLINE vd hi_d(vf v) { return __builtin_convertvector(v.hi, vd); }
WL_INLINE float hsum_f(vf v) { float s = 0; for (int l = 0; l < WL_VL; l++) s += v[l]; return s; }
WL_INLINE double hsum_d(vd v) { double s = 0; for (int l = 0; l < WL_VL / 2; l++) s += v[l]; return s; }
/// Lane-wise m ? a : b for a comparison mask m (all ones or zero per lane).
WL_INLINE vf self(vi m, vf a, vf b) { return (vf)(((vu)a & (vu)m) | ((vu)b & ~(vu)m)); }
WL_INLINE vi seli(vi m, vi a, vi b) { return (a & m) | (b & ~m); }
WL_INLINE long minl(long a, long b) { return a < b ? a : b; }

// MARK: - Matrix products

/// Packs rows i0..<i0+mcb, depth p0..<p0+kcb of `a` into MR-row panels, zero-padded.
static void pack_a(wl_view a, long i0, long mcb, long p0, long kcb, float *restrict dst) {
    long panels = (mcb + MR - 1) / MR;
    if (a.rs == 1) {
        // Transposed operand: the block's mcb values of one depth step are contiguous (a few cache
        // lines of one row of the stored matrix, rows a.cs apart). Reading them whole, step by
        // step, with the row eight steps ahead prefetched, keeps the loads in order; panel by
        // panel, each line was fetched from memory by the first panel and found again by the others.
        long full = mcb / MR, rest = mcb - full * MR;
        for (long p = 0; p < kcb; p++) {
            const float *s = a.base + (p0 + p) * a.cs + i0;
            if (p + 8 < kcb)
                for (long o = 0; o < mcb; o += 16) __builtin_prefetch(s + 8 * a.cs + o, 0, 3);
            for (long panel = 0; panel < full; panel++) {
                float *d = dst + panel * MR * kcb + p * MR;
                const float *src = s + panel * MR;
                for (long r = 0; r < MR; r++) d[r] = src[r];
            }
            if (rest) {
                float *d = dst + full * MR * kcb + p * MR;
                const float *src = s + full * MR;
                for (long r = 0; r < MR; r++) d[r] = r < rest ? src[r] : 0;
            }
        }
        return;
    }
    for (long panel = 0; panel < panels; panel++) {
        float *d = dst + panel * MR * kcb;
        long row = i0 + panel * MR;
        long valid = minl(MR, i0 + mcb - row);
        for (long r = 0; r < MR; r++) {
            if (r < valid) {
                const float *s = a.base + (row + r) * a.rs + p0 * a.cs;
                if (a.cs == 1) {
                    for (long p = 0; p < kcb; p++) d[p * MR + r] = s[p];
                } else {
                    for (long p = 0; p < kcb; p++) d[p * MR + r] = s[p * a.cs];
                }
            } else {
                for (long p = 0; p < kcb; p++) d[p * MR + r] = 0;
            }
        }
    }
}

static void gemm_pack_b(wl_view b, long p0, long kcb, long j0, float *restrict d) {
    long valid = minl(NR, b.cols - j0);
    if (b.cs == 1 && valid == NR) {
        for (long p = 0; p < kcb; p++) {
            const float *s = b.base + (p0 + p) * b.rs + j0;
            stf(d + p * NR, ldf(s));
            stf(d + p * NR + WL_VL, ldf(s + WL_VL));
        }
        return;
    }
    for (long s = 0; s < NR; s++) {
        if (s < valid) {
            const float *src = b.base + p0 * b.rs + (j0 + s) * b.cs;
            for (long p = 0; p < kcb; p++) d[p * NR + s] = src[p * b.rs];
        } else {
            for (long p = 0; p < kcb; p++) d[p * NR + s] = 0;
        }
    }
}

/// The register-blocked kernel: C[0..<MR, 0..<NR] (=|+=) Apanel · Bpanel over kc steps, with
/// 2·MR vector accumulators (12 of the 16 registers of SSE2/AVX2; AVX-512 has 32).
WL_INLINE void micro_b(long kc, const float *restrict a, const float *restrict b, long bs, float *c, long ldc, int accumulate) {
    vf c00 = 0, c01 = 0, c10 = 0, c11 = 0, c20 = 0, c21 = 0;
    vf c30 = 0, c31 = 0, c40 = 0, c41 = 0, c50 = 0, c51 = 0;
    for (long p = 0; p < kc; p++) {
        vf b0 = ldf(b), b1 = ldf(b + WL_VL), x;
        x = a[0]; c00 = MADD(c00, x, b0); c01 = MADD(c01, x, b1);
        x = a[1]; c10 = MADD(c10, x, b0); c11 = MADD(c11, x, b1);
        x = a[2]; c20 = MADD(c20, x, b0); c21 = MADD(c21, x, b1);
        x = a[3]; c30 = MADD(c30, x, b0); c31 = MADD(c31, x, b1);
        x = a[4]; c40 = MADD(c40, x, b0); c41 = MADD(c41, x, b1);
        x = a[5]; c50 = MADD(c50, x, b0); c51 = MADD(c51, x, b1);
        a += MR;
        b += bs;
    }
#define WL_ROW(r, v0, v1) { \
        float *cr = c + (r) * ldc; \
        if (accumulate) { v0 += ldf(cr); v1 += ldf(cr + WL_VL); } \
        stf(cr, v0); stf(cr + WL_VL, v1); }
    WL_ROW(0, c00, c01) WL_ROW(1, c10, c11) WL_ROW(2, c20, c21)
    WL_ROW(3, c30, c31) WL_ROW(4, c40, c41) WL_ROW(5, c50, c51)
#undef WL_ROW
}

/// The register-blocked kernel on packed panels (B's steps NR floats apart).
WL_INLINE void micro(long kc, const float *restrict a, const float *restrict b, float *c, long ldc, int accumulate) {
    micro_b(kc, a, b, NR, c, ldc, accumulate);
}

/// The micro-kernel of skinny products, reading A in place: rows[r] points at row r of A at the
/// slice's first depth step (a row past the end repeats a valid row; the caller drops its result).
/// While it runs it prefetches `next`, the rows the following call reads, one cache line of each
/// per 16 steps, so a stream of 1 KB row pieces never waits for memory.
WL_INLINE void micro_rows(long kc, const float *const *rows, const float *const *next, const float *restrict b,
                          float *c, long ldc, int accumulate) {
    const float *a0 = rows[0], *a1 = rows[1], *a2 = rows[2], *a3 = rows[3], *a4 = rows[4], *a5 = rows[5];
    vf c00 = 0, c01 = 0, c10 = 0, c11 = 0, c20 = 0, c21 = 0;
    vf c30 = 0, c31 = 0, c40 = 0, c41 = 0, c50 = 0, c51 = 0;
    for (long pc = 0; pc < kc; pc += 16) {
        for (int r = 0; r < MR; r++) __builtin_prefetch(next[r] + pc, 0, 3);
        long pe = minl(pc + 16, kc);
        for (long p = pc; p < pe; p++) {
            vf b0 = ldf(b), b1 = ldf(b + WL_VL), x;
            x = a0[p]; c00 = MADD(c00, x, b0); c01 = MADD(c01, x, b1);
            x = a1[p]; c10 = MADD(c10, x, b0); c11 = MADD(c11, x, b1);
            x = a2[p]; c20 = MADD(c20, x, b0); c21 = MADD(c21, x, b1);
            x = a3[p]; c30 = MADD(c30, x, b0); c31 = MADD(c31, x, b1);
            x = a4[p]; c40 = MADD(c40, x, b0); c41 = MADD(c41, x, b1);
            x = a5[p]; c50 = MADD(c50, x, b0); c51 = MADD(c51, x, b1);
            b += NR;
        }
    }
#define WL_ROW(r, v0, v1) { \
        float *cr = c + (r) * ldc; \
        if (accumulate) { v0 += ldf(cr); v1 += ldf(cr + WL_VL); } \
        stf(cr, v0); stf(cr + WL_VL, v1); }
    WL_ROW(0, c00, c01) WL_ROW(1, c10, c11) WL_ROW(2, c20, c21)
    WL_ROW(3, c30, c31) WL_ROW(4, c40, c41) WL_ROW(5, c50, c51)
#undef WL_ROW
}

/// Half-width tiles: a B panel with exactly one vector of valid columns (a 16-column Krylov block
/// on AVX-512, whose NR is 32) would leave half of every multiply-add of the 6 × 2-vector kernels
/// on zero padding. These run 12 rows × 1 vector instead (12 accumulators), so every multiply-add
/// counts. Used only where NR = 2·VL and the valid width is exactly VL (no column past C's end).
#define MR_H (2 * MR)

WL_INLINE void micro_rows_h(long kc, const float *const *rows, const float *const *next, const float *restrict b,
                            float *c, long ldc, int accumulate) {
    vf c0 = 0, c1 = 0, c2 = 0, c3 = 0, c4 = 0, c5 = 0, c6 = 0, c7 = 0, c8 = 0, c9 = 0, c10 = 0, c11 = 0;
    const float *a0 = rows[0], *a1 = rows[1], *a2 = rows[2], *a3 = rows[3], *a4 = rows[4], *a5 = rows[5];
    const float *a6 = rows[6], *a7 = rows[7], *a8 = rows[8], *a9 = rows[9], *a10 = rows[10], *a11 = rows[11];
    for (long pc = 0; pc < kc; pc += 16) {
        for (int r = 0; r < MR_H; r++) __builtin_prefetch(next[r] + pc, 0, 3);
        long pe = minl(pc + 16, kc);
        for (long p = pc; p < pe; p++) {
            vf b0 = ldf(b), e;
            e = a0[p]; c0 = MADD(c0, e, b0); e = a1[p]; c1 = MADD(c1, e, b0); e = a2[p]; c2 = MADD(c2, e, b0);
            e = a3[p]; c3 = MADD(c3, e, b0); e = a4[p]; c4 = MADD(c4, e, b0); e = a5[p]; c5 = MADD(c5, e, b0);
            e = a6[p]; c6 = MADD(c6, e, b0); e = a7[p]; c7 = MADD(c7, e, b0); e = a8[p]; c8 = MADD(c8, e, b0);
            e = a9[p]; c9 = MADD(c9, e, b0); e = a10[p]; c10 = MADD(c10, e, b0); e = a11[p]; c11 = MADD(c11, e, b0);
            b += NR;
        }
    }
#define WL_ROW_H(r, v) { float *cr = c + (r) * ldc; if (accumulate) v += ldf(cr); stf(cr, v); }
    WL_ROW_H(0, c0) WL_ROW_H(1, c1) WL_ROW_H(2, c2) WL_ROW_H(3, c3) WL_ROW_H(4, c4) WL_ROW_H(5, c5)
    WL_ROW_H(6, c6) WL_ROW_H(7, c7) WL_ROW_H(8, c8) WL_ROW_H(9, c9) WL_ROW_H(10, c10) WL_ROW_H(11, c11)
}

/// The transposed-A counterpart: the 12 values of one depth step are contiguous at s.
WL_INLINE void micro_cols_h(long kc, const float *s, long cs, const float *restrict b, float *c, long ldc, int accumulate) {
    vf c0 = 0, c1 = 0, c2 = 0, c3 = 0, c4 = 0, c5 = 0, c6 = 0, c7 = 0, c8 = 0, c9 = 0, c10 = 0, c11 = 0;
    for (long p = 0; p < kc; p++) {
        __builtin_prefetch(s + 8 * cs, 0, 3);
        vf b0 = ldf(b), e;
        e = s[0]; c0 = MADD(c0, e, b0); e = s[1]; c1 = MADD(c1, e, b0); e = s[2]; c2 = MADD(c2, e, b0);
        e = s[3]; c3 = MADD(c3, e, b0); e = s[4]; c4 = MADD(c4, e, b0); e = s[5]; c5 = MADD(c5, e, b0);
        e = s[6]; c6 = MADD(c6, e, b0); e = s[7]; c7 = MADD(c7, e, b0); e = s[8]; c8 = MADD(c8, e, b0);
        e = s[9]; c9 = MADD(c9, e, b0); e = s[10]; c10 = MADD(c10, e, b0); e = s[11]; c11 = MADD(c11, e, b0);
        s += cs;
        b += NR;
    }
    WL_ROW_H(0, c0) WL_ROW_H(1, c1) WL_ROW_H(2, c2) WL_ROW_H(3, c3) WL_ROW_H(4, c4) WL_ROW_H(5, c5)
    WL_ROW_H(6, c6) WL_ROW_H(7, c7) WL_ROW_H(8, c8) WL_ROW_H(9, c9) WL_ROW_H(10, c10) WL_ROW_H(11, c11)
#undef WL_ROW_H
}

/// Skinny products (B at most SKINNY columns wide) with a row-major A: each element of A is used by
/// only one or two micro-tiles, so packing it would copy the whole matrix once for nothing (and
/// the copy, 96 row pieces per slice written six floats apart, cost as much as the arithmetic).
/// A is read where it lies, six row streams per micro-tile, with the next tile's rows prefetched.
static void gemm_rows(wl_view a, const float *packed_b, long panels_b, long k, long i0, long mcb,
                      long j0, long ncb, long n, float *c, long ldc, int accumulate) {
    float tile[MR * NR];
    long panels = (mcb + MR - 1) / MR;
    for (long p0 = 0; p0 < k; p0 += KC) {
        long kcb = minl(KC, k - p0);
        int acc = accumulate || p0 > 0;
        for (long jj = 0; jj < ncb; jj += NR) {
            long j = j0 + jj;
            const float *bp = packed_b + p0 * panels_b * NR + (j / NR) * kcb * NR;
            long nrb = minl(NR, n - j);
            int last_panel = jj + NR >= ncb;
            long panel = 0;
            if (nrb == WL_VL && NR == 2 * WL_VL) {
                // Half-width tiles over whole 12-row panels; the rest below in 6-row ones.
                for (; (panel + 2) * MR <= mcb; panel += 2) {
                    long ii = panel * MR;
                    const float *rows[MR_H], *next[MR_H];
                    long nrow = i0 + ii + MR_H < i0 + mcb ? i0 + ii + MR_H : i0, np0 = p0;
                    if (nrow == i0) np0 = last_panel ? p0 + KC : p0;
                    if (np0 >= k) np0 = p0;
                    for (int r = 0; r < MR_H; r++) {
                        rows[r] = a.base + (i0 + ii + r) * a.rs + p0;
                        long nr_ = nrow + r < i0 + mcb ? nrow + r : i0;
                        next[r] = a.base + nr_ * a.rs + np0;
                    }
                    micro_rows_h(kcb, rows, next, bp, c + (i0 + ii) * ldc + j, ldc, acc);
                }
            }
            for (; panel < panels; panel++) {
                long ii = panel * MR, mrb = minl(MR, mcb - ii);
                const float *rows[MR], *next[MR];
                // The rows the next call reads: the next panel, or the first one of the next slice.
                long nrow = i0 + ii + MR, np0 = p0;
                if (panel + 1 == panels) { nrow = i0; np0 = last_panel ? p0 + KC : p0; }
                if (np0 >= k) np0 = p0;
                for (int r = 0; r < MR; r++) {
                    long row = i0 + ii + (r < mrb ? r : 0);
                    rows[r] = a.base + row * a.rs + p0;
                    long nr_ = nrow + r < i0 + mcb ? nrow + r : i0;
                    next[r] = a.base + nr_ * a.rs + np0;
                }
                float *ct = c + (i0 + ii) * ldc + j;
                if (mrb == MR && nrb == NR) {
                    micro_rows(kcb, rows, next, bp, ct, ldc, acc);
                } else {
                    micro_rows(kcb, rows, next, bp, tile, NR, 0);
                    for (long r = 0; r < mrb; r++)
                        for (long s = 0; s < nrb; s++)
                            ct[r * ldc + s] = acc ? ct[r * ldc + s] + tile[r * NR + s] : tile[r * NR + s];
                }
            }
        }
    }
}

/// The micro-kernel of skinny products with a transposed A, read in place: the MR values of one
/// depth step are contiguous at s, the next step's cs floats further on. Each step prefetches the
/// values eight steps ahead; the tiles that follow find the same cache lines in L1.
WL_INLINE void micro_cols_b(long kc, const float *s, long cs, const float *restrict b, long bs, float *c, long ldc,
                            int accumulate) {
    vf c00 = 0, c01 = 0, c10 = 0, c11 = 0, c20 = 0, c21 = 0;
    vf c30 = 0, c31 = 0, c40 = 0, c41 = 0, c50 = 0, c51 = 0;
    for (long p = 0; p < kc; p++) {
        __builtin_prefetch(s + 8 * cs, 0, 3);
        vf b0 = ldf(b), b1 = ldf(b + WL_VL), x;
        x = s[0]; c00 = MADD(c00, x, b0); c01 = MADD(c01, x, b1);
        x = s[1]; c10 = MADD(c10, x, b0); c11 = MADD(c11, x, b1);
        x = s[2]; c20 = MADD(c20, x, b0); c21 = MADD(c21, x, b1);
        x = s[3]; c30 = MADD(c30, x, b0); c31 = MADD(c31, x, b1);
        x = s[4]; c40 = MADD(c40, x, b0); c41 = MADD(c41, x, b1);
        x = s[5]; c50 = MADD(c50, x, b0); c51 = MADD(c51, x, b1);
        s += cs;
        b += bs;
    }
#define WL_ROW(r, v0, v1) { \
        float *cr = c + (r) * ldc; \
        if (accumulate) { v0 += ldf(cr); v1 += ldf(cr + WL_VL); } \
        stf(cr, v0); stf(cr + WL_VL, v1); }
    WL_ROW(0, c00, c01) WL_ROW(1, c10, c11) WL_ROW(2, c20, c21)
    WL_ROW(3, c30, c31) WL_ROW(4, c40, c41) WL_ROW(5, c50, c51)
#undef WL_ROW
}

WL_INLINE void micro_cols(long kc, const float *s, long cs, const float *restrict b, float *c, long ldc, int accumulate) {
    micro_cols_b(kc, s, cs, b, NR, c, ldc, accumulate);
}

/// Skinny products with a transposed A (a.rs == 1): read in place like gemm_rows, for the same
/// reason. A last panel of fewer than MR rows is packed (reading MR values there could run past
/// the end of the matrix).
static void gemm_cols(wl_view a, const float *packed_b, long panels_b, long k, long i0, long mcb,
                      long j0, long ncb, long n, float *c, long ldc, int accumulate) {
    float tile[MR * NR];
    float *partial = NULL;
    long full = mcb / MR;
    if (full * MR < mcb) {
        partial = malloc(sizeof(float) * (size_t)(MR * KC));
        if (!partial) abort();
    }
    for (long p0 = 0; p0 < k; p0 += KC) {
        long kcb = minl(KC, k - p0);
        int acc = accumulate || p0 > 0;
        if (partial) pack_a(a, i0 + full * MR, mcb - full * MR, p0, kcb, partial);
        for (long jj = 0; jj < ncb; jj += NR) {
            long j = j0 + jj;
            const float *bp = packed_b + p0 * panels_b * NR + (j / NR) * kcb * NR;
            long nrb = minl(NR, n - j);
            long panel = 0;
            if (nrb == WL_VL && NR == 2 * WL_VL) {
                for (; (panel + 2) * MR <= mcb; panel += 2) {
                    long ii = panel * MR;
                    micro_cols_h(kcb, a.base + p0 * a.cs + i0 + ii, a.cs, bp, c + (i0 + ii) * ldc + j, ldc, acc);
                }
            }
            for (; panel * MR < mcb; panel++) {
                long ii = panel * MR, mrb = minl(MR, mcb - ii);
                float *ct = c + (i0 + ii) * ldc + j;
                if (mrb == MR && nrb == NR) {
                    micro_cols(kcb, a.base + p0 * a.cs + i0 + ii, a.cs, bp, ct, ldc, acc);
                    continue;
                }
                if (mrb == MR) micro_cols(kcb, a.base + p0 * a.cs + i0 + ii, a.cs, bp, tile, NR, 0);
                else micro(kcb, partial, bp, tile, NR, 0);
                for (long r = 0; r < mrb; r++)
                    for (long s = 0; s < nrb; s++)
                        ct[r * ldc + s] = acc ? ct[r * ldc + s] + tile[r * NR + s] : tile[r * NR + s];
            }
        }
    }
    free(partial);
}

static void gemm_tile(wl_view a, const float *packed_b, long panels_b, long k, long i0, long mcb,
                      long j0, long ncb, long n, float *c, long ldc, int flags) {
    int accumulate = flags & WL_GEMM_ACCUMULATE, lower = flags & WL_GEMM_LOWER;
    // Skinny: at most 64 columns (two AVX-512 panels, eight SSE2 ones).
    if (a.rs == 1 && a.cs != 1 && ncb <= SKINNY) {
        gemm_cols(a, packed_b, panels_b, k, i0, mcb, j0, ncb, n, c, ldc, accumulate);
        return;
    }
    if (a.cs == 1 && ncb <= SKINNY) {
        gemm_rows(a, packed_b, panels_b, k, i0, mcb, j0, ncb, n, c, ldc, accumulate);
        return;
    }
    long panels_a = (mcb + MR - 1) / MR;
    float *packed_a = malloc(sizeof(float) * (size_t)(panels_a * MR * KC));
    if (!packed_a) abort();
    float tile[MR * NR];
    for (long p0 = 0; p0 < k; p0 += KC) {
        long kcb = minl(KC, k - p0);
        pack_a(a, i0, mcb, p0, kcb, packed_a);
        int acc = accumulate || p0 > 0;
        for (long jj = 0; jj < ncb; jj += NR) {
            long j = j0 + jj;
            const float *bp = packed_b + p0 * panels_b * NR + (j / NR) * kcb * NR;
            long nrb = minl(NR, n - j);
            for (long ii = 0; ii < mcb; ii += MR) {
                long mrb = minl(MR, mcb - ii);
                // A Gram product's register tiles wholly above the diagonal: not needed.
                if (lower && j >= i0 + ii + mrb) continue;
                const float *ap = packed_a + (ii / MR) * MR * kcb;
                float *ct = c + (i0 + ii) * ldc + j;
                if (mrb == MR && nrb == NR) {
                    micro(kcb, ap, bp, ct, ldc, acc);
                } else {
                    micro(kcb, ap, bp, tile, NR, 0);
                    for (long r = 0; r < mrb; r++)
                        for (long s = 0; s < nrb; s++)
                            ct[r * ldc + s] = acc ? ct[r * ldc + s] + tile[r * NR + s] : tile[r * NR + s];
                }
            }
        }
    }
    free(packed_a);
}

/// Depth of gram_cols' slices: the slice's rows (GC·k floats, 32 KB at k = 128) stay in L1 while
/// every register tile passes over them (64 measured best of 32-256 on a Sapphire Rapids-class
/// Xeon: 0.81 of 128's time on a 10240 × 128 factor; the spectrum rows of `weightlens-bench
/// --screen`, GC edited between builds).
#define GC 64

/// The lower triangle of XᵀX (k×k, row stride ldc; the upper triangle is left unspecified) for X of
/// m rows × k columns, row stride ld: a LoRA factor's Gram matrix. Both operands are read where they
/// lie — the MR values of a row panel and the NR of a column panel are contiguous in each row of X
/// — so nothing is packed but a last panel narrower than MR or NR (reading a full one there could
/// run past the end of X). Packing both operands for the general GEMM copied X twice, into fresh
/// pages, for r/2 multiply-adds per value (docs/ENGINE.md, "Products of two thin factors").
static void k_gram_cols(const float *x, long m, long k, long ld, float *c, long ldc) {
    float tile[MR * NR];
    long fullI = k / MR * MR, fullJ = k / NR * NR;
    float *pa = fullI < k ? malloc(sizeof(float) * (size_t)(MR * GC)) : NULL;
    float *pb = fullJ < k ? malloc(sizeof(float) * (size_t)(NR * GC)) : NULL;
    if ((fullI < k && !pa) || (fullJ < k && !pb)) abort();
    if (m == 0)
        for (long i = 0; i < k; i++) for (long j = 0; j <= i; j++) c[i * ldc + j] = 0;
    for (long p0 = 0; p0 < m; p0 += GC) {
        long kcb = minl(GC, m - p0);
        int acc = p0 > 0;
        const float *xs = x + p0 * ld;
        for (long p = 0; p < kcb; p++) {
            for (long r = 0; pa && r < MR; r++) pa[p * MR + r] = fullI + r < k ? xs[p * ld + fullI + r] : 0;
            for (long q = 0; pb && q < NR; q++) pb[p * NR + q] = fullJ + q < k ? xs[p * ld + fullJ + q] : 0;
        }
        for (long j = 0; j < k; j += NR) {
            long nrb = minl(NR, k - j);
            const float *bp = nrb == NR ? xs + j : pb;
            long bs = nrb == NR ? ld : NR;
            for (long ii = 0; ii < k; ii += MR) {
                long mrb = minl(MR, k - ii);
                if (j >= ii + mrb) continue;   // wholly above the diagonal
                float *ct = c + ii * ldc + j;
                if (mrb == MR && nrb == NR) {
                    micro_cols_b(kcb, xs + ii, ld, bp, bs, ct, ldc, acc);
                    continue;
                }
                if (mrb == MR) micro_cols_b(kcb, xs + ii, ld, bp, bs, tile, NR, 0);
                else micro_b(kcb, pa, bp, bs, tile, NR, 0);
                for (long r = 0; r < mrb; r++)
                    for (long q = 0; q < nrb; q++)
                        ct[r * ldc + q] = acc ? ct[r * ldc + q] + tile[r * NR + q] : tile[r * NR + q];
            }
        }
    }
    free(pa);
    free(pb);
}

/// Sums of four vectors' lanes: (Σa, Σb, Σc, Σd), halving each to four lanes, then two transposing
/// adds (the 4×4 tile of k_gram_rows reduced in 17 vector operations instead of 16 lane-by-lane sums).
typedef float vf4 __attribute__((ext_vector_type(4)));
WL_INLINE vf4 q4(vf v) {
#if WL_VL == 16
    vf2 h = v.lo + v.hi;
    return h.lo + h.hi;
#elif WL_VL == 8
    return v.lo + v.hi;
#else
    return v;
#endif
}
WL_INLINE vf4 hsum4(vf a, vf b, vf c, vf d) {
    vf4 a4 = q4(a), b4 = q4(b), c4 = q4(c), d4 = q4(d);
    vf4 ab = __builtin_shufflevector(a4, b4, 0, 4, 1, 5) + __builtin_shufflevector(a4, b4, 2, 6, 3, 7);
    vf4 cd = __builtin_shufflevector(c4, d4, 0, 4, 1, 5) + __builtin_shufflevector(c4, d4, 2, 6, 3, 7);
    return __builtin_shufflevector(ab, cd, 0, 1, 4, 5) + __builtin_shufflevector(ab, cd, 2, 3, 6, 7);
}

/// k_gram_rows' register tile: GTI × GTJ rows' dot products at once. 4 × 4 (16 accumulators, 8
/// loads per 16 multiply-adds) where there are 32 vector registers; 3 × 3 with x86's 16, where
/// 4 × 4 spilled accumulators to the stack on every step.
#if WL_VL == 16 || defined(__aarch64__)
#define GTI 4
#define GTJ 4
#else
#define GTI 3
#define GTJ 3
#endif

/// Depth of k_gram_rows' slices: all k rows' pieces (k·GR floats, 512 KB at k = 128) stay in L2,
/// the four rows of a tile (16 KB) in L1 while the other rows pass.
#define GR 1024

/// The lower triangle of X·Xᵀ (k×k, row stride ldc; the upper triangle is left unspecified) for X of
/// k rows × n columns, row stride ld: the Gram matrix of a wide factor, whose rows are the long,
/// contiguous side. Each entry is a dot product of two rows, taken GTI rows by GTJ at a time over
/// slices of GR columns; nothing is packed (transposing the factor into GEMM panels cost as much as
/// the multiply-adds).
static void k_gram_rows(const float *x, long k, long n, long ld, float *c, long ldc) {
    for (long i = 0; i < k; i++) for (long j = 0; j <= i; j++) c[i * ldc + j] = 0;
    for (long p0 = 0; p0 < n; p0 += GR) {
        long pe = minl(n, p0 + GR), pv = p0 + (pe - p0) / WL_VL * WL_VL;
        for (long i0 = 0; i0 < k; i0 += GTI) {
            long ib = minl(GTI, k - i0);
            for (long j0 = 0; j0 <= i0; j0 += GTJ) {
                long jb = minl(GTJ, k - j0);
                if (ib == GTI && jb == GTJ) {
                    const float *ar[GTI], *br[GTJ];
                    for (int r = 0; r < GTI; r++) ar[r] = x + (i0 + r) * ld;
                    for (int q = 0; q < GTJ; q++) br[q] = x + (j0 + q) * ld;
                    // Four columns of accumulators whatever GTJ, the unused ones staying zero, so that
                    // hsum4 reduces each row as it is.
                    vf acc[GTI][4];
                    for (int r = 0; r < GTI; r++) for (int q = 0; q < 4; q++) acc[r][q] = 0;
                    for (long p = p0; p < pv; p += WL_VL) {
                        vf u[GTJ];
                        for (int q = 0; q < GTJ; q++) u[q] = ldf(br[q] + p);
                        for (int r = 0; r < GTI; r++) {
                            vf v = ldf(ar[r] + p);
                            for (int q = 0; q < GTJ; q++) acc[r][q] = MADD(acc[r][q], v, u[q]);
                        }
                    }
                    for (int r = 0; r < GTI; r++) {
                        vf4 sums = hsum4(acc[r][0], acc[r][1], acc[r][2], acc[r][3]);
                        for (int q = 0; q < GTJ; q++) {
                            float t = sums[q];
                            for (long p = pv; p < pe; p++) t += ar[r][p] * br[q][p];
                            c[(i0 + r) * ldc + j0 + q] += t;
                        }
                    }
                    continue;
                }
                // A last tile of fewer rows: one vector dot product per entry.
                for (long ri = 0; ri < ib; ri++) {
                    const float *ai = x + (i0 + ri) * ld;
                    for (long sj = 0; sj < jb && j0 + sj <= i0 + ri; sj++) {
                        const float *bj = x + (j0 + sj) * ld;
                        vf acc = 0;
                        for (long p = p0; p < pv; p += WL_VL) acc = MADD(acc, ldf(ai + p), ldf(bj + p));
                        float t = hsum4(acc, 0, 0, 0)[0];
                        for (long p = pv; p < pe; p++) t += ai[p] * bj[p];
                        c[(i0 + ri) * ldc + j0 + sj] += t;
                    }
                }
            }
        }
    }
}

// MARK: - Vectors

static float k_dot(const float *a, const float *b, long n) {
    vf s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    long i = 0;
    for (; i + 4 * WL_VL <= n; i += 4 * WL_VL) {
        s0 = MADD(s0, ldf(a + i), ldf(b + i));
        s1 = MADD(s1, ldf(a + i + WL_VL), ldf(b + i + WL_VL));
        s2 = MADD(s2, ldf(a + i + 2 * WL_VL), ldf(b + i + 2 * WL_VL));
        s3 = MADD(s3, ldf(a + i + 3 * WL_VL), ldf(b + i + 3 * WL_VL));
    }
    for (; i + WL_VL <= n; i += WL_VL) s0 = MADD(s0, ldf(a + i), ldf(b + i));
    float s = hsum_f((s0 + s1) + (s2 + s3));
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

static double k_dot_f64acc(const float *a, const float *b, long n) {
    vd s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    long i = 0;
    for (; i + 2 * WL_VL <= n; i += 2 * WL_VL) {
        vf x0 = ldf(a + i), y0 = ldf(b + i), x1 = ldf(a + i + WL_VL), y1 = ldf(b + i + WL_VL);
        s0 = MADD(s0, lo_d(x0), lo_d(y0));
        s1 = MADD(s1, hi_d(x0), hi_d(y0));
        s2 = MADD(s2, lo_d(x1), lo_d(y1));
        s3 = MADD(s3, hi_d(x1), hi_d(y1));
    }
    double s = hsum_d((s0 + s1) + (s2 + s3));
    for (; i < n; i++) s += (double)a[i] * (double)b[i];
    return s;
}

static double k_sqdiff_f64acc(const float *a, const float *b, long n) {
    vd s0 = 0, s1 = 0;
    long i = 0;
    for (; i + WL_VL <= n; i += WL_VL) {
        vf x = ldf(a + i), y = ldf(b + i);
        vd d0 = lo_d(x) - lo_d(y), d1 = hi_d(x) - hi_d(y);
        s0 = MADD(s0, d0, d0);
        s1 = MADD(s1, d1, d1);
    }
    double s = hsum_d(s0 + s1);
    for (; i < n; i++) { double d = (double)a[i] - (double)b[i]; s += d * d; }
    return s;
}

static void k_axpy(float alpha, const float *x, float *y, long n) {
    vf a = alpha;
    long i = 0;
    for (; i + WL_VL <= n; i += WL_VL) stf(y + i, MADD(ldf(y + i), a, ldf(x + i)));
    for (; i < n; i++) y[i] += alpha * x[i];
}

static void k_axpy_f32_f64(double alpha, const float *x, double *y, long n) {
    vd a = alpha;
    long i = 0;
    for (; i + WL_VL <= n; i += WL_VL) {
        vf v = ldf(x + i);
        std_(y + i, MADD(ldd(y + i), a, lo_d(v)));
        std_(y + i + WL_VL / 2, MADD(ldd(y + i + WL_VL / 2), a, hi_d(v)));
    }
    for (; i < n; i++) y[i] += alpha * (double)x[i];
}

static void k_axpy_d(double alpha, const double *x, double *y, long n);

static void k_gram_rows_d(const float *z, long ldz, long rows, long r0, long width, long cols, double *out) {
    enum { VD = WL_VL / 2, TB = 24 };
    // Rows are taken TB at a time and converted to Double once (TB·cols values, in L2 for the
    // SVD's cols ≤ 384); every 4 × WL_VL tile of the result then runs over them in 8 Double
    // registers with plain loads and broadcasts, so each row is fetched from memory once and
    // converted once, not once per tile (the CPU time this saves is in docs/ENGINE.md, step 3).
    double *zd = malloc((size_t)TB * (size_t)cols * sizeof(double));
    if (!zd) {   // no scratch: the same sums, one row at a time
        for (long t = 0; t < rows; t++)
            for (long r = 0; r < width; r++) k_axpy_f32_f64((double)z[t * ldz + r0 + r], z + t * ldz, out + r * cols, cols);
        return;
    }
    for (long t0 = 0; t0 < rows; t0 += TB) {
        long tb = minl(TB, rows - t0);
        for (long t = 0; t < tb; t++) {
            const float *src = z + (t0 + t) * ldz;
            double *dst = zd + t * cols;
            long c = 0;
            for (; c + WL_VL <= cols; c += WL_VL) {
                vf v = ldf(src + c);
                std_(dst + c, lo_d(v));
                std_(dst + c + VD, hi_d(v));
            }
            for (; c < cols; c++) dst[c] = (double)src[c];
        }
        long r = 0;
        for (; r + 4 <= width; r += 4) {
            long c = 0;
            for (; c + WL_VL <= cols; c += WL_VL) {
                double *o0 = out + r * cols + c, *o1 = o0 + cols, *o2 = o1 + cols, *o3 = o2 + cols;
                vd a00 = ldd(o0), a01 = ldd(o0 + VD), a10 = ldd(o1), a11 = ldd(o1 + VD);
                vd a20 = ldd(o2), a21 = ldd(o2 + VD), a30 = ldd(o3), a31 = ldd(o3 + VD);
                const double *zt = zd;
                for (long t = 0; t < tb; t++, zt += cols) {
                    vd x0 = ldd(zt + c), x1 = ldd(zt + c + VD), s;
                    const double *zr = zt + r0 + r;
                    s = zr[0]; a00 = MADD(a00, s, x0); a01 = MADD(a01, s, x1);
                    s = zr[1]; a10 = MADD(a10, s, x0); a11 = MADD(a11, s, x1);
                    s = zr[2]; a20 = MADD(a20, s, x0); a21 = MADD(a21, s, x1);
                    s = zr[3]; a30 = MADD(a30, s, x0); a31 = MADD(a31, s, x1);
                }
                std_(o0, a00); std_(o0 + VD, a01); std_(o1, a10); std_(o1 + VD, a11);
                std_(o2, a20); std_(o2 + VD, a21); std_(o3, a30); std_(o3 + VD, a31);
            }
            for (; c < cols; c++) {
                double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
                const double *zt = zd;
                for (long t = 0; t < tb; t++, zt += cols) {
                    double x = zt[c];
                    const double *zr = zt + r0 + r;
                    s0 += zr[0] * x; s1 += zr[1] * x; s2 += zr[2] * x; s3 += zr[3] * x;
                }
                out[r * cols + c] += s0; out[(r + 1) * cols + c] += s1;
                out[(r + 2) * cols + c] += s2; out[(r + 3) * cols + c] += s3;
            }
        }
        for (; r < width; r++) {
            double *o = out + r * cols;
            const double *zt = zd;
            for (long t = 0; t < tb; t++, zt += cols) k_axpy_d(zt[r0 + r], zt, o, cols);
        }
    }
    free(zd);
}

static double k_dot_d(const double *a, const double *b, long n) {
    vd s0 = 0, s1 = 0;
    long i = 0;
    for (; i + WL_VL <= n; i += WL_VL) {
        s0 = MADD(s0, ldd(a + i), ldd(b + i));
        s1 = MADD(s1, ldd(a + i + WL_VL / 2), ldd(b + i + WL_VL / 2));
    }
    double s = hsum_d(s0 + s1);
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

static void k_axpy_d(double alpha, const double *x, double *y, long n) {
    vd a = alpha;
    long i = 0;
    for (; i + WL_VL / 2 <= n; i += WL_VL / 2) std_(y + i, MADD(ldd(y + i), a, ldd(x + i)));
    for (; i < n; i++) y[i] += alpha * x[i];
}

static void k_gemm_d(long m, long n, long k, const double *a, long ars, long acs, const double *b, long ldb, double *c,
                     long ldc, int shape) {
    enum { VD = WL_VL / 2, W = 2 * VD };
    // Register tiles of 4 rows × 2 vectors held over the whole depth (the operands are small and
    // sit in L1/L2); B's rows are read as vectors, A's entries broadcast. Edges one row or one
    // column at a time.
    for (long i0 = 0; i0 < m; i0 += 4) {
        long rows = minl(4, m - i0);
        // The depth steps where the tile's A or B can be non-zero.
        long from = (shape & WL_GEMM_D_A_UPPER) ? i0 : 0;
        long j0 = 0;
        if (rows == 4) {
            for (; j0 + W <= n; j0 += W) {
                long p0 = (shape & WL_GEMM_D_B_LOWER) && j0 > from ? j0 : from;
                vd c00 = 0, c01 = 0, c10 = 0, c11 = 0, c20 = 0, c21 = 0, c30 = 0, c31 = 0;
                for (long p = p0; p < k; p++) {
                    const double *br = b + p * ldb + j0;
                    vd b0 = ldd(br), b1 = ldd(br + VD);
                    const double *ap = a + i0 * ars + p * acs;
                    vd x = ap[0];
                    c00 = MADD(c00, x, b0); c01 = MADD(c01, x, b1);
                    x = ap[ars];
                    c10 = MADD(c10, x, b0); c11 = MADD(c11, x, b1);
                    x = ap[2 * ars];
                    c20 = MADD(c20, x, b0); c21 = MADD(c21, x, b1);
                    x = ap[3 * ars];
                    c30 = MADD(c30, x, b0); c31 = MADD(c31, x, b1);
                }
                double *cr = c + i0 * ldc + j0;
                std_(cr, c00); std_(cr + VD, c01);
                std_(cr + ldc, c10); std_(cr + ldc + VD, c11);
                std_(cr + 2 * ldc, c20); std_(cr + 2 * ldc + VD, c21);
                std_(cr + 3 * ldc, c30); std_(cr + 3 * ldc + VD, c31);
            }
        }
        for (long i = i0; i < i0 + rows; i++) {
            for (long j = (rows == 4 ? j0 : 0); j < n; j++) {
                long p0 = (shape & WL_GEMM_D_B_LOWER) && j > from ? j : from;
                double sum = 0;
                for (long p = p0; p < k; p++) sum += a[i * ars + p * acs] * b[p * ldb + j];
                c[i * ldc + j] = sum;
            }
        }
    }
}

static void k_rank2_d(double *row, const double *v, const double *w, double vi_, double wi_, long n) {
    vd a = vi_, b = wi_;
    long i = 0;
    for (; i + WL_VL / 2 <= n; i += WL_VL / 2) std_(row + i, ldd(row + i) - MADD(a * ldd(w + i), b, ldd(v + i)));
    for (; i < n; i++) row[i] -= vi_ * w[i] + wi_ * v[i];
}

static void k_rot_d(double *x, double *y, double c, double s, long n) {
    vd cv = c, sv = s;
    long i = 0;
    for (; i + WL_VL / 2 <= n; i += WL_VL / 2) {
        vd xv = ldd(x + i), yv = ldd(y + i);
        std_(y + i, MADD(sv * xv, cv, yv));
        std_(x + i, MADD(cv * xv, -sv, yv));
    }
    for (; i < n; i++) {
        double f = y[i];
        y[i] = s * x[i] + c * f;
        x[i] = c * x[i] - s * f;
    }
}

static float k_moments_row(const float *x, long n, double shift, double *out) {
    vd s0 = 0, s1 = 0, q0 = 0, q1 = 0, r0 = 0, r1 = 0, sh = shift;
    vf mx = 0;
    long i = 0;
    for (; i + WL_VL <= n; i += WL_VL) {
        vf v = ldf(x + i);
        vd a = lo_d(v), b = hi_d(v), da = a - sh, db = b - sh;
        s0 += da; s1 += db;
        q0 = MADD(q0, da, da); q1 = MADD(q1, db, db);
        r0 = MADD(r0, a, a); r1 = MADD(r1, b, b);
        vf m = __builtin_elementwise_abs(v);
        mx = self(m > mx, m, mx);
    }
    double sum = hsum_d(s0 + s1), squares = hsum_d(q0 + q1), row = hsum_d(r0 + r1);
    float top = 0;
    for (int l = 0; l < WL_VL; l++) if (mx[l] > top) top = mx[l];
    for (; i < n; i++) {
        double dv = (double)x[i], d = dv - shift;
        sum += d; squares += d * d; row += dv * dv;
        float m = __builtin_fabsf(x[i]);
        if (m > top) top = m;
    }
    out[0] += sum; out[1] += squares; out[2] += row;
    return top;
}

static void k_symv_lower_d(const double *a, long lda, long len, long cols, const double *x, double *y) {
    enum { VD = WL_VL / 2 };
    long j = 0;
    for (; j + 4 <= cols; j += 4) {
        const double *c0 = a + j * lda, *c1 = c0 + lda, *c2 = c1 + lda, *c3 = c2 + lda;
        const double *col[4] = { c0, c1, c2, c3 };
        // The 4×4 diagonal block.
        for (long r = j; r < j + 4; r++) {
            for (long k = j; k <= r; k++) {
                double v = col[k - j][r];
                y[r] += v * x[k];
                if (r != k) y[k] += v * x[r];
            }
        }
        // Rows below it: y[r] += Σk S[r, j+k]·x[j+k] and y[j+k] += Σr S[r, j+k]·x[r].
        vd x0 = x[j], x1 = x[j + 1], x2 = x[j + 2], x3 = x[j + 3];
        vd s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        long r = j + 4;
        for (; r + VD <= len; r += VD) {
            vd a0 = ldd(c0 + r), a1 = ldd(c1 + r), a2 = ldd(c2 + r), a3 = ldd(c3 + r), xr = ldd(x + r);
            s0 = MADD(s0, a0, xr); s1 = MADD(s1, a1, xr); s2 = MADD(s2, a2, xr); s3 = MADD(s3, a3, xr);
            vd p = MADD(a0 * x0, a1, x1), q = MADD(a2 * x2, a3, x3);
            std_(y + r, ldd(y + r) + (p + q));
        }
        double t0 = hsum_d(s0), t1 = hsum_d(s1), t2 = hsum_d(s2), t3 = hsum_d(s3);
        for (; r < len; r++) {
            double xr = x[r];
            t0 += c0[r] * xr; t1 += c1[r] * xr; t2 += c2[r] * xr; t3 += c3[r] * xr;
            y[r] += c0[r] * x[j] + c1[r] * x[j + 1] + c2[r] * x[j + 2] + c3[r] * x[j + 3];
        }
        y[j] += t0; y[j + 1] += t1; y[j + 2] += t2; y[j + 3] += t3;
    }
    for (; j < cols; j++) {
        const double *c = a + j * lda;
        double t = c[j] * x[j];
        for (long r = j + 1; r < len; r++) { t += c[r] * x[r]; y[r] += c[r] * x[j]; }
        y[j] += t;
    }
}

static void k_syr2k_lower_d(double *a, long lda, long len, long cols, const double *v, long ldv, const double *w, long ldw,
                            long nb) {
    enum { VD = WL_VL / 2 };
    long j0 = 0;
    for (; j0 + 4 <= cols; j0 += 4) {
        long i = j0;
        for (; i + 2 * VD <= len; i += 2 * VD) {
            vd c00 = 0, c01 = 0, c10 = 0, c11 = 0, c20 = 0, c21 = 0, c30 = 0, c31 = 0;
            for (long p = 0; p < nb; p++) {
                const double *vp = v + p * ldv, *wp = w + p * ldw;
                vd v0 = ldd(vp + i), v1 = ldd(vp + i + VD), w0 = ldd(wp + i), w1 = ldd(wp + i + VD);
                vd s, t;
                s = wp[j0]; t = vp[j0];
                c00 = MADD(MADD(c00, v0, s), w0, t); c01 = MADD(MADD(c01, v1, s), w1, t);
                s = wp[j0 + 1]; t = vp[j0 + 1];
                c10 = MADD(MADD(c10, v0, s), w0, t); c11 = MADD(MADD(c11, v1, s), w1, t);
                s = wp[j0 + 2]; t = vp[j0 + 2];
                c20 = MADD(MADD(c20, v0, s), w0, t); c21 = MADD(MADD(c21, v1, s), w1, t);
                s = wp[j0 + 3]; t = vp[j0 + 3];
                c30 = MADD(MADD(c30, v0, s), w0, t); c31 = MADD(MADD(c31, v1, s), w1, t);
            }
#define WL_COL(c, x0, x1) { double *col = a + (j0 + (c)) * lda + i; \
                std_(col, ldd(col) - x0); std_(col + VD, ldd(col + VD) - x1); }
            WL_COL(0, c00, c01) WL_COL(1, c10, c11) WL_COL(2, c20, c21) WL_COL(3, c30, c31)
#undef WL_COL
        }
        for (; i < len; i++) {
            for (long c = 0; c < 4; c++) {
                double s = 0;
                for (long p = 0; p < nb; p++) s += v[p * ldv + i] * w[p * ldw + j0 + c] + w[p * ldw + i] * v[p * ldv + j0 + c];
                a[(j0 + c) * lda + i] -= s;
            }
        }
    }
    for (long j = j0; j < cols; j++) {
        for (long i = j; i < len; i++) {
            double s = 0;
            for (long p = 0; p < nb; p++) s += v[p * ldv + i] * w[p * ldw + j] + w[p * ldw + i] * v[p * ldv + j];
            a[j * lda + i] -= s;
        }
    }
}

// MARK: - Element conversion

/// IEEE half bits (in 32-bit lanes) → Float32 bits, exact: the 15 magnitude bits shifted into
/// place and scaled by 2^112 give normals and subnormals alike; all-ones exponents become inf/NaN.
WL_INLINE vu half_bits_to_float_bits(vu h) {
    vu sign = (h & 0x8000u) << 16;
    vu magnitude = h & 0x7FFFu;
    vu shifted = magnitude << 13;
    vu scaled = (vu)((vf)shifted * 0x1p112f);
    vu special = (vu)(magnitude >= 0x7C00u);
    return sign | (scaled & ~special) | ((shifted | 0x7F800000u) & special);
}

WL_INLINE float half_scalar(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, magnitude = h & 0x7FFFu, shifted = magnitude << 13, bits;
    if (magnitude >= 0x7C00u) {
        bits = sign | shifted | 0x7F800000u;
    } else {
        float f;
        __builtin_memcpy(&f, &shifted, 4);
        f *= 0x1p112f;
        __builtin_memcpy(&bits, &f, 4);
        bits |= sign;
    }
    float out;
    __builtin_memcpy(&out, &bits, 4);
    return out;
}

static void k_f16_to_f32(const uint16_t *src, float *dst, long n) {
    long i = 0;
#if WL_F16C == 16
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(src + i))));
#elif WL_F16C == 8
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
#else
    for (; i + WL_VL <= n; i += WL_VL) {
        vh raw;
        __builtin_memcpy(&raw, src + i, sizeof raw);
        vu bits = half_bits_to_float_bits(__builtin_convertvector(raw, vu));
        __builtin_memcpy(dst + i, &bits, sizeof bits);
    }
#endif
    for (; i < n; i++) dst[i] = half_scalar(src[i]);
}

static void k_bf16_to_f32(const uint16_t *src, float *dst, long n) {
    long i = 0;
    for (; i + WL_VL <= n; i += WL_VL) {
        vh raw;
        __builtin_memcpy(&raw, src + i, sizeof raw);
        vu bits = __builtin_convertvector(raw, vu) << 16;
        __builtin_memcpy(dst + i, &bits, sizeof bits);
    }
    for (; i < n; i++) { uint32_t bits = (uint32_t)src[i] << 16; __builtin_memcpy(dst + i, &bits, 4); }
}

/// float8 e4m3fn (bias 7, no infinities, S.1111.111 is NaN): the 7 magnitude bits shifted into a
/// Float's exponent and mantissa and scaled by 2^120 give normals and subnormals alike.
WL_INLINE vu e4m3_bits_to_float_bits(vu b) {
    vu sign = (b & 0x80u) << 24;
    vu magnitude = b & 0x7Fu;
    vu scaled = (vu)((vf)(magnitude << 20) * 0x1p120f);
    vu nan = (vu)(magnitude == 0x7Fu);
    return sign | (scaled & ~nan) | (0x7FC00000u & nan);
}

static void k_e4m3_to_f32(const uint8_t *src, float *dst, long n) {
    long i = 0;
    for (; i + WL_VL <= n; i += WL_VL) {
        vb raw;
        __builtin_memcpy(&raw, src + i, sizeof raw);
        vu bits = e4m3_bits_to_float_bits(__builtin_convertvector(raw, vu));
        __builtin_memcpy(dst + i, &bits, sizeof bits);
    }
    for (; i < n; i++) {
        vu one = 0;
        one[0] = src[i];
        uint32_t bits = e4m3_bits_to_float_bits(one)[0];
        __builtin_memcpy(dst + i, &bits, 4);
    }
}

/// float8 e5m2 is the top byte of an IEEE half.
static void k_e5m2_to_f32(const uint8_t *src, float *dst, long n) {
    long i = 0;
    for (; i + WL_VL <= n; i += WL_VL) {
        vb raw;
        __builtin_memcpy(&raw, src + i, sizeof raw);
        vu bits = half_bits_to_float_bits(__builtin_convertvector(raw, vu) << 8);
        __builtin_memcpy(dst + i, &bits, sizeof bits);
    }
    for (; i < n; i++) dst[i] = half_scalar((uint16_t)(src[i] << 8));
}

// MARK: - Statistics and rendering

static void k_stats_row(const float *x, long n, const wl_hist *h, wl_stats *acc, long *counts) {
    vd s0 = 0, s1 = 0, q0 = 0, q1 = 0, r0 = 0, r1 = 0, shift = h->shift;
    vf mn = acc->min, mx = acc->max, thr = h->near_zero;
    vi near = 0;
    long i = 0;
    for (; i + WL_VL <= n; i += WL_VL) {
        vf v = ldf(x + i);
        vd a = lo_d(v), b = hi_d(v), da = a - shift, db = b - shift;
        s0 += da; s1 += db;
        q0 = MADD(q0, da, da); q1 = MADD(q1, db, db);
        r0 = MADD(r0, a, a); r1 = MADD(r1, b, b);
        mn = self(v < mn, v, mn);   // a NaN compares false and never wins
        mx = self(v > mx, v, mx);
        near -= (__builtin_elementwise_abs(v) < thr);
    }
    double sum = hsum_d(s0 + s1), squares = hsum_d(q0 + q1), row = hsum_d(r0 + r1);
    float lo = acc->min, hi = acc->max;
    long nz = 0;
    for (int l = 0; l < WL_VL; l++) {
        if (mn[l] < lo) lo = mn[l];
        if (mx[l] > hi) hi = mx[l];
        nz += near[l];
    }
    for (; i < n; i++) {
        float v = x[i];
        double dv = (double)v, d = dv - h->shift;
        sum += d; squares += d * d; row += dv * dv;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
        if (__builtin_fabsf(v) < h->near_zero) nz++;
    }
    // Histogram: a second pass over the row while it is still in cache (none when bins is 0).
    long below = 0, above = 0, last = h->bins - 1;
    float hl = h->lo, hh = h->hi;
    for (long j = 0; j < (h->bins > 0 ? n : 0); j++) {
        float v = x[j];
        if (v < hl) { below++; continue; }
        if (v > hh) { above++; continue; }
        if (v != v) continue;
        long bin = (long)((double)(v - hl) * h->scale);
        counts[bin < last ? bin : last]++;
    }
    acc->sum += sum; acc->sum_squares += squares; acc->squares = row;
    acc->min = lo; acc->max = hi;
    acc->near_zero += nz; acc->below += below; acc->above += above;
}

static void k_fold_maxabs(float *acc, const float *x, long n) {
    long i = 0;
    for (; i + WL_VL <= n; i += WL_VL) {
        vf v = ldf(x + i), b = ldf(acc + i);
        stf(acc + i, self(__builtin_elementwise_abs(v) > __builtin_elementwise_abs(b), v, b));
    }
    for (; i < n; i++) if (__builtin_fabsf(x[i]) > __builtin_fabsf(acc[i])) acc[i] = x[i];
}

static void k_fold_sum(double *acc, const float *x, long n) {
    long i = 0;
    for (; i + WL_VL <= n; i += WL_VL) {
        vf v = ldf(x + i);
        std_(acc + i, ldd(acc + i) + lo_d(v));
        std_(acc + i + WL_VL / 2, ldd(acc + i + WL_VL / 2) + hi_d(v));
    }
    for (; i < n; i++) acc[i] += (double)x[i];
}

static void k_colorize(const float *x, long n, float k, float base, const uint32_t *lut, uint32_t *out) {
    vf kv = k, bv = base, zero_f = 0;
    vi zero_i = 0, top = 255, mid = 128;
    long i = 0;
    for (; i + WL_VL <= n; i += WL_VL) {
        vf f = ldf(x + i) * kv + bv;   // two roundings, as in Swift (no contraction in this target)
        vi inside = (f >= 0) & (f < 255.0f);
        vi truncated = __builtin_convertvector(self(inside, f, zero_f), vi);
        // f ≥ 255 → 255; f < 0 → 0; NaN (both comparisons false) → the centre colour.
        vi idx = seli(inside, truncated, seli(f >= 0, top, seli(f < 0, zero_i, mid)));
        for (int l = 0; l < WL_VL; l++) out[i + l] = lut[idx[l]];
    }
    for (; i < n; i++) {
        float f = x[i] * k + base;
        int idx = f >= 0 ? (f < 255 ? (int)f : 255) : (f < 0 ? 0 : 128);
        out[i] = lut[idx];
    }
}

static long k_run_length(const uint32_t *p, long n, uint32_t value) {
    vu target = value;
    long i = 0;
    for (; i + WL_VL <= n; i += WL_VL) {
        vu v;
        __builtin_memcpy(&v, p + i, sizeof v);
        if (__builtin_reduce_and(v == target) == 0) break;
    }
    while (i < n && p[i] == value) i++;
    return i;
}

#include "kernels_normal.h"
#include "kernels_qmax.h"

// Every entry but the integer screen's, which kernels_qmax_vnni.h replaces in a second table.
#define WL_TABLE_ENTRIES \
    .name = WL_NAME, .mr = MR, .nr = NR, .kc = KC, .mc = MC, .fused_normal = WL_FUSED_NORMAL, \
    .gemm_pack_b = gemm_pack_b, .gemm_tile = gemm_tile, .gram_cols = k_gram_cols, .gram_rows = k_gram_rows, .normal_apply = k_normal_apply, \
    .dot = k_dot, .dot_f64acc = k_dot_f64acc, .sqdiff_f64acc = k_sqdiff_f64acc, .axpy = k_axpy, \
    .axpy_f32_f64 = k_axpy_f32_f64, .gram_rows_d = k_gram_rows_d, .dot_d = k_dot_d, .axpy_d = k_axpy_d, .gemm_d = k_gemm_d, .rank2_d = k_rank2_d, .rot_d = k_rot_d, \
    .symv_lower_d = k_symv_lower_d, .syr2k_lower_d = k_syr2k_lower_d, .moments_row = k_moments_row, \
    .f16_to_f32 = k_f16_to_f32, .bf16_to_f32 = k_bf16_to_f32, .e4m3_to_f32 = k_e4m3_to_f32, .e5m2_to_f32 = k_e5m2_to_f32, \
    .stats_row = k_stats_row, .fold_maxabs = k_fold_maxabs, .fold_sum = k_fold_sum, \
    .colorize = k_colorize, .run_length = k_run_length

const wl_kernels WL_TABLE = {
    WL_TABLE_ENTRIES,
    .qdepth = 2, .qpack_rows = k_qpack_rows, .qpack_cols = k_qpack_cols, .qmax_panel = k_qmax_panel,
};
