// The integer screen's products through AVX-512 VNNI (vpdpbusd): four depth steps of unsigned row
// bytes times signed column bytes summed into each 32-bit lane in one instruction, where the
// AVX2 code needs a vpmaddubsw (two steps into 16 bits) and a vpaddw. Packed with QD = 4 (layout
// at the top of kernels_qmax.h); quantisation, bounds and the exact recomputation are the other
// paths' own, so the screen's answer is the same.
//
// Included by kernels_avx512.c after kernels_body.h, under a target that adds avx512vnni; the
// resulting table (wl_kernels_avx512_vnni) is the AVX-512 path on CPUs that report VNNI
// (dispatch.c). The quad layout halves the broadcasts per multiply-add and 32-bit lanes need no
// 16-bit wrap-around (the bound 181² on the sums still holds, so the epilogue is shared).

static int k_qpack_rows4(const float *l, long ld, long rows, long k, uint32_t *dst, float *terms, int8_t *scratch) {
    return q_pack_rows(l, ld, rows, k, dst, terms, scratch, 4);
}

static int k_qpack_cols4(const float *r, long ld, long cols, long k, int8_t *dst, float *terms, int16_t *corr, int8_t *scratch) {
    return q_pack_cols(r, ld, cols, k, dst, terms, corr, scratch, 4);
}

/// acc[i·QNR + j] = Σ_p a'·b over kp quad steps, exact in 32 bits (before the offset correction):
/// 6 rows × 2 vectors of 16 columns, one vpdpbusd each per step.
static void q_products4(const uint32_t *restrict a, const int8_t *restrict b, long kp, int32_t *restrict acc) {
    __m512i c00 = _mm512_setzero_si512(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m512i c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (long p = 0; p < kp; p++) {
        __m512i b0 = _mm512_loadu_si512((const void *)(b + p * 128));
        __m512i b1 = _mm512_loadu_si512((const void *)(b + p * 128 + 64));
        __m512i x;
#define WL_Q(r, v0, v1) \
        x = _mm512_set1_epi32((int)a[p * 6 + (r)]); \
        v0 = _mm512_dpbusd_epi32(v0, x, b0); \
        v1 = _mm512_dpbusd_epi32(v1, x, b1);
        WL_Q(0, c00, c01) WL_Q(1, c10, c11) WL_Q(2, c20, c21)
        WL_Q(3, c30, c31) WL_Q(4, c40, c41) WL_Q(5, c50, c51)
#undef WL_Q
    }
#define WL_S(r, v0, v1) \
    _mm512_storeu_si512((void *)(acc + (r) * 32), v0); \
    _mm512_storeu_si512((void *)(acc + (r) * 32 + 16), v1);
    WL_S(0, c00, c01) WL_S(1, c10, c11) WL_S(2, c20, c21)
    WL_S(3, c30, c31) WL_S(4, c40, c41) WL_S(5, c50, c51)
#undef WL_S
}

static void k_qmax_tile4(const uint32_t *a, const int8_t *b, long kp, const float *rt, const float *ct, const int16_t *corr,
                         float *out) {
    int32_t acc[WL_QMR * WL_QNR];
    q_products4(a, b, kp, acc);
    q_tile_bounds(acc, rt, ct, corr, out);
}

const wl_kernels wl_kernels_avx512_vnni = {
    WL_TABLE_ENTRIES,
    .qdepth = 4, .qpack_rows = k_qpack_rows4, .qpack_cols = k_qpack_cols4, .qmax_tile = k_qmax_tile4,
};
