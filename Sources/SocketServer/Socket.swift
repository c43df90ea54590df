#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Thin POSIX socket helpers. Every failure captures `errno` at the call site.
enum Socket {
    static func fail(_ call: String, _ detail: String) -> ServerError {
        ServerError.systemCall(call: call, errno: errno, detail: detail)
    }

    /// Resolves a listen host to socket addresses (numeric literals first, then DNS).
    static func addresses(host: String, port: Int) throws(ServerError) -> [(family: Int32, storage: sockaddr_storage, length: socklen_t)] {
        var name = host
        if name.hasPrefix("[") && name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        var hints = addrinfo()
        hints.ai_flags = AI_PASSIVE
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var result: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(name.isEmpty ? nil : name, String(port), &hints, &result)
        guard rc == 0, let first = result else { throw .unresolvableHost(host) }
        defer { freeaddrinfo(first) }
        var out: [(family: Int32, storage: sockaddr_storage, length: socklen_t)] = []
        var node: UnsafeMutablePointer<addrinfo>? = first
        while let n = node {
            var storage = sockaddr_storage()
            withUnsafeMutableBytes(of: &storage) { dst in
                dst.copyMemory(from: UnsafeRawBufferPointer(start: n.pointee.ai_addr, count: Int(n.pointee.ai_addrlen)))
            }
            if !out.contains(where: { $0.family == n.pointee.ai_family && sameAddress($0.storage, storage) }) {
                out.append((n.pointee.ai_family, storage, n.pointee.ai_addrlen))
            }
            node = n.pointee.ai_next
        }
        return out
    }

    static func sameAddress(_ a: sockaddr_storage, _ b: sockaddr_storage) -> Bool {
        describe(a) == describe(b)
    }

    /// Creates a non-blocking listening socket bound to `address`.
    static func listen(family: Int32, storage: sockaddr_storage, length: socklen_t, label: String) throws(ServerError) -> Int32 {
        #if canImport(Glibc)
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #else
        let fd = socket(family, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw fail("socket", label) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if family == AF_INET6 {
            // Keep "::" IPv6-only so "0.0.0.0,::" can bind both families on one port.
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        var s = storage
        let rc = withUnsafePointer(to: &s) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        if rc != 0 { let e = fail("bind", label); close(fd); throw e }
        if Glibc.listen(fd, 1024) != 0 { let e = fail("listen", label); close(fd); throw e }
        return fd
    }

    /// The local port of a bound socket.
    static func localPort(_ fd: Int32) -> Int {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return port(storage)
    }

    static func port(_ s: sockaddr_storage) -> Int {
        var copy = s
        return withUnsafePointer(to: &copy) { p -> Int in
            if Int32(s.ss_family) == AF_INET {
                return p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
            }
            return p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) }
        }
    }

    /// The address part as text (`127.0.0.1`, `::1`); IPv4-mapped IPv6 addresses are shown as IPv4.
    static func describe(_ s: sockaddr_storage) -> String {
        var copy = s
        var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        let family = Int32(s.ss_family)
        let text: String = withUnsafePointer(to: &copy) { p in
            if family == AF_INET {
                return p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                    var a = sin.pointee.sin_addr
                    inet_ntop(AF_INET, &a, &buf, socklen_t(buf.count))
                    return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                }
            } else if family == AF_INET6 {
                return p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin in
                    var a = sin.pointee.sin6_addr
                    inet_ntop(AF_INET6, &a, &buf, socklen_t(buf.count))
                    return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                }
            }
            return ""
        }
        if text.hasPrefix("::ffff:") && text.contains(".") { return String(text.dropFirst(7)) }
        return text
    }

    static func setNoDelay(_ fd: Int32) {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
