// The integer screen behind the exact largest |entry| of a product L·R of two thin factors
// (Analysis/FactoredMaxAbs.swift, docs/ENGINE.md "Products of two thin factors").
//
// Every row of L and column of R is quantised to small integers with its own scale, chosen so that
// the integer products fit 16 bits (|q_L| ≤ 63, |q_R| ≤ 127, ‖q_L‖₂, ‖q_R‖₂ ≤ 181, hence
// |Σ q_L·q_R| ≤ 181² = 32761 by Cauchy–Schwarz). A tile of QMR × QNR products Σ q_L·q_R is then
// exact in 16-bit lanes, which on x86 runs through vpmaddubsw: 16 lanes × 2 multiply-adds per
// instruction and a 16-bit add, about four times the multiply-adds of an 8-lane Float FMA. With
// the quantisation errors' norms, each product gets an interval that holds the true entry
// (|x·y − x̃·ỹ| ≤ ‖x − x̃‖·‖y‖ + ‖x̃‖·‖y − ỹ‖); the caller recomputes exactly only the tiles whose
// upper bound reaches the best lower bound.
//
// Packed layout: depth steps of QD = 2 values (every path) or QD = 4 (the AVX-512 path on CPUs with
// VNNI, kernels_qmax_vnni.h; the table's `qdepth` says which). For a QMR-row panel of L, step p and
// row i: a[p·QMR + i] is the 32-bit word of bytes q_{QD·p+t} + 64 (unsigned, 1…127; the offset makes
// the row operand unsigned for vpmaddubsw and vpdpbusd, the caller's column term `corr` takes
// 64·Σq_R back out): with QD = 2 the pair (q_{2p} + 64, q_{2p+1} + 64) twice. For a QNR-column
// panel of R: b[p·QD·QNR + QD·j + t] = q_{QD·p+t} of column j (signed). A depth that is not a
// multiple of QD is padded with q = 0 on both sides (the row byte 64, the column byte 0).
//
// Included by kernels_body.h (one copy per instruction set).

#if defined(__x86_64__)
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif

/// Rounds half away from zero by truncation (cvttsd2si): no libm call on any path.
WL_INLINE long q_round(double x) { return (long)(x + (x >= 0 ? 0.5 : -0.5)); }

/// The smallest Float not below x ≥ 0 (bounds are rounded outwards).
WL_INLINE float up_f(double x) {
    float f = (float)x;
    if ((double)f < x) {
        uint32_t bits;
        __builtin_memcpy(&bits, &f, 4);
        bits++;
        __builtin_memcpy(&f, &bits, 4);
    }
    return f;
}

/// Scale, quantised values and error terms of one vector of `k` values (stride `st`): q_t =
/// round(x_t / s) with |q_t| ≤ limit and Σ q_t² ≤ 181². terms: s, ‖x − s·q‖₂, ‖s·q‖₂, ‖x‖₂ (all
/// rounded up). Returns Σ q_t, or LONG_MIN when a value is not finite.
static long q_vector(const float *x, long st, long k, double limit, int8_t *q, float *terms) {
    double mx = 0, ss = 0;
    for (long t = 0; t < k; t++) {
        double v = x[t * st];
        if (!(v - v == 0)) return -0x7fffffffffffffffL - 1;   // NaN or ±infinity
        double a = v < 0 ? -v : v;
        mx = a > mx ? a : mx;
        ss += v * v;
    }
    if (mx == 0) {
        for (long t = 0; t < k; t++) q[t] = 0;
        terms[0] = terms[1] = terms[2] = terms[3] = 0;
        return 0;
    }
    // ‖round(x/s)‖ ≤ ‖x‖/s + √k/2, so s = ‖x‖ / (181 − √k/2) keeps the norm in bounds; the loop
    // below checks it in integers all the same.
    // (The caller keeps k ≤ WL_QMAX_DEPTH, so 181 − √k/2 ≥ 117.)
    double s = mx / limit, byNorm = __builtin_elementwise_sqrt(ss) / (181 - 0.5 * __builtin_elementwise_sqrt((double)k));
    s = byNorm > s ? byNorm : s;
    for (;;) {
        float sf = up_f(s);
        if (sf == 0) sf = 0x1p-149f;
        double inv = 1 / (double)sf;   // q need not be the nearest integer: e below is exact either way
        long qq = 0, sum = 0;
        double ee = 0;
        for (long t = 0; t < k; t++) {
            double v = x[t * st];
            long r = q_round(v * inv);
            if (r > limit) r = (long)limit;
            if (r < -limit) r = -(long)limit;
            q[t] = (int8_t)r;
            qq += r * r;
            sum += r;
            double e = v - (double)r * sf;   // exact: r has 7 bits, sf 24
            ee += e * e;
        }
        if (qq <= 181 * 181) {
            terms[0] = sf;
            terms[1] = up_f(__builtin_elementwise_sqrt(ee) * (1 + 0x1p-30));
            terms[2] = up_f((double)sf * __builtin_elementwise_sqrt((double)qq) * (1 + 0x1p-30));
            terms[3] = up_f(__builtin_elementwise_sqrt(ss) * (1 + 0x1p-30));
            return sum;
        }
        s = (double)sf * 1.0078125;
    }
}

typedef int8_t vs8 __attribute__((ext_vector_type(WL_VL)));

/// Rounds to the nearest integer (ties to even) for |y| < 2²²: no libm call, no SSE4.1 needed.
WL_INLINE vf q_rint(vf y) { return (y + 0x1.8p23f) - 0x1.8p23f; }

/// Σ of a vector of Doubles by halving (any order will do: every sum here is rounded up afterwards
/// by far more than its rounding errors).
WL_INLINE double q_hsum_d(vd v) {
#if WL_VL == 16
    typedef double d4 __attribute__((ext_vector_type(4)));
    typedef double d2 __attribute__((ext_vector_type(2)));
    d4 h = v.lo + v.hi;
    d2 g = h.lo + h.hi;
    return g[0] + g[1];
#elif WL_VL == 8
    typedef double d2 __attribute__((ext_vector_type(2)));
    d2 g = v.lo + v.hi;
    return g[0] + g[1];
#else
    return v[0] + v[1];
#endif
}

/// q_vector for a contiguous vector, WL_VL values at a time; the scalar q_vector when its first
/// scale does not keep Σq² within bounds (or for the tail's sake when k is not a multiple of WL_VL).
static long q_vector_contiguous(const float *x, long k, double limit, int8_t *q, float *terms) {
    if (k % WL_VL != 0) return q_vector(x, 1, k, limit, q, terms);
    vf mx = 0;
    vd ss0 = 0, ss1 = 0;
    vi bad = 0;
    for (long t = 0; t < k; t += WL_VL) {
        vf v = ldf(x + t);
        bad |= (v - v) != 0;
        vf a = __builtin_elementwise_abs(v);
        mx = self(a > mx, a, mx);
        vd lo = lo_d(v), hi = hi_d(v);
        ss0 += lo * lo;
        ss1 += hi * hi;
    }
    // Reductions across the lanes rather than loops over them: at k = 128 (a rank-128 LoRA's
    // rows) the lane loops cost as much as the arithmetic.
    if (__builtin_reduce_or(bad)) return -0x7fffffffffffffffL - 1;
    double m = __builtin_reduce_max(mx);
    double ss = q_hsum_d(ss0 + ss1);
    if (m == 0) {
        for (long t = 0; t < k; t++) q[t] = 0;
        terms[0] = terms[1] = terms[2] = terms[3] = 0;
        return 0;
    }
    double s = m / limit, byNorm = __builtin_elementwise_sqrt(ss) / (181 - 0.5 * __builtin_elementwise_sqrt((double)k));
    s = byNorm > s ? byNorm : s;
    float sf = up_f(s);
    // A scale this small has a reciprocal past Float's range: the scalar path works in Double.
    if (sf < 0x1p-100f) return q_vector(x, 1, k, limit, q, terms);
    vf inv = (float)(1 / (double)sf), lim = (float)limit, sfv = sf;
    vi qq = 0, sum = 0;
    vd ee0 = 0, ee1 = 0;
    for (long t = 0; t < k; t += WL_VL) {
        vf v = ldf(x + t);
        vf r = q_rint(v * inv);
        r = self(r > lim, lim, r);
        r = self(r < -lim, -lim, r);
        vi qi = __builtin_convertvector(r, vi);
        qq += qi * qi;
        sum += qi;
        vs8 qb = __builtin_convertvector(qi, vs8);
        __builtin_memcpy(q + t, &qb, sizeof qb);
        vd e0 = lo_d(v) - lo_d(r) * lo_d(sfv), e1 = hi_d(v) - hi_d(r) * hi_d(sfv);   // exact in Double
        ee0 += e0 * e0;
        ee1 += e1 * e1;
    }
    long qsum = __builtin_reduce_add(qq), total = __builtin_reduce_add(sum);
    if (qsum > 181 * 181) return q_vector(x, 1, k, limit, q, terms);
    double ee = q_hsum_d(ee0 + ee1);
    terms[0] = sf;
    terms[1] = up_f(__builtin_elementwise_sqrt(ee) * (1 + 0x1p-30));
    terms[2] = up_f((double)sf * __builtin_elementwise_sqrt((double)qsum) * (1 + 0x1p-30));
    terms[3] = up_f(__builtin_elementwise_sqrt(ss) * (1 + 0x1p-30));
    return total;
}

/// Quantises rows 0..<rows (≤ WL_QMR) of L (row stride ld, depth k) into one packed panel `dst`
/// (⌈k/qd⌉ steps of WL_QMR words); rows past `rows` are zero. terms: 3 × WL_QMR Floats
/// (scale, error norm, norm of the quantised row). Returns 0, or 1 when a value is not finite.
/// `scratch`: k bytes.
WL_INLINE int q_pack_rows(const float *l, long ld, long rows, long k, uint32_t *dst, float *terms, int8_t *scratch, long qd) {
    long kp = (k + qd - 1) / qd;
    for (long i = 0; i < WL_QMR; i++) {
        float t[4] = {0, 0, 0, 0};
        if (i < rows) {
            if (q_vector_contiguous(l + i * ld, k, 63, scratch, t) == -0x7fffffffffffffffL - 1) return 1;
        } else {
            for (long p = 0; p < k; p++) scratch[p] = 0;
        }
        terms[i] = t[0];
        terms[WL_QMR + i] = t[1];
        terms[2 * WL_QMR + i] = t[2];
        // The row's bytes offset by +64 in place, then one word per step (a last step past k is
        // padded with 64, q = 0).
        uint8_t *biased = (uint8_t *)scratch;
        for (long d = 0; d < k; d++) biased[d] = (uint8_t)(scratch[d] + 64);
        long whole = k / qd;
        if (qd == 4) {
            for (long p = 0; p < whole; p++) { uint32_t word; __builtin_memcpy(&word, biased + 4 * p, 4); dst[p * WL_QMR + i] = word; }
        } else {
            for (long p = 0; p < whole; p++) {
                uint16_t pair;
                __builtin_memcpy(&pair, biased + 2 * p, 2);
                dst[p * WL_QMR + i] = (uint32_t)pair | (uint32_t)pair << 16;
            }
        }
        if (whole < kp) {
            uint32_t word = 0x40404040u;
            for (long d = whole * qd; d < k; d++) word = (word & ~(0xffu << (8 * (d - whole * qd)))) | (uint32_t)biased[d] << (8 * (d - whole * qd));
            dst[whole * WL_QMR + i] = qd == 2 ? (word & 0xffffu) | word << 16 : word;
        }
    }
    return 0;
}

static int k_qpack_rows(const float *l, long ld, long rows, long k, uint32_t *dst, float *terms, int8_t *scratch) {
    return q_pack_rows(l, ld, rows, k, dst, terms, scratch, 2);
}

/// One column into its bytes of a packed panel (every depth step; the padding past k zero).
WL_INLINE void q_put_column(const int8_t *q, long k, long j, int8_t *dst, long qd) {
    long padded = (k + qd - 1) / qd * qd;
    for (long d = 0; d < padded; d++) dst[d / qd * qd * WL_QNR + qd * j + d % qd] = d < k ? q[d] : 0;
}

#if WL_VL == 16
typedef int8_t vs8x32 __attribute__((ext_vector_type(32)));
typedef int8_t vs8x64 __attribute__((ext_vector_type(64)));
#define WL_Q4(l) l, 16 + l, 32 + l, 48 + l
/// Four steps of 16 columns' bytes (stage[t][l] = q_t of column l) to the quad layout: out[4l + t].
WL_INLINE void q_put_quads(const vs8 *stage, int8_t *out) {
    vs8x32 ab = __builtin_shufflevector(stage[0], stage[1], 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18,
                                        19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31);
    vs8x32 cd = __builtin_shufflevector(stage[2], stage[3], 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18,
                                        19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31);
    vs8x64 all = __builtin_shufflevector(ab, cd, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
                                         22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43,
                                         44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63);
    vs8x64 mixed = __builtin_shufflevector(all, all, WL_Q4(0), WL_Q4(1), WL_Q4(2), WL_Q4(3), WL_Q4(4), WL_Q4(5), WL_Q4(6),
                                           WL_Q4(7), WL_Q4(8), WL_Q4(9), WL_Q4(10), WL_Q4(11), WL_Q4(12), WL_Q4(13), WL_Q4(14),
                                           WL_Q4(15));
    __builtin_memcpy(out, &mixed, sizeof mixed);
}
#undef WL_Q4
#endif

/// k_qpack_cols for a full panel, WL_VL columns per vector (each lane one column, as q_vector
/// does it); a column whose first scale does not keep Σq² within bounds is redone by q_vector.
WL_INLINE int q_cols_full(const float *r, long ld, long k, int8_t *dst, float *terms, int32_t *corr, int8_t *scratch, long qd) {
    for (long j0 = 0; j0 < WL_QNR; j0 += WL_VL) {
        vf mx = 0;
        vd ss0 = 0, ss1 = 0;
        vi bad = 0;
        for (long p = 0; p < k; p++) {
            vf v = ldf(r + p * ld + j0);
            bad |= (v - v) != 0;
            vf a = __builtin_elementwise_abs(v);
            mx = self(a > mx, a, mx);
            vd lo = lo_d(v), hi = hi_d(v);
            ss0 += lo * lo;
            ss1 += hi * hi;
        }
        vf sfv, inv;
        double ssl[WL_VL];
        int tiny[WL_VL];
        for (int l = 0; l < WL_VL; l++) {
            if (bad[l]) return 1;
            ssl[l] = l < WL_VL / 2 ? ss0[l] : ss1[l - WL_VL / 2];
            double s = mx[l] / 127.0, byNorm = __builtin_elementwise_sqrt(ssl[l]) / (181 - 0.5 * __builtin_elementwise_sqrt((double)k));
            s = byNorm > s ? byNorm : s;
            float sf = up_f(s);
            // A zero column: every q and error 0. A scale below 2⁻¹⁰⁰ (reciprocal past Float's
            // range): q = 0 here, the column redone by q_vector below, which works in Double.
            tiny[l] = mx[l] != 0 && sf < 0x1p-100f;
            if (mx[l] == 0 || tiny[l]) sf = 1;
            sfv[l] = sf;
            inv[l] = tiny[l] ? 0 : (float)(1 / (double)sf);
        }
        vi qq = 0, sum = 0;
        vd ee0 = 0, ee1 = 0;
        const vf lim = 127;
#if WL_VL == 16
        vs8 stage[4];
#endif
        for (long p = 0; p < k; p++) {
            vf v = ldf(r + p * ld + j0);
            vf q = q_rint(v * inv);
            q = self(q > lim, lim, q);
            q = self(q < -lim, -lim, q);
            vi qi = __builtin_convertvector(q, vi);
            qq += qi * qi;
            sum += qi;
#if WL_VL == 16
            if (qd == 4) {
                // Four depth steps of 16 columns gathered, then written as the quad layout's 64
                // bytes at once (a byte interleave instead of 64 single-byte stores).
                stage[p & 3] = __builtin_convertvector(qi, vs8);
                if ((p & 3) == 3 || p == k - 1) {
                    for (long t = (p & 3) + 1; t < 4; t++) stage[t] = 0;
                    q_put_quads(stage, dst + p / 4 * 4 * WL_QNR + 4 * j0);
                }
            } else
#endif
            {
                int8_t *d = dst + p / qd * qd * WL_QNR + qd * j0 + p % qd;
                for (int l = 0; l < WL_VL; l++) d[qd * l] = (int8_t)qi[l];
            }
            vd e0 = lo_d(v) - lo_d(q) * lo_d(sfv), e1 = hi_d(v) - hi_d(q) * hi_d(sfv);   // exact in Double
            ee0 += e0 * e0;
            ee1 += e1 * e1;
        }
        for (long p = k; p % qd != 0; p++)
            for (int l = 0; l < WL_VL; l++) dst[p / qd * qd * WL_QNR + qd * (j0 + l) + p % qd] = 0;
        for (int l = 0; l < WL_VL; l++) {
            long j = j0 + l;
            float t[4];
            long total = sum[l];
            if (mx[l] == 0) {
                t[0] = t[1] = t[2] = t[3] = 0;
            } else if (qq[l] > 181 * 181 || tiny[l]) {
                total = q_vector(r + j, ld, k, 127, scratch, t);
                q_put_column(scratch, k, j, dst, qd);
            } else {
                double ee = l < WL_VL / 2 ? ee0[l] : ee1[l - WL_VL / 2];
                t[0] = sfv[l];
                t[1] = up_f(__builtin_elementwise_sqrt(ee) * (1 + 0x1p-30));
                t[3] = up_f(__builtin_elementwise_sqrt(ssl[l]) * (1 + 0x1p-30));
            }
            terms[j] = t[0];
            terms[WL_QNR + j] = t[1];
            terms[2 * WL_QNR + j] = t[3];
            corr[j] = (int32_t)(64 * total);
        }
    }
    return 0;
}

/// Quantises columns 0..<cols (≤ WL_QNR) of R (depth k rows, row stride ld) into one packed panel
/// `dst` (⌈k/qd⌉ steps of qd·WL_QNR bytes); columns past `cols` are zero. terms: 3 × WL_QNR Floats
/// (scale, error norm, norm of the column itself); corr: 64·Σq per column (|Σq| ≤ 127·k, so it fits).
/// Returns 0, or 1 when a value is not finite. `scratch`: k bytes.
WL_INLINE int q_pack_cols(const float *r, long ld, long cols, long k, int8_t *dst, float *terms, int32_t *corr, int8_t *scratch,
                          long qd) {
    if (cols == WL_QNR) return q_cols_full(r, ld, k, dst, terms, corr, scratch, qd);
    for (long j = 0; j < WL_QNR; j++) {
        float t[4] = {0, 0, 0, 0};
        long sum = 0;
        if (j < cols) {
            sum = q_vector(r + j, ld, k, 127, scratch, t);
            if (sum == -0x7fffffffffffffffL - 1) return 1;
        } else {
            for (long p = 0; p < k; p++) scratch[p] = 0;
        }
        terms[j] = t[0];
        terms[WL_QNR + j] = t[1];
        terms[2 * WL_QNR + j] = t[3];
        corr[j] = (int32_t)(64 * sum);
        q_put_column(scratch, k, j, dst, qd);
    }
    return 0;
}

static int k_qpack_cols(const float *r, long ld, long cols, long k, int8_t *dst, float *terms, int32_t *corr, int8_t *scratch) {
    return q_pack_cols(r, ld, cols, k, dst, terms, corr, scratch, 2);
}

#if defined(__x86_64__) && WL_VL >= 8
// The quad layout's packers, for the VNNI tables (kernels_qmax_vnni.h, kernels_qmax_avxvnni.h).
static int k_qpack_rows4(const float *l, long ld, long rows, long k, uint32_t *dst, float *terms, int8_t *scratch) {
    return q_pack_rows(l, ld, rows, k, dst, terms, scratch, 4);
}

static int k_qpack_cols4(const float *r, long ld, long cols, long k, int8_t *dst, float *terms, int32_t *corr, int8_t *scratch) {
    return q_pack_cols(r, ld, cols, k, dst, terms, corr, scratch, 4);
}
#endif

/// acc[i·QNR + j] = Σ_p a'·b over the panel pair, exact in 32 bits (before the offset correction):
/// the SSE2 and NEON products (AVX2 and AVX-512 have their own panel kernels, q_panel_maddubs and
/// kernels_qmax_vnni.h). Only the low 16 bits matter: the true Σ q_L·q_R fits them.
static void q_products(const uint32_t *restrict a, const int8_t *restrict b, long kp, int32_t *restrict acc) {
#if defined(__x86_64__)
    // SSE2: pmaddwd on 16-bit operands (the bytes widened), 32-bit sums; 8 columns at a time,
    // so 6 × 2 accumulators stay in the 16 registers.
    const __m128i zero = _mm_setzero_si128();
    for (long g = 0; g < 4; g++) {
        __m128i c00 = zero, c01 = zero, c10 = zero, c11 = zero, c20 = zero, c21 = zero;
        __m128i c30 = zero, c31 = zero, c40 = zero, c41 = zero, c50 = zero, c51 = zero;
        for (long p = 0; p < kp; p++) {
            __m128i raw = _mm_loadu_si128((const __m128i *)(b + p * 64 + 16 * g));
            __m128i sign = _mm_cmpgt_epi8(zero, raw);
            __m128i b0 = _mm_unpacklo_epi8(raw, sign), b1 = _mm_unpackhi_epi8(raw, sign);
            // Rows' words widened to 16 bits: each row's (a'_2p, a'_2p+1) pair twice, in 32-bit lanes
            // 0, 1 for the first row of the two and 2, 3 for the second.
            __m128i a0123 = _mm_loadu_si128((const __m128i *)(a + p * 6));
            __m128i a01 = _mm_unpacklo_epi8(a0123, zero), a23 = _mm_unpackhi_epi8(a0123, zero);
            __m128i a45 = _mm_unpacklo_epi8(_mm_loadl_epi64((const __m128i *)(a + p * 6 + 4)), zero);
            __m128i x;
#define WL_Q(src, lane, v0, v1) \
            x = _mm_shuffle_epi32(src, _MM_SHUFFLE(lane, lane, lane, lane)); \
            v0 = _mm_add_epi32(v0, _mm_madd_epi16(x, b0)); \
            v1 = _mm_add_epi32(v1, _mm_madd_epi16(x, b1));
            WL_Q(a01, 0, c00, c01) WL_Q(a01, 2, c10, c11)
            WL_Q(a23, 0, c20, c21) WL_Q(a23, 2, c30, c31)
            WL_Q(a45, 0, c40, c41) WL_Q(a45, 2, c50, c51)
#undef WL_Q
        }
#define WL_S(r, v0, v1) \
        _mm_storeu_si128((__m128i *)(acc + (r) * 32 + 8 * g), v0); \
        _mm_storeu_si128((__m128i *)(acc + (r) * 32 + 8 * g + 4), v1);
        WL_S(0, c00, c01) WL_S(1, c10, c11) WL_S(2, c20, c21)
        WL_S(3, c30, c31) WL_S(4, c40, c41) WL_S(5, c50, c51)
#undef WL_S
    }
#elif defined(__aarch64__)
    // NEON: 8-bit products widened to 16 bits (vmull_s8; the offset row bytes are ≤ 127, so they
    // are valid signed bytes), pairs added into 32-bit sums (vpadalq_s16); 8 columns at a time.
    for (long g = 0; g < 4; g++) {
        int32x4_t c[6][2];
        for (int r = 0; r < 6; r++) c[r][0] = c[r][1] = vdupq_n_s32(0);
        for (long p = 0; p < kp; p++) {
            int8x16_t raw = vld1q_s8(b + p * 64 + 16 * g);
            for (int r = 0; r < 6; r++) {
                int8x16_t x = vreinterpretq_s8_u32(vdupq_n_u32(a[p * 6 + r]));
                c[r][0] = vpadalq_s16(c[r][0], vmull_s8(vget_low_s8(x), vget_low_s8(raw)));
                c[r][1] = vpadalq_s16(c[r][1], vmull_s8(vget_high_s8(x), vget_high_s8(raw)));
            }
        }
        for (int r = 0; r < 6; r++) {
            vst1q_s32(acc + r * 32 + 8 * g, c[r][0]);
            vst1q_s32(acc + r * 32 + 8 * g + 4, c[r][1]);
        }
    }
#else
#error "no integer product kernel for this architecture"
#endif
}

/// The largest lane of a vector of non-negative finite values, by halving (no scalar loop).
WL_INLINE float q_hmax(vf v) {
    typedef float f8 __attribute__((ext_vector_type(8)));
    typedef float f4 __attribute__((ext_vector_type(4)));
    typedef float f2 __attribute__((ext_vector_type(2)));
#if WL_VL == 16
    f8 v8 = __builtin_elementwise_max(v.lo, v.hi);
    f4 v4 = __builtin_elementwise_max(v8.lo, v8.hi);
#elif WL_VL == 8
    f4 v4 = __builtin_elementwise_max(v.lo, v.hi);
#else
    f4 v4 = v;
#endif
    f2 v2 = __builtin_elementwise_max(v4.lo, v4.hi);
    return v2[0] > v2[1] ? v2[0] : v2[1];
}

/// Bounds of a tile. Entry (i, j) lies within e_ij = ea_i·nb_j + na_i·eb_j of x_ij = |c_ij|·sa_i·sb_j
/// (the quantised product; ea, eb the error norms, na, nb the norms of the quantised row and the
/// column). The tile takes E = max ea · max nb + max na · max eb ≥ every e_ij: its largest x plus E
/// bounds every entry, and the entry of the largest x is at least that x − E. On a LoRA's factors the
/// error terms vary little from row to row, so the bounds are barely looser than entry by entry, and
/// each product costs a handful of vector operations instead of thirteen. Bounds are computed in
/// Float; the caller's slack widens them by a few units of rounding.

/// What every tile against one column panel shares: the corrections and scales of its columns and
/// the largest error and norm terms among them. ct: column terms (scale, error norm, norm) × QNR.
typedef struct q_cols {
    vi kv[WL_QNR / WL_VL];
    vf sb[WL_QNR / WL_VL];
    float eb, nb;
} q_cols;

WL_INLINE q_cols q_col_terms(const float *ct, const int32_t *corr) {
    q_cols cc;
    vf ebMax = 0, nbMax = 0;
    for (int v = 0; v < WL_QNR / WL_VL; v++) {
        __builtin_memcpy(&cc.kv[v], corr + v * WL_VL, sizeof cc.kv[v]);
        cc.sb[v] = ldf(ct + v * WL_VL);
        vf eb = ldf(ct + WL_QNR + v * WL_VL), nb = ldf(ct + 2 * WL_QNR + v * WL_VL);
        ebMax = self(eb > ebMax, eb, ebMax);
        nbMax = self(nb > nbMax, nb, nbMax);
    }
    cc.eb = q_hmax(ebMax);
    cc.nb = q_hmax(nbMax);
    return cc;
}

/// E of a tile: rt holds its rows' terms (scale, error norm, norm of the quantised row) × QMR.
WL_INLINE float q_tile_error(const float *rt, const q_cols *cc) {
    float eaMax = 0, naMax = 0;
    for (long i = 0; i < WL_QMR; i++) {
        eaMax = rt[WL_QMR + i] > eaMax ? rt[WL_QMR + i] : eaMax;
        naMax = rt[2 * WL_QMR + i] > naMax ? rt[2 * WL_QMR + i] : naMax;
    }
    return eaMax * cc->nb + naMax * cc->eb;
}

/// Stores a tile's upper bound (largest x + E) and returns its lower bound (x − E), widened.
WL_INLINE float q_record(float top, float e, float *upper, float slack, float tiny) {
    float up = top + e;
    *upper = up;
    return (top - e) - up * slack - tiny;
}

/// The largest x of a tile from its integer products `acc` (before the offset correction).
WL_INLINE float q_tile_top(const int32_t *acc, const float *rt, const q_cols *cc) {
    vf xMax = 0;
    for (long i = 0; i < WL_QMR; i++) {
        vf rowMax = 0;
        for (int c = 0; c < WL_QNR / WL_VL; c++) {
            vi raw;
            __builtin_memcpy(&raw, acc + i * WL_QNR + c * WL_VL, sizeof raw);
            // The exact product is the low 16 bits of raw − corr, sign-extended.
            vi d = (vi)((vu)(raw - cc->kv[c]) << 16) >> 16;
            vf v = __builtin_elementwise_abs(__builtin_convertvector(d, vf)) * cc->sb[c];
            rowMax = self(v > rowMax, v, rowMax);
        }
        // Scaling by sa_i ≥ 0 after the maximum: rounding is monotone, so it is the same value.
        vf x = rowMax * rt[i];
        xMax = self(x > xMax, x, xMax);
    }
    return q_hmax(xMax);
}

/// The tiles of `panels` row panels against one column panel (depth pairs): products, then bounds.
#if defined(__x86_64__) && WL_VL >= 8
/// The largest lane of eight non-negative finite Floats.
WL_INLINE float q_hmax256(__m256 v) {
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    return _mm_cvtss_f32(_mm_max_ss(h, _mm_shuffle_ps(h, h, 1)));
}

/// k_qmax_panel with vpmaddubsw (AVX2, and the AVX-512 path without VNNI), each tile in registers:
/// the 16-bit accumulators start at −corr modulo 2¹⁶, so their wrapping sums end at the products
/// themselves (which fit 16 bits); the bounds are taken from them as q_tile_top takes them (|·|,
/// widened, to Float, × column scale, the row's maximum, × row scale: the same Float operations in
/// the same order) without storing the tile and sign-extending it again.
static float q_panel_maddubs(const uint32_t *a, long panels, const float *row_terms, const int8_t *b, long kp, const float *ct,
                             const int32_t *corr, float *upper, long ustride, float slack, float tiny) {
    q_cols cc = q_col_terms(ct, corr);
    int16_t neg[WL_QNR];
    for (int j = 0; j < WL_QNR; j++) neg[j] = (int16_t)(uint16_t)(0u - (uint32_t)corr[j]);
    const __m256i k0 = _mm256_loadu_si256((const __m256i *)neg), k1 = _mm256_loadu_si256((const __m256i *)(neg + 16));
    const __m256 s0 = _mm256_loadu_ps(ct), s1 = _mm256_loadu_ps(ct + 8), s2 = _mm256_loadu_ps(ct + 16), s3 = _mm256_loadu_ps(ct + 24);
    float lower = 0;
    for (long i = 0; i < panels; i++) {
        const uint32_t *ap = a + i * kp * 6;
        const float *rt = row_terms + i * 3 * WL_QMR;
        __m256i c00 = k0, c01 = k1, c10 = k0, c11 = k1, c20 = k0, c21 = k1;
        __m256i c30 = k0, c31 = k1, c40 = k0, c41 = k1, c50 = k0, c51 = k1;
        for (long p = 0; p < kp; p++) {
            __m256i b0 = _mm256_loadu_si256((const __m256i *)(b + p * 64));
            __m256i b1 = _mm256_loadu_si256((const __m256i *)(b + p * 64 + 32));
            __m256i x;
#define WL_Q(r, v0, v1) \
            x = _mm256_set1_epi32((int)ap[p * 6 + (r)]); \
            v0 = _mm256_add_epi16(v0, _mm256_maddubs_epi16(x, b0)); \
            v1 = _mm256_add_epi16(v1, _mm256_maddubs_epi16(x, b1));
            WL_Q(0, c00, c01) WL_Q(1, c10, c11) WL_Q(2, c20, c21)
            WL_Q(3, c30, c31) WL_Q(4, c40, c41) WL_Q(5, c50, c51)
#undef WL_Q
        }
        __m256 xMax = _mm256_setzero_ps();
#define WL_F(v, half, s) _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu16_epi32(half(v))), s)
#define WL_LO(v) _mm256_castsi256_si128(v)
#define WL_HI(v) _mm256_extracti128_si256(v, 1)
#define WL_R(r, v0, v1) { \
            __m256i u0 = _mm256_abs_epi16(v0), u1 = _mm256_abs_epi16(v1); \
            __m256 m = _mm256_max_ps(_mm256_max_ps(WL_F(u0, WL_LO, s0), WL_F(u0, WL_HI, s1)), \
                                     _mm256_max_ps(WL_F(u1, WL_LO, s2), WL_F(u1, WL_HI, s3))); \
            xMax = _mm256_max_ps(_mm256_mul_ps(m, _mm256_set1_ps(rt[r])), xMax); }
        WL_R(0, c00, c01) WL_R(1, c10, c11) WL_R(2, c20, c21)
        WL_R(3, c30, c31) WL_R(4, c40, c41) WL_R(5, c50, c51)
#undef WL_R
#undef WL_HI
#undef WL_LO
#undef WL_F
        float low = q_record(q_hmax256(xMax), q_tile_error(rt, &cc), upper + i * ustride, slack, tiny);
        lower = low > lower ? low : lower;
    }
    return lower;
}
#endif

static float k_qmax_panel(const uint32_t *a, long panels, const float *row_terms, const int8_t *b, long kp, const float *ct,
                          const int32_t *corr, float *upper, long ustride, float slack, float tiny) {
#if defined(__x86_64__) && WL_VL >= 8
    return q_panel_maddubs(a, panels, row_terms, b, kp, ct, corr, upper, ustride, slack, tiny);
#else
    q_cols cc = q_col_terms(ct, corr);
    int32_t acc[WL_QMR * WL_QNR];
    float lower = 0;
    for (long i = 0; i < panels; i++) {
        const float *rt = row_terms + i * 3 * WL_QMR;
        q_products(a + i * kp * WL_QMR, b, kp, acc);
        float low = q_record(q_tile_top(acc, rt, &cc), q_tile_error(rt, &cc), upper + i * ustride, slack, tiny);
        lower = low > lower ? low : lower;
    }
    return lower;
#endif
}
