// Large buffers on 2 MB pages (Linux transparent huge pages, where the system leaves it to
// madvise). The products read a weight matrix by column strips as well as by rows: a strip
// touches one 4 KB page per row, thousands of pages per pass, and every pass then spends much of
// its time in page walks (docs/ENGINE.md, "Matrix products"). With 2 MB pages the same matrix
// needs a few dozen TLB entries.
#include "CKernels.h"
#if defined(__linux__)
#include <stdint.h>
#include <sys/mman.h>
#endif

void wl_advise_huge_pages(void *base, size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    const uintptr_t huge = (uintptr_t)2 << 20;
    uintptr_t start = ((uintptr_t)base + huge - 1) & ~(huge - 1);
    uintptr_t end = ((uintptr_t)base + bytes) & ~(huge - 1);
    if (end > start) (void)madvise((void *)start, end - start, MADV_HUGEPAGE);   // advice only: failure is harmless
#else
    (void)base; (void)bytes;
#endif
}
