import Testing
@testable import Render

@Suite struct FontAndCanvasTests {
    @Test func everyPrintableASCIIAndTheSymbols_haveGlyphs() {
        for v in 32...126 { #expect(BitmapFont.hasGlyph(Character(UnicodeScalar(UInt8(v)))), "missing \(v)") }
        for ch in "σ×±·…–²‖←→≤≥≈µ" { #expect(BitmapFont.hasGlyph(ch), "missing \(ch)") }
    }

    @Test func lettersAndDigits_areDistinct() {
        let chars = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789σ×±·…–²")
        var seen: [[UInt8]: Character] = [:]
        for ch in chars {
            let rows = BitmapFont.rows(for: ch)
            #expect(rows.contains { $0 != 0 }, "\(ch) is blank")
            #expect(seen[rows] == nil, "\(ch) looks like \(seen[rows].map(String.init) ?? "")")
            seen[rows] = ch
            #expect(rows.allSatisfy { $0 < 32 }, "\(ch) is wider than 5 columns")
        }
    }

    @Test(arguments: [1, 2, 3])
    func drawnText_staysInsideItsMeasuredBox(scale: Int) {
        let text = "Wg_|σ×±·…–² 0.123"
        var c = Canvas(width: 400, height: 60)
        let w = c.drawText(text, x: 10, y: 10, scale: scale, color: .black)
        #expect(w == BitmapFont.width(text, scale: scale))
        var minX = Int.max, maxX = -1, minY = Int.max, maxY = -1
        for y in 0..<60 { for x in 0..<400 where c.pixel(x, y) == .black {
            minX = min(minX, x); maxX = max(maxX, x); minY = min(minY, y); maxY = max(maxY, y)
        } }
        #expect(minX >= 10 && maxX < 10 + w)
        #expect(minY >= 10 && maxY < 10 + BitmapFont.height(scale: scale))
    }

    @Test func truncation_fitsAndMarksTheCut() {
        let name = "output_blocks.0.1.transformer_blocks.0.ff.net.0.proj"
        for maxW in [0, 5, 6, 40, 120, 1000] {
            let t = BitmapFont.truncated(name, maxWidth: maxW, scale: 2)
            #expect(BitmapFont.width(t, scale: 2) <= max(maxW, 0))
            let h = BitmapFont.truncatedHead(name, maxWidth: maxW, scale: 2)
            #expect(BitmapFont.width(h, scale: 2) <= max(maxW, 0))
            if BitmapFont.width(name, scale: 2) > maxW && t.count > 1 { #expect(t.hasSuffix("…") && h.hasPrefix("…")) }
        }
        #expect(BitmapFont.truncated(name, maxWidth: 10_000, scale: 1) == name)
    }

    @Test func wrapping_keepsEveryLineWithinTheWidth() {
        let text = "rows: output channels 0–15 of 320 · per row the 32 strongest of 320 input channels (kernel L2 norm)"
        let lines = wrapText(text, maxWidth: 300, scale: 2)
        #expect(lines.count > 1)
        for l in lines { #expect(BitmapFont.width(l, scale: 2) <= 300) }
        #expect(lines.joined(separator: " ") == text)
    }

    @Test func cells_upscaleByNearestNeighbour() {
        var c = Canvas(width: 10, height: 10)
        c.paintCells([.black, .white, RGBA(255, 0, 0), RGBA(0, 0, 255)], rows: 2, cols: 2, x: 1, y: 1, cellW: 3, cellH: 2)
        #expect(c.pixel(1, 1) == .black && c.pixel(3, 2) == .black)
        #expect(c.pixel(4, 1) == .white)
        #expect(c.pixel(1, 3) == RGBA(255, 0, 0) && c.pixel(6, 4) == RGBA(0, 0, 255))
        #expect(c.pixel(7, 1) == .white && c.pixel(0, 0) == .white)
    }

    @Test func drawingOutsideTheCanvas_isClipped() {
        var c = Canvas(width: 8, height: 8)
        c.fill(-5, -5, 100, 7, .black)
        c.line(-10, 4, 20, 4, .black)
        c.drawText("clipped", x: -20, y: 6, scale: 3)
        #expect(c.pixel(0, 0) == .black && c.pixel(7, 4) == .black)
    }

    @Test(arguments: [(0.0, "0"), (1.0, "1"), (-0.5, "-0.5"), (0.000123, "1.23e-4"), (123456.0, "1.23e5"),
                      (0.0123, "0.0123"), (2.81, "2.81"), (100.0, "100"), (1234.6, "1235")])
    func numbers_areFormattedCompactly(value: Double, text: String) {
        #expect(formatNumber(value) == text)
    }

    @Test func counts_getThousandsSeparators() {
        #expect(formatCount(921_600) == "921,600")
        #expect(formatCount(12) == "12")
        #expect(formatCount(-1_000) == "-1,000")
        #expect(formatShape([320, 320, 3, 3]) == "[320, 320, 3, 3]")
    }
}
