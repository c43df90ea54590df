// The AVX-512 path (x86-64-v4 features: AVX-512 F/VL/BW/DQ with FMA and F16C): 16 Float lanes.
// Two tables: wl_kernels_avx512, and wl_kernels_avx512_vnni, the same kernels with the integer
// screen's products through VNNI for CPUs that have it (dispatch.c picks; docs/ENGINE.md).
#include "CKernels.h"
#if defined(__x86_64__)
#include <immintrin.h>
#pragma clang attribute push(__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,f16c,bmi2"))), apply_to = function)
#define WL_TABLE wl_kernels_avx512
#define WL_NAME "avx512"
#define WL_VL 16
#define WL_FMA 1
#define WL_F16C 16
// 32 vector registers hold the fused pass's accumulators and its broadcasts (docs/ENGINE.md).
#define WL_FUSED_NORMAL 1
#include "kernels_body.h"
#pragma clang attribute pop
#pragma clang attribute push(__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx512vnni,avx2,fma,f16c,bmi2"))), apply_to = function)
#include "kernels_qmax_vnni.h"
#pragma clang attribute pop
#endif
