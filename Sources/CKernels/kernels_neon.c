// The aarch64 path: NEON (Advanced SIMD, part of every ARMv8-A CPU), 4 Float lanes with FMA.
// Compiled only on aarch64; it has not been run by this project's benchmarks (docs/ENGINE.md).
#include "CKernels.h"
#if defined(__aarch64__)
#define WL_TABLE wl_kernels_neon
#define WL_NAME "neon"
#define WL_VL 4
#define WL_FMA 1
#define WL_F16C 0
#include "kernels_body.h"
#endif
