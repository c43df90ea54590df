import Foundation
import HTTPWire
@testable import SocketServer
import Testing

@Suite struct StaticFilesTests {
    /// site/{index.html, app.js, img/a.png(1000 bytes)} and a secret file beside the root,
    /// plus symlinks: one inside the root (allowed) and one leaving it (refused).
    func makeTree() throws -> (base: String, root: String) {
        let base = makeTempDirectory()
        let root = base + "/site"
        let fm = FileManager.default
        try fm.createDirectory(atPath: root + "/img", withIntermediateDirectories: true)
        try Data("<html>index</html>".utf8).write(to: URL(fileURLWithPath: root + "/index.html"))
        try Data("console.log(1)".utf8).write(to: URL(fileURLWithPath: root + "/app.js"))
        try Data((0..<1000).map { UInt8($0 & 0xFF) }).write(to: URL(fileURLWithPath: root + "/img/a.png"))
        try Data("secret".utf8).write(to: URL(fileURLWithPath: base + "/secret.txt"))
        try fm.createSymbolicLink(atPath: root + "/escape.txt", withDestinationPath: base + "/secret.txt")
        try fm.createSymbolicLink(atPath: root + "/inside.js", withDestinationPath: root + "/app.js")
        try fm.createSymbolicLink(atPath: root + "/outdir", withDestinationPath: base)
        return (base, root)
    }

    func get(_ port: Int, _ target: String, _ headers: String = "") throws -> ClientResponse {
        let c = try Client(port: port)
        c.send("GET \(target) HTTP/1.1\r\nHost: x\r\n\(headers)\r\n")
        return try c.readResponse()
    }

    @Test func files_areServedWithContentTypes_andIndexForTheRoot() throws {
        let (base, root) = try makeTree()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let (server, _) = try startServer(root: root)
        defer { server.stop() }
        let js = try get(server.port, "/app.js")
        #expect(js.status == 200 && js.text == "console.log(1)")
        #expect(js.headers["Content-Type"] == "application/javascript; charset=utf-8")
        #expect(js.headers["Cache-Control"] == "no-cache")
        let png = try get(server.port, "/img/a.png")
        #expect(png.body == (0..<1000).map { UInt8($0 & 0xFF) })
        #expect(png.headers["Cache-Control"] == "public, max-age=86400")
        #expect(try get(server.port, "/").text == "<html>index</html>")
        #expect(try get(server.port, "/inside.js").status == 200)
    }

    @Test(arguments: ["/../secret.txt", "/%2E%2E/secret.txt", "/img/..%2F..%2Fsecret.txt", "/escape.txt", "/outdir/secret.txt",
                      "/..", "/img/%2e%2e/%2e%2e/secret.txt", "/nope.txt", "/img%00.png"])
    func traversalAttempts_areRefused(target: String) throws {
        let (base, root) = try makeTree()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let (server, _) = try startServer(root: root)
        defer { server.stop() }
        let r = try get(server.port, target)
        #expect(r.status == 404 || r.status == 400)
        #expect(!r.text.contains("secret"))
    }

    @Test func etag_rangesAndMethods() throws {
        let (base, root) = try makeTree()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let (server, _) = try startServer(root: root)
        defer { server.stop() }
        let first = try get(server.port, "/img/a.png")
        let etag = try #require(first.headers["ETag"])
        let again = try get(server.port, "/img/a.png", "If-None-Match: \(etag)\r\n")
        #expect(again.status == 304 && again.body.isEmpty)
        let part = try get(server.port, "/img/a.png", "Range: bytes=10-19\r\n")
        #expect(part.status == 206 && part.body == (10..<20).map { UInt8($0) })
        #expect(part.headers["Content-Range"] == "bytes 10-19/1000")
        let tail = try get(server.port, "/img/a.png", "Range: bytes=-5\r\n")
        #expect(tail.body == (995..<1000).map { UInt8($0 & 0xFF) })
        #expect(try get(server.port, "/img/a.png", "Range: bytes=5000-\r\n").status == 416)
        let c = try Client(port: server.port)
        c.send("DELETE /app.js HTTP/1.1\r\nHost: x\r\n\r\n")
        let r = try c.readResponse()
        #expect(r.status == 405 && r.headers["Allow"] == "GET, HEAD")
    }

    @Test func largeFile_isStreamedCompletely() throws {
        let base = makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let bytes = (0..<(8 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 13) }
        try Data(bytes).write(to: URL(fileURLWithPath: base + "/big.bin"))
        let (server, _) = try startServer(root: base)
        defer { server.stop() }
        let r = try get(server.port, "/big.bin")
        #expect(r.body.count == bytes.count)
        #expect(r.body == bytes)
    }

    @Test func clientThatStopsReading_isDroppedAfterTheWriteTimeout() throws {
        let base = makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: base) }
        try Data(count: 32 << 20).write(to: URL(fileURLWithPath: base + "/huge.bin"))
        let (server, _) = try startServer(root: base) { $0.writeTimeoutSeconds = 0.3 }
        defer { server.stop() }
        let c = try Client(port: server.port)
        c.send("GET /huge.bin HTTP/1.1\r\nHost: x\r\n\r\n")  // and never read the 32 MB
        #expect(eventually(10) { server.connectionCount == 0 })
        _ = c
    }

    @Test func expectContinue_withTooLargeBody_gets413WithoutContinue() throws {
        let (server, _) = try startServer { $0.maxBodyBytes = 10 }
        defer { server.stop() }
        let c = try Client(port: server.port)
        c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n")
        #expect(try c.readResponse().status == 413)
    }

    @Test func resolve_unitCases() throws {
        let (base, root) = try makeTree()
        defer { try? FileManager.default.removeItem(atPath: base) }
        #expect(StaticFiles.resolve(root: root, relativePath: "img/a.png")?.hasSuffix("/site/img/a.png") == true)
        #expect(StaticFiles.resolve(root: root, relativePath: "img/../app.js") == nil)
        #expect(StaticFiles.resolve(root: root, relativePath: "escape.txt") == nil)
        #expect(StaticFiles.byteRange("bytes=0-0", size: 10) == .range(0, 0))
        #expect(StaticFiles.byteRange("bytes=0-1,3-4", size: 10) == StaticFiles.RangeResult.none)
        #expect(StaticFiles.byteRange("bytes=-0", size: 10) == .unsatisfiable)
        #expect(StaticFiles.byteRange("bytes=3-100", size: 10) == .range(3, 9))
    }
}
