// Picks the kernel table once per process: the best path this CPU supports, or the one
// WEIGHTLENS_KERNELS names when the CPU can run it (docs/ENGINE.md, "Kernel dispatch").
#include "CKernels.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <cpuid.h>
extern const wl_kernels wl_kernels_avx512, wl_kernels_avx512_vnni, wl_kernels_avx2, wl_kernels_avx2_vnni, wl_kernels_baseline;
static int x86_has_vnni(void);
static int x86_has_avx_vnni(void);
static int x86_supports(int path);
#elif defined(__aarch64__)
extern const wl_kernels wl_kernels_neon;
#endif

_Thread_local const wl_kernels *wl_thread_override;
const wl_kernels *wl_process;

static const char *const path_names[WL_PATH_COUNT] = { "avx512", "avx2", "baseline", "neon" };
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int environment_status;
static char environment_value[64];

const wl_kernels *wl_table_base(int path) {
    switch (path) {
#if defined(__x86_64__)
    case WL_PATH_AVX512: return &wl_kernels_avx512;
    case WL_PATH_AVX2: return &wl_kernels_avx2;
    case WL_PATH_BASELINE: return &wl_kernels_baseline;
#elif defined(__aarch64__)
    case WL_PATH_NEON: return &wl_kernels_neon;
#endif
    default: return NULL;
    }
}

const wl_kernels *wl_table(int path) {
#if defined(__x86_64__)
    // AVX-512 VNNI (Cascade Lake, Ice Lake and later, Zen 4 and later) speeds up the integer
    // screen only; the rest of the table is the same.
    if (path == WL_PATH_AVX512 && x86_has_vnni() && x86_supports(WL_PATH_AVX512)) return &wl_kernels_avx512_vnni;
    // AVX-VNNI (the same instruction on 256-bit registers; Alder Lake and later client cores).
    if (path == WL_PATH_AVX2 && x86_has_avx_vnni() && x86_supports(WL_PATH_AVX2)) return &wl_kernels_avx2_vnni;
#endif
    return wl_table_base(path);
}

#if defined(__x86_64__)
/// AVX-512 VNNI (CPUID leaf 7, ECX bit 11); wl_table asks x86_supports too, for the OS's zmm state.
static int x86_has_vnni(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (c >> 11) & 1;
}

/// AVX-VNNI (CPUID leaf 7 subleaf 1, EAX bit 4); wl_table asks x86_supports too, for AVX2 and ymm state.
static int x86_has_avx_vnni(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || a < 1) return 0;   // subleaf 1 not reported
    if (!__get_cpuid_count(7, 1, &a, &b, &c, &d)) return 0;
    return (a >> 4) & 1;
}

/// The instruction sets and the OS's register saving (XCR0) both have to be there: a CPU with
/// AVX-512 under an OS that does not save zmm state must not run the AVX-512 path.
static int x86_supports(int path) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, f16c = (c >> 29) & 1;
    if (!(fma && osxsave && avx && f16c)) return 0;
    unsigned xcr0_lo, xcr0_hi;
    __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    if ((xcr0_lo & 0x6) != 0x6) return 0;   // xmm and ymm state
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    int avx2 = (b >> 5) & 1, bmi2 = (b >> 8) & 1;
    if (!(avx2 && bmi2)) return 0;
    if (path == WL_PATH_AVX2) return 1;
    int avx512f = (b >> 16) & 1, avx512dq = (b >> 17) & 1, avx512bw = (b >> 30) & 1, avx512vl = (b >> 31) & 1;
    return avx512f && avx512dq && avx512bw && avx512vl && (xcr0_lo & 0xE0) == 0xE0;   // opmask, zmm
}
#endif

int wl_cpu_supports(int path) {
    if (!wl_table(path)) return 0;
#if defined(__x86_64__)
    if (path == WL_PATH_BASELINE) return 1;
    return x86_supports(path);
#else
    return 1;
#endif
}

int wl_best_path(void) {
    for (int p = 0; p < WL_PATH_COUNT; p++)
        if (wl_cpu_supports(p)) return p;
    return WL_PATH_BASELINE;
}

static void choose(void) {
    int path = wl_best_path();
    const char *value = getenv("WEIGHTLENS_KERNELS");
    if (value && *value) {
        strncpy(environment_value, value, sizeof environment_value - 1);
        int named = -1;
        for (int p = 0; p < WL_PATH_COUNT; p++)
            if (strcmp(value, path_names[p]) == 0) named = p;
        if (named < 0) {
            environment_status = 1;
        } else if (!wl_cpu_supports(named)) {
            environment_status = 2;
        } else {
            path = named;
        }
    }
    __atomic_store_n(&wl_process, wl_table(path), __ATOMIC_RELEASE);
}

const wl_kernels *wl_process_table(void) {
    pthread_once(&once, choose);
    return wl_process;
}

int wl_environment_status(void) {
    pthread_once(&once, choose);
    return environment_status;
}

const char *wl_environment_value(void) {
    pthread_once(&once, choose);
    return environment_value;
}

const wl_kernels *wl_set_thread_override(const wl_kernels *table) {
    const wl_kernels *previous = wl_thread_override;
    wl_thread_override = table;
    return previous;
}
