import Foundation
import HTTPWire

/// How much the server writes to standard error.
public enum LogLevel: Int, Sendable, Comparable, CaseIterable {
    case debug, info, warning, error, none
    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }
}

/// Everything the socket layer can be told. Times are in seconds; sizes in bytes.
public struct ServerConfiguration: Sendable {
    /// Addresses to listen on: IPv4/IPv6 literals (`"0.0.0.0"`, `"::"`, `"[::1]"`) or host names.
    public var hosts: [String] = ["127.0.0.1"]
    /// TCP port; 0 picks a free one (read it back from `HTTPServer.boundPorts`).
    public var port: Int = 8188
    /// Largest request body (ComfyUI's `--max-upload-size`, 100 MB by default) → 413.
    public var maxBodyBytes: Int = 100 * 1024 * 1024
    /// Largest request head → 431.
    public var headerLimitBytes: Int = 16 * 1024
    /// Time from the first byte of a request (or the start of a TLS handshake) to the end of its head → 408.
    public var headerTimeoutSeconds: Double = 30
    /// Longest pause between body bytes → 408.
    public var bodyTimeoutSeconds: Double = 60
    /// How long an idle keep-alive connection is kept.
    public var idleTimeoutSeconds: Double = 75
    /// Longest pause while the client does not take response bytes before the connection is dropped.
    public var writeTimeoutSeconds: Double = 60
    /// Open connections (HTTP and WebSocket) beyond which new ones get 503 and are closed.
    public var maxConnections: Int = 4096
    /// Largest reassembled WebSocket message → close 1009.
    public var maxWebSocketMessageBytes: Int = 16 * 1024 * 1024
    /// Bytes queued for one WebSocket client that has not read them; beyond it the client is dropped.
    public var webSocketSendQueueBytes: Int = 16 * 1024 * 1024
    /// PEM certificate chain and private key; both set turns on TLS (`--tls-certfile`, `--tls-keyfile`).
    public var tlsCertificatePath: String?
    public var tlsKeyPath: String?
    /// `--enable-cors-header [ORIGIN]`: when set, CORS headers replace the origin guard (spec §8).
    public var corsOrigin: String?
    /// The ComfyUI origin guard (cross-origin requests to a loopback host → 403). Ignored when `corsOrigin` is set.
    public var originCheck: Bool = true
    /// Bodies in memory at least this large are gzipped when the client accepts it; nil disables gzip.
    public var gzipMinimumBytes: Int? = 1024
    /// Adds `X-Content-Type-Options: nosniff` and `Referrer-Policy` when the service did not set them.
    public var securityHeaders: Bool = true
    /// ComfyUI's cache-control middleware for .js/.css/index*.json and image paths (spec §1).
    public var comfyCacheHeaders: Bool = true
    /// Access-log lines are written at `.info`.
    public var logLevel: LogLevel = .warning
    /// Serial I/O queues connections are spread over.
    public var loopCount: Int = max(1, ProcessInfo.processInfo.activeProcessorCount)
    /// How long a graceful shutdown waits for in-flight responses and WebSocket close handshakes.
    public var shutdownGraceSeconds: Double = 5

    public init() {}

    /// Whether TLS is configured.
    public var usesTLS: Bool { tlsCertificatePath != nil && tlsKeyPath != nil }

    var limits: HTTPLimits { HTTPLimits(headerBytes: headerLimitBytes, bodyBytes: maxBodyBytes) }
}

/// Failures starting the server or its TLS context.
public enum ServerError: Error, CustomStringConvertible, Sendable {
    /// A system call failed; `errno` was captured at the call site.
    case systemCall(call: String, errno: Int32, detail: String)
    /// A listen host is neither an address literal nor resolvable.
    case unresolvableHost(String)
    /// OpenSSL refused the certificate or key.
    case tls(String)
    /// `start()` was called twice.
    case alreadyStarted

    public var description: String {
        switch self {
        case .systemCall(let call, let e, let detail):
            return "\(call) failed for \(detail): \(String(cString: strerror(e))) (errno \(e))."
        case .unresolvableHost(let h): return "The listen address \(h.debugDescription) is not an IP address or resolvable host name."
        case .tls(let message): return "TLS setup failed: \(message)."
        case .alreadyStarted: return "The server was already started."
        }
    }
}
