import Foundation
import HTTPWire
@testable import NodeServer
import OrderedJSON
import Testing

/// `GET /view?channel=` on PNG files (spec §5, item 6).
@Suite struct ViewChannelTests {
    @Test func channels_dropOrIsolateTheAlpha() throws {
        let base = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let app = try makeApp(base: base)
        let stored = picture(width: 3, height: 2) { x, y in UInt8(x * 80 + y * 5) }
        let bytes = try PNGEdits.encode(stored, what: "test")
        writeFile((base as NSString).appendingPathComponent("output/sub/p.png"), bytes)
        func view(_ channel: String) throws -> (HTTPResponse, RGBAPicture?) {
            let r = app.respond(to: request("GET", "/api/view?filename=p.png&subfolder=sub&type=output&channel=\(channel)&rand=0.5"))
            return (r, try? PNGEdits.decode(r.bodyBytes, what: "answer"))
        }
        let (rgb, rgbPicture) = try view("rgb")
        #expect(rgb.status == 200 && rgb.headers["Content-Type"] == "image/png")
        #expect(rgb.headers["Content-Disposition"] == "filename=\"p.png\"")
        var opaque = stored
        for i in stride(from: 3, to: opaque.rgba.count, by: 4) { opaque.rgba[i] = 255 }
        #expect(rgbPicture == opaque)

        let (a, alphaPicture) = try view("a")
        #expect(a.status == 200 && a.headers["Content-Type"] == "image/png")
        let alphas = stride(from: 3, to: stored.rgba.count, by: 4).map { stored.rgba[$0] }
        #expect(alphaPicture.map { p in stride(from: 3, to: p.rgba.count, by: 4).map { p.rgba[$0] } } == alphas)
        #expect(alphaPicture.map { p in stride(from: 0, to: p.rgba.count, by: 4).allSatisfy { p.rgba[$0] == 0 && p.rgba[$0 + 1] == 0 && p.rgba[$0 + 2] == 0 } } == true)

        // rgba, no channel and preview= send the stored bytes.
        for q in ["channel=rgba", "", "preview=webp;50"] {
            #expect(app.respond(to: request("GET", "/view?filename=p.png&subfolder=sub&\(q)")).bodyBytes == bytes)
        }
    }

    @Test func alphaOfAnOpaquePicture_isFullyOpaque() throws {
        let base = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let app = try makeApp(base: base)
        writeFile((base as NSString).appendingPathComponent("temp/o.png"), try PNGEdits.encode(picture(width: 2, height: 2) { _, _ in 255 }, what: "t"))
        let r = app.respond(to: request("GET", "/view?filename=o.png&type=temp&channel=a"))
        let p = try PNGEdits.decode(r.bodyBytes, what: "answer")
        #expect(p.rgba == [UInt8](repeating: 0, count: 16).enumerated().map { $0.offset % 4 == 3 ? 255 : 0 })
    }

    @Test func channels_onBrokenOrMissingFiles_answer400Or404() throws {
        let base = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let app = try makeApp(base: base)
        writeFile((base as NSString).appendingPathComponent("temp/fake.png"), Array("not a png".utf8))
        writeFile((base as NSString).appendingPathComponent("temp/x.jpg"), [0xFF, 0xD8])
        let fake = app.respond(to: request("GET", "/view?filename=fake.png&type=temp&channel=rgb"))
        #expect(fake.status == 400 && (fake.json?["error"]?.stringValue ?? "").contains("fake.png is not a PNG"))
        #expect(app.respond(to: request("GET", "/view?filename=none.png&type=temp&channel=a")).status == 404)
        // Other formats are sent as stored whatever the channel.
        #expect(app.respond(to: request("GET", "/view?filename=x.jpg&type=temp&channel=a")).bodyBytes == [0xFF, 0xD8])
    }
}
