// The integer screen's products through AVX-VNNI (the VEX-encoded `vpdpbusd` on 256-bit
// registers): the AVX2 path on CPUs that have it without AVX-512 (Intel Alder Lake and later
// client cores, Sierra Forest). The same quad layout, quantisation and bounds as the AVX-512 VNNI
// kernel (kernels_qmax_vnni.h); 16 ymm registers hold 6 rows × 16 columns of accumulators, so a
// 6 × 32 tile is done as two halves of 16 columns, each over the whole depth.
//
// Included by kernels_avx2.c after kernels_body.h, under a target that adds avxvnni; the resulting
// table (wl_kernels_avx2_vnni) is the AVX2 path on CPUs that report AVX-VNNI (dispatch.c).

/// The tiles of `panels` row panels against one column panel (quad steps), bounds in registers as
/// in k_qmax_panel4: accumulators started at −corr, |·|, to Float, × column scale, the row's
/// maximum, × row scale — per half, which gives the same maximum as over the whole row.
static float k_qmax_panel_avxvnni(const uint32_t *a, long panels, const float *row_terms, const int8_t *b, long kp, const float *ct,
                                  const int32_t *corr, float *upper, long ustride, float slack, float tiny) {
    q_cols cc = q_col_terms(ct, corr);
    float lower = 0;
    for (long i = 0; i < panels; i++) {
        const uint32_t *ap = a + i * kp * 6;
        const float *rt = row_terms + i * 3 * WL_QMR;
        __m256 xMax = _mm256_setzero_ps();
        for (int h = 0; h < 2; h++) {
            const __m256i k0 = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_loadu_si256((const __m256i *)(corr + 16 * h)));
            const __m256i k1 = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_loadu_si256((const __m256i *)(corr + 16 * h + 8)));
            __m256i c00 = k0, c01 = k1, c10 = k0, c11 = k1, c20 = k0, c21 = k1;
            __m256i c30 = k0, c31 = k1, c40 = k0, c41 = k1, c50 = k0, c51 = k1;
            const int8_t *bh = b + 64 * h;
            for (long p = 0; p < kp; p++) {
                __m256i b0 = _mm256_loadu_si256((const __m256i *)(bh + p * 128));
                __m256i b1 = _mm256_loadu_si256((const __m256i *)(bh + p * 128 + 32));
                __m256i x;
#define WL_Q(r, v0, v1) \
                x = _mm256_set1_epi32((int)ap[p * 6 + (r)]); \
                v0 = _mm256_dpbusd_avx_epi32(v0, x, b0); \
                v1 = _mm256_dpbusd_avx_epi32(v1, x, b1);
                WL_Q(0, c00, c01) WL_Q(1, c10, c11) WL_Q(2, c20, c21)
                WL_Q(3, c30, c31) WL_Q(4, c40, c41) WL_Q(5, c50, c51)
#undef WL_Q
            }
            const __m256 s0 = _mm256_loadu_ps(ct + 16 * h), s1 = _mm256_loadu_ps(ct + 16 * h + 8);
#define WL_R(r, v0, v1) \
            xMax = _mm256_max_ps(_mm256_mul_ps(_mm256_max_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_abs_epi32(v0)), s0), \
                                                             _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_abs_epi32(v1)), s1)), \
                                               _mm256_set1_ps(rt[r])), \
                                 xMax);
            WL_R(0, c00, c01) WL_R(1, c10, c11) WL_R(2, c20, c21)
            WL_R(3, c30, c31) WL_R(4, c40, c41) WL_R(5, c50, c51)
#undef WL_R
        }
        float low = q_record(q_hmax256(xMax), q_tile_error(rt, &cc), upper + i * ustride, slack, tiny);
        lower = low > lower ? low : lower;
    }
    return lower;
}

const wl_kernels wl_kernels_avx2_vnni = {
    WL_TABLE_ENTRIES,
    .qdepth = 4, .qpack_rows = k_qpack_rows4, .qpack_cols = k_qpack_cols4, .qmax_panel = k_qmax_panel_avxvnni,
};
