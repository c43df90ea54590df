#if canImport(Glibc)
import Glibc
#endif
import HTTPWire
import Synchronization

/// The ComfyUI middlewares that sit between the socket layer and the service (spec §1, §8):
/// origin guard or CORS, `OPTIONS` answered with 200 before any handler, cache headers,
/// and a few security headers. Stateless apart from a small host-resolution cache.
public struct RequestPolicy: Sendable {
    public var corsOrigin: String?
    public var originCheck: Bool
    public var comfyCacheHeaders: Bool
    public var securityHeaders: Bool
    let resolver: LoopbackResolver

    public init(corsOrigin: String? = nil, originCheck: Bool = true, comfyCacheHeaders: Bool = true, securityHeaders: Bool = true) {
        self.corsOrigin = corsOrigin; self.originCheck = originCheck
        self.comfyCacheHeaders = comfyCacheHeaders; self.securityHeaders = securityHeaders
        self.resolver = LoopbackResolver()
    }

    init(_ c: ServerConfiguration) {
        self.init(corsOrigin: c.corsOrigin, originCheck: c.originCheck, comfyCacheHeaders: c.comfyCacheHeaders, securityHeaders: c.securityHeaders)
    }

    /// A response that answers the request before the service sees it (403 or the OPTIONS 200), or nil.
    public func intercept(_ request: HTTPRequest) -> HTTPResponse? {
        if corsOrigin == nil && originCheck, let refusal = originRefusal(request) { return refusal }
        if request.method == "OPTIONS" { return HTTPResponse(status: 200) }
        return nil
    }

    /// ComfyUI's origin guard: a browser page on another origin must not drive a loopback server.
    func originRefusal(_ request: HTTPRequest) -> HTTPResponse? {
        if request.headers["Sec-Fetch-Site"]?.lowercased() == "cross-site" { return HTTPResponse(status: 403) }
        guard let host = request.headers["Host"], let origin = request.headers["Origin"] else { return nil }
        let hostAuthority = RequestPolicy.splitAuthority(host.lowercased())
        let originAuthority = RequestPolicy.splitAuthority(RequestPolicy.authorityOfOrigin(origin.lowercased()))
        guard !hostAuthority.name.isEmpty, resolver.isLoopback(hostAuthority.name) else { return nil }
        // When either side lacks a port, compare names only (browsers differ on default ports).
        let hostKey = originAuthority.port == nil ? hostAuthority.name : hostAuthority.full
        let originKey = hostAuthority.port == nil ? originAuthority.name : originAuthority.full
        if hostKey.isEmpty || originKey.isEmpty { return nil }
        return hostKey == originKey ? nil : HTTPResponse(status: 403)
    }

    /// `scheme://authority/path` → `authority` (userinfo dropped). `null` or garbage → "".
    static func authorityOfOrigin(_ origin: String) -> String {
        guard let r = origin.range(of: "://") else { return "" }
        var rest = origin[r.upperBound...]
        if let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) { rest = rest[..<slash] }
        if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        return String(rest)
    }

    /// Splits `name[:port]` and `[v6]:port`; the name keeps no brackets.
    static func splitAuthority(_ authority: String) -> (name: String, port: String?, full: String) {
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            let name = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            let port = after.hasPrefix(":") ? String(after.dropFirst()) : nil
            return (name, port, port.map { "\(name):\($0)" } ?? name)
        }
        if let colon = authority.lastIndex(of: ":"), authority.firstIndex(of: ":") == colon {
            let port = String(authority[authority.index(after: colon)...])
            let name = String(authority[..<colon])
            return (name, port, "\(name):\(port)")
        }
        return (authority, nil, authority)
    }

    /// Adds CORS, cache and security headers to a response the service produced.
    public func finish(_ request: HTTPRequest, _ response: inout HTTPResponse) {
        if let origin = corsOrigin {
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Methods"] = "POST, GET, DELETE, PUT, OPTIONS, PATCH"
            response.headers["Access-Control-Allow-Headers"] = "Content-Type, Authorization"
            response.headers["Access-Control-Allow-Credentials"] = "true"
        }
        if comfyCacheHeaders && response.headers["Cache-Control"] == nil, let value = RequestPolicy.cacheControl(path: request.rawPath, status: response.status) {
            response.headers["Cache-Control"] = value
        }
        if securityHeaders {
            if response.headers["X-Content-Type-Options"] == nil { response.headers["X-Content-Type-Options"] = "nosniff" }
            if response.headers["Referrer-Policy"] == nil { response.headers["Referrer-Policy"] = "same-origin" }
        }
    }

    static let imageExtensions: Set<String> = ["jpg", "jpeg", "png", "ppm", "bmp", "pgm", "tif", "tiff", "webp"]

    /// ComfyUI's cache-control rules by path and status (spec §1 middleware 1).
    static func cacheControl(path: String, status: Int) -> String? {
        let lower = path.lowercased()
        let fileName = lower.split(separator: "/").last.map(String.init) ?? ""
        if lower.hasSuffix(".js") || lower.hasSuffix(".css") || (fileName.hasPrefix("index") && fileName.hasSuffix(".json")) {
            return "no-cache"
        }
        if let dot = fileName.lastIndex(of: "."), imageExtensions.contains(String(fileName[fileName.index(after: dot)...])) {
            switch status {
            case 200..<300, 301, 308: return "public, max-age=86400"
            case 404: return "public, max-age=3600"
            case 302, 303, 307: return "no-cache"
            default: return nil
            }
        }
        return nil
    }
}

/// Answers "is this host name loopback?" — literals directly, names through getaddrinfo with a
/// small bounded cache so a browser's Host header does not cost a lookup per request.
final class LoopbackResolver: Sendable {
    let cache = Mutex<[String: Bool]>([:])

    func isLoopback(_ name: String) -> Bool {
        if let v4 = LoopbackResolver.parseIPv4(name) { return v4 >> 24 == 127 }
        if name.contains(":") { return name == "::1" || name == "0:0:0:0:0:0:0:1" || name.hasPrefix("::ffff:127.") }
        if name == "localhost" || name.hasSuffix(".localhost") { return true }
        if let cached = cache.withLock({ $0[name] }) { return cached }
        let answer = resolvesOnlyToLoopback(name)
        cache.withLock { c in
            if c.count > 256 { c.removeAll() }
            c[name] = answer
        }
        return answer
    }

    static func parseIPv4(_ s: String) -> UInt32? {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var v: UInt32 = 0
        for p in parts {
            guard !p.isEmpty, p.count <= 3, let n = UInt32(p), n < 256 else { return nil }
            v = v << 8 | n
        }
        return v
    }

    func resolvesOnlyToLoopback(_ name: String) -> Bool {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(name, nil, &hints, &result) == 0, let first = result else { return false }
        defer { freeaddrinfo(first) }
        var node: UnsafeMutablePointer<addrinfo>? = first
        var any = false
        while let n = node {
            var storage = sockaddr_storage()
            withUnsafeMutableBytes(of: &storage) { dst in
                dst.copyMemory(from: UnsafeRawBufferPointer(start: n.pointee.ai_addr, count: Int(n.pointee.ai_addrlen)))
            }
            let text = Socket.describe(storage)
            let loop = (LoopbackResolver.parseIPv4(text).map { $0 >> 24 == 127 }) ?? (text == "::1")
            if !loop { return false }
            any = true
            node = n.pointee.ai_next
        }
        return any
    }
}
