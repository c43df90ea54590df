import Testing
@testable import HTTPWire

/// Feeds `bytes` in the given pieces and collects every completed request (or the first error).
func parseAll(_ pieces: [[UInt8]], limits: HTTPLimits = HTTPLimits()) -> (requests: [(RequestHead, [UInt8])], error: HTTPWireError?) {
    var parser = RequestParser(limits: limits)
    var out: [(RequestHead, [UInt8])] = []
    for piece in pieces {
        parser.append(contentsOf: piece)
        do {
            while let event = try parser.next() {
                if case .complete(let head, let body) = event { out.append((head, body)) }
            }
        } catch {
            return (out, error)
        }
    }
    return (out, nil)
}

/// The same input whole, byte by byte, and split in two at every index.
func splits(_ text: String) -> [[[UInt8]]] {
    let bytes = Array(text.utf8)
    var result: [[[UInt8]]] = [[bytes], bytes.map { [$0] }]
    for i in 1..<bytes.count { result.append([Array(bytes[..<i]), Array(bytes[i...])]) }
    return result
}

@Suite struct RequestParserTests {
    static let pipelined =
        "GET /api/userdata/workflows%2Fa.json?dir=work+flows&x=%41 HTTP/1.1\r\nHost: h\r\nX-Rep: 1\r\nx-rep: 2\r\n\r\n" +
        "POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello" +
        "PUT /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nTrailer: x\r\n\r\n" +
        "HEAD / HTTP/1.0\r\n\r\n"

    @Test func pipelinedRequests_parseIdenticallyHoweverTheyAreSplit() throws {
        for pieces in splits(Self.pipelined) {
            let (requests, error) = parseAll(pieces)
            #expect(error == nil)
            try #require(requests.count == 4)
            let (get, getBody) = requests[0]
            #expect(get.method == "GET")
            #expect(get.pathSegments == ["api", "userdata", "workflows/a.json"])
            #expect(get.rawPath == "/api/userdata/workflows%2Fa.json")
            #expect(get.headers.values("X-REP") == ["1", "2"])
            #expect(getBody.isEmpty)
            let q = get.request(body: []).query
            #expect(q.map(\.name) == ["dir", "x"] && q.map(\.value) == ["work flows", "A"])
            #expect(requests[1].1 == Array("hello".utf8))
            #expect(requests[2].1 == Array("Wikipedia".utf8))
            #expect(requests[2].0.framing == .chunked)
            #expect(requests[3].0.method == "HEAD" && requests[3].0.minorVersion == 0 && !requests[3].0.keepAlive)
        }
    }

    @Test func connectionSemantics_followVersionDefaults() {
        let (r, _) = parseAll([Array("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx".utf8)])
        #expect(r.count == 3)
        #expect(!r[0].0.keepAlive && r[1].0.keepAlive && r[2].0.keepAlive)
        #expect(r[2].0.expectsContinue)
    }

    @Test func webSocketUpgrade_isRecognised() {
        let (r, _) = parseAll([Array("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n".utf8)])
        #expect(r.first?.0.isWebSocketUpgrade == true)
    }

    @Test func leadingEmptyLines_areIgnored_andAbsoluteFormKeepsThePath() {
        let (r, e) = parseAll([Array("\r\nGET http://example.com/a/b?c=d HTTP/1.1\r\nHost: x\r\n\r\n".utf8)])
        #expect(e == nil)
        #expect(r.first?.0.pathSegments == ["a", "b"])
        #expect(r.first?.0.rawQuery == "c=d")
    }

    static let malformed: [(String, HTTPWireError)] = [
        ("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", .conflictingFraming),
        ("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", .unsupportedTransferEncoding("gzip")),
        ("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n", .invalidContentLength("1x")),
        ("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", .invalidContentLength("1, 2")),
        ("GET / HTTP/2.0\r\nHost: a\r\n\r\n", .unsupportedVersion("HTTP/2.0")),
        ("GET / HTTP/1.1\r\n\r\n", .missingHost),
        ("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", .malformedRequestLine("GET  / HTTP/1.1")),
        ("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", .invalidMethod("G(T")),
        ("GET nopath HTTP/1.1\r\nHost: a\r\n\r\n", .invalidTarget("nopath")),
        ("GET /a%2 HTTP/1.1\r\nHost: a\r\n\r\n", .invalidPercentEncoding("/a%2")),
        ("GET /%FF HTTP/1.1\r\nHost: a\r\n\r\n", .invalidPercentEncoding("/%FF")),
        ("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", .malformedHeader(" folded")),
        ("GET / HTTP/1.1\r\nHost : a\r\n\r\n", .malformedHeader("Host : a")),
        ("GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n", .malformedHeader("Host: a\n")),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", .malformedChunk("zz")),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n", .malformedChunk("chunk data not followed by CRLF")),
    ]

    @Test(arguments: malformed)
    func malformedRequest_isRejectedWithTheRightError(input: String, expected: HTTPWireError) {
        for pieces in splits(input) {
            let (_, error) = parseAll(pieces)
            #expect(error == expected, "\(input.debugDescription)")
        }
        #expect(expected.status != 200)
    }

    @Test func statuses_matchTheLimitKinds() {
        #expect(HTTPWireError.headerTooLarge(limit: 1).status == 431)
        #expect(HTTPWireError.bodyTooLarge(limit: 1).status == 413)
        #expect(HTTPWireError.unsupportedTransferEncoding("x").status == 501)
        #expect(HTTPWireError.unsupportedVersion("x").status == 505)
        #expect(HTTPWireError.missingHost.status == 400)
    }

    @Test func headerLargerThanLimit_isRejected_evenWithoutItsEnd() {
        let limits = HTTPLimits(headerBytes: 256)
        let big = "GET / HTTP/1.1\r\nHost: a\r\nX: " + String(repeating: "a", count: 300)
        for pieces in [[Array(big.utf8)], Array(big.utf8).map { [$0] }] {
            #expect(parseAll(pieces, limits: limits).error == .headerTooLarge(limit: 256))
        }
        // Exactly at the limit is fine.
        let head = "GET / HTTP/1.1\r\nHost: a\r\nX: "
        let fill = String(repeating: "b", count: 256 - head.utf8.count - 4)
        #expect(parseAll([Array((head + fill + "\r\n\r\n").utf8)], limits: limits).requests.count == 1)
    }

    @Test func bodyOverLimit_isRejectedFromContentLength_andWhileChunking() {
        let limits = HTTPLimits(bodyBytes: 10)
        #expect(parseAll([Array("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n".utf8)], limits: limits).error == .bodyTooLarge(limit: 10))
        let chunked = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n5\r\nghijk\r\n0\r\n\r\n"
        for pieces in splits(chunked) {
            #expect(parseAll(pieces, limits: limits).error == .bodyTooLarge(limit: 10))
        }
        #expect(parseAll([Array("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n".utf8)]).error != nil)
    }

    @Test func bufferedBytes_afterUpgrade_areHandedOver() throws {
        var parser = RequestParser()
        parser.append(contentsOf: Array("GET /ws HTTP/1.1\r\nHost: a\r\n\r\n\u{81}\u{01}".utf8))
        _ = try parser.next()
        _ = try parser.next()
        #expect(parser.takeBufferedBytes() == [0xC2, 0x81, 0x01])
    }

    @Test func idleAndReadingState_areReported() throws {
        var parser = RequestParser()
        #expect(parser.isIdle)
        parser.append(contentsOf: Array("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nab".utf8))
        guard case .head = try parser.next() else { Issue.record("expected head"); return }
        let pending = try parser.next()
        #expect(pending == nil)
        #expect(parser.isReadingBody && !parser.isIdle)
        parser.append(contentsOf: [0x63])
        guard case .complete(_, let body) = try parser.next() else { Issue.record("expected body"); return }
        #expect(body == Array("abc".utf8))
        #expect(parser.isIdle)
    }
}

