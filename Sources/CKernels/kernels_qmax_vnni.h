// The integer screen's products through AVX-512 VNNI (vpdpbusd): four depth steps of unsigned row
// bytes times signed column bytes summed into each 32-bit lane in one instruction, where the
// AVX2 code needs a vpmaddubsw (two steps into 16 bits) and a vpaddw. Packed with QD = 4 (layout
// at the top of kernels_qmax.h); quantisation, bounds and the exact recomputation are the other
// paths' own, so the screen's answer is the same.
//
// Included by kernels_avx512.c after kernels_body.h, under a target that adds avx512vnni; the
// resulting table (wl_kernels_avx512_vnni) is the AVX-512 path on CPUs that report VNNI
// (dispatch.c). The quad layout halves the broadcasts per multiply-add, and 32-bit lanes that do
// not wrap let the tile's bounds be taken from the accumulators in registers (k_qmax_panel4).

/// The tiles of `panels` row panels against one column panel (quad steps), each tile's products
/// and bounds in registers: 6 rows × 2 vectors of 16 columns, one vpdpbusd each per step. The
/// accumulators start at −corr, so they end at Σ q_L·q_R itself: vpdpbusd's 32-bit sums do not
/// wrap, and no correction or sign extension is left for the epilogue (4 operations per 16
/// products: |·|, to Float, × column scale, max; then × row scale and max per row).
static float k_qmax_panel4(const uint32_t *a, long panels, const float *row_terms, const int8_t *b, long kp, const float *ct,
                           const int32_t *corr, float *upper, long ustride, float slack, float tiny) {
    q_cols cc = q_col_terms(ct, corr);
    const __m512i k0 = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_loadu_si512((const void *)corr));
    const __m512i k1 = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_loadu_si512((const void *)(corr + 16)));
    const __m512 s0 = _mm512_loadu_ps(ct), s1 = _mm512_loadu_ps(ct + 16);
    float lower = 0;
    for (long i = 0; i < panels; i++) {
        const uint32_t *ap = a + i * kp * 6;
        const float *rt = row_terms + i * 3 * WL_QMR;
        __m512i c00 = k0, c01 = k1, c10 = k0, c11 = k1, c20 = k0, c21 = k1;
        __m512i c30 = k0, c31 = k1, c40 = k0, c41 = k1, c50 = k0, c51 = k1;
        for (long p = 0; p < kp; p++) {
            __m512i b0 = _mm512_loadu_si512((const void *)(b + p * 128));
            __m512i b1 = _mm512_loadu_si512((const void *)(b + p * 128 + 64));
            __m512i x;
#define WL_Q(r, v0, v1) \
            x = _mm512_set1_epi32((int)ap[p * 6 + (r)]); \
            v0 = _mm512_dpbusd_epi32(v0, x, b0); \
            v1 = _mm512_dpbusd_epi32(v1, x, b1);
            WL_Q(0, c00, c01) WL_Q(1, c10, c11) WL_Q(2, c20, c21)
            WL_Q(3, c30, c31) WL_Q(4, c40, c41) WL_Q(5, c50, c51)
#undef WL_Q
        }
        // As q_tile_top: |product| × column scale, the row's maximum, then × row scale (the same
        // Float operations in the same order, so the same bounds).
        __m512 xMax = _mm512_setzero_ps();
#define WL_R(r, v0, v1) \
        xMax = _mm512_max_ps(_mm512_mul_ps(_mm512_max_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_abs_epi32(v0)), s0), \
                                                         _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_abs_epi32(v1)), s1)), \
                                           _mm512_set1_ps(rt[r])), \
                             xMax);
        WL_R(0, c00, c01) WL_R(1, c10, c11) WL_R(2, c20, c21)
        WL_R(3, c30, c31) WL_R(4, c40, c41) WL_R(5, c50, c51)
#undef WL_R
        float low = q_record(_mm512_reduce_max_ps(xMax), q_tile_error(rt, &cc), upper + i * ustride, slack, tiny);
        lower = low > lower ? low : lower;
    }
    return lower;
}

const wl_kernels wl_kernels_avx512_vnni = {
    WL_TABLE_ENTRIES,
    .qdepth = 4, .qpack_rows = k_qpack_rows4, .qpack_cols = k_qpack_cols4, .qmax_panel = k_qmax_panel4,
};
