#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import HTTPWire
import Synchronization

/// Per-connection WebSocket state, owned by the connection's loop queue.
final class WebSocketSession {
    var parser: WebSocketFrameParser
    var assembler: WebSocketMessageAssembler
    let handle: WebSocketHandle
    var closeSent = false
    var closeReceived = false
    /// Close the TCP connection as soon as the queued bytes are out (after a protocol error).
    var closeWhenDrained = false
    var pausedForInbound = false

    init(maxMessageBytes: Int, handle: WebSocketHandle) {
        parser = WebSocketFrameParser(maxPayloadBytes: maxMessageBytes, expectMasked: true)
        assembler = WebSocketMessageAssembler(maxMessageBytes: maxMessageBytes)
        self.handle = handle
    }
}

/// The service's view of one WebSocket. Thread-safe: sends count their bytes atomically against
/// the per-client limit and hop to the connection's loop queue; callbacks for this socket run in
/// order on `callbackQueue`.
final class WebSocketHandle: WebSocketConnection, @unchecked Sendable {
    let id: Int
    weak var connection: Connection?
    let limit: Int
    let callbackQueue: DispatchQueue
    /// Bytes accepted by `send` (and control frames) that the kernel has not taken yet.
    let unsentBytes = Atomic<Int>(0)
    /// Bytes of received messages handed to the service and not yet processed.
    let pendingInboundBytes = Atomic<Int>(0)
    let isClosed = Atomic<Bool>(false)
    let loopQueue: DispatchQueue

    init(id: Int, connection: Connection, limit: Int) {
        self.id = id
        self.connection = connection
        self.limit = limit
        self.loopQueue = connection.loop.queue
        self.callbackQueue = DispatchQueue(label: "weightlens.ws.\(id)", target: connection.core.workers)
    }

    func send(text: String) { enqueue(WebSocketFrame.text(text)) }
    func send(binary: [UInt8]) { enqueue(WebSocketFrame.binary(binary)) }

    /// Queues an encoded frame, or drops the client when its backlog would pass the limit.
    func enqueue(_ frame: [UInt8]) {
        if isClosed.load(ordering: .relaxed) { return }
        let total = unsentBytes.add(frame.count, ordering: .relaxed).newValue
        if total > limit {
            isClosed.store(true, ordering: .relaxed)
            loopQueue.async { [weak connection] in connection?.dropStalledWebSocket() }
            return
        }
        loopQueue.async { [weak connection] in connection?.queueWebSocketBytes(frame) }
    }

    func close(code: UInt16) {
        loopQueue.async { [weak connection] in connection?.startWebSocketClose(code: code) }
    }

    func wrote(_ n: Int) { unsentBytes.subtract(n, ordering: .relaxed) }
}

extension Connection {
    func startWebSocketUpgrade(_ head: RequestHead, _ request: HTTPRequest) {
        let input: String
        do {
            input = try WebSocketHandshake.acceptKeyInput(method: head.method, headers: head.headers)
        } catch {
            respondWithError(status: 400, message: error.description, extra: ["Sec-WebSocket-Version": "13"])
            return
        }
        let core = self.core
        core.workers.async { [self] in
            var refusal: HTTPResponse?
            if core.isShuttingDown {
                refusal = HTTPResponse(status: 503)
            } else if core.policy.corsOrigin == nil && core.policy.originCheck {
                refusal = core.policy.originRefusal(request)
            }
            if refusal == nil { refusal = core.service.refuseWebSocket(request) }
            let decided = refusal
            loop.queue.async { [self] in
                if closed { return }
                if var r = decided {
                    core.policy.finish(request, &r)
                    closeAfterWrite = true
                    sendResponse(r, head: head)
                } else {
                    becomeWebSocket(acceptInput: input, request: request)
                }
            }
        }
    }

    func becomeWebSocket(acceptInput: String, request: HTTPRequest) {
        let accept = Base64.encode(Digest.sha1(Array(acceptInput.utf8)))
        out.append(contentsOf: WebSocketHandshake.switchingProtocolsHead(accept: accept))
        let handle = WebSocketHandle(id: core.nextWebSocketID(), connection: self, limit: core.configuration.webSocketSendQueueBytes)
        handle.unsentBytes.add(out.count - outIndex, ordering: .relaxed)
        let session = WebSocketSession(maxMessageBytes: core.configuration.maxWebSocketMessageBytes, handle: handle)
        let leftover = parser.takeBufferedBytes()
        if !leftover.isEmpty { session.parser.append(contentsOf: leftover) }
        webSocket = session
        mode = .webSocket
        phase = .reading
        deadline = 0
        logStatus = 101
        logBytes = 0
        responseFinishedLogOnly()
        core.webSocketOpened(handle)
        let service = core.service
        handle.callbackQueue.async { service.webSocketDidOpen(handle, request: request) }
        flush()
        if closed { return }
        resumeReading()
        processWebSocket()
    }

    func responseFinishedLogOnly() {
        if core.configuration.logLevel <= .info {
            core.logger.log(.info, "\(remoteAddress) \"\(logMethod) \(logTarget)\" 101 0 websocket")
        }
        logMethod = ""
    }

    func processWebSocket() {
        guard let ws = webSocket else { return }
        while !closed && !ws.closeReceived {
            let message: WebSocketMessageAssembler.Message?
            do {
                guard let frame = try ws.parser.next() else { break }
                message = try ws.assembler.add(frame)
            } catch {
                core.logger.log(.debug, "\(remoteAddress) WebSocket \(ws.handle.id): \(error.description)")
                failWebSocket(code: error.closeCode)
                return
            }
            guard let message else { continue }
            switch message {
            case .text(let text):
                if ws.closeSent { continue }
                deliver(ws, size: text.utf8.count) { service, handle in service.webSocket(handle, didReceiveText: text) }
            case .binary(let data):
                if ws.closeSent { continue }
                deliver(ws, size: data.count) { service, handle in service.webSocket(handle, didReceiveBinary: data) }
            case .ping(let payload):
                if !ws.closeSent { queueWebSocketBytes(WebSocketFrame(opcode: .pong, payload: payload).encoded(), counted: false) }
            case .pong:
                break
            case .close(let code, _):
                ws.closeReceived = true
                if !ws.closeSent {
                    ws.closeSent = true
                    let reply = code == 1005 ? WebSocketFrame(opcode: .close, payload: []).encoded() : WebSocketFrame.close(code: code)
                    queueWebSocketBytes(reply, counted: false)
                } else if outIndex >= out.count && file == nil {
                    close()
                }
                if !closed && outIndex >= out.count { close() }
            }
        }
    }

    /// Hands a message to the service in order; pauses reading while the service lags too far behind.
    func deliver(_ ws: WebSocketSession, size: Int, _ body: @escaping @Sendable (any HTTPService, WebSocketHandle) -> Void) {
        let handle = ws.handle
        let service = core.service
        let threshold = 2 * core.configuration.maxWebSocketMessageBytes
        let pending = handle.pendingInboundBytes.add(size, ordering: .relaxed).newValue
        if pending > threshold && !ws.pausedForInbound {
            ws.pausedForInbound = true
            pauseReading()
        }
        let loopQueue = loop.queue
        handle.callbackQueue.async { [weak self] in
            body(service, handle)
            let left = handle.pendingInboundBytes.subtract(size, ordering: .relaxed).newValue
            if left <= threshold / 2 {
                loopQueue.async { [weak self] in
                    guard let self, let ws = self.webSocket, ws.pausedForInbound else { return }
                    ws.pausedForInbound = false
                    self.resumeReading()
                    self.processWebSocket()
                }
            }
        }
    }

    /// Appends frame bytes on the loop queue; `counted` is false for frames not yet added to the backlog.
    func queueWebSocketBytes(_ frame: [UInt8], counted: Bool = true) {
        guard !closed, let ws = webSocket else { return }
        if !counted { ws.handle.unsentBytes.add(frame.count, ordering: .relaxed) }
        if ws.closeSent && counted { ws.handle.wrote(frame.count); return }  // nothing may follow a close frame
        out.append(contentsOf: frame)
        flush()
    }

    /// Starts the closing handshake (RFC 6455 §7.1.2) and gives the client a moment to answer.
    func startWebSocketClose(code: UInt16) {
        guard !closed, mode == .webSocket, let ws = webSocket, !ws.closeSent else { return }
        ws.closeSent = true
        queueWebSocketBytes(WebSocketFrame.close(code: code), counted: false)
        if !closed { setDeadline(.webSocketClose, min(2, core.configuration.shutdownGraceSeconds)) }
    }

    func failWebSocket(code: UInt16) {
        guard let ws = webSocket else { close(); return }
        ws.closeWhenDrained = true
        if !ws.closeSent {
            ws.closeSent = true
            queueWebSocketBytes(WebSocketFrame.close(code: code), counted: false)
        }
        if !closed && mode == .webSocket {
            if outIndex >= out.count { lingerClose() } else { setDeadline(.webSocketClose, 1) }
        }
    }

    /// A client whose backlog passed the limit: cut it off without waiting for anything.
    func dropStalledWebSocket() {
        guard !closed, let ws = webSocket else { return }
        core.logger.log(.warning, "\(remoteAddress) WebSocket \(ws.handle.id) dropped: more than \(core.configuration.webSocketSendQueueBytes) bytes waiting to be read")
        close()
    }
}
