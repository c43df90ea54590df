import OrderedJSON
import SocketServer
import Synchronization

/// Open WebSockets by ComfyUI client id (`sid`). Guarded by a `Mutex`; sends happen outside it
/// (the socket layer's `send` is thread-safe and never blocks).
public final class ClientRegistry: Sendable {
    struct Client {
        var socket: any WebSocketConnection
        var clientID: String
        /// The client announced `supports_preview_metadata` in its feature_flags frame.
        var supportsPreviewMetadata = false
    }

    let clients = Mutex<[Int: Client]>([:])

    public init() {}

    /// Registers `socket` as `clientID`; returns sockets previously registered with the same id
    /// (ComfyUI drops them: one socket per client id).
    func register(_ socket: any WebSocketConnection, clientID: String) -> [any WebSocketConnection] {
        clients.withLock { c in
            let old = c.values.filter { $0.clientID == clientID && $0.socket.id != socket.id }.map(\.socket)
            for s in old { c.removeValue(forKey: s.id) }
            c[socket.id] = Client(socket: socket, clientID: clientID)
            return old
        }
    }

    func remove(_ socket: any WebSocketConnection) { _ = clients.withLock { $0.removeValue(forKey: socket.id) } }

    func setPreviewMetadata(_ socket: any WebSocketConnection, _ value: Bool) {
        clients.withLock { c in c[socket.id]?.supportsPreviewMetadata = value }
    }

    public var count: Int { clients.withLock { $0.count } }

    /// Sends `{"type": type, "data": data}` to the socket of `clientID` (no-op when none is open).
    public func send(type: String, data: JSON, to clientID: String) {
        let targets = clients.withLock { $0.values.filter { $0.clientID == clientID }.map(\.socket) }
        guard !targets.isEmpty else { return }
        let text = Self.frame(type: type, data: data)
        for s in targets { s.send(text: text) }
    }

    /// Sends to every open socket.
    public func broadcast(type: String, data: JSON) {
        let targets = clients.withLock { $0.values.map(\.socket) }
        guard !targets.isEmpty else { return }
        let text = Self.frame(type: type, data: data)
        for s in targets { s.send(text: text) }
    }

    /// Client ids that asked for `logs` messages (`PATCH /internal/logs/subscribe`). Kept by id, not
    /// by socket, as ComfyUI does: a subscription survives a reconnect with the same id.
    let logSubscribers = Mutex<Set<String>>([])
    /// Bounds the set when clients subscribe and never come back.
    static let maxLogSubscribers = 1024

    /// Adds or removes a log subscription. False when the set is full even after dropping the
    /// ids that have no open socket.
    func setLogSubscription(clientID: String, enabled: Bool) -> Bool {
        guard enabled else { _ = logSubscribers.withLock { $0.remove(clientID) }; return true }
        let open = Set(clients.withLock { $0.values.map(\.clientID) })
        return logSubscribers.withLock { subs in
            if subs.count >= Self.maxLogSubscribers, !subs.contains(clientID) { subs.formIntersection(open) }
            guard subs.count < Self.maxLogSubscribers || subs.contains(clientID) else { return false }
            subs.insert(clientID)
            return true
        }
    }

    /// Sends to the open sockets of subscribed client ids.
    func sendToLogSubscribers(type: String, data: JSON) {
        let subscribed = logSubscribers.withLock { $0 }
        guard !subscribed.isEmpty else { return }
        let targets = clients.withLock { $0.values.filter { subscribed.contains($0.clientID) }.map(\.socket) }
        guard !targets.isEmpty else { return }
        let text = Self.frame(type: type, data: data)
        for s in targets { s.send(text: text) }
    }

    static func frame(type: String, data: JSON) -> String {
        JSON.object(JSONObject([("type", .string(type)), ("data", data)])).serialized()
    }
}
