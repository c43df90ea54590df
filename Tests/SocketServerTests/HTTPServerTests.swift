import CLibZ
import Foundation
import HTTPWire
@testable import SocketServer
import Testing

@Suite struct HTTPServerTests {
    @Test func keepAlive_servesSeveralRequestsOnOneConnection() throws {
        let (server, _) = try startServer()
        defer { server.stop() }
        let c = try Client(port: server.port)
        for i in 0..<5 {
            c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n\(i)")
            let r = try c.readResponse()
            #expect(r.status == 200 && r.text == "\(i)")
            #expect(r.headers["Connection"] == nil)
            #expect(r.headers["Date"] != nil)
        }
        c.send("GET /segments/a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        let last = try c.readResponse()
        #expect(last.headers["Connection"] == "close")
        #expect(c.isClosedByPeer())
    }

    @Test func pipelinedRequests_getOneResponseEach_inOrder() throws {
        let (server, _) = try startServer()
        defer { server.stop() }
        let c = try Client(port: server.port)
        // The first request is slow; its response must still come first.
        c.send("GET /slow?ms=200&id=1 HTTP/1.1\r\nHost: x\r\n\r\nGET /slow?ms=0&id=2 HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
        #expect(try c.readResponse().text == "slow 1")
        #expect(try c.readResponse().text == "slow 2")
        #expect(try c.readResponse().text == "abc")
    }

    @Test func percentEncodedSlash_staysInsideItsSegment() throws {
        let (server, _) = try startServer()
        defer { server.stop() }
        let c = try Client(port: server.port)
        c.send("GET /segments/userdata/workflows%2Fname%20x.json HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try c.readResponse().text == "segments|userdata|workflows/name x.json")
    }

    @Test(arguments: [
        ("GET / HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "a", count: 20_000))\r\n\r\n", 431),
        ("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n", 413),
        ("BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n", 501),
        ("TRACE / HTTP/1.1\r\nHost: x\r\n\r\n", 405),
        ("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        ("GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        ("GET / HTTP/3.0\r\nHost: x\r\n\r\n", 505),
        ("hello\r\n\r\n", 400),
    ])
    func badRequests_getTheirStatus_andTheConnectionCloses(request: String, status: Int) throws {
        let (server, _) = try startServer { $0.maxBodyBytes = 1000 }
        defer { server.stop() }
        let c = try Client(port: server.port)
        c.send(request)
        let r = try c.readResponse()
        #expect(r.status == status)
        #expect(r.headers["Connection"] == "close")
        #expect(c.isClosedByPeer())
    }

    @Test func chunkedBodyOverLimit_gets413() throws {
        let (server, _) = try startServer { $0.maxBodyBytes = 1000 }
        defer { server.stop() }
        let c = try Client(port: server.port)
        c.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in 0..<3 { c.send("200\r\n" + String(repeating: "z", count: 512) + "\r\n") }
        #expect(try c.readResponse().status == 413)
    }

    @Test func slowHeader_timesOutWith408_andIdleConnectionsAreClosed() throws {
        let (server, _) = try startServer { $0.headerTimeoutSeconds = 0.3; $0.idleTimeoutSeconds = 0.3 }
        defer { server.stop() }
        let slow = try Client(port: server.port)
        slow.send("GET / HTTP/1.1\r\nHost: x\r\n")  // never finishes the head
        let started = Date()
        #expect(try slow.readResponse().status == 408)
        #expect(Date().timeIntervalSince(started) < 3)
        let idle = try Client(port: server.port)
        #expect(idle.isClosedByPeer())
        // Meanwhile other clients are served.
        let other = try Client(port: server.port)
        other.send("GET /segments/ok HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try other.readResponse().status == 200)
    }

    @Test func stalledBody_timesOutWith408() throws {
        let (server, _) = try startServer { $0.bodyTimeoutSeconds = 0.3 }
        defer { server.stop() }
        let c = try Client(port: server.port)
        c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
        #expect(try c.readResponse().status == 408)
    }

    @Test func expectContinue_getsAnInterimResponse() throws {
        let (server, _) = try startServer()
        defer { server.stop() }
        let c = try Client(port: server.port)
        c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
        #expect(try c.readResponse().status == 100)
        c.send("data")
        #expect(try c.readResponse().text == "data")
    }

    @Test func head_hasLengthButNoBody() throws {
        let (server, _) = try startServer()
        defer { server.stop() }
        let c = try Client(port: server.port)
        c.send("HEAD /json?n=5 HTTP/1.1\r\nHost: x\r\n\r\nGET /segments/after HTTP/1.1\r\nHost: x\r\n\r\n")
        let r = try c.readResponse(head: true)
        #expect(r.headers["Content-Length"] == "13" && r.body.isEmpty)
        #expect(try c.readResponse().text == "segments|after")
    }

    @Test func largeJSON_isGzipped_whenAccepted() throws {
        let (server, _) = try startServer()
        defer { server.stop() }
        let c = try Client(port: server.port)
        c.send("GET /json?n=5000 HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip, deflate\r\n\r\n")
        let r = try c.readResponse()
        #expect(r.headers["Content-Encoding"] == "gzip")
        #expect(r.body.count < 1000)
        #expect(gunzip(r.body) == Array(("[" + String(repeating: "0,", count: 5000) + "0]").utf8))
        c.send("GET /json?n=5000 HTTP/1.1\r\nHost: x\r\n\r\n")
        let plain = try c.readResponse()
        #expect(plain.headers["Content-Encoding"] == nil && plain.body.count == 10_003)
    }

    @Test func connectionCap_refusesWith503() throws {
        let (server, _) = try startServer { $0.maxConnections = 2 }
        defer { server.stop() }
        let a = try Client(port: server.port), b = try Client(port: server.port)
        a.send("GET /segments/a HTTP/1.1\r\nHost: x\r\n\r\n"); _ = try a.readResponse()
        b.send("GET /segments/b HTTP/1.1\r\nHost: x\r\n\r\n"); _ = try b.readResponse()
        let c = try Client(port: server.port)
        #expect(try c.readResponse().status == 503)
        _ = b
    }

    @Test func originGuard_refusesCrossOriginRequestsToLoopback() throws {
        let (server, _) = try startServer()
        defer { server.stop() }
        let port = server.port
        func status(_ headers: String, method: String = "GET") throws -> Int {
            let c = try Client(port: port)
            c.send("\(method) /segments/x HTTP/1.1\r\n\(headers)\r\n")
            return try c.readResponse().status
        }
        #expect(try status("Host: 127.0.0.1:\(port)\r\nOrigin: http://evil.example\r\n") == 403)
        #expect(try status("Host: localhost:\(port)\r\nOrigin: http://localhost:\(port)\r\n") == 200)
        #expect(try status("Host: 127.0.0.1:\(port)\r\nOrigin: http://127.0.0.1\r\n") == 200)  // origin without port: names only
        #expect(try status("Host: 127.0.0.1:\(port)\r\nSec-Fetch-Site: cross-site\r\n") == 403)
        #expect(try status("Host: 127.0.0.1:\(port)\r\n") == 200)  // scripts send no Origin
        #expect(try status("Host: 127.0.0.1:\(port)\r\n", method: "OPTIONS") == 200)
    }

    @Test func corsMode_addsHeaders_andAnswersOptions() throws {
        let (server, _) = try startServer { $0.corsOrigin = "*" }
        defer { server.stop() }
        let c = try Client(port: server.port)
        c.send("OPTIONS /anything HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: http://elsewhere\r\n\r\n")
        let r = try c.readResponse()
        #expect(r.status == 200 && r.body.isEmpty)
        #expect(r.headers["Access-Control-Allow-Origin"] == "*")
        #expect(r.headers["Access-Control-Allow-Methods"]?.contains("DELETE") == true)
        #expect(r.headers["X-Content-Type-Options"] == "nosniff")
    }

    @Test func gracefulShutdown_finishesInFlightResponses() throws {
        let (server, _) = try startServer()
        let c = try Client(port: server.port)
        c.send("GET /slow?ms=300&id=inflight HTTP/1.1\r\nHost: x\r\n\r\n")
        usleep(100_000)
        server.shutdown(graceful: true)
        let r = try c.readResponse()
        #expect(r.text == "slow inflight")
        #expect(r.headers["Connection"] == "close")
        server.waitUntilStopped()
        #expect(server.connectionCount == 0)
        #expect(throws: (any Error).self) { _ = try Client(port: server.port, timeoutSeconds: 1) }
    }

    @Test func listeningOnIPv4AndIPv6_sharesOneEphemeralPort() throws {
        let (server, _) = try startServer { $0.hosts = ["127.0.0.1", "::1"] }
        defer { server.stop() }
        #expect(server.boundPorts.count == 2)
        #expect(Set(server.boundPorts).count == 1)
        #expect(server.boundAddresses.contains("[::1]:\(server.port)"))
    }
}

/// Inflates a gzip stream with zlib (a real decoder, independent of the encoder under test).
func gunzip(_ data: [UInt8]) -> [UInt8]? {
    var stream = z_stream()
    guard clibz_inflate_init_gzip(&stream) == Z_OK else { return nil }
    defer { inflateEnd(&stream) }
    var input = data
    var output: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    var status: Int32 = Z_OK
    input.withUnsafeMutableBufferPointer { inp in
        stream.next_in = inp.baseAddress
        stream.avail_in = uInt(inp.count)
        while status == Z_OK {
            chunk.withUnsafeMutableBufferPointer { out in
                stream.next_out = out.baseAddress
                stream.avail_out = uInt(out.count)
                status = inflate(&stream, Z_NO_FLUSH)
                output.append(contentsOf: out[0..<(out.count - Int(stream.avail_out))])
            }
        }
    }
    return status == Z_STREAM_END ? output : nil
}
