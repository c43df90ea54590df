// HTTPWire: pure HTTP/1.1 and WebSocket wire formats — bytes in, values out. No sockets, no files.

/// Header fields in arrival order. Names compare case-insensitively (RFC 9110 §5.1);
/// repeated fields are kept as separate entries.
public struct HTTPHeaders: Sendable, Equatable, Sequence, ExpressibleByDictionaryLiteral {
    public private(set) var fields: [(name: String, value: String)]

    public init(_ fields: [(name: String, value: String)] = []) { self.fields = fields }
    public init(dictionaryLiteral elements: (String, String)...) {
        self.fields = elements.map { (name: $0.0, value: $0.1) }
    }

    /// First value of the field `name`, or nil.
    public subscript(name: String) -> String? {
        get {
            fields.first { HTTPHeaders.namesEqual($0.name, name) }?.value
        }
        set {
            fields.removeAll { HTTPHeaders.namesEqual($0.name, name) }
            if let newValue { fields.append((name: name, value: newValue)) }
        }
    }

    /// Every value of the field `name`, in order.
    public func values(_ name: String) -> [String] {
        fields.filter { HTTPHeaders.namesEqual($0.name, name) }.map(\.value)
    }

    /// ASCII case-insensitive comparison without allocating (header names are ASCII tokens).
    @inlinable
    public static func namesEqual(_ a: String, _ b: String) -> Bool {
        var a = a, b = b
        return a.withUTF8 { pa in
            b.withUTF8 { pb in
                guard pa.count == pb.count else { return false }
                for i in 0..<pa.count {
                    let x = pa[i], y = pb[i]
                    if x != y && (x | 0x20) != (y | 0x20) { return false }
                    if x != y && !((x | 0x20) >= 0x61 && (x | 0x20) <= 0x7A) { return false }
                }
                return true
            }
        }
    }

    /// Appends a field without replacing earlier ones (e.g. `Set-Cookie`).
    public mutating func add(_ name: String, _ value: String) { fields.append((name: name, value: value)) }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> { fields.makeIterator() }

    public static func == (a: HTTPHeaders, b: HTTPHeaders) -> Bool {
        a.fields.count == b.fields.count && zip(a.fields, b.fields).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }
}

/// One parsed request, as the socket layer hands it to a service.
public struct HTTPRequest: Sendable {
    public var method: String
    /// The request target exactly as sent (`/api/view?filename=a.png`).
    public var target: String
    /// The path part of the target, still percent-encoded (`/api/userdata/workflows%2Fa.json`).
    public var rawPath: String
    /// The path split on literal `/` and then percent-decoded per segment, so an encoded slash
    /// stays inside its segment: `/api/userdata/workflows%2Fa.json` → `["api", "userdata", "workflows/a.json"]`.
    public var pathSegments: [String]
    /// Decoded query parameters in order (`+` is a space, as in forms).
    public var query: [(name: String, value: String)]
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// Peer address as text (`127.0.0.1`, `::1`), for logs and the origin check.
    public var remoteAddress: String
    /// Whether the connection is TLS (`https`/`wss`).
    public var isSecure: Bool

    public init(method: String, target: String, rawPath: String, pathSegments: [String],
                query: [(name: String, value: String)], headers: HTTPHeaders, body: [UInt8] = [],
                remoteAddress: String = "", isSecure: Bool = false) {
        self.method = method; self.target = target; self.rawPath = rawPath
        self.pathSegments = pathSegments; self.query = query; self.headers = headers
        self.body = body; self.remoteAddress = remoteAddress; self.isSecure = isSecure
    }

    /// First value of the query parameter `name`.
    public func queryValue(_ name: String) -> String? { query.first { $0.name == name }?.value }
}

/// What a response carries: bytes in memory, or a file region streamed by the socket layer.
public enum HTTPBody: Sendable {
    case bytes([UInt8])
    /// `length` bytes of the file at `path` from `offset`; the socket layer streams it with back-pressure.
    case file(path: String, offset: Int, length: Int)
}

/// A response a service returns; the socket layer adds framing headers (Content-Length, Date, Connection).
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: HTTPBody

    public init(status: Int, headers: HTTPHeaders = HTTPHeaders(), body: HTTPBody = .bytes([])) {
        self.status = status; self.headers = headers; self.body = body
    }
}
