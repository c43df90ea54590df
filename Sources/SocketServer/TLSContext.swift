import CLibSSL
import Foundation

/// One OpenSSL server context (certificate + key), shared by every TLS connection.
/// Immutable after init; OpenSSL contexts are safe to use from several threads once configured.
final class TLSContext: @unchecked Sendable {
    let context: OpaquePointer

    init(certificatePath: String, keyPath: String) throws(ServerError) {
        guard let ctx = SSL_CTX_new(TLS_server_method()) else { throw .tls("SSL_CTX_new: \(TLSContext.lastError())") }
        context = ctx
        _ = clibssl_ctx_require_tls12(ctx)
        _ = clibssl_ctx_set_server_options(ctx)
        guard SSL_CTX_use_certificate_chain_file(ctx, certificatePath) == 1 else {
            throw .tls("cannot load certificate \(certificatePath): \(TLSContext.lastError())")
        }
        guard SSL_CTX_use_PrivateKey_file(ctx, keyPath, SSL_FILETYPE_PEM) == 1 else {
            throw .tls("cannot load private key \(keyPath): \(TLSContext.lastError())")
        }
        guard SSL_CTX_check_private_key(ctx) == 1 else {
            throw .tls("the private key \(keyPath) does not match the certificate \(certificatePath)")
        }
    }

    deinit { SSL_CTX_free(context) }

    /// A new server-side session on `fd`.
    func makeSession(fd: Int32) -> OpaquePointer? {
        guard let ssl = SSL_new(context) else { return nil }
        SSL_set_fd(ssl, fd)
        SSL_set_accept_state(ssl)
        return ssl
    }

    /// The most recent OpenSSL error as text (and clears the queue).
    static func lastError() -> String {
        let code = ERR_get_error()
        ERR_clear_error()
        if code == 0 { return "unknown error" }
        var buf = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buf, buf.count)
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// SHA-1 from libcrypto, used only for the WebSocket accept key (RFC 6455 §4.2.2).
enum Digest {
    static func sha1(_ bytes: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var size: UInt32 = 0
        bytes.withUnsafeBytes { p in
            _ = EVP_Digest(p.baseAddress, p.count, &out, &size, EVP_sha1(), nil)
        }
        return Array(out.prefix(Int(size)))
    }
}
