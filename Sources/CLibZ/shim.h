// zlib: gzip for compressible HTTP responses. deflateInit2 is a macro, so it is wrapped here.
#include <zlib.h>

static inline int clibz_deflate_init_gzip(z_stream *stream, int level) {
    // windowBits 15 + 16 selects the gzip wrapper (RFC 1952) instead of zlib's own.
    return deflateInit2(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}

static inline int clibz_inflate_init_gzip(z_stream *stream) {
    return inflateInit2(stream, 15 + 16);
}
