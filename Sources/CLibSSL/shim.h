// OpenSSL (libssl + libcrypto): SHA-1 for the WebSocket handshake and TLS for the server.
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/evp.h>

// These OpenSSL calls are macros over SSL_CTX_ctrl/SSL_ctrl, which Swift does not import.
static inline int clibssl_ctx_require_tls12(SSL_CTX *ctx) {
    return (int)SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
}

static inline long clibssl_ctx_set_server_options(SSL_CTX *ctx) {
    // Partial writes let a non-blocking socket take what fits; the moving-buffer flag lets a
    // retried SSL_write pass the same bytes from a reallocated Swift array.
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
    return (long)SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
}
