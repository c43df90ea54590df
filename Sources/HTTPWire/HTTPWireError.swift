/// Everything that can be wrong with bytes a client sent, each case mapped to one HTTP status.
public enum HTTPWireError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The request head (request line + header fields) grew past `limit` bytes before its blank line.
    case headerTooLarge(limit: Int)
    /// The request line is not `METHOD SP target SP HTTP/x.y`.
    case malformedRequestLine(String)
    /// The method is not a token (RFC 9110 §9.1).
    case invalidMethod(String)
    /// The protocol version is not HTTP/1.0 or HTTP/1.1.
    case unsupportedVersion(String)
    /// The request target is neither origin-form nor `*` nor absolute-form.
    case invalidTarget(String)
    /// A percent escape is not `%` followed by two hex digits, or a segment decodes to invalid UTF-8.
    case invalidPercentEncoding(String)
    /// A header line has no colon, a bad name, bare CR/LF, or obsolete line folding.
    case malformedHeader(String)
    /// Content-Length is not a decimal number, or repeated with different values.
    case invalidContentLength(String)
    /// Both Transfer-Encoding and Content-Length were sent (RFC 9112 §6.3 smuggling guard).
    case conflictingFraming
    /// A transfer coding other than a final `chunked` was requested.
    case unsupportedTransferEncoding(String)
    /// The declared or received body exceeds `limit` bytes.
    case bodyTooLarge(limit: Int)
    /// A chunk-size line is not hex, overflows, or is too long.
    case malformedChunk(String)
    /// HTTP/1.1 request without a Host header (RFC 9112 §3.2).
    case missingHost

    /// The status a server answers with before closing the connection.
    public var status: Int {
        switch self {
        case .headerTooLarge: return 431
        case .bodyTooLarge: return 413
        case .unsupportedVersion: return 505
        case .unsupportedTransferEncoding: return 501
        default: return 400
        }
    }

    public var description: String {
        switch self {
        case .headerTooLarge(let limit): return "The request header section is larger than \(limit) bytes."
        case .malformedRequestLine(let line): return "The request line \(line.debugDescription) is not 'METHOD target HTTP/1.1'."
        case .invalidMethod(let m): return "The method \(m.debugDescription) is not a valid token."
        case .unsupportedVersion(let v): return "The protocol version \(v.debugDescription) is not supported (HTTP/1.0 and HTTP/1.1 are)."
        case .invalidTarget(let t): return "The request target \(t.debugDescription) is not a path starting with '/'."
        case .invalidPercentEncoding(let s): return "The path \(s.debugDescription) has a bad percent escape or is not UTF-8."
        case .malformedHeader(let h): return "The header line \(h.debugDescription) is malformed."
        case .invalidContentLength(let v): return "The Content-Length \(v.debugDescription) is not a single decimal number."
        case .conflictingFraming: return "The request has both Transfer-Encoding and Content-Length."
        case .unsupportedTransferEncoding(let te): return "The transfer coding \(te.debugDescription) is not supported (only chunked is)."
        case .bodyTooLarge(let limit): return "The request body is larger than \(limit) bytes."
        case .malformedChunk(let s): return "The chunk header \(s.debugDescription) is malformed."
        case .missingHost: return "An HTTP/1.1 request must carry a Host header."
        }
    }
}
