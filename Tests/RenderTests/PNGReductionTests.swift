import Testing
@testable import Render
import TensorCore

/// The encoder's lossless pixel-format reduction (palette / RGB / RGBA) and the fast paths the
/// big linear layers take (heatmap row-block reduction, Σv²).
@Suite struct PNGReductionTests {
    /// IHDR's colour type byte: 3 palette, 2 RGB, 6 RGBA.
    func colorType(_ png: [UInt8]) -> UInt8 { png[25] }

    func pixels(colors: Int, count: Int, alpha: UInt8 = 255) -> [UInt8] {
        var px = [UInt8]()
        for i in 0..<count {
            let c = (i * 7919) % colors
            px += [UInt8(c & 255), UInt8((c >> 8) & 255), UInt8((c * 3) & 255), i == count / 2 ? alpha : 255]
        }
        return px
    }

    @Test(arguments: [1, 2, 255, 256])
    func upTo256OpaqueColours_becomeAPaletteImage_losslessly(colors: Int) throws {
        let (w, h) = (61, 37)
        let px = pixels(colors: colors, count: w * h)
        let png = try PNGEncoder.encode(rgba: px, width: w, height: h)
        #expect(colorType(png) == 3)
        #expect(try PNGDecoder.decode(png).rgba == px)
    }

    @Test func moreColours_becomeRGB_andTransparency_staysRGBA() throws {
        let (w, h) = (61, 37)
        let many = pixels(colors: 257, count: w * h)
        let rgb = try PNGEncoder.encode(rgba: many, width: w, height: h)
        #expect(colorType(rgb) == 2)
        #expect(try PNGDecoder.decode(rgb).rgba == many)
        let translucent = pixels(colors: 4, count: w * h, alpha: 128)
        let rgba = try PNGEncoder.encode(rgba: translucent, width: w, height: h)
        #expect(colorType(rgba) == 6)
        #expect(try PNGDecoder.decode(rgba).rgba == translucent)
        let off = try PNGEncoder.encode(rgba: pixels(colors: 4, count: w * h), width: w, height: h,
                                        options: PNGOptions(reduceColors: false))
        #expect(colorType(off) == 6)
    }

    @Test func aNoiseHeatmapPage_fitsThePalette_withItsLayoutChunk() throws {
        // Full-range noise uses every colour-map level, plus the page's ink and rules.
        let t = Tensor(shape: [600, 300], values: pseudoRandom(600 * 300, seed: 11))
        let image = try LayerRenderer.render(.weights, weight: t, layer: info("noise", t))[0]
        #expect(colorType(image.png) == 3)
        #expect(try PNGDecoder.text(image.png, keyword: PageLayout.keyword) != nil)
        let pic = try Picture(image)
        #expect(pic.distinctColors(limit: 400) > 200)
    }

    /// Large enough (2.4 M values) for the reduction to run in several parallel jobs; the result
    /// must be exactly the blocks computed directly.
    @Test func largeHeatmapReduction_inParallelJobs_matchesDirectBlocks() {
        let (rows, cols) = (1601, 1499)
        var v = pseudoRandom(rows * cols, seed: 21)
        v[777_777] = .nan
        let r = MatrixHeatmap.reduce(v, rows: rows, cols: cols, maxRows: 100, maxCols: 90, mode: .maxAbs)
        #expect(r.bh == 17 && r.bw == 17)
        for br in 0..<r.rows {
            for bc in 0..<r.cols {
                var best: Float = 0
                for i in (br * 17)..<min(rows, br * 17 + 17) {
                    for j in (bc * 17)..<min(cols, bc * 17 + 17) where abs(v[i * cols + j]) > abs(best) { best = v[i * cols + j] }
                }
                if abs(r.values[br * r.cols + bc]) != abs(best) { Issue.record("block \(br), \(bc)"); return }
            }
        }
    }

    /// The node preview's reduction: the first value of largest |v| in row-major order of each
    /// block (ties of opposite sign, as quantized weights have, keep the first), a NaN replacing
    /// what came before it — the same as one sequential scan, also when run in parallel jobs.
    @Test(arguments: [(300, 500), (1600, 1500), (5, 7)])
    func previewReduction_matchesASequentialScan(shape: (Int, Int)) {
        let (rows, cols) = shape
        var v = pseudoRandom(rows * cols, seed: 22).map { ($0 * 8).rounded() / 8 }   // many ties
        v[rows * cols / 3] = .nan
        let r = v.withUnsafeBufferPointer { CompactPreview.blockMaxAbs($0, rows: rows, cols: cols, limit: 128) }
        var expected = [Float](repeating: 0, count: r.rows * r.cols)
        for i in 0..<rows {
            for j in 0..<cols {
                let k = (i / r.rs) * r.cols + j / r.cs
                if !(abs(expected[k]) >= abs(v[i * cols + j])) { expected[k] = v[i * cols + j] }
            }
        }
        #expect(r.rows <= 128 && r.cols <= 128)
        #expect(zip(r.values, expected).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) })
    }

    @Test func colourMapCentre_isItsOwnLevel() {
        let m = ColorMap(.diverging)
        let distinct = Set(m.table).count
        #expect(distinct <= ColorMap.levels && distinct > 200)
        #expect(m.color(0.5) == RGBA(250, 250, 250))
    }

    @Test(arguments: [BlockReduction.maxAbs, .mean])
    func rowBlockReduction_matchesTheGeneralPath(mode: BlockReduction) {
        let (rows, cols) = (103, 17)
        var v = pseudoRandom(rows * cols, seed: 5)
        v[40] = .nan
        // Tall: only row blocks (bw == 1, the fast path). Reference: the same blocks computed directly.
        let r = MatrixHeatmap.reduce(v, rows: rows, cols: cols, maxRows: 20, maxCols: 100, mode: mode)
        #expect(r.bw == 1 && r.bh == 6 && r.rows == 18 && r.cols == cols)
        for br in 0..<r.rows {
            for c in 0..<cols {
                let block = (br * 6..<min(rows, br * 6 + 6)).map { v[$0 * cols + c] }
                let expected: Float
                switch mode {
                case .maxAbs: expected = block.reduce(Float(0)) { abs($1) > abs($0) ? $1 : $0 }
                case .mean: expected = Float(block.reduce(0.0) { $0 + Double($1) } / Double(block.count))
                }
                let got = r.values[br * cols + c]
                #expect(got == expected || (got.isNaN && expected.isNaN) || abs(got - expected) < 1e-6)
            }
        }
    }

    @Test func sumOfSquares_matchesDouble() {
        // 3,000,017 values: several 1 M-value chunks summed in parallel, then in order.
        for n in [0, 1, 15, 16, 17, 4096 + 33, 100_003, 3_000_017] {
            let v = pseudoRandom(n, seed: UInt64(n))
            let exact = v.reduce(0.0) { $0 + Double($1) * Double($1) }
            let got = v.withUnsafeBufferPointer { sumOfSquares($0) }
            #expect(abs(got - exact) <= 1e-6 * max(exact, 1))
        }
    }
}
