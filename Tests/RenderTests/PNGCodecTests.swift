import Testing
@testable import Render

@Suite struct PNGCodecTests {
    @Test(arguments: [(1, 1), (3, 2), (257, 31)], [0, 1, 6, 9])
    func encodedPixels_decodeUnchanged(size: (Int, Int), level: Int) throws {
        let (w, h) = size
        let px = pseudoRandom(w * h * 4, seed: UInt64(w * 31 + h)).map { UInt8(($0 + 1) * 127.5) }
        for filter in PNGFilter.allCases {
            let png = try PNGEncoder.encode(rgba: px, width: w, height: h, options: PNGOptions(compressionLevel: level, filter: filter))
            #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
            let d = try PNGDecoder.decode(png)
            #expect(d.width == w && d.height == h)
            #expect(d.rgba == px)
        }
    }

    @Test func flatImage_compressesWell() throws {
        let px = [UInt8](repeating: 255, count: 512 * 512 * 4)
        let png = try PNGEncoder.encode(rgba: px, width: 512, height: 512)
        #expect(png.count < 20_000)
    }

    @Test func wrongBufferSize_isRejected() {
        #expect(throws: RenderError.invalidImageSize(width: 2, height: 2)) {
            try PNGEncoder.encode(rgba: [0, 0, 0], width: 2, height: 2)
        }
        #expect(throws: RenderError.invalidImageSize(width: 0, height: 5)) {
            try PNGEncoder.encode(rgba: [], width: 0, height: 5)
        }
    }

    @Test func garbage_isNotDecoded() {
        #expect(throws: RenderError.self) { try PNGDecoder.decode([1, 2, 3, 4, 5, 6, 7, 8, 9]) }
        #expect(throws: RenderError.self) { try PNGDecoder.decode([]) }
    }

    @Test func markupEscape_replacesTheFourSpecialCharacters() {
        #expect(Markup.escape(#"a<b>&"c"#) == "a&lt;b&gt;&amp;&quot;c")
        #expect(Markup.escape("plain σ·text") == "plain σ·text")
    }
}
