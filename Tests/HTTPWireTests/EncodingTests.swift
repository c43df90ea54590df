import Testing
@testable import HTTPWire

@Suite struct EncodingTests {
    @Test func pathSegments_keepEncodedSlashInsideOneSegment() {
        #expect(PercentDecoding.pathSegments("/api/userdata/workflows%2Fname.json") == ["api", "userdata", "workflows/name.json"])
        #expect(PercentDecoding.pathSegments("/") == [])
        #expect(PercentDecoding.pathSegments("/a/") == ["a", ""])
        #expect(PercentDecoding.pathSegments("/%E2%9C%93") == ["✓"])
        #expect(PercentDecoding.pathSegments("/a%zz") == nil)
    }

    @Test func query_decodesPlusAndKeepsBrokenEscapes() {
        let q = PercentDecoding.query("a=1&b=x+y&c&d=%2&e=%E2%9C%93&&f=a=b")
        #expect(q.map(\.name) == ["a", "b", "c", "d", "e", "f"])
        #expect(q.map(\.value) == ["1", "x y", "", "%2", "✓", "a=b"])
        #expect(PercentDecoding.encode("a b/é") == "a%20b%2F%C3%A9")
    }

    @Test func responseHead_isSerialized_andHeaderInjectionIsDropped() {
        var headers = HTTPHeaders()
        headers.add("Content-Type", "text/plain")
        headers.add("X-Evil", "a\r\nSet-Cookie: x")
        let head = String(decoding: ResponseEncoder.head(status: 404, headers: headers), as: UTF8.self)
        #expect(head == "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n\r\n")
        #expect(ResponseEncoder.statusForbidsBody(304) && ResponseEncoder.statusForbidsBody(204) && !ResponseEncoder.statusForbidsBody(200))
        #expect(ResponseEncoder.chunk(Array("abc".utf8)) == Array("3\r\nabc\r\n".utf8))
        #expect(ResponseEncoder.chunk([]) == Array("0\r\n\r\n".utf8))
    }

    @Test func httpDate_matchesKnownInstants() {
        #expect(HTTPDate.format(secondsSince1970: 0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(HTTPDate.format(secondsSince1970: 784111777) == "Sun, 06 Nov 1994 08:49:37 GMT")  // RFC 9110 example
        #expect(HTTPDate.format(secondsSince1970: 951782400) == "Tue, 29 Feb 2000 00:00:00 GMT")
    }

    @Test func base64_roundTrips() {
        for n in 0..<20 {
            let bytes = (0..<n).map { UInt8(truncatingIfNeeded: $0 * 37 + 11) }
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
        }
        #expect(Base64.encode(Array("foobar".utf8)) == "Zm9vYmFy")
        #expect(Base64.decode("Zm9=YmFy") == nil)
        #expect(Base64.decode("abc") == nil)
    }

    @Test func contentTypes_serveJavaScriptAsJavaScript() {
        #expect(ContentTypes.forFileName("assets/index-abc.js") == "application/javascript; charset=utf-8")
        #expect(ContentTypes.forFileName("a.PNG") == "image/png")
        #expect(ContentTypes.forFileName("noext") == "application/octet-stream")
        #expect(ContentTypes.isCompressible("application/json") && !ContentTypes.isCompressible("image/png"))
    }

    @Test func multipart_formDataIsSplitIntoParts() throws {
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"overwrite\"\r\n\r\ntrue\r\n" +
            "--XyZ\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a \\\"b\\\".png\"\r\nContent-Type: image/png\r\n\r\n\u{0}\u{1}\r\n\r\n" +
            "--XyZ--\r\n"
        let parts = try MultipartFormData.parse(body: Array(body.utf8), contentType: "multipart/form-data; boundary=XyZ")
        #expect(parts.count == 2)
        #expect(parts[0].name == "overwrite" && parts[0].text == "true" && parts[0].filename == nil)
        #expect(parts[1].filename == "a \"b\".png" && parts[1].contentType == "image/png")
        #expect(parts[1].body == [0, 1, 13, 10])
        #expect(throws: MultipartError.self) { try MultipartFormData.parse(body: Array(body.utf8), contentType: "text/plain") }
        #expect(throws: MultipartError.missingBoundary) {
            try MultipartFormData.parse(body: Array("--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nunterminated".utf8), contentType: "multipart/form-data; boundary=\"XyZ\"")
        }
    }
}
