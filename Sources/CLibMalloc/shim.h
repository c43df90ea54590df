// glibc's allocator tuning (mallopt) for the server; Swift's Glibc module does not include <malloc.h>.
#if defined(__linux__) && __has_include(<malloc.h>)
#include <malloc.h>
#endif
