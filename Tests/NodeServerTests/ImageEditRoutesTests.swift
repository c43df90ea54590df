import Foundation
import HTTPWire
@testable import NodeServer
import OrderedJSON
import Testing

/// A picture whose pixel (x, y) is (x·10, y·10, 7, alpha(x, y)).
func picture(width: Int, height: Int, alpha: (Int, Int) -> UInt8) -> RGBAPicture {
    var rgba: [UInt8] = []
    for y in 0..<height {
        for x in 0..<width { rgba += [UInt8(x * 10), UInt8(y * 10), 7, alpha(x, y)] }
    }
    return RGBAPicture(width: width, height: height, rgba: rgba)
}

/// A multipart/form-data request as a browser sends it: file parts first, then text fields.
func multipartRequest(_ path: String, files: [(name: String, filename: String, bytes: [UInt8])],
                      fields: [(String, String)]) -> HTTPRequest {
    let boundary = "----weightlens-test-boundary"
    var body: [UInt8] = []
    for f in files {
        body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(f.name)\"; filename=\"\(f.filename)\"\r\nContent-Type: image/png\r\n\r\n".utf8)
        body += f.bytes + Array("\r\n".utf8)
    }
    for (name, value) in fields {
        body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
    }
    body += Array("--\(boundary)--\r\n".utf8)
    var headers = HTTPHeaders()
    headers["Content-Type"] = "multipart/form-data; boundary=\(boundary)"
    return request("POST", path, body: body, headers: headers)
}

@Suite struct ImageEditRoutesTests {
    let originalRef = #"{"filename":"orig.png","subfolder":"","type":"input"}"#

    @Test(arguments: ["/upload/mask", "/api/upload/mask"])
    func uploadMask_savesTheOriginalWithTheMasksAlpha(path: String) throws {
        let base = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let app = try makeApp(base: base)
        let original = picture(width: 4, height: 3) { _, _ in 255 }
        writeFile((base as NSString).appendingPathComponent("input/orig.png"), try PNGEdits.encode(original, what: "test"))
        // The mask's colours must not leak into the result: only its alpha is used.
        var mask = picture(width: 4, height: 3) { x, y in UInt8(x * 60 + y) }
        for i in stride(from: 0, to: mask.rgba.count, by: 4) { mask.rgba[i] = 200 }
        let r = app.respond(to: multipartRequest(path, files: [("image", "clipspace-mask-1.png", try PNGEdits.encode(mask, what: "test"))],
                                                 fields: [("type", "input"), ("subfolder", "clipspace"), ("original_ref", originalRef)]))
        #expect(r.status == 200)
        #expect(r.json == .object(JSONObject([("name", "clipspace-mask-1.png"), ("subfolder", "clipspace"), ("type", "input")])))
        let saved = try #require(FileManager.default.contents(atPath: (base as NSString).appendingPathComponent("input/clipspace/clipspace-mask-1.png")))
        let decoded = try PNGEdits.decode(Array(saved), what: "saved")
        var expected = original
        for i in 0..<12 { expected.rgba[i * 4 + 3] = mask.rgba[i * 4 + 3] }
        #expect(decoded == expected)
    }

    @Test func uploadMask_scalesAMaskOfAnotherSizeWithNearestNeighbour() throws {
        let base = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let app = try makeApp(base: base)
        let original = picture(width: 4, height: 4) { _, _ in 255 }
        writeFile((base as NSString).appendingPathComponent("input/orig.png"), try PNGEdits.encode(original, what: "test"))
        // 2×2 mask: each mask pixel covers a 2×2 block of the original.
        let mask = picture(width: 2, height: 2) { x, y in [[0, 50], [100, 150]][y][x] }
        let r = app.respond(to: multipartRequest("/upload/mask", files: [("image", "m.png", try PNGEdits.encode(mask, what: "test"))],
                                                 fields: [("original_ref", originalRef)]))
        #expect(r.status == 200)
        let saved = try #require(FileManager.default.contents(atPath: (base as NSString).appendingPathComponent("input/m.png")))
        let decoded = try PNGEdits.decode(Array(saved), what: "saved")
        let alphas = stride(from: 3, to: decoded.rgba.count, by: 4).map { decoded.rgba[$0] }
        #expect(alphas == [0, 0, 50, 50, 0, 0, 50, 50, 100, 100, 150, 150, 100, 100, 150, 150])
    }

    @Test func uploadMask_refusesBadInputNamingTheProblem() throws {
        let base = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let app = try makeApp(base: base)
        let png = try PNGEdits.encode(picture(width: 2, height: 2) { _, _ in 9 }, what: "test")
        writeFile((base as NSString).appendingPathComponent("input/orig.png"), png)
        writeFile((base as NSString).appendingPathComponent("input/photo.jpg"), [0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3])
        func upload(_ mask: [UInt8], _ ref: String?) -> HTTPResponse {
            app.respond(to: multipartRequest("/upload/mask", files: [("image", "m.png", mask)], fields: ref.map { [("original_ref", $0)] } ?? []))
        }
        func message(_ r: HTTPResponse) -> String { r.json?["error"]?.stringValue ?? "" }
        let jpegMask = upload([0xFF, 0xD8, 0xFF, 0xE0, 0, 0], originalRef)
        #expect(jpegMask.status == 400 && message(jpegMask).contains("mask is not a PNG"))
        let jpegOriginal = upload(png, #"{"filename":"photo.jpg","type":"input"}"#)
        #expect(jpegOriginal.status == 400 && message(jpegOriginal).contains("photo.jpg is not a PNG"))
        let truncated = upload(Array(png.prefix(40)), originalRef)
        #expect(truncated.status == 400 && message(truncated).contains("mask could not be processed"))
        // A tiny header claiming 100000×100000 pixels is refused before any pixel memory is taken.
        var huge = Array(png.prefix(33))
        huge.replaceSubrange(16..<24, with: [0, 1, 0x86, 0xA0, 0, 1, 0x86, 0xA0])
        let tooLarge = upload(huge, originalRef)
        #expect(tooLarge.status == 400 && message(tooLarge).contains("100000×100000"))
        #expect(upload(png, nil).status == 400)
        #expect(upload(png, "not json").status == 400)
        #expect(upload(png, #"{"filename":"../orig.png","type":"input"}"#).status == 400)
        #expect(upload(png, #"{"filename":"orig.png","type":"secret"}"#).status == 400)
        #expect(upload(png, #"{"filename":"orig.png","type":"input","subfolder":"../../x"}"#).status == 403)
        let missing = upload(png, #"{"filename":"nope.png","type":"input"}"#)
        #expect(missing.status == 404 && message(missing).contains("nope.png"))
        // Nothing was written by the refused uploads.
        #expect(!FileManager.default.fileExists(atPath: (base as NSString).appendingPathComponent("input/m.png")))
    }
}
