import CKernels
import Dispatch

// A LoRA's ΔW is a product L·R of an m×r and an r×n factor with r small (a few to a few hundred)
// and m·n up to 13 M. A report needs its Frobenius norm, largest |entry| and top singular values.
// The singular values and the norm come from the two r×r Gram matrices, O(r²·(m + n)) instead of
// a Lanczos run on the m×n matrix; the largest entry from an integer screen (FactoredMaxAbs.swift).
// `productEntryMoments`, the fallback for factors the screen does not take, produces the entries
// one MC-row block at a time by the packed GEMM and folds them into Σx² and max |x| at once, so
// the product is never held: the cost is the GEMM's flops (2·m·n·r), not memory traffic.

/// Σ x² (accumulated in Double) and max |x| over the entries of a product.
public struct ProductEntryMoments: Sendable, Equatable {
    public var sumOfSquares: Double
    public var maxAbs: Float

    public init(sumOfSquares: Double, maxAbs: Float) {
        self.sumOfSquares = sumOfSquares
        self.maxAbs = maxAbs
    }

    /// The moments of two disjoint sets of entries taken together.
    public func merged(with other: ProductEntryMoments) -> ProductEntryMoments {
        ProductEntryMoments(sumOfSquares: sumOfSquares + other.sumOfSquares, maxAbs: Swift.max(maxAbs, other.maxAbs))
    }
}

/// Σx² and max |x| (NaN never wins) over the entries of `l`·`r`, without forming the product.
/// `parallel`: false when the caller already runs one product per core.
public func productEntryMoments(_ l: Matrix, _ r: Matrix, parallel: Bool = true) throws(AnalysisError) -> ProductEntryMoments {
    guard l.cols == r.rows else { throw .shapeMismatch(operation: "multiply A·B", left: l.shape, right: r.shape) }
    let m = l.rows, n = r.cols, k = l.cols
    if m == 0 || n == 0 || k == 0 { return ProductEntryMoments(sumOfSquares: 0, maxAbs: 0) }
    let t = KernelTable.current
    let mc = t.raw.pointee.mc
    let rowBlocks = (m + mc - 1) / mc
    // A few chunks of consecutive row blocks per core; each owns one MC×n scratch block.
    let chunks = parallel ? min(rowBlocks, 8) : 1
    let results = UnsafeMutablePointer<ProductEntryMoments>.allocate(capacity: chunks)
    defer { results.deallocate() }
    l.values.withUnsafeBufferPointer { lp in
        r.values.withUnsafeBufferPointer { rp in
            let right = StridedOperand(base: rp.baseAddress!, rows: k, cols: n, rowStride: n, colStride: 1)
            let (packed, panels) = packRight(right, kernels: t, parallel: parallel)
            defer { packed.base.deallocate() }
            nonisolated(unsafe) let left = lp.baseAddress!, out = results
            runJobs(chunks, parallel: parallel) { chunk in
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: mc * n)
                defer { scratch.deallocate() }
                var sums = (0.0, 0.0, 0.0)
                var maxAbs: Float = 0
                for block in (chunk * rowBlocks / chunks)..<((chunk + 1) * rowBlocks / chunks) {
                    let i0 = block * mc, rows = min(mc, m - i0)
                    // The block's rows as a matrix of their own, so its product lands at the scratch's origin.
                    let a = StridedOperand(base: left + i0 * k, rows: rows, cols: k, rowStride: k, colStride: 1)
                    t.raw.pointee.gemm_tile(a.view, packed.base, panels, k, 0, rows, 0, n, n, scratch, n, 0)
                    let blockMax = withUnsafeMutableBytes(of: &sums) { raw in
                        t.raw.pointee.moments_row(scratch, rows * n, 0, raw.baseAddress!.assumingMemoryBound(to: Double.self))
                    }
                    if blockMax > maxAbs { maxAbs = blockMax }
                }
                out[chunk] = ProductEntryMoments(sumOfSquares: sums.2, maxAbs: maxAbs)
            }
        }
    }
    var total = ProductEntryMoments(sumOfSquares: 0, maxAbs: 0)
    for c in 0..<chunks { total = total.merged(with: results[c]) }
    return total
}

/// The `top` largest singular values of `l`·`r` (zeros past its rank), from the r×r Gram matrices
/// G = LᵀL and H = R·Rᵀ: the non-zero eigenvalues of (LR)ᵀ(LR) = Rᵀ G R are those of G·H, hence of
/// Cᵀ G C with H = C·Cᵀ (Cholesky), a symmetric r×r matrix. When H is singular (Cholesky breaks
/// down) `singularValuesOfTransposedProduct` takes the eigendecomposition of H instead.
public func productSingularValues(_ l: Matrix, _ r: Matrix, top: Int, parallel: Bool = true) throws(AnalysisError) -> [Float] {
    try productSpectrum(l, r, top: top, parallel: parallel).singularValues
}

/// The `top` largest singular values of `l`·`r` (as `productSingularValues`) and Σ x² over its
/// entries, ‖L·R‖²_F = trace(G·H) = Σ_ij G_ij·H_ij, from the same Gram matrices (accumulated in
/// Double from their Float entries, so it is consistent with the singular values: Σσ²).
public func productSpectrum(_ l: Matrix, _ r: Matrix, top: Int, parallel: Bool = true) throws(AnalysisError)
    -> (singularValues: [Float], sumOfSquares: Double) {
    guard l.cols == r.rows else { throw .shapeMismatch(operation: "multiply A·B", left: l.shape, right: r.shape) }
    let k = l.cols
    let t = KernelTable.current
    func padded(_ values: [Double]) -> [Float] {
        let count = max(0, top)
        let head = values.prefix(count).map { Float(max($0, 0).squareRoot()) }
        return head + [Float](repeating: 0, count: count - head.count)
    }
    if k == 0 || l.rows == 0 || r.cols == 0 { return (padded([]), 0) }
    // Lower triangles of G = LᵀL and H = R·Rᵀ, in Float, reading the factors in place (gram_cols:
    // outer products of L's rows; gram_rows: dot products of R's rows).
    let g32 = gramLower(k: k, long: l.rows, parallel: parallel) { first, count, c in
        l.values.withUnsafeBufferPointer { t.raw.pointee.gram_cols($0.baseAddress! + first * k, count, k, k, c, k) }
    }
    let h32 = gramLower(k: k, long: r.cols, parallel: parallel) { first, count, c in
        r.values.withUnsafeBufferPointer { t.raw.pointee.gram_rows($0.baseAddress! + first, k, count, r.cols, c, k) }
    }
    if let bad = g32.firstIndex(where: { !$0.isFinite }) ?? h32.firstIndex(where: { !$0.isFinite }) {
        throw .nonFiniteValue(index: bad)
    }
    var g = [Double](repeating: 0, count: k * k), c = [Double](repeating: 0, count: k * k)
    var squares = 0.0
    g.withUnsafeMutableBufferPointer { gp in
        c.withUnsafeMutableBufferPointer { cp in
            g32.withUnsafeBufferPointer { g32p in
                h32.withUnsafeBufferPointer { h32p in
                    for i in 0..<k {
                        for j in 0...i {
                            let gij = Double(g32p[i * k + j]), cij = Double(h32p[i * k + j])
                            gp[i * k + j] = gij
                            gp[j * k + i] = gij
                            cp[i * k + j] = cij
                            squares += (i == j ? 1 : 2) * gij * cij
                        }
                    }
                }
            }
        }
    }
    squares = max(squares, 0)
    if top <= 0 { return ([], squares) }
    // In-place Cholesky of H's lower triangle: c becomes C (row-major, zero above the diagonal).
    // (Row j of C up to the diagonal and row i's same columns are contiguous: the sums are dot_d.)
    let dotD = t.raw.pointee.dot_d
    let broke = c.withUnsafeMutableBufferPointer { cp -> Bool in
        let base = cp.baseAddress!
        for j in 0..<k {
            let d = base[j * k + j] - dotD(base + j * k, base + j * k, j)
            guard d > 0, d.isFinite else { return true }
            let root = d.squareRoot()
            base[j * k + j] = root
            for i in (j + 1)..<k {
                base[i * k + j] = (base[i * k + j] - dotD(base + i * k, base + j * k, j)) / root
            }
        }
        return false
    }
    if broke {
        return (padded(try singularValuesOfTransposedProduct(l.transposed(), r).map { $0 * $0 }), squares)
    }
    // T = G·C, then S = Cᵀ·T (C lower triangular: the zero steps are skipped).
    var tm = [Double](repeating: 0, count: k * k), s = [Double](repeating: 0, count: k * k)
    let gemmD = t.raw.pointee.gemm_d
    g.withUnsafeBufferPointer { gp in
        c.withUnsafeBufferPointer { cp in
            tm.withUnsafeMutableBufferPointer { tp in
                gemmD(k, k, k, gp.baseAddress!, k, 1, cp.baseAddress!, k, tp.baseAddress!, k, WL_GEMM_D_B_LOWER)
                s.withUnsafeMutableBufferPointer { sp in
                    // A = Cᵀ: entry (i, p) is C[p, i].
                    gemmD(k, k, k, cp.baseAddress!, 1, k, tp.baseAddress!, k, sp.baseAddress!, k, WL_GEMM_D_A_UPPER)
                }
            }
        }
    }
    s.withUnsafeMutableBufferPointer { sp in
        for i in 0..<k { for j in 0..<i { let v = 0.5 * (sp[i * k + j] + sp[j * k + i]); sp[i * k + j] = v; sp[j * k + i] = v } }
    }
    // Only the top singular values are reported: the largest eigenvalues by bisection.
    return (padded(try symmetricEigenvaluesBlocked(s, n: k, top: top)), squares)
}

/// A k×k Gram matrix's lower triangle (row-major; the upper triangle unspecified) summed over a
/// long side of `long` indices: `part(first, count, c)` writes the Gram matrix of indices
/// first..<first+count into c. When parallel, the long side is split into up to eight parts (at
/// least 2048 indices each) run side by side, whose matrices are added.
private func gramLower(k: Int, long: Int, parallel: Bool,
                       _ part: @Sendable (_ first: Int, _ count: Int, _ c: UnsafeMutablePointer<Float>) -> Void) -> [Float] {
    var c = [Float](repeating: 0, count: k * k)
    let parts = parallel ? max(1, min(8, long / 2048)) : 1
    if parts == 1 {
        c.withUnsafeMutableBufferPointer { part(0, long, $0.baseAddress!) }
        return c
    }
    let partial = OutputPointer(base: UnsafeMutablePointer<Float>.allocate(capacity: parts * k * k))
    defer { partial.base.deallocate() }
    partial.base.initialize(repeating: 0, count: parts * k * k)
    runJobs(parts, parallel: true) { job in
        let first = job * long / parts, end = (job + 1) * long / parts
        part(first, end - first, partial.base + job * k * k)
    }
    for job in 0..<parts {
        let src = partial.base + job * k * k
        for i in 0..<k { for j in 0...i { c[i * k + j] += src[i * k + j] } }
    }
    return c
}

