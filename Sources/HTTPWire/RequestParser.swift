/// Incremental HTTP/1.1 request parser (RFC 9112). No I/O: append bytes as they arrive and
/// call `next()` until it returns nil. Each request yields `.head` (so a server can answer
/// `100 Continue` or refuse early) and then `.complete`; bytes after a request stay buffered
/// for the next one, which is how pipelining works.
public struct RequestParser: Sendable {
    public enum Event: Sendable {
        case head(RequestHead)
        case complete(RequestHead, body: [UInt8])
    }

    enum State: Sendable {
        case head(scanFrom: Int)
        case headDelivered(RequestHead)
        case lengthBody(RequestHead, remaining: Int)
        case chunkSize(RequestHead)
        case chunkData(RequestHead, remaining: Int)
        case chunkDataEnd(RequestHead)
        case trailers(RequestHead, consumed: Int)
        case failed(HTTPWireError)
    }

    public let limits: HTTPLimits
    var buffer: [UInt8] = []
    var readIndex = 0
    var state: State = .head(scanFrom: 0)
    var body: [UInt8] = []

    public init(limits: HTTPLimits = HTTPLimits()) { self.limits = limits }

    /// Bytes received but not yet consumed by a parsed request.
    public var bufferedByteCount: Int { buffer.count - readIndex }

    /// True between requests with nothing buffered: an idle keep-alive connection.
    public var isIdle: Bool {
        if case .head = state, bufferedByteCount == 0 { return true }
        return false
    }

    /// True once a head has been delivered and its body is still being read.
    public var isReadingBody: Bool {
        switch state {
        case .head, .failed: return false
        default: return true
        }
    }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        compactIfUseful()
        buffer.append(contentsOf: bytes)
    }

    public mutating func append<C: Collection>(contentsOf bytes: C) where C.Element == UInt8 {
        compactIfUseful()
        buffer.append(contentsOf: bytes)
    }

    /// Removes and returns the unparsed bytes (what follows a WebSocket upgrade request).
    public mutating func takeBufferedBytes() -> [UInt8] {
        let rest = Array(buffer[readIndex...])
        buffer.removeAll(keepingCapacity: false)
        readIndex = 0
        return rest
    }

    mutating func compactIfUseful() {
        if readIndex > 0 && readIndex == buffer.count && buffer.capacity > 16 * 1024 {
            // Everything was consumed: drop a large buffer so an idle keep-alive connection stays small.
            if case .head = state { state = .head(scanFrom: 0) }
            buffer = []
            readIndex = 0
            return
        }
        if readIndex > 0 && (readIndex == buffer.count || readIndex >= 4096) {
            if case .head(let scanFrom) = state { state = .head(scanFrom: max(0, scanFrom - readIndex)) }
            buffer.removeFirst(readIndex)
            readIndex = 0
        }
    }

    /// Advances as far as the buffered bytes allow.
    /// - Throws: `HTTPWireError`; after a throw the parser stays failed (the connection must close).
    public mutating func next() throws(HTTPWireError) -> Event? {
        while true {
            switch state {
            case .failed(let error):
                throw error
            case .head(let scanFrom):
                // Tolerate empty lines before a request line (RFC 9112 §2.2).
                while readIndex + 1 < buffer.count, buffer[readIndex] == 13, buffer[readIndex + 1] == 10 { readIndex += 2 }
                let start = max(readIndex, scanFrom)
                guard let end = findHeadEnd(from: start) else {
                    if buffer.count - readIndex > limits.headerBytes { return try fail(.headerTooLarge(limit: limits.headerBytes)) }
                    state = .head(scanFrom: max(readIndex, buffer.count - 3))
                    return nil
                }
                if end - readIndex > limits.headerBytes { return try fail(.headerTooLarge(limit: limits.headerBytes)) }
                let head: RequestHead
                do {
                    head = try buffer.withUnsafeBufferPointer { p throws(HTTPWireError) in
                        try RequestParser.parseHead(UnsafeBufferPointer(rebasing: p[readIndex..<(end - 4)]), limits: limits)
                    }
                } catch {
                    return try fail(error)
                }
                readIndex = end
                body = []
                state = .headDelivered(head)
                return .head(head)
            case .headDelivered(let head):
                switch head.framing {
                case .none: return finish(head)
                case .contentLength(let n):
                    body.reserveCapacity(min(n, 1 << 20))
                    state = .lengthBody(head, remaining: n)
                case .chunked: state = .chunkSize(head)
                }
            case .lengthBody(let head, let remaining):
                if remaining == 0 { return finish(head) }
                let available = buffer.count - readIndex
                if available == 0 { return nil }
                let take = min(available, remaining)
                body.append(contentsOf: buffer[readIndex..<(readIndex + take)])
                readIndex += take
                state = .lengthBody(head, remaining: remaining - take)
            case .chunkSize(let head):
                guard let lineEnd = findCRLF(from: readIndex) else {
                    if buffer.count - readIndex > limits.chunkLineBytes {
                        return try fail(.malformedChunk("chunk-size line longer than \(limits.chunkLineBytes) bytes"))
                    }
                    return nil
                }
                if lineEnd - readIndex > limits.chunkLineBytes {
                    return try fail(.malformedChunk("chunk-size line longer than \(limits.chunkLineBytes) bytes"))
                }
                let line = buffer[readIndex..<lineEnd]
                guard let size = RequestParser.chunkSize(line) else {
                    return try fail(.malformedChunk(String(decoding: line.prefix(64), as: UTF8.self)))
                }
                readIndex = lineEnd + 2
                if size == 0 {
                    state = .trailers(head, consumed: 0)
                } else {
                    if size > limits.bodyBytes - body.count { return try fail(.bodyTooLarge(limit: limits.bodyBytes)) }
                    state = .chunkData(head, remaining: size)
                }
            case .chunkData(let head, let remaining):
                let available = buffer.count - readIndex
                if available == 0 { return nil }
                let take = min(available, remaining)
                body.append(contentsOf: buffer[readIndex..<(readIndex + take)])
                readIndex += take
                state = take == remaining ? .chunkDataEnd(head) : .chunkData(head, remaining: remaining - take)
            case .chunkDataEnd(let head):
                if buffer.count - readIndex < 2 { return nil }
                guard buffer[readIndex] == 13, buffer[readIndex + 1] == 10 else {
                    return try fail(.malformedChunk("chunk data not followed by CRLF"))
                }
                readIndex += 2
                state = .chunkSize(head)
            case .trailers(let head, let consumed):
                // Trailer fields are read and dropped; they count against the header limit.
                guard let lineEnd = findCRLF(from: readIndex) else {
                    if consumed + buffer.count - readIndex > limits.headerBytes { return try fail(.headerTooLarge(limit: limits.headerBytes)) }
                    return nil
                }
                let length = lineEnd - readIndex
                readIndex = lineEnd + 2
                if length == 0 { return finish(head) }
                if consumed + length + 2 > limits.headerBytes { return try fail(.headerTooLarge(limit: limits.headerBytes)) }
                state = .trailers(head, consumed: consumed + length + 2)
            }
        }
    }

    mutating func finish(_ head: RequestHead) -> Event {
        let b = body
        body = []
        state = .head(scanFrom: readIndex)
        return .complete(head, body: b)
    }

    mutating func fail(_ error: HTTPWireError) throws(HTTPWireError) -> Event? {
        state = .failed(error)
        throw error
    }

    /// Index just past the `\r\n\r\n` that ends the head, searching from `from`.
    func findHeadEnd(from: Int) -> Int? {
        buffer.withUnsafeBufferPointer { p -> Int? in
            var i = from
            let n = p.count
            while i + 3 < n {
                if p[i + 3] != 10 { i += p[i + 3] == 13 ? 1 : 4; continue }
                if p[i] == 13 && p[i + 1] == 10 && p[i + 2] == 13 { return i + 4 }
                i += 1
            }
            return nil
        }
    }

    func findCRLF(from: Int) -> Int? {
        var i = from
        while i + 1 < buffer.count {
            if buffer[i] == 13 && buffer[i + 1] == 10 { return i }
            i += 1
        }
        return nil
    }

    static func chunkSize(_ line: ArraySlice<UInt8>) -> Int? {
        var size = 0
        var digits = 0
        var i = line.startIndex
        while i < line.endIndex, let v = PercentDecoding.hexValue(line[i]) {
            if digits == 15 { return nil }  // 16^15 is far beyond any body limit; refuse before overflow.
            size = size << 4 | Int(v)
            digits += 1
            i += 1
        }
        if digits == 0 { return nil }
        while i < line.endIndex, line[i] == 32 || line[i] == 9 { i += 1 }
        if i < line.endIndex && line[i] != UInt8(ascii: ";") { return nil }  // only chunk extensions may follow
        return size
    }

    /// Token characters (RFC 9110 §5.6.2).
    @inline(__always) static func isTokenChar(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
             UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
             UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    static func text(_ p: UnsafeBufferPointer<UInt8>) -> String { String(decoding: p, as: UTF8.self) }

    /// Parses the head bytes without the final blank line.
    static func parseHead(_ p: UnsafeBufferPointer<UInt8>, limits: HTTPLimits) throws(HTTPWireError) -> RequestHead {
        // Split into CRLF-terminated lines; a bare CR or LF anywhere is malformed.
        var lines: [UnsafeBufferPointer<UInt8>] = []
        var lineStart = 0
        var i = 0
        while i < p.count {
            let c = p[i]
            if c == 13 {
                guard i + 1 < p.count, p[i + 1] == 10 else { throw .malformedHeader(text(UnsafeBufferPointer(rebasing: p[lineStart..<min(p.count, i + 1)]))) }
                lines.append(UnsafeBufferPointer(rebasing: p[lineStart..<i]))
                i += 2
                lineStart = i
                continue
            }
            if c == 10 || c == 0 { throw .malformedHeader(text(UnsafeBufferPointer(rebasing: p[lineStart...i]))) }
            i += 1
        }
        lines.append(UnsafeBufferPointer(rebasing: p[lineStart..<p.count]))

        // Request line: exactly three parts separated by single spaces.
        let requestLine = lines[0]
        let parts = requestLine.split(separator: 32, maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw .malformedRequestLine(text(requestLine)) }
        let methodBytes = parts[0], targetBytes = parts[1], versionBytes = parts[2]
        guard !methodBytes.isEmpty, methodBytes.allSatisfy(isTokenChar) else { throw .invalidMethod(String(decoding: methodBytes, as: UTF8.self)) }
        let method = String(decoding: methodBytes, as: UTF8.self)
        let minor: Int
        if versionBytes.elementsEqual("HTTP/1.1".utf8) { minor = 1 }
        else if versionBytes.elementsEqual("HTTP/1.0".utf8) { minor = 0 }
        else if versionBytes.count == 8, versionBytes.starts(with: "HTTP/".utf8),
                versionBytes[versionBytes.startIndex + 5] >= 48, versionBytes[versionBytes.startIndex + 5] <= 57,
                versionBytes[versionBytes.startIndex + 6] == UInt8(ascii: "."),
                versionBytes[versionBytes.startIndex + 7] >= 48, versionBytes[versionBytes.startIndex + 7] <= 57 {
            throw .unsupportedVersion(String(decoding: versionBytes, as: UTF8.self))
        } else { throw .malformedRequestLine(text(requestLine)) }

        guard !targetBytes.isEmpty, targetBytes.allSatisfy({ $0 > 32 && $0 != 127 }) else {
            throw .invalidTarget(String(decoding: targetBytes, as: UTF8.self))
        }
        let target = String(decoding: targetBytes, as: UTF8.self)
        var pathAndQuery = Substring(target)
        if target == "*" {
            guard method == "OPTIONS" else { throw .invalidTarget(target) }
            pathAndQuery = "/"
        } else if !target.hasPrefix("/") {
            // Absolute-form (RFC 9112 §3.2.2): keep only the path and query.
            let lower = target.lowercased()
            guard lower.hasPrefix("http://") || lower.hasPrefix("https://") else { throw .invalidTarget(target) }
            let afterScheme = target[target.index(target.firstIndex(of: ":")!, offsetBy: 3)...]
            if let slash = afterScheme.firstIndex(where: { $0 == "/" || $0 == "?" }) {
                pathAndQuery = afterScheme[slash...]
                if pathAndQuery.first == "?" { pathAndQuery = "/" + pathAndQuery }
            } else {
                pathAndQuery = "/"
            }
        }
        var rawPath = pathAndQuery
        var rawQuery: Substring = ""
        if let q = pathAndQuery.firstIndex(of: "?") {
            rawPath = pathAndQuery[..<q]
            rawQuery = pathAndQuery[pathAndQuery.index(after: q)...]
        }
        if let hash = rawQuery.firstIndex(of: "#") { rawQuery = rawQuery[..<hash] }
        if let hash = rawPath.firstIndex(of: "#") { rawPath = rawPath[..<hash] }
        guard let segments = PercentDecoding.pathSegments(String(rawPath)) else { throw .invalidPercentEncoding(String(rawPath)) }

        // Header fields.
        var fields: [(name: String, value: String)] = []
        fields.reserveCapacity(lines.count - 1)
        for line in lines.dropFirst() {
            guard let first = line.first else { throw .malformedHeader("") }
            if first == 32 || first == 9 { throw .malformedHeader(text(line)) }  // obs-fold
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > 0 else { throw .malformedHeader(text(line)) }
            let name = UnsafeBufferPointer(rebasing: line[0..<colon])
            guard name.allSatisfy(isTokenChar) else { throw .malformedHeader(text(line)) }
            var vs = colon + 1, ve = line.count
            while vs < ve, line[vs] == 32 || line[vs] == 9 { vs += 1 }
            while ve > vs, line[ve - 1] == 32 || line[ve - 1] == 9 { ve -= 1 }
            fields.append((name: text(name), value: text(UnsafeBufferPointer(rebasing: line[vs..<ve]))))
        }
        let headers = HTTPHeaders(fields)

        // Framing (RFC 9112 §6.3).
        var framing = BodyFraming.none
        let te = headers.values("Transfer-Encoding")
        let cl = headers.values("Content-Length")
        if !te.isEmpty {
            if !cl.isEmpty { throw .conflictingFraming }
            let codings = te.flatMap { $0.split(separator: ",").map { $0.trimmingWhitespace().lowercased() } }.filter { !$0.isEmpty }
            guard codings == ["chunked"] else { throw .unsupportedTransferEncoding(te.joined(separator: ", ")) }
            framing = .chunked
        } else if !cl.isEmpty {
            var length: Int? = nil
            for value in cl {
                for part in value.split(separator: ",", omittingEmptySubsequences: false) {
                    let t = part.trimmingWhitespace()
                    guard !t.isEmpty, t.count <= 18, t.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let n = Int(t) else {
                        throw .invalidContentLength(value)
                    }
                    if let l = length, l != n { throw .invalidContentLength(cl.joined(separator: ", ")) }
                    length = n
                }
            }
            if let n = length {
                if n > limits.bodyBytes { throw .bodyTooLarge(limit: limits.bodyBytes) }
                framing = n == 0 ? .none : .contentLength(n)
            }
        }
        if minor == 1 && headers["Host"] == nil { throw .missingHost }

        let keepAlive = minor == 1 ? !headers.containsToken("Connection", "close") : headers.containsToken("Connection", "keep-alive")
        let expects = headers["Expect"]?.lowercased() == "100-continue"
        let upgrade = headers.containsToken("Connection", "upgrade") && headers.containsToken("Upgrade", "websocket")
        return RequestHead(method: method, target: target, rawPath: String(rawPath), rawQuery: String(rawQuery),
                           pathSegments: segments, headers: headers, minorVersion: minor, framing: framing,
                           keepAlive: keepAlive, expectsContinue: expects, isWebSocketUpgrade: upgrade)
    }
}
