#if canImport(Glibc)
import Glibc
#endif
import HTTPWire
import Synchronization

/// Safe static-file responses: the file must resolve (symlinks included) inside `root`,
/// with ETag/If-None-Match, single byte ranges and content types. The body is a file region
/// that the socket layer streams, so large files are never read into memory here.
public enum StaticFiles {
    /// Answers GET/HEAD for `relativePath` (already percent-decoded, `/`-separated) under `root`.
    /// 404 for anything missing or outside the root, so probing reveals nothing; 405 for other methods.
    public static func response(for request: HTTPRequest, root: String, relativePath: String) -> HTTPResponse {
        guard request.method == "GET" || request.method == "HEAD" else {
            return HTTPResponse(status: 405, headers: ["Allow": "GET, HEAD"])
        }
        guard var path = resolve(root: root, relativePath: relativePath) else { return notFound() }
        var st = stat()
        guard stat(path, &st) == 0 else { return notFound() }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            // A directory URL serves its index.html, the way the frontend root is served.
            guard let index = resolve(root: root, relativePath: relativePath + "/index.html"),
                  stat(index, &st) == 0 else { return notFound() }
            path = index
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else { return notFound() }
        let size = Int(st.st_size)
        let etag = "\"\(String(st.st_mtim.tv_sec, radix: 16))-\(String(st.st_mtim.tv_nsec / 1000, radix: 16))-\(String(size, radix: 16))\""
        var headers: HTTPHeaders = [
            "Content-Type": ContentTypes.forFileName(path),
            "ETag": etag,
            "Last-Modified": HTTPDate.format(secondsSince1970: Int64(st.st_mtim.tv_sec)),
            "Accept-Ranges": "bytes",
        ]
        if let inm = request.headers["If-None-Match"], matches(inm, etag) {
            return HTTPResponse(status: 304, headers: headers)
        }
        if let range = request.headers["Range"], request.headers["If-Range"].map({ $0 == etag }) ?? true {
            switch byteRange(range, size: size) {
            case .none:
                break
            case .unsatisfiable:
                return HTTPResponse(status: 416, headers: ["Content-Range": "bytes */\(size)"])
            case .range(let start, let end):
                headers["Content-Range"] = "bytes \(start)-\(end)/\(size)"
                return HTTPResponse(status: 206, headers: headers, body: .file(path: path, offset: start, length: end - start + 1))
            }
        }
        return HTTPResponse(status: 200, headers: headers, body: .file(path: path, offset: 0, length: size))
    }

    static func notFound() -> HTTPResponse {
        HTTPResponse(status: 404, headers: ["Content-Type": "text/plain; charset=utf-8"], body: .bytes(Array("404: Not Found".utf8)))
    }

    /// The real path of `relativePath` under `root`, or nil when it contains `..`, NUL or a
    /// backslash, or resolves (through symlinks) outside the real root. An empty path is the root.
    public static func resolve(root: String, relativePath: String) -> String? {
        if relativePath.utf8.contains(0) || relativePath.contains("\\") { return nil }
        let key = root + "\u{0}" + relativePath
        if let hit = resolvedCache.lookup(key) { return hit }
        let resolved = resolveUncached(root: root, relativePath: relativePath)
        if let resolved { resolvedCache.store(key, resolved) }
        return resolved
    }

    /// Resolved paths are reused for one second: `realpath` costs a `readlink` per component,
    /// which dominated small static responses. Only paths already verified to lie inside the
    /// root are cached, and the file is opened again for every response, so the window is no
    /// wider than the existing one between this check and the open.
    static let resolvedCache = ResolvedPathCache(lifetimeNanoseconds: 1_000_000_000, capacity: 4096)

    static func resolveUncached(root: String, relativePath: String) -> String? {
        let parts = relativePath.split(separator: "/", omittingEmptySubsequences: true)
        if parts.contains(where: { $0 == ".." || $0 == "." }) { return nil }
        guard let realRoot = realRootCache.resolve(root) else { return nil }
        var candidate = realRoot
        for p in parts { candidate += "/" + p }
        guard let real = realPath(candidate) else { return nil }
        if real == realRoot { return real }  // the root itself; the caller serves its index.html
        guard real.hasPrefix(realRoot == "/" ? "/" : realRoot + "/") else { return nil }
        return real
    }

    /// Roots rarely change, so their real path is cached (bounded) instead of resolved per request.
    static let realRootCache = RealPathCache()

    static func realPath(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }

    /// If-None-Match matching with weak comparison (RFC 9110 §13.1.2).
    static func matches(_ header: String, _ etag: String) -> Bool {
        if header.trimmingCharacters(in: " ") == "*" { return true }
        let strip: (Substring) -> Substring = { v in
            let t = v.drop { $0 == " " }
            return t.hasPrefix("W/") ? t.dropFirst(2) : t
        }
        return header.split(separator: ",").contains { strip($0).trimmingSuffix(" ") == Substring(etag) }
    }

    enum RangeResult: Equatable { case none, unsatisfiable, range(Int, Int) }

    /// Parses a single `bytes=` range (RFC 9110 §14.1.2). Multiple ranges are answered with the
    /// whole file, which the RFC allows.
    static func byteRange(_ header: String, size: Int) -> RangeResult {
        guard header.hasPrefix("bytes=") else { return .none }
        let spec = header.dropFirst(6).trimmingSuffix(" ")
        if spec.contains(",") { return .none }
        guard let dash = spec.firstIndex(of: "-") else { return .none }
        let a = spec[..<dash].drop { $0 == " " }, b = spec[spec.index(after: dash)...]
        if a.isEmpty {
            guard let n = Int(b), n > 0 else { return isZeroCount(b) ? .unsatisfiable : .none }
            if size == 0 { return .unsatisfiable }
            return .range(max(0, size - n), size - 1)
        }
        guard let start = Int(a), start >= 0 else { return .none }
        if start >= size { return .unsatisfiable }
        if b.isEmpty { return .range(start, size - 1) }
        guard let end = Int(b), end >= start else { return .none }
        return .range(start, min(end, size - 1))
    }

    private static func isZeroCount(_ s: Substring) -> Bool { Int(s) == 0 }
}

extension StringProtocol {
    func trimmingCharacters(in set: Character) -> String {
        String(self.drop { $0 == set }.reversed().drop { $0 == set }.reversed())
    }
    func trimmingSuffix(_ c: Character) -> SubSequence {
        var s = self[...]
        while s.last == c { s = s.dropLast() }
        return s
    }
}

/// A small bounded cache of `realpath` results for static roots.
final class RealPathCache: Sendable {
    let entries = Mutex<[String: String]>([:])

    func resolve(_ root: String) -> String? {
        if let hit = entries.withLock({ $0[root] }) { return hit }
        guard let real = StaticFiles.realPath(root) else { return nil }
        entries.withLock { e in
            if e.count > 64 { e.removeAll() }
            e[root] = real
        }
        return real
    }
}

/// Real paths of recently resolved static files, each valid for a short lifetime.
final class ResolvedPathCache: Sendable {
    let lifetime: UInt64
    let capacity: Int
    let entries = Mutex<[String: (path: String, expires: UInt64)]>([:])

    init(lifetimeNanoseconds: UInt64, capacity: Int) {
        self.lifetime = lifetimeNanoseconds
        self.capacity = capacity
    }

    func lookup(_ key: String) -> String? {
        let now = Socket.monotonicNanoseconds()
        return entries.withLock { e in
            guard let hit = e[key] else { return nil }
            if hit.expires < now { e[key] = nil; return nil }
            return hit.path
        }
    }

    func store(_ key: String, _ path: String) {
        let expires = Socket.monotonicNanoseconds() + lifetime
        entries.withLock { e in
            if e.count >= capacity { e.removeAll(keepingCapacity: true) }
            e[key] = (path, expires)
        }
    }
}
