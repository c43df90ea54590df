// SocketServer: POSIX sockets and Dispatch event loops, TLS and WebSocket connections.
import HTTPWire

/// The application behind the server: the socket layer parses requests and calls these.
///
/// `respond(to:)` runs on a worker queue, never on an I/O loop, so a slow handler does not
/// block other connections. WebSocket callbacks for one connection arrive in order.
public protocol HTTPService: Sendable {
    /// Answers one HTTP request.
    func respond(to request: HTTPRequest) -> HTTPResponse
    /// Decides on a WebSocket upgrade request (RFC 6455 §4.2): nil accepts it, a response refuses it.
    func refuseWebSocket(_ request: HTTPRequest) -> HTTPResponse?
    /// A WebSocket finished its handshake.
    func webSocketDidOpen(_ socket: any WebSocketConnection, request: HTTPRequest)
    /// A complete (reassembled) text message arrived.
    func webSocket(_ socket: any WebSocketConnection, didReceiveText text: String)
    /// A complete binary message arrived.
    func webSocket(_ socket: any WebSocketConnection, didReceiveBinary data: [UInt8])
    /// The WebSocket is gone (closed by either side, dropped, or the server is shutting down).
    func webSocketDidClose(_ socket: any WebSocketConnection)
    /// Whether answering `request` is quick and never blocks (a static file, a cached JSON), so the
    /// socket layer may call `respond(to:)` directly on the I/O loop and save two queue hops.
    /// Defaults to false: every request goes to a worker queue.
    func respondsInline(to request: HTTPRequest) -> Bool
}

extension HTTPService {
    public func respondsInline(to request: HTTPRequest) -> Bool { false }
}

/// One open WebSocket. Sends are thread-safe and never block: messages go into a bounded
/// per-client queue, and a client that stops reading is dropped instead of growing memory.
public protocol WebSocketConnection: AnyObject, Sendable {
    /// Unique for the server's lifetime.
    var id: Int { get }
    func send(text: String)
    func send(binary: [UInt8])
    /// Starts the close handshake with `code` (RFC 6455 §7.4), e.g. 1000 normal, 1001 going away.
    func close(code: UInt16)
}
