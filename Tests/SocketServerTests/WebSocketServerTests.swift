import Foundation
import HTTPWire
@testable import SocketServer
import Testing

@Suite struct WebSocketServerTests {
    @Test func acceptKey_matchesRFC6455Example() {
        let input = "dGhlIHNhbXBsZSBub25jZQ==" + WebSocketHandshake.guid
        #expect(Base64.encode(Digest.sha1(Array(input.utf8))) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }

    @Test func echo_ping_andCloseHandshake() throws {
        let (server, service) = try startServer()
        defer { server.stop() }
        let c = try Client(port: server.port)
        let r = try c.upgrade()
        #expect(r.status == 101)
        #expect(r.headers["Sec-WebSocket-Accept"] == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        c.sendFrame(.text, Array("hello".utf8))
        #expect(try c.readFrame() == WebSocketFrame(opcode: .text, payload: Array("hello".utf8)))
        // A fragmented binary message with a ping in the middle.
        c.sendFrame(.binary, [1, 2], fin: false)
        c.sendFrame(.ping, Array("p".utf8))
        c.sendFrame(.continuation, [3], fin: true)
        #expect(try c.readFrame() == WebSocketFrame(opcode: .pong, payload: Array("p".utf8)))
        #expect(try c.readFrame() == WebSocketFrame(opcode: .binary, payload: [1, 2, 3]))
        c.sendFrame(.close, [0x03, 0xE8])
        #expect(try c.readFrame() == WebSocketFrame(opcode: .close, payload: [0x03, 0xE8]))
        #expect(c.isClosedByPeer())
        #expect(eventually { service.events.withLock { $0.contains { $0.hasPrefix("close") } } })
    }

    @Test func serverInitiatedClose_andProtocolErrors() throws {
        let (server, _) = try startServer { $0.maxWebSocketMessageBytes = 100 }
        defer { server.stop() }
        let c = try Client(port: server.port)
        _ = try c.upgrade()
        c.sendFrame(.text, Array("close:4000".utf8))
        #expect(try c.readFrame() == WebSocketFrame(opcode: .close, payload: [0x0F, 0xA0]))
        c.sendFrame(.close, [0x0F, 0xA0])
        #expect(c.isClosedByPeer())

        let big = try Client(port: server.port)
        _ = try big.upgrade()
        big.sendFrame(.binary, [UInt8](repeating: 0, count: 101))
        #expect(try big.readFrame().payload.prefix(2) == [0x03, 0xF1])  // 1009 message too big
        #expect(big.isClosedByPeer())

        let unmasked = try Client(port: server.port)
        _ = try unmasked.upgrade()
        unmasked.send(WebSocketFrame(opcode: .text, payload: [65]).encoded())
        #expect(try unmasked.readFrame().payload.prefix(2) == [0x03, 0xEA])  // 1002 protocol error
    }

    @Test func broadcast_reachesEveryClient() throws {
        let (server, _) = try startServer()
        defer { server.stop() }
        let clients = try (0..<5).map { _ in try Client(port: server.port) }
        for c in clients { #expect(try c.upgrade().status == 101) }
        #expect(eventually { server.webSocketCount == 5 })
        server.broadcast(text: "to all")
        for c in clients { #expect(try c.readFrame() == WebSocketFrame(opcode: .text, payload: Array("to all".utf8))) }
    }

    @Test func stalledClient_isDropped_insteadOfGrowingMemory() throws {
        let (server, service) = try startServer { $0.webSocketSendQueueBytes = 1 << 20 }
        defer { server.stop() }
        let c = try Client(port: server.port)
        _ = try c.upgrade()
        // 64 MB requested while the client reads nothing: far past kernel buffers plus the 1 MB queue.
        c.sendFrame(.text, Array("flood:1024".utf8))
        #expect(eventually(10) { server.webSocketCount == 0 })
        #expect(eventually { service.events.withLock { $0.contains { $0.hasPrefix("close") } } })
    }

    @Test func refusedUpgrade_getsTheServiceResponse_andCrossOriginIsForbidden() throws {
        let (server, _) = try startServer()
        defer { server.stop() }
        let c = try Client(port: server.port)
        #expect(try c.upgrade(path: "/other").status == 404)
        let evil = try Client(port: server.port)
        c.send("")
        #expect(try evil.upgrade(extraHeaders: "Origin: http://evil.example\r\n").status == 403)
        let bad = try Client(port: server.port)
        bad.send("GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: short\r\n\r\n")
        #expect(try bad.readResponse().status == 400)
    }

    @Test func shutdown_sendsGoingAway() throws {
        let (server, _) = try startServer()
        let c = try Client(port: server.port)
        _ = try c.upgrade()
        #expect(eventually { server.webSocketCount == 1 })
        server.shutdown(graceful: true)
        #expect(try c.readFrame() == WebSocketFrame(opcode: .close, payload: [0x03, 0xE9]))
        c.sendFrame(.close, [0x03, 0xE9])
        server.waitUntilStopped()
        #expect(server.connectionCount == 0)
    }
}
