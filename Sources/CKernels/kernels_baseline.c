// The baseline x86-64 path: SSE2 only (every x86-64 CPU), 4 Float lanes, no FMA and no F16C.
// Multiply and add stay separate instructions (kernels_body.h, MADD).
#include "CKernels.h"
#if defined(__x86_64__)
#define WL_TABLE wl_kernels_baseline
#define WL_NAME "baseline"
#define WL_VL 4
#define WL_FMA 0
#define WL_F16C 0
#include "kernels_body.h"
#endif
