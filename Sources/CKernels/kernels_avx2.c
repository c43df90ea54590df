// The AVX2 path (x86-64-v3 features: AVX2, FMA, F16C): 8 Float lanes. Two tables: wl_kernels_avx2,
// and wl_kernels_avx2_vnni, the same kernels with the integer screen's products through AVX-VNNI
// for CPUs that have it (dispatch.c picks; docs/ENGINE.md).
#include "CKernels.h"
#if defined(__x86_64__)
#include <immintrin.h>
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,bmi2"))), apply_to = function)
#define WL_TABLE wl_kernels_avx2
#define WL_NAME "avx2"
#define WL_VL 8
#define WL_FMA 1
#define WL_F16C 8
// The fused Krylov pass for 16-column blocks (its two-slice loop, kernels_normal.h); wider blocks
// take the two skinny products (docs/ENGINE.md, "Truncated SVD").
#define WL_FUSED_NORMAL 2
#include "kernels_body.h"
#pragma clang attribute pop
#pragma clang attribute push(__attribute__((target("avx2,avxvnni,fma,f16c,bmi2"))), apply_to = function)
#include "kernels_qmax_avxvnni.h"
#pragma clang attribute pop
#endif
