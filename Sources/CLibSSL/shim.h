// OpenSSL (libssl + libcrypto): SHA-1 for the WebSocket handshake and TLS for the server.
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/evp.h>
