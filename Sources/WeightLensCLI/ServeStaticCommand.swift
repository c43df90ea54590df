import ArgumentParser
import Foundation
import HTTPWire
import SocketServer
import Synchronization

/// Hidden `serve-static`: serves a directory plus a WebSocket echo/broadcast endpoint over the
/// socket layer alone. The end-to-end server tests and the server benchmark drive it.
struct ServeStaticCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve-static",
        abstract: "Serve a directory and a WebSocket echo endpoint (for server tests and benchmarks).",
        shouldDisplay: false
    )

    @Option(name: .customLong("listen"), help: "Comma-separated listen addresses.") var listen = "127.0.0.1"
    @Option(help: "TCP port; 0 picks a free one.") var port = 8188
    @Option(help: "Directory to serve.") var root: String
    @Option(name: .customLong("tls-certfile")) var tlsCertfile: String?
    @Option(name: .customLong("tls-keyfile")) var tlsKeyfile: String?
    @Flag(name: .customLong("echo-ws"), help: "Accept WebSockets at /ws that echo messages.") var echoWebSocket = false
    @Option(name: .customLong("max-upload-size"), help: "Largest request body in MB.") var maxUploadSize: Double = 100
    @Option(name: .customLong("header-timeout")) var headerTimeout: Double = 30
    @Option(name: .customLong("body-timeout")) var bodyTimeout: Double = 60
    @Option(name: .customLong("idle-timeout")) var idleTimeout: Double = 75
    @Option(name: .customLong("write-timeout")) var writeTimeout: Double = 60
    @Option(name: .customLong("max-connections")) var maxConnections = 4096
    @Option(name: .customLong("max-ws-message"), help: "Largest WebSocket message in bytes.") var maxWebSocketMessage = 16 * 1024 * 1024
    @Option(name: .customLong("ws-send-queue"), help: "Bytes queued per WebSocket client before it is dropped.") var webSocketSendQueue = 16 * 1024 * 1024
    @Option(name: .customLong("enable-cors-header"), help: "Send CORS headers for this origin instead of the origin guard.") var corsOrigin: String?
    @Option(name: .customLong("log-level"), help: "debug, info, warning, error or none.") var logLevel = "warning"
    @Option(name: .customLong("loops"), help: "I/O queues (default: one per core).") var loops: Int?
    @Flag(name: .customLong("no-gzip")) var noGzip = false

    func run() throws {
        var c = ServerConfiguration()
        c.hosts = listen.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
        c.port = port
        c.maxBodyBytes = Int(maxUploadSize * 1024 * 1024)
        c.headerTimeoutSeconds = headerTimeout
        c.bodyTimeoutSeconds = bodyTimeout
        c.idleTimeoutSeconds = idleTimeout
        c.writeTimeoutSeconds = writeTimeout
        c.maxConnections = maxConnections
        c.maxWebSocketMessageBytes = maxWebSocketMessage
        c.webSocketSendQueueBytes = webSocketSendQueue
        c.tlsCertificatePath = tlsCertfile
        c.tlsKeyPath = tlsKeyfile
        c.corsOrigin = corsOrigin
        c.logLevel = LogLevel.allCases.first { "\($0)" == logLevel } ?? .warning
        if let loops { c.loopCount = loops }
        if noGzip { c.gzipMinimumBytes = nil }
        let service = StaticEchoService(root: root, webSockets: echoWebSocket)
        let server = try HTTPServer(configuration: c, service: service)
        service.server.withLock { $0 = server }
        try server.start()
        server.stopOnSignals()
        let scheme = c.usesTLS ? "https" : "http"
        let line = server.boundAddresses.map { "listening on \(scheme)://\($0)\n" }.joined()
        FileHandle.standardOutput.write(Data(line.utf8))
        server.waitUntilStopped()
        FileHandle.standardOutput.write(Data("stopped\n".utf8))
    }
}

/// Static files from `root`, a few echo endpoints for tests, and a WebSocket echo at `/ws`.
final class StaticEchoService: HTTPService {
    let root: String
    let webSockets: Bool
    let server = Mutex<HTTPServer?>(nil)

    init(root: String, webSockets: Bool) { self.root = root; self.webSockets = webSockets }

    func respond(to request: HTTPRequest) -> HTTPResponse {
        let text: (Int, String) -> HTTPResponse = { status, body in
            HTTPResponse(status: status, headers: ["Content-Type": "text/plain; charset=utf-8"], body: .bytes(Array(body.utf8)))
        }
        switch request.pathSegments.first {
        case "echo":
            return HTTPResponse(status: 200, headers: ["Content-Type": request.headers["Content-Type"] ?? "application/octet-stream",
                                                       "X-Body-Bytes": String(request.body.count), "X-Method": request.method],
                                body: .bytes(request.body))
        case "inspect":
            // Lines a test can compare: decoded path segments, then decoded query pairs.
            var lines = request.pathSegments.map { "segment \($0)" }
            lines += request.query.map { "query \($0.name)=\($0.value)" }
            return text(200, lines.joined(separator: "\n") + "\n")
        case "multipart":
            do {
                let parts = try MultipartFormData.parse(body: request.body, contentType: request.headers["Content-Type"] ?? "")
                return text(200, parts.map { "\($0.name) \($0.filename ?? "-") \($0.body.count)" }.joined(separator: "\n") + "\n")
            } catch {
                return text(400, error.description + "\n")
            }
        case "blob":
            // An in-memory JSON body of about `size` bytes, for gzip tests.
            let size = max(2, Int(request.queryValue("size") ?? "") ?? 4096)
            let body = "[" + String(repeating: "1,", count: (size - 2) / 2) + "1]"
            return HTTPResponse(status: 200, headers: ["Content-Type": "application/json"], body: .bytes(Array(body.utf8)))
        case "slow":
            let ms = Int(request.queryValue("ms") ?? "") ?? 500
            usleep(UInt32(min(ms, 10_000)) * 1000)
            return text(200, "slept \(ms) ms\n")
        case "broadcast":
            let message = request.queryValue("text") ?? String(decoding: request.body, as: UTF8.self)
            server.withLock { $0 }?.broadcast(text: message)
            return text(200, "sent\n")
        default:
            return StaticFiles.response(for: request, root: root, relativePath: request.pathSegments.joined(separator: "/"))
        }
    }

    /// Everything but `/slow` (which sleeps) and `/broadcast` answers at once.
    func respondsInline(to request: HTTPRequest) -> Bool {
        request.pathSegments.first != "slow" && request.pathSegments.first != "broadcast"
    }

    func refuseWebSocket(_ request: HTTPRequest) -> HTTPResponse? {
        webSockets && request.pathSegments == ["ws"] ? nil : HTTPResponse(status: 404)
    }

    func webSocketDidOpen(_ socket: any WebSocketConnection, request: HTTPRequest) {
        socket.send(text: "welcome \(socket.id)")
    }

    func webSocket(_ socket: any WebSocketConnection, didReceiveText text: String) {
        if text.hasPrefix("broadcast:") {
            server.withLock { $0 }?.broadcast(text: String(text.dropFirst("broadcast:".count)))
        } else if text.hasPrefix("close:"), let code = UInt16(text.dropFirst(6)) {
            socket.close(code: code)
        } else if text.hasPrefix("flood:"), let count = Int(text.dropFirst(6)) {
            // Sends `count` 64 KB messages at once: a client that does not read gets dropped.
            let chunk = [UInt8](repeating: 0x2A, count: 64 * 1024)
            for _ in 0..<min(count, 100_000) { socket.send(binary: chunk) }
        } else {
            socket.send(text: text)
        }
    }

    func webSocket(_ socket: any WebSocketConnection, didReceiveBinary data: [UInt8]) {
        socket.send(binary: data)
    }

    func webSocketDidClose(_ socket: any WebSocketConnection) {}
}
