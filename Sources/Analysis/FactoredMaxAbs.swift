import CKernels

// max |(L·R)_ij| over every entry of a product of two thin factors, exact (to Float rounding)
// without computing every entry exactly. The factors give no shortcut to the largest entry, so
// all m·n·r multiply-adds are done, but in 16-bit integers (the `qmax_panel` kernel,
// kernels_qmax.h): each row of L and column of R quantised with its own scale, each tile of
// products turned into intervals that provably hold the true entries (quantisation errors bounded
// through their norms, Cauchy–Schwarz). Only the tiles whose upper bound reaches the best lower
// bound are then recomputed, entry by entry in Double. On the AVX2 path the integer products run
// at about four times the multiply-adds of the Float GEMM; on a LoRA a few tiles of each layer
// are recomputed. With AVX-512 VNNI (vpdpbusd) the screen ran 1.3× faster again on Zen 4
// (docs/BENCHMARKS.md, "LoRA inspection"; docs/ENGINE.md, "Products of two thin factors").

/// Relative and absolute widening of the Float bounds: the kernel's epilogue rounds a handful of
/// times (each ≤ 2⁻²⁴ relative), and products below 1e-37 may lose their relative accuracy.
private let boundSlack: Float = 0x1p-18
private let tinySlack: Float = 1e-37

/// max |x| over the entries x of `l`·`r` (0 for an empty product), each entry exact to Float
/// rounding (the largest is computed as a Double dot product). Factors that are not finite, whose
/// products could overflow the bounds, or deeper than `WL_QMAX_DEPTH` go through
/// `productEntryMoments` (every entry by the Float GEMM; NaN entries never win). Single-threaded:
/// callers run one product per core.
public func productMaxAbs(_ l: Matrix, _ r: Matrix) throws(AnalysisError) -> Float {
    guard l.cols == r.rows else { throw .shapeMismatch(operation: "multiply A·B", left: l.shape, right: r.shape) }
    let m = l.rows, n = r.cols, k = l.cols
    if m == 0 || n == 0 || k == 0 { return 0 }
    if k > Int(WL_QMAX_DEPTH) { return try productEntryMoments(l, r, parallel: false).maxAbs }
    guard let screen = QuantisedScreen(l, r) else { return try productEntryMoments(l, r, parallel: false).maxAbs }
    return screen.maxAbs(l, r)
}

/// Both factors quantised and packed for `qmax_panel`, and the tiles' bounds.
struct QuantisedScreen {
    let m: Int, n: Int, k: Int, depthSteps: Int
    let rowPanels: Int, colPanels: Int
    let t: UnsafePointer<wl_kernels>
    var a: [UInt32], aTerms: [Float]
    var b: [Int8], bTerms: [Float], corr: [Int32]

    static let qmr = Int(WL_QMR), qnr = Int(WL_QNR)

    /// Nil when a factor holds a value that is not finite or the bounds could overflow a Float.
    init?(_ l: Matrix, _ r: Matrix) {
        let qmr = Self.qmr, qnr = Self.qnr
        m = l.rows; n = r.cols; k = l.cols
        t = wl_current()
        // Depth values per packed step: 2, or 4 where the products run through VNNI.
        let qd = t.pointee.qdepth
        depthSteps = (k + qd - 1) / qd
        rowPanels = (m + qmr - 1) / qmr
        colPanels = (n + qnr - 1) / qnr
        a = [UInt32](repeating: 0, count: rowPanels * depthSteps * qmr)
        aTerms = [Float](repeating: 0, count: rowPanels * 3 * qmr)
        b = [Int8](repeating: 0, count: colPanels * depthSteps * qd * qnr)
        bTerms = [Float](repeating: 0, count: colPanels * 3 * qnr)
        corr = [Int32](repeating: 0, count: colPanels * qnr)
        var scratch = [Int8](repeating: 0, count: k)
        let (m, n, k, dp, t) = (m, n, k, depthSteps, t)
        let (rowPanels, colPanels) = (rowPanels, colPanels)
        let ok = l.values.withUnsafeBufferPointer { lp in
            r.values.withUnsafeBufferPointer { rp in
                scratch.withUnsafeMutableBufferPointer { sp in
                    a.withUnsafeMutableBufferPointer { ap in
                        aTerms.withUnsafeMutableBufferPointer { atp in
                            for p in 0..<rowPanels {
                                let rows = min(qmr, m - p * qmr)
                                if t.pointee.qpack_rows(lp.baseAddress! + p * qmr * k, k, rows, k, ap.baseAddress! + p * dp * qmr,
                                                        atp.baseAddress! + p * 3 * qmr, sp.baseAddress!) != 0 { return false }
                            }
                            return true
                        }
                    }
                    && b.withUnsafeMutableBufferPointer { bp in
                        bTerms.withUnsafeMutableBufferPointer { btp in
                            corr.withUnsafeMutableBufferPointer { cp in
                                for p in 0..<colPanels {
                                    let cols = min(qnr, n - p * qnr)
                                    if t.pointee.qpack_cols(rp.baseAddress! + p * qnr, n, cols, k, bp.baseAddress! + p * dp * qd * qnr,
                                                            btp.baseAddress! + p * 3 * qnr, cp.baseAddress! + p * qnr, sp.baseAddress!) != 0 { return false }
                                }
                                return true
                            }
                        }
                    }
                }
            }
        }
        guard ok else { return nil }
        // Largest row norm × largest column norm bounds every product, scale·|c|·scale and error
        // term: keep them well inside Float.
        var rowNorm: Float = 0, colNorm: Float = 0
        for p in 0..<rowPanels { for i in 0..<qmr { rowNorm = max(rowNorm, aTerms[p * 3 * qmr + 2 * qmr + i] + aTerms[p * 3 * qmr + qmr + i]) } }
        for p in 0..<colPanels { for j in 0..<qnr { colNorm = max(colNorm, bTerms[p * 3 * qnr + 2 * qnr + j]) } }
        guard Double(rowNorm) * Double(colNorm) < 1e36 else { return nil }
    }

    /// Upper bound of every tile (row panel major) and the best lower bound of any entry.
    func bounds() -> (upper: [Float], lower: Float) {
        let qmr = Self.qmr, qnr = Self.qnr, dp = depthSteps, qd = t.pointee.qdepth
        var upper = [Float](repeating: 0, count: rowPanels * colPanels)
        var lower: Float = 0
        // Row panels in blocks that stay in L2 (each panel dp·QMR words) while every column panel
        // (dp·qd·QNR bytes, in L1) passes over them.
        let block = max(1, (128 * 1024) / max(1, dp * qmr * 4))
        a.withUnsafeBufferPointer { ap in
            aTerms.withUnsafeBufferPointer { atp in
                b.withUnsafeBufferPointer { bp in
                    bTerms.withUnsafeBufferPointer { btp in
                        corr.withUnsafeBufferPointer { cp in
                            upper.withUnsafeMutableBufferPointer { up in
                                var r0 = 0
                                while r0 < rowPanels {
                                    let r1 = min(rowPanels, r0 + block)
                                    for c in 0..<colPanels {
                                        let low = t.pointee.qmax_panel(ap.baseAddress! + r0 * dp * qmr, r1 - r0, atp.baseAddress! + r0 * 3 * qmr,
                                                                       bp.baseAddress! + c * dp * qd * qnr, dp, btp.baseAddress! + c * 3 * qnr,
                                                                       cp.baseAddress! + c * qnr, up.baseAddress! + r0 * colPanels + c, colPanels,
                                                                       boundSlack, tinySlack)
                                        if low > lower { lower = low }
                                    }
                                    r0 = r1
                                }
                            }
                        }
                    }
                }
            }
        }
        return (upper, lower)
    }

    /// Screens every tile, then recomputes exactly the entries of those that can hold the maximum,
    /// highest upper bound first, until the next bound is below the best entry found.
    func maxAbs(_ l: Matrix, _ r: Matrix) -> Float {
        let (upper, lower) = bounds()
        let qmr = Self.qmr, qnr = Self.qnr, n = n, k = k, colPanels = colPanels
        let dot = t.pointee.dot_f64acc
        // One pass in memory order (the array is row-panel major; a pass by column panels would
        // stride through it, a cache miss per tile on the larger layers).
        var candidates: [(bound: Float, tile: Int)] = []
        for (tile, u) in upper.enumerated() where u > 0 && u * (1 + boundSlack) + tinySlack >= lower {
            // A tile whose bound is 0 holds only zeros (products below 1e-37 at most).
            candidates.append((u, tile))
        }
        candidates.sort { $0.bound > $1.bound }
        var best: Float = 0
        // The columns of a candidate tile, gathered contiguous (column panel `gathered`).
        var columns = [Float](repeating: 0, count: qnr * k)
        var gathered = -1
        l.values.withUnsafeBufferPointer { lp in
            r.values.withUnsafeBufferPointer { rp in
                columns.withUnsafeMutableBufferPointer { cp in
                    for (u, tile) in candidates {
                        if u * (1 + boundSlack) + tinySlack < best { break }
                        let p = tile / colPanels, c = tile % colPanels
                        let j0 = c * qnr, width = min(qnr, n - j0)
                        if gathered != c {
                            for q in 0..<k { for j in 0..<width { cp[j * k + q] = rp[q * n + j0 + j] } }
                            gathered = c
                        }
                        for i in (p * qmr)..<min(m, p * qmr + qmr) {
                            for j in 0..<width {
                                let x = Float(abs(dot(lp.baseAddress! + i * k, cp.baseAddress! + j * k, k)))
                                if x > best { best = x }
                            }
                        }
                    }
                }
            }
        }
        return best
    }
}
