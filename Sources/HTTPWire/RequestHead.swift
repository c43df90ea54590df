/// How the body of a request is delimited (RFC 9112 §6).
public enum BodyFraming: Sendable, Equatable {
    case none
    case contentLength(Int)
    case chunked
}

/// The parsed request line and header section, before the body.
public struct RequestHead: Sendable {
    public var method: String
    public var target: String
    public var rawPath: String
    /// The part after `?`, still encoded (empty when absent).
    public var rawQuery: String
    public var pathSegments: [String]
    public var headers: HTTPHeaders
    /// Minor version: 0 for HTTP/1.0, 1 for HTTP/1.1.
    public var minorVersion: Int
    public var framing: BodyFraming
    /// Whether the connection may stay open after this exchange (version default + `Connection`).
    public var keepAlive: Bool
    /// `Expect: 100-continue` was sent; the server should answer 100 before reading the body.
    public var expectsContinue: Bool
    /// `Connection: upgrade` with `Upgrade: websocket`.
    public var isWebSocketUpgrade: Bool

    /// Builds the value handed to services once the body is known.
    public func request(body: [UInt8], remoteAddress: String = "", isSecure: Bool = false) -> HTTPRequest {
        HTTPRequest(method: method, target: target, rawPath: rawPath, pathSegments: pathSegments,
                    query: PercentDecoding.query(rawQuery), headers: headers, body: body,
                    remoteAddress: remoteAddress, isSecure: isSecure)
    }
}

/// Size limits the request parser enforces.
public struct HTTPLimits: Sendable, Equatable {
    /// Request line + header fields + blank line (431 beyond it).
    public var headerBytes: Int
    /// Decoded body bytes (413 beyond it).
    public var bodyBytes: Int
    /// One chunk-size line including extensions.
    public var chunkLineBytes: Int

    public init(headerBytes: Int = 16 * 1024, bodyBytes: Int = 100 * 1024 * 1024, chunkLineBytes: Int = 4096) {
        self.headerBytes = headerBytes; self.bodyBytes = bodyBytes; self.chunkLineBytes = chunkLineBytes
    }
}

extension HTTPHeaders {
    /// Whether any value of `name`, split on commas, equals `token` ignoring case.
    public func containsToken(_ name: String, _ token: String) -> Bool {
        for value in values(name) {
            for part in value.split(separator: ",") where part.trimmingWhitespace().lowercased() == token {
                return true
            }
        }
        return false
    }
}

extension Substring {
    func trimmingWhitespace() -> Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return s
    }
}
