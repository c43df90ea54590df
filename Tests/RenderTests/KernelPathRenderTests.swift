import Kernels
import Testing
@testable import Render

/// The rendering kernels on every path this machine runs (forced per test) against the plain
/// Swift definitions: colour lookup, block reduction and the palette's run detection.
@Suite struct KernelPathRenderTests {
    @Test(arguments: KernelPath.supported)
    func colours_matchTheScalarLookup(path: KernelPath) throws {
        var v = pseudoRandom(1003, seed: 9).map { $0 * 3 }
        v[7] = .nan; v[8] = .infinity; v[9] = -.infinity; v[10] = 1; v[11] = -1
        let scale = ValueScale(lo: -1, hi: 1, curve: .linear, usesMagnitude: false, clipNote: nil)
        let map = ColorMap(.diverging)
        let got = try path.run { scale.colors(v, map: map) }
        let k = Float(255) / 2, base = 1 * k + 0.5
        for (i, x) in v.enumerated() {
            let f = x * k + base
            let idx = f >= 0 ? (f < 255 ? Int(f) : 255) : (f < 0 ? 0 : 128)
            if got[i] != map.table[idx] { Issue.record("\(path) value \(i) (\(x))"); return }
        }
    }

    @Test(arguments: [BlockReduction.maxAbs, .mean], KernelPath.supported)
    func blockReduction_matchesDirectBlocks(mode: BlockReduction, path: KernelPath) throws {
        let (rows, cols) = (53, 71)
        var v = pseudoRandom(rows * cols, seed: 12)
        v[100] = .nan
        let r = try path.run { MatrixHeatmap.reduce(v, rows: rows, cols: cols, maxRows: 10, maxCols: 20, mode: mode) }
        #expect(r.bh == 6 && r.bw == 4)
        for br in 0..<r.rows {
            for bc in 0..<r.cols {
                var block: [Float] = []
                for i in (br * 6)..<min(rows, br * 6 + 6) { for j in (bc * 4)..<min(cols, bc * 4 + 4) { block.append(v[i * cols + j]) } }
                let got = r.values[br * r.cols + bc]
                switch mode {
                case .maxAbs:
                    let best = block.reduce(Float(0)) { abs($1) > abs($0) ? $1 : $0 }
                    #expect(abs(got) == abs(best))
                case .mean:
                    let mean = block.reduce(0.0) { $0 + Double($1) } / Double(block.count)
                    #expect(mean.isNaN ? got.isNaN : abs(Double(got) - mean) < 1e-6)
                }
            }
        }
    }

    @Test(arguments: KernelPath.supported)
    func palette_ofRunsAndSingles_isLossless(path: KernelPath) throws {
        // Long runs (the vector path), runs ending at every offset, and single pixels.
        var rgba: [UInt8] = []
        for run in 1...70 { for _ in 0..<run { rgba += [UInt8(run % 5 * 40), UInt8(run % 3 * 90), 7, 255] } }
        let count = rgba.count / 4
        let image = try path.run { rgba.withUnsafeBufferPointer { PaletteImage(rgba: $0) } }
        guard case .palette(let indices, let palette) = image else { Issue.record("not a palette image"); return }
        #expect(indices.count == count)
        for i in 0..<count {
            let p = Int(indices[i]) * 3
            #expect(Array(palette[p..<(p + 3)]) == Array(rgba[(i * 4)..<(i * 4 + 3)]))
        }
    }
}
