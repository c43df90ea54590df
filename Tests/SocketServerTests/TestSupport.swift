import Foundation
import HTTPWire
@testable import SocketServer
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A service with a few behaviours the tests need; everything else is a static file under `root`.
final class TestService: HTTPService {
    let root: String
    let events = Mutex<[String]>([])
    let server = Mutex<HTTPServer?>(nil)

    init(root: String = "/nonexistent") { self.root = root }

    func respond(to request: HTTPRequest) -> HTTPResponse {
        switch request.pathSegments.first {
        case "echo":
            return HTTPResponse(status: 200, headers: ["Content-Type": "application/octet-stream"], body: .bytes(request.body))
        case "segments":
            return HTTPResponse(status: 200, headers: ["Content-Type": "text/plain"], body: .bytes(Array(request.pathSegments.joined(separator: "|").utf8)))
        case "slow":
            usleep(UInt32(Int(request.queryValue("ms") ?? "300")! * 1000))
            return HTTPResponse(status: 200, body: .bytes(Array("slow \(request.queryValue("id") ?? "")".utf8)))
        case "json":
            let n = Int(request.queryValue("n") ?? "10")!
            return HTTPResponse(status: 200, headers: ["Content-Type": "application/json"], body: .bytes(Array(("[" + String(repeating: "0,", count: n) + "0]").utf8)))
        default:
            return StaticFiles.response(for: request, root: root, relativePath: request.pathSegments.joined(separator: "/"))
        }
    }

    func refuseWebSocket(_ request: HTTPRequest) -> HTTPResponse? {
        request.pathSegments == ["ws"] ? nil : HTTPResponse(status: 404)
    }
    func webSocketDidOpen(_ socket: any WebSocketConnection, request: HTTPRequest) { events.withLock { $0.append("open \(socket.id)") } }
    func webSocket(_ socket: any WebSocketConnection, didReceiveText text: String) {
        if text.hasPrefix("flood:") {
            let chunk = [UInt8](repeating: 1, count: 64 * 1024)
            for _ in 0..<Int(text.dropFirst(6))! { socket.send(binary: chunk) }
        } else if text.hasPrefix("close:") {
            socket.close(code: UInt16(text.dropFirst(6))!)
        } else {
            socket.send(text: text)
        }
    }
    func webSocket(_ socket: any WebSocketConnection, didReceiveBinary data: [UInt8]) { socket.send(binary: data) }
    func webSocketDidClose(_ socket: any WebSocketConnection) { events.withLock { $0.append("close \(socket.id)") } }
}

/// Starts a server on 127.0.0.1 port 0 with short timeouts; stop it with `stop()`.
func startServer(root: String = "/nonexistent", _ adjust: (inout ServerConfiguration) -> Void = { _ in }) throws -> (HTTPServer, TestService) {
    var c = ServerConfiguration()
    c.port = 0
    c.loopCount = 2
    adjust(&c)
    let service = TestService(root: root)
    let server = try HTTPServer(configuration: c, service: service)
    service.server.withLock { $0 = server }
    try server.start()
    return (server, service)
}

extension HTTPServer {
    func stop() {
        shutdown(graceful: false)
        waitUntilStopped()
    }
}

struct ClientResponse {
    var status: Int
    var headers: HTTPHeaders
    var body: [UInt8]
    var text: String { String(decoding: body, as: UTF8.self) }
}

struct ClientError: Error, CustomStringConvertible { let description: String }

/// A small blocking TCP client with a receive timeout, for talking to the server under test.
final class Client {
    let fd: Int32
    var buffer: [UInt8] = []

    init(port: Int, timeoutSeconds: Int = 5) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if rc != 0 { Glibc.close(fd); throw ClientError(description: "connect failed: errno \(errno)") }
    }

    deinit { Glibc.close(fd) }

    func send(_ text: String) { send(Array(text.utf8)) }
    func send(_ bytes: [UInt8]) {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            sent += n
        }
    }

    /// Reads more bytes; returns false on EOF, reset or timeout.
    func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, 65536, 0) }
        if n <= 0 { return false }
        buffer.append(contentsOf: chunk[0..<n])
        return true
    }

    func readExactly(_ n: Int) throws -> [UInt8] {
        while buffer.count < n { guard fill() else { throw ClientError(description: "connection ended after \(buffer.count) of \(n) bytes") } }
        let out = Array(buffer[0..<n])
        buffer.removeFirst(n)
        return out
    }

    /// Reads one response; `head` true for responses to HEAD (no body despite Content-Length).
    func readResponse(head: Bool = false) throws -> ClientResponse {
        var end: Int?
        while end == nil {
            if let r = findCRLFCRLF() { end = r; break }
            guard fill() else { throw ClientError(description: "no response head (got \(String(decoding: buffer, as: UTF8.self).debugDescription))") }
        }
        let headText = String(decoding: buffer[0..<end!], as: UTF8.self)
        buffer.removeFirst(end! + 4)
        var lines = headText.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        let status = Int(statusLine[1])!
        var headers = HTTPHeaders()
        for l in lines {
            let colon = l.firstIndex(of: ":")!
            headers.add(String(l[..<colon]), l[l.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        var body: [UInt8] = []
        if !head, status != 204, status != 304, status >= 200, let cl = headers["Content-Length"].flatMap({ Int($0) }) {
            body = try readExactly(cl)
        }
        return ClientResponse(status: status, headers: headers, body: body)
    }

    func findCRLFCRLF() -> Int? {
        guard buffer.count >= 4 else { return nil }
        for i in 0...(buffer.count - 4) where buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 { return i }
        return nil
    }

    /// True when the server closed the connection (EOF) within the timeout.
    func isClosedByPeer() -> Bool {
        while true {
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, 65536, 0) }
            if n == 0 { return true }
            if n < 0 { return errno == ECONNRESET }
            buffer.append(contentsOf: chunk[0..<n])
        }
    }

    // MARK: WebSocket client side

    func upgrade(path: String = "/ws", extraHeaders: String = "") throws -> ClientResponse {
        send("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\(extraHeaders)\r\n")
        return try readResponse()
    }

    func sendFrame(_ opcode: WebSocketOpcode, _ payload: [UInt8], fin: Bool = true) {
        send(WebSocketFrame(fin: fin, opcode: opcode, payload: payload).encoded(maskKey: (1, 2, 3, 4)))
    }

    func readFrame() throws -> WebSocketFrame {
        var parser = WebSocketFrameParser(maxPayloadBytes: 1 << 26, expectMasked: false)
        parser.append(contentsOf: buffer)
        while true {
            if let frame = try parser.next() {
                buffer = Array(buffer[(buffer.count - parser.bufferedByteCount)...])
                return frame
            }
            let before = buffer.count
            guard fill() else { throw ClientError(description: "connection ended while reading a frame") }
            parser.append(contentsOf: buffer[before...])
        }
    }
}

/// A fresh temporary directory, removed by the caller.
func makeTempDirectory() -> String {
    var template = Array((NSTemporaryDirectory() + "/wl-server-XXXXXX").utf8CString)
    let p = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }!
    return String(cString: p)
}

/// Polls `condition` for up to `seconds`.
func eventually(_ seconds: Double = 5, _ condition: () -> Bool) -> Bool {
    let end = Date().addingTimeInterval(seconds)
    while Date() < end {
        if condition() { return true }
        usleep(10_000)
    }
    return condition()
}
