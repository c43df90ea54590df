#if canImport(Glibc)
import Glibc
#endif
import CLibSSL
import Dispatch
import HTTPWire

/// One accepted socket: HTTP/1.1 exchanges, then possibly a WebSocket.
///
/// Owned by `loop.queue`: every stored property is read and written only there (the loop's
/// epoll source and every `async` hop target that queue). Services run on global worker queues
/// and hand results back with `loop.queue.async`.
final class Connection: @unchecked Sendable {
    enum Mode { case http, webSocket, draining }
    enum Phase { case reading, responding, writing }
    enum DeadlineKind { case idle, header, body, write, linger, webSocketClose }
    enum ReadResult { case data(Int), wouldBlock, eof, failed }
    enum WriteResult { case wrote(Int), wouldBlock, failed }

    let fd: Int32
    let loop: Loop
    let core: ServerCore
    let remoteAddress: String
    var ssl: OpaquePointer?
    /// Interest in the loop's epoll set: readable while reading is not paused, writable while
    /// output is blocked. Changed only through `pauseReading`/`resumeReading`/`waitWritable`.
    var wantRead = false
    var wantWrite = false

    var mode = Mode.http
    var phase = Phase.reading
    var parser: RequestParser
    var out: [UInt8] = []
    var outIndex = 0
    var file: (fd: Int32, offset: Int, remaining: Int)?
    var closeAfterWrite = false
    var readEOF = false
    var closed = false
    var deadline: UInt64 = 0
    var deadlineKind = DeadlineKind.idle
    var tlsReadNeedsWritable = false
    var tlsWriteNeedsReadable = false
    var drainedBytes = 0
    var processing = false

    // Access-log fields of the exchange in flight.
    var logMethod = ""
    var logTarget = ""
    var logStatus = 0
    var logBytes = 0
    var requestStart: UInt64 = 0

    var webSocket: WebSocketSession?

    init(fd: Int32, loop: Loop, core: ServerCore, remoteAddress: String, ssl: OpaquePointer?) {
        self.fd = fd
        self.loop = loop
        self.core = core
        self.remoteAddress = remoteAddress
        self.ssl = ssl
        self.parser = RequestParser(limits: core.configuration.limits)
    }

    // MARK: lifecycle

    func start() {
        dispatchPrecondition(condition: .onQueue(loop.queue))
        loop.connections[ObjectIdentifier(self)] = self
        wantRead = true
        guard loop.register(self) else { close(); return }
        if core.isShuttingDown { close(); return }
        if ssl != nil {
            // The TLS handshake counts as part of the first request head, so a client that stalls
            // it (a TLS slowloris) is dropped after the header timeout.
            setDeadline(.header, core.configuration.headerTimeoutSeconds)
        } else {
            setDeadline(.idle, core.configuration.idleTimeoutSeconds)
        }
    }

    /// Closes now: no lingering, no close handshake.
    func close() {
        guard !closed else { return }
        closed = true
        deadline = 0
        loop.connections[ObjectIdentifier(self)] = nil
        // Unregister before closing, on this queue, so the descriptor number can be reused safely.
        loop.unregister(self)
        if let f = file { Glibc.close(f.fd); file = nil }
        if let ssl { SSL_free(ssl); self.ssl = nil }
        Glibc.close(fd)
        if let ws = webSocket { core.webSocketClosed(ws.handle) }
        core.connectionClosed()
    }

    func setDeadline(_ kind: DeadlineKind, _ seconds: Double) {
        deadlineKind = kind
        deadline = Socket.monotonicNanoseconds() + UInt64(max(0, seconds) * 1e9)
    }

    func deadlinePassed() {
        switch deadlineKind {
        case .idle, .write, .linger, .webSocketClose:
            close()
        case .header, .body:
            if let ssl, SSL_is_init_finished(ssl) != 1 {
                close()  // no TLS session yet, so no way to send a 408
            } else if phase == .reading && mode == .http {
                core.logger.log(.debug, "\(remoteAddress) request timed out while reading the \(deadlineKind == .header ? "head" : "body")")
                respondWithError(status: 408, message: "The request was not received in time.")
            } else {
                close()
            }
        }
    }

    func pauseReading() {
        if wantRead { wantRead = false; loop.updateInterest(self) }
    }

    func resumeReading() {
        guard !closed, !readEOF, !wantRead else { return }
        wantRead = true
        loop.updateInterest(self)
        // TLS may hold decrypted bytes that no socket event will announce.
        if ssl != nil { loop.queue.async { [self] in if !closed { onReadable() } } }
    }

    func waitWritable() {
        if !wantWrite { wantWrite = true; loop.updateInterest(self) }
    }

    func stopWaitingWritable() {
        if wantWrite { wantWrite = false; loop.updateInterest(self) }
    }

    // MARK: reading

    func onReadable() {
        if closed { return }
        if tlsWriteNeedsReadable { tlsWriteNeedsReadable = false; flush(); if closed { return } }
        var total = 0
        readLoop: while !closed && wantRead {
            switch receive() {
            case .data(let n):
                total += n
                consume(UnsafeRawBufferPointer(rebasing: loop.readBuffer[0..<n]))
                if closed { return }
                if mode == .http && phase != .reading && parser.bufferedByteCount > core.configuration.headerLimitBytes + 65536 {
                    pauseReading()  // pipelined bytes wait until the current response is out
                }
                // A short plain read means the socket is drained; the level-triggered source fires
                // again if more arrives, so skip the read that would only return EAGAIN.
                if ssl == nil && n < loop.readBuffer.count { break readLoop }
                if total >= 1 << 20 {
                    // Let other connections on this loop run; come back for the rest.
                    loop.queue.async { [self] in if !closed && wantRead { onReadable() } }
                    break readLoop
                }
            case .wouldBlock:
                break readLoop
            case .eof:
                readEOF = true
                pauseReading()
                break readLoop
            case .failed:
                close()
                return
            }
        }
        switch mode {
        case .http: processHTTP()
        case .webSocket: processWebSocket(); if readEOF { close() }
        case .draining: if readEOF || drainedBytes > 4 << 20 { close() }
        }
    }

    func consume(_ bytes: UnsafeRawBufferPointer) {
        switch mode {
        case .http:
            parser.append(bytes)
            if phase == .reading {
                if parser.isReadingBody {
                    setDeadline(.body, core.configuration.bodyTimeoutSeconds)
                } else if deadlineKind == .idle {
                    setDeadline(.header, core.configuration.headerTimeoutSeconds)
                }
            }
        case .webSocket:
            webSocket?.parser.append(bytes)
        case .draining:
            drainedBytes += bytes.count
        }
    }

    func receive() -> ReadResult {
        let buffer = loop.readBuffer
        if let ssl {
            ERR_clear_error()
            let n = SSL_read(ssl, buffer.baseAddress, Int32(buffer.count))
            if n > 0 { return .data(Int(n)) }
            switch SSL_get_error(ssl, n) {
            case SSL_ERROR_WANT_READ: return .wouldBlock
            case SSL_ERROR_WANT_WRITE: tlsReadNeedsWritable = true; waitWritable(); return .wouldBlock
            case SSL_ERROR_ZERO_RETURN: return .eof
            case SSL_ERROR_SYSCALL: return errno == 0 ? .eof : .failed
            default:
                core.logger.log(.debug, "\(remoteAddress) TLS error: \(TLSContext.lastError())")
                return .failed
            }
        }
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n > 0 { return .data(n) }
            if n == 0 { return .eof }
            if errno == EINTR { continue }
            return errno == EAGAIN || errno == EWOULDBLOCK ? .wouldBlock : .failed
        }
    }

    // MARK: HTTP

    static let knownMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"]

    func processHTTP() {
        // Inline responses finish inside this loop and would re-enter it once per pipelined
        // request; the flag turns that recursion into iterations of the loop below.
        if processing { return }
        processing = true
        defer { processing = false }
        while !closed && mode == .http && phase == .reading {
            let event: RequestParser.Event?
            do {
                event = try parser.next()
            } catch {
                respondWithError(status: error.status, message: error.description)
                return
            }
            guard let event else { break }
            switch event {
            case .head(let head):
                logMethod = head.method
                logTarget = head.target
                requestStart = Socket.monotonicNanoseconds()
                if !Connection.knownMethods.contains(head.method) {
                    let known = head.method == "TRACE" || head.method == "CONNECT"
                    respondWithError(status: known ? 405 : 501, message: "The method \(head.method) is not supported.",
                                     extra: ["Allow": "GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH"])
                    return
                }
                if head.framing != .none {
                    if head.expectsContinue { out.append(contentsOf: "HTTP/1.1 100 Continue\r\n\r\n".utf8); flush(); if closed { return } }
                    setDeadline(.body, core.configuration.bodyTimeoutSeconds)
                }
            case .complete(let head, let body):
                startRequest(head, body: body)
            }
        }
        guard !closed && mode == .http && phase == .reading else { return }
        if readEOF {
            close()  // the peer is gone and no complete request is left
        }
    }

    func startRequest(_ head: RequestHead, body: [UInt8]) {
        phase = .responding
        deadline = 0
        let request = head.request(body: body, remoteAddress: remoteAddress, isSecure: ssl != nil)
        if head.isWebSocketUpgrade {
            startWebSocketUpgrade(head, request)
            return
        }
        let core = self.core
        if core.service.respondsInline(to: request) {
            var response = core.policy.intercept(request) ?? core.service.respond(to: request)
            core.policy.finish(request, &response)
            sendResponse(response, head: head)
            return
        }
        core.workers.async { [self] in
            var response = core.policy.intercept(request) ?? core.service.respond(to: request)
            core.policy.finish(request, &response)
            let finished = response
            loop.queue.async { [self] in sendResponse(finished, head: head) }
        }
    }

    /// Sends a short plain-text error and closes once it is out.
    func respondWithError(status: Int, message: String, extra: HTTPHeaders = HTTPHeaders()) {
        guard !closed else { return }
        if logMethod.isEmpty { logMethod = "-"; logTarget = "-"; requestStart = Socket.monotonicNanoseconds() }
        var headers = extra
        headers["Content-Type"] = "text/plain; charset=utf-8"
        var response = HTTPResponse(status: status, headers: headers, body: .bytes(Array((message + "\n").utf8)))
        if core.configuration.securityHeaders { response.headers["X-Content-Type-Options"] = "nosniff" }
        closeAfterWrite = true
        sendResponse(response, head: nil)
    }

    /// File bodies up to this size are read and sent with the head instead of via `sendfile`.
    static let inlineFileBytes = 64 * 1024

    /// Headers the socket layer owns; a service's values for them are dropped.
    static func isFramingHeader(_ name: String) -> Bool {
        switch name.utf8.count {
        case 4: return HTTPHeaders.namesEqual(name, "date")
        case 10: return HTTPHeaders.namesEqual(name, "connection") || HTTPHeaders.namesEqual(name, "keep-alive")
        case 14: return HTTPHeaders.namesEqual(name, "content-length")
        case 17: return HTTPHeaders.namesEqual(name, "transfer-encoding")
        default: return false
        }
    }

    /// Frames and queues a response; `head` is nil for errors before a request was parsed.
    func sendResponse(_ response: HTTPResponse, head: RequestHead?) {
        guard !closed else { return }
        phase = .writing
        let status = response.status
        let isHead = head?.method == "HEAD"
        let noBody = ResponseEncoder.statusForbidsBody(status)
        var keepAlive = (head?.keepAlive ?? false) && !closeAfterWrite && !core.isShuttingDown
        var headers = HTTPHeaders()
        var bodyBytes: [UInt8] = []
        var contentLength = 0
        var extra: HTTPHeaders = HTTPHeaders()
        switch response.body {
        case .bytes(let bytes):
            bodyBytes = bytes
            if let minimum = core.configuration.gzipMinimumBytes, !isHead, !noBody, bytes.count >= minimum,
               response.headers["Content-Encoding"] == nil,
               let type = response.headers["Content-Type"], ContentTypes.isCompressible(type),
               let head, Connection.acceptsGzip(head.headers),
               let compressed = Gzip.compress(bytes) {
                bodyBytes = compressed
                extra["Content-Encoding"] = "gzip"
                extra["Vary"] = "Accept-Encoding"
            }
            contentLength = bodyBytes.count
        case .file(let path, let offset, let length):
            contentLength = length
            if !isHead && !noBody && length > 0 {
                let f = open(path, O_RDONLY | O_CLOEXEC)
                var st = stat()
                // Small files are checked by the length pread returns, large ones by fstat up front.
                if f < 0 || (length > Connection.inlineFileBytes && (fstat(f, &st) != 0 || Int(st.st_size) < offset + length)) {
                    if f >= 0 { Glibc.close(f) }
                    core.logger.log(.warning, "cannot stream \(path): the file is gone or shorter than \(offset + length) bytes")
                    closeAfterWrite = true
                    sendResponse(HTTPResponse(status: 500, headers: ["Content-Type": "text/plain; charset=utf-8"],
                                              body: .bytes(Array("The file could not be read.\n".utf8))), head: head)
                    return
                }
                if length <= Connection.inlineFileBytes {
                    // Small files go out in the same send as the head: one segment, one syscall.
                    var data = [UInt8](repeating: 0, count: length)
                    let n = data.withUnsafeMutableBytes { pread(f, $0.baseAddress, length, off_t(offset)) }
                    Glibc.close(f)
                    guard n == length else {
                        closeAfterWrite = true
                        sendResponse(HTTPResponse(status: 500, headers: ["Content-Type": "text/plain; charset=utf-8"],
                                                  body: .bytes(Array("The file could not be read.\n".utf8))), head: head)
                        return
                    }
                    bodyBytes = data
                } else {
                    file = (f, offset, length)
                }
            }
        }
        if head?.isWebSocketUpgrade == true && status != 101 { keepAlive = false }
        for (name, value) in response.headers where !Connection.isFramingHeader(name) {
            headers.add(name, value)
        }
        for (name, value) in extra { headers.add(name, value) }
        if !noBody { headers.add("Content-Length", String(contentLength)) }
        headers.add("Date", loop.dateHeader())
        if !keepAlive { headers.add("Connection", "close") } else if head?.minorVersion == 0 { headers.add("Connection", "keep-alive") }
        closeAfterWrite = !keepAlive
        ResponseEncoder.head(status: status, headers: headers, into: &out)
        if !isHead && !noBody { out.append(contentsOf: bodyBytes) }
        logStatus = status
        logBytes = (isHead || noBody) ? 0 : contentLength
        flush()
    }

    static func acceptsGzip(_ headers: HTTPHeaders) -> Bool {
        for value in headers.values("Accept-Encoding") {
            for part in value.lowercased().split(separator: ",") {
                let fields = part.split(separator: ";")
                guard let coding = fields.first?.trimmingCharacters(in: " "), coding == "gzip" || coding == "*" else { continue }
                if fields.dropFirst().contains(where: { $0.replacingOccurrencesOfSpaces() == "q=0" || $0.replacingOccurrencesOfSpaces() == "q=0.0" }) { continue }
                return true
            }
        }
        return false
    }

    // MARK: writing

    func transmit() -> WriteResult {
        let count = out.count - outIndex
        return out.withUnsafeBytes { raw -> WriteResult in
            let p = raw.baseAddress! + outIndex
            if let ssl {
                ERR_clear_error()
                let n = SSL_write(ssl, p, Int32(min(count, Int(Int32.max))))
                if n > 0 { return .wrote(Int(n)) }
                switch SSL_get_error(ssl, n) {
                case SSL_ERROR_WANT_WRITE: return .wouldBlock
                case SSL_ERROR_WANT_READ: tlsWriteNeedsReadable = true; return .wouldBlock
                default: return .failed
                }
            }
            while true {
                // With a file still to follow, MSG_MORE lets the kernel put the head into the
                // same segment as the first file bytes (like TCP_CORK for one call).
                let flags = Int32(MSG_NOSIGNAL) | (file != nil ? Int32(MSG_MORE) : 0)
                let n = Glibc.send(fd, p, count, flags)
                if n >= 0 { return .wrote(n) }
                if errno == EINTR { continue }
                return errno == EAGAIN || errno == EWOULDBLOCK ? .wouldBlock : .failed
            }
        }
    }

    /// Writes as much as the socket takes; waits for writability when it is full.
    func flush() {
        while !closed {
            if outIndex < out.count {
                switch transmit() {
                case .wrote(let n):
                    outIndex += n
                    if mode == .webSocket, let ws = webSocket { ws.handle.wrote(n) }
                    if deadlineKind == .write { setDeadline(.write, core.configuration.writeTimeoutSeconds) }
                case .wouldBlock:
                    if !tlsWriteNeedsReadable { waitWritable() } else { resumeReading() }
                    if deadlineKind != .write && deadlineKind != .webSocketClose && deadlineKind != .linger {
                        setDeadline(.write, core.configuration.writeTimeoutSeconds)
                    }
                    return
                case .failed:
                    close()
                    return
                }
                continue
            }
            if outIndex > 0 {
                // Keep a small buffer for the next response; release big ones so idle connections stay small.
                if out.capacity > 16 * 1024 { out = [] } else { out.removeAll(keepingCapacity: true) }
                outIndex = 0
            }
            if var f = file {
                if f.remaining == 0 { Glibc.close(f.fd); file = nil; continue }
                if ssl == nil {
                    var offset = off_t(f.offset)
                    let n = sendfile(fd, f.fd, &offset, min(f.remaining, 1 << 20))
                    if n > 0 {
                        f.offset += n; f.remaining -= n; file = f
                        if deadlineKind == .write { setDeadline(.write, core.configuration.writeTimeoutSeconds) }
                        continue
                    }
                    if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                        waitWritable()
                        if deadlineKind != .write { setDeadline(.write, core.configuration.writeTimeoutSeconds) }
                        return
                    }
                    if n < 0 && errno == EINTR { continue }
                    close()  // error, or the file shrank under us: the promised length cannot be met
                    return
                } else {
                    let chunk = min(f.remaining, 64 * 1024)
                    out = [UInt8](unsafeUninitializedCapacity: chunk) { buf, initialized in
                        let n = pread(f.fd, buf.baseAddress, chunk, off_t(f.offset))
                        initialized = max(0, n)
                    }
                    if out.isEmpty { close(); return }
                    f.offset += out.count; f.remaining -= out.count; file = f
                    continue
                }
            }
            break
        }
        if closed { return }
        stopWaitingWritable()
        writeDrained()
    }

    func writeDrained() {
        switch mode {
        case .http:
            if phase == .writing { responseFinished() } else if deadlineKind == .write { deadline = 0 }
        case .webSocket:
            if deadlineKind == .write { deadline = 0 }
            if let ws = webSocket {
                if ws.closeSent && ws.closeReceived { close() }
                else if ws.closeWhenDrained { lingerClose() }  // the peer may still be sending a frame we refused
            }
        case .draining:
            break
        }
    }

    func onWritable() {
        if closed { return }
        if tlsReadNeedsWritable { tlsReadNeedsWritable = false; onReadable(); if closed { return } }
        flush()
    }

    func responseFinished() {
        if core.configuration.logLevel <= .info {
            let ms = Double(Socket.monotonicNanoseconds() &- requestStart) / 1e6
            let tenths = Int((ms * 10).rounded())
            core.logger.log(.info, "\(remoteAddress) \"\(logMethod) \(logTarget)\" \(logStatus) \(logBytes) \(tenths / 10).\(tenths % 10)ms")
        }
        logMethod = ""
        if closeAfterWrite || core.isShuttingDown {
            lingerClose()
            return
        }
        phase = .reading
        if parser.bufferedByteCount > 0 { setDeadline(.header, core.configuration.headerTimeoutSeconds) }
        else { setDeadline(.idle, core.configuration.idleTimeoutSeconds) }
        resumeReading()
        processHTTP()
    }

    /// Half-closes and discards what the client still sends for a moment, so that our final
    /// response is not destroyed by a reset when unread request bytes remain (RFC 9112 §9.6).
    func lingerClose() {
        if mode == .draining { return }
        mode = .draining
        if let ssl { ERR_clear_error(); SSL_shutdown(ssl) }
        Glibc.shutdown(fd, Int32(SHUT_WR))
        if readEOF { close(); return }
        setDeadline(.linger, min(2, core.configuration.headerTimeoutSeconds))
        resumeReading()
    }

    /// Called by the server during shutdown: idle connections close, busy ones finish first.
    func beginShutdown() {
        guard !closed else { return }
        switch mode {
        case .http:
            if phase == .reading { close() } else { closeAfterWrite = true }
        case .webSocket:
            startWebSocketClose(code: 1001)
        case .draining:
            close()
        }
    }
}

extension Substring {
    func replacingOccurrencesOfSpaces() -> String { String(self.filter { $0 != " " }) }
}
