import Dispatch
import TensorCore

/// Top-k singular triplets: A ≈ U · diag(singularValues) · Vᵀ.
public struct SVDResult: Sendable {
    /// rows × k, orthonormal columns (left singular vectors).
    public let u: Matrix
    /// k values, largest first.
    public let singularValues: [Float]
    /// k × cols, orthonormal rows (right singular vectors).
    public let vt: Matrix
    /// Krylov blocks applied (0 when the exact path was taken).
    public let iterations: Int
    /// Whether the top-k values met the tolerance (always true on the exact path).
    public let converged: Bool
}

/// Top-`k` singular triplets of `a` by randomized block Krylov iteration with Rayleigh–Ritz
/// extraction, thick restarts and full re-orthonormalisation.
///
/// The Krylov basis lives on the shorter side of the matrix (p = min(rows, cols)). Each step
/// applies AᵀA (or AAᵀ) to one block, orthonormalises it against the whole basis (block
/// Gram–Schmidt twice, then Householder QR), and updates the Gram matrix of the projected
/// problem in Double; the Ritz values are the square roots of its eigenvalues. Iteration stops
/// when every one of the top-k Ritz values changes by less than `tolerance` (relative) between
/// two steps, or when the basis spans the whole short side (then the answer is exact). Small
/// matrices (p ≤ 96 or a few blocks) take the exact path directly.
///
/// - Parameters:
///   - k: number of triplets, 1...min(rows, cols).
///   - tolerance: relative change of the top-k Ritz values that counts as converged.
///   - maxIterations: cap on Krylov steps; the result of the last step is returned with
///     `converged == false` if the cap is hit.
/// - Throws: `.invalidRank`, `.nonFiniteValue`, `.cancelled`.
public func truncatedSVD(_ a: Matrix, rank k: Int, tolerance: Float = 1e-5, maxIterations: Int = 80,
                         cancellation: Cancellation? = nil, progress: ProgressHandler? = nil) throws(AnalysisError) -> SVDResult {
    let (basisVectors, values, otherVectors, iterations, converged) =
        try runKrylov(a, rank: k, tolerance: tolerance, maxIterations: maxIterations, cancellation: cancellation,
                      progress: progress, vectors: true)
    // basisVectors: p×k on the short side; otherVectors: q×k on the long side.
    var uMat: Matrix, vMat: Matrix  // m×k and n×k
    if a.rows <= a.cols { uMat = basisVectors; vMat = otherVectors } else { uMat = otherVectors; vMat = basisVectors }
    normalizeSigns(&uMat, &vMat)
    return SVDResult(u: uMat, singularValues: values, vt: vMat.transposed(), iterations: iterations, converged: converged)
}

/// The top-`k` singular values of `a`, largest first: `truncatedSVD(a, rank: k, …).singularValues`
/// without extracting the vectors (the Ritz vectors' eigenvectors, two products and two QR
/// factorisations, one of them q × k): for callers that print or plot values only.
public func topSingularValues(_ a: Matrix, rank k: Int, tolerance: Float = 1e-5, maxIterations: Int = 80,
                              cancellation: Cancellation? = nil, progress: ProgressHandler? = nil) throws(AnalysisError) -> [Float] {
    try runKrylov(a, rank: k, tolerance: tolerance, maxIterations: maxIterations, cancellation: cancellation,
                  progress: progress, vectors: false).1
}

/// Checks the arguments and runs the Krylov iteration on the short side of `a` (`KrylovSVD.run`).
private func runKrylov(_ a: Matrix, rank k: Int, tolerance: Float, maxIterations: Int, cancellation: Cancellation?,
                       progress: ProgressHandler?, vectors: Bool) throws(AnalysisError) -> (Matrix, [Float], Matrix, Int, Bool) {
    let m = a.rows, n = a.cols, p = min(m, n)
    guard p > 0, k >= 1, k <= p else { throw .invalidRank(requested: k, limit: p, shape: a.shape) }
    if let bad = a.firstNonFiniteIndex() { throw .nonFiniteValue(index: bad) }
    let result: Result<(Matrix, [Float], Matrix, Int, Bool), AnalysisError> = a.values.withUnsafeBufferPointer { buf in
        let view = StridedOperand(base: buf.baseAddress!, rows: m, cols: n, rowStride: n, colStride: 1)
        var solver = KrylovSVD(op: m <= n ? view : view.transposed, k: k, tolerance: Double(tolerance),
                               maxIterations: max(1, maxIterations), cancellation: cancellation, progress: progress,
                               vectors: vectors)
        return Result { () throws(AnalysisError) in try solver.run() }
    }
    return try result.get()
}

/// Makes the largest-magnitude entry of each left vector positive (flipping the right vector
/// with it) so results are reproducible across runs and paths.
private func normalizeSigns(_ u: inout Matrix, _ v: inout Matrix) {
    for j in 0..<u.cols {
        var best: Float = 0
        for i in 0..<u.rows where abs(u[i, j]) > abs(best) { best = u[i, j] }
        if best < 0 {
            for i in 0..<u.rows { u[i, j] = -u[i, j] }
            for i in 0..<v.rows { v[i, j] = -v[i, j] }
        }
    }
}

/// State of one block Krylov run on the p×q operator `op` (p ≤ q).
struct KrylovSVD {
    let op: StridedOperand
    let k: Int
    let tolerance: Double
    let maxIterations: Int
    let cancellation: Cancellation?
    let progress: ProgressHandler?
    let p: Int, q: Int
    let block: Int
    let kMax: Int
    /// false: values only (`topSingularValues`): no vectors are extracted, and `run` returns
    /// empty vector matrices.
    let vectors: Bool

    init(op: StridedOperand, k: Int, tolerance: Double, maxIterations: Int,
         cancellation: Cancellation?, progress: ProgressHandler?, vectors: Bool = true) {
        self.op = op; self.k = k; self.tolerance = tolerance; self.maxIterations = maxIterations
        self.cancellation = cancellation; self.progress = progress; self.vectors = vectors
        p = op.rows; q = op.cols
        // The block: k rounded up to whole 16-column kernel panels (padding is paid anyway), with
        // no further oversampling. A block Krylov run grows its space by a block per step and
        // keeps the best Ritz vectors at restarts, so a wider block buys fewer steps but not
        // fewer multiply-adds: for top-16 on the 10240×1280 bench layer 16 columns took 14 steps
        // and 32 took 10, and 16 was the faster on both x86 paths (top-32 and top-64: 32 and 64
        // columns about twice as fast as 48 and 96); the error against LAPACK there went from
        // 1.9e-5 to 3.5e-5 (figures in docs/ENGINE.md, "Truncated SVD", step 1).
        let b = min(p, (k + 15) / 16 * 16)
        block = b
        // Exact path for small short sides: the basis is the identity and one Gram suffices.
        if p <= max(96, 3 * b) {
            kMax = p
        } else {
            kMax = min(p, 6 * b)
        }
    }

    var isExact: Bool { kMax == p && p <= max(96, 3 * block) }

    /// Returns (short-side vectors p×k, values, long-side vectors q×k, iterations, converged);
    /// without `vectors`, both vector matrices are empty.
    mutating func run() throws(AnalysisError) -> (Matrix, [Float], Matrix, Int, Bool) {
        let ld = kMax
        var basis = [Float](repeating: 0, count: p * ld)    // p × kMax, columns = basis vectors
        var images = [Float](repeating: 0, count: q * ld)   // q × kMax, column i = opᵀ · basis_i
        var gram = [Double](repeating: 0, count: ld * ld)   // Gram of images (= projected AAᵀ)
        // p × kMax, column i = op · images_i: the next Krylov block before orthogonalisation,
        // computed in the same pass over op as the images (see `normalApply`).
        var applied = [Float](repeating: 0, count: isExact ? 0 : p * ld)
        var size = 0
        var iterations = 0
        var converged = false
        var rng = SplitMix64(seed: 0x5EED_1234_ABCD_0001)

        try basis.withUnsafeMutableBufferPointer { (qb: inout UnsafeMutableBufferPointer<Float>) throws(AnalysisError) in
            try images.withUnsafeMutableBufferPointer { (zb: inout UnsafeMutableBufferPointer<Float>) throws(AnalysisError) in
                try applied.withUnsafeMutableBufferPointer { (ab: inout UnsafeMutableBufferPointer<Float>) throws(AnalysisError) in
                    let Q = qb.baseAddress!, Z = zb.baseAddress!
                    if isExact {
                        for i in 0..<p { Q[i * ld + i] = 1 }
                        for t in 0..<q { for i in 0..<p { Z[t * ld + i] = op.base[i * op.rowStride + t * op.colStride] } }
                        size = p
                        updateGram(&gram, Z, ld: ld, newColumns: 0..<p)
                        converged = true
                        return
                    }
                    // Random start block, orthonormalised.
                    for i in 0..<p { for j in 0..<block { Q[i * ld + j] = rng.nextSigned() } }
                    let AZ = ab.baseAddress!
                    orthonormalizeColumns(Q, rows: p, cols: block, ld: ld)
                    normalApply(Q, Z, AZ, ld: ld, columns: 0..<block)
                    updateGram(&gram, Z, ld: ld, newColumns: 0..<block)
                    size = block
                    var previous = [Double](repeating: -1, count: k)
                    var settled = 0
                    while iterations < maxIterations {
                        try cancellation.check()
                        var source = size - block
                        if size + block > kMax {
                            let keep = try restart(Q, Z, AZ, &gram, ld: ld, size: size)
                            size = keep
                            source = min(settled, keep - block)
                        }
                        let width = min(block, p - size)
                        if width <= 0 { converged = true; break }
                        // New block: op · (images of the source block), computed with those images;
                        // orthonormalise it, then its images and their op-products in one pass.
                        for i in 0..<p { (Q + i * ld + size).update(from: AZ + i * ld + source, count: width) }
                        orthogonalizeBlock(Q, ld: ld, existing: size, width: width, rng: &rng)
                        normalApply(Q, Z, AZ, ld: ld, columns: size..<(size + width))
                        updateGram(&gram, Z, ld: ld, newColumns: size..<(size + width))
                        size += width
                        iterations += 1
                        progress?(iterations, maxIterations)
                        if size >= p { converged = true; break }
                        let values = try ritzValues(gram, ld: ld, size: size)
                        var worst = 0.0
                        let floor = max(values[0], Double.leastNormalMagnitude) * 1e-9
                        for i in 0..<k {
                            let change = abs(values[i] - previous[i]) / max(values[i], floor)
                            worst = max(worst, change)
                        }
                        settled = 0
                        while settled < k && abs(values[settled] - previous[settled]) / max(values[settled], floor) <= tolerance * 0.01 { settled += 1 }
                        previous = values
                        if worst <= tolerance { converged = true; break }
                    }
                }
            }
        }
        try cancellation.check()
        return try extract(basis: basis, images: images, gram: gram, ld: ld, size: size, iterations: iterations, converged: converged)
    }

    /// images[:, columns] = opᵀ · basis[:, columns] (q × w) and applied[:, columns] = op · those
    /// images (p × w). For a tall matrix (op a transposed view) in one pass over op (CKernels
    /// `normal_apply`), for a wide one as two skinny products. The fused pass: the step's two products share
    /// each read of the matrix, which is what a Krylov step on a large layer is bound by. The long
    /// side is split into a fixed number of jobs, each summing its share of op · images into its
    /// own buffer; the buffers are added in job order, so the result does not depend on timing.
    /// `fused` forces the route (tests); nil takes the kernel path's own choice.
    func normalApply(_ Q: UnsafeMutablePointer<Float>, _ Z: UnsafeMutablePointer<Float>, _ AZ: UnsafeMutablePointer<Float>,
                     ld: Int, columns: Range<Int>, fused: Bool? = nil) {
        let w = columns.count
        guard w > 0 else { return }
        let kernels = KernelTable.current
        let fusedPays = kernels.raw.pointee.fused_normal == 1 || (kernels.raw.pointee.fused_normal == 2 && w == 16)
        if !(fused ?? (op.colStride != 1 && fusedPays)) {
            // A wide, row-major op: the fused pass would read it by strips of eight columns (half
            // cache lines, one page per row). Two skinny products, each reading op's rows in place
            // (gemm_rows, gemm_cols), took a fifth less CPU time here (docs/ENGINE.md). A tall op
            // takes them too on paths whose fused pass is slower than the products (SSE2, and
            // AVX2 but for 16-column blocks: 16 vector registers hold the two-slice loop's
            // accumulators for four long-side indices only; `fused_normal`).
            let qv = StridedOperand(base: Q + columns.lowerBound, rows: p, cols: w, rowStride: ld, colStride: 1)
            gemm(op.transposed, qv, Z + columns.lowerBound, ldc: ld, accumulate: false)
            let zv = StridedOperand(base: Z + columns.lowerBound, rows: q, cols: w, rowStride: ld, colStride: 1)
            gemm(op, zv, AZ + columns.lowerBound, ldc: ld, accumulate: false)
            return
        }
        let bp = (w + 15) / 16 * 16   // the kernel's width: whole 16-float slices, zero-padded
        let jobs = max(1, min(16, q / 256))
        let x = UnsafeMutablePointer<Float>.allocate(capacity: p * bp)
        let y = UnsafeMutablePointer<Float>.allocate(capacity: q * bp)
        let partial = UnsafeMutablePointer<Float>.allocate(capacity: jobs * p * bp)
        defer { x.deallocate(); y.deallocate(); partial.deallocate() }
        x.initialize(repeating: 0, count: p * bp)
        partial.initialize(repeating: 0, count: jobs * p * bp)
        for i in 0..<p { (x + i * bp).update(from: Q + i * ld + columns.lowerBound, count: w) }
        let xp = OutputPointer(base: x), yp = OutputPointer(base: y), pp = OutputPointer(base: partial)
        let operand = op, short = p, long = q
        DispatchQueue.concurrentPerform(iterations: jobs) { j in
            let t0 = j * long / jobs, t1 = (j + 1) * long / jobs
            kernels.raw.pointee.normal_apply(operand.view, t0, t1, xp.base, bp, bp, yp.base + t0 * bp, bp, pp.base + j * short * bp, bp)
        }
        for j in 1..<jobs { kernels.raw.pointee.axpy(1, partial + j * p * bp, partial, p * bp) }
        for t in 0..<q { (Z + t * ld + columns.lowerBound).update(from: y + t * bp, count: w) }
        for i in 0..<p { (AZ + i * ld + columns.lowerBound).update(from: partial + i * bp, count: w) }
    }

    /// Makes basis[:, existing..<existing+width] orthonormal and orthogonal to the first
    /// `existing` columns: two block Gram–Schmidt passes, re-seeding columns that vanish
    /// (the Krylov space is exhausted there), then Householder QR.
    func orthogonalizeBlock(_ Q: UnsafeMutablePointer<Float>, ld: Int, existing: Int, width: Int, rng: inout SplitMix64) {
        let y = Q + existing
        func columnNorms() -> [Double] {
            (0..<width).map { j in
                var s = 0.0
                for i in 0..<p { let v = Double(y[i * ld + j]); s += v * v }
                return s.squareRoot()
            }
        }
        func project() {
            guard existing > 0 else { return }
            let coeff = UnsafeMutablePointer<Float>.allocate(capacity: existing * width)
            defer { coeff.deallocate() }
            let prev = StridedOperand(base: Q, rows: p, cols: existing, rowStride: ld, colStride: 1)
            let yv = StridedOperand(base: y, rows: p, cols: width, rowStride: ld, colStride: 1)
            gemm(prev.transposed, yv, coeff, ldc: width, accumulate: false)
            for i in 0..<(existing * width) { coeff[i] = -coeff[i] }
            let cv = StridedOperand(base: coeff, rows: existing, cols: width, rowStride: width, colStride: 1)
            gemm(prev, cv, y, ldc: ld, accumulate: true)
        }
        for attempt in 0..<3 {
            let before = columnNorms()
            project(); project()
            let after = columnNorms()
            var reseeded = false
            for j in 0..<width where !(after[j] > 1e-4 * before[j]) || after[j] == 0 {
                for i in 0..<p { y[i * ld + j] = rng.nextSigned() }
                reseeded = true
            }
            if !reseeded || attempt == 2 { break }
        }
        orthonormalizeColumns(y, rows: p, cols: width, ld: ld)
        // Normalising columns that lost most of their norm amplifies what is left of their
        // components along the old basis; one more pass and a re-orthonormalisation bring them back
        // to rounding level (a Cholesky pass: the block is orthonormal but for that drift).
        if existing > 0 {
            project()
            reorthonormalizeColumns(y, rows: p, cols: width, ld: ld)
        }
    }

    /// gram[r][c] for r in newColumns, c < newColumns.upperBound: inner products of image
    /// columns, accumulated in Double over the long side in parallel chunks.
    /// Double and not the float GEMM, although the GEMM is several times faster: a float product
    /// rounds each entry by about ε·‖z_r‖·‖z_c‖, which moved the 16th value of a steep spectrum
    /// (σ₁₆/σ₁ ≈ 3e-4) by 6.4e-4 relative, against under 1e-4 in Double
    /// (`steepSpectrum_onTheKrylovPath_matchesADoubleReference`).
    func updateGram(_ gram: inout [Double], _ Z: UnsafeMutablePointer<Float>, ld: Int, newColumns: Range<Int>) {
        let width = newColumns.count, cols = newColumns.upperBound
        let chunks = max(1, min(16, q / 512))
        let partial = UnsafeMutablePointer<Double>.allocate(capacity: chunks * width * cols)
        partial.initialize(repeating: 0, count: chunks * width * cols)
        defer { partial.deallocate() }
        let zp = OutputPointer(base: Z)
        let pp = DoublePointer(base: partial)
        let kernels = KernelTable.current
        let r0 = newColumns.lowerBound
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let t0 = c * q / chunks, t1 = (c + 1) * q / chunks
            kernels.raw.pointee.gram_rows_d(zp.base + t0 * ld, ld, t1 - t0, r0, width, cols, pp.base + c * width * cols)
        }
        for r in 0..<width {
            for c in 0..<cols {
                var s = 0.0
                for ch in 0..<chunks { s += partial[ch * width * cols + r * cols + c] }
                let gr = newColumns.lowerBound + r
                gram[gr * ld + c] = s
                gram[c * ld + gr] = s
            }
        }
    }

    /// Square roots of the top-k eigenvalues of the current Gram block.
    func ritzValues(_ gram: [Double], ld: Int, size: Int) throws(AnalysisError) -> [Double] {
        let g = compact(gram, ld: ld, size: size)
        let e = try symmetricEigen(g, n: size, vectors: false)
        return (0..<k).map { max(e.values[$0], 0).squareRoot() }
    }

    func compact(_ gram: [Double], ld: Int, size: Int) -> [Double] {
        var g = [Double](repeating: 0, count: size * size)
        for i in 0..<size { for j in 0..<size { g[i * size + j] = gram[i * ld + j] } }
        return g
    }

    /// Thick restart: replaces the basis by its top `keep` Ritz vectors (and their images and applied images),
    /// so the next block continues from the best current directions. Returns `keep`.
    func restart(_ Q: UnsafeMutablePointer<Float>, _ Z: UnsafeMutablePointer<Float>, _ AZ: UnsafeMutablePointer<Float>,
                 _ gram: inout [Double], ld: Int, size: Int) throws(AnalysisError) -> Int {
        let keep = max(block, min(size - block, (kMax / 2 / block) * block))
        let e = try symmetricEigen(compact(gram, ld: ld, size: size), n: size, vectors: true)
        var w = [Float](repeating: 0, count: size * keep)
        for i in 0..<size { for j in 0..<keep { w[i * keep + j] = Float(e.vectors[i * size + j]) } }
        w.withUnsafeBufferPointer { wb in
            let wv = StridedOperand(base: wb.baseAddress!, rows: size, cols: keep, rowStride: keep, colStride: 1)
            // op · (Z·W) = (op · Z)·W: the applied block follows the images without a pass over op.
            for (buffer, rows) in [(Q, p), (Z, q), (AZ, p)] {
                let tmp = UnsafeMutablePointer<Float>.allocate(capacity: rows * keep)
                defer { tmp.deallocate() }
                let src = StridedOperand(base: buffer, rows: rows, cols: size, rowStride: ld, colStride: 1)
                gemm(src, wv, tmp, ldc: keep, accumulate: false)
                for i in 0..<rows { (buffer + i * ld).update(from: tmp + i * keep, count: keep) }
            }
        }
        // Q·W is orthonormal up to rounding; one Cholesky pass removes that drift (a Double Gram and
        // one Float GEMM, where Householder applies 2·l reflectors column by column). Its images are Z·W (no new pass
        // over A), and their Gram is recomputed rather than trusting Wᵀ·G·W = Λ after rounding.
        reorthonormalizeColumns(Q, rows: p, cols: keep, ld: ld)
        for i in 0..<(ld * ld) { gram[i] = 0 }
        updateGram(&gram, Z, ld: ld, newColumns: 0..<keep)
        return keep
    }

    /// Rayleigh–Ritz extraction of the top-k triplets from the current basis.
    func extract(basis: [Float], images: [Float], gram: [Double], ld: Int, size: Int,
                 iterations: Int, converged: Bool) throws(AnalysisError) -> (Matrix, [Float], Matrix, Int, Bool) {
        if !vectors {
            let e = try symmetricEigen(compact(gram, ld: ld, size: size), n: size, vectors: false)
            let sigma = (0..<k).map { Float(max(e.values[$0], 0).squareRoot()) }
            return (Matrix(rows: 0, cols: 0, values: []), sigma, Matrix(rows: 0, cols: 0, values: []), iterations, converged)
        }
        let e = try symmetricEigen(compact(gram, ld: ld, size: size), n: size, vectors: true)
        var w = [Float](repeating: 0, count: size * k)
        for i in 0..<size { for j in 0..<k { w[i * k + j] = Float(e.vectors[i * size + j]) } }
        let sigma = (0..<k).map { Float(max(e.values[$0], 0).squareRoot()) }
        var shortSide = [Float](repeating: 0, count: p * k)
        var longSide = [Float](repeating: 0, count: q * k)
        basis.withUnsafeBufferPointer { qb in
            images.withUnsafeBufferPointer { zb in
                w.withUnsafeBufferPointer { wb in
                    shortSide.withUnsafeMutableBufferPointer { sb in
                        longSide.withUnsafeMutableBufferPointer { lb in
                            let wv = StridedOperand(base: wb.baseAddress!, rows: size, cols: k, rowStride: k, colStride: 1)
                            gemm(StridedOperand(base: qb.baseAddress!, rows: p, cols: size, rowStride: ld, colStride: 1),
                                 wv, sb.baseAddress!, ldc: k, accumulate: false)
                            gemm(StridedOperand(base: zb.baseAddress!, rows: q, cols: size, rowStride: ld, colStride: 1),
                                 wv, lb.baseAddress!, ldc: k, accumulate: false)
                            let floor = (sigma.first ?? 0) * 1e-30
                            for j in 0..<k where sigma[j] > floor {
                                let inv = 1 / sigma[j]
                                for i in 0..<q { lb[i * k + j] *= inv }
                            }
                            // Images of Ritz vectors are orthogonal in exact arithmetic; QR
                            // restores orthonormality lost to rounding or to zero singular values.
                            orthonormalizeColumns(lb.baseAddress!, rows: q, cols: k, ld: k)
                            orthonormalizeColumns(sb.baseAddress!, rows: p, cols: k, ld: k)
                        }
                    }
                }
            }
        }
        return (Matrix(rows: p, cols: k, values: shortSide), sigma, Matrix(rows: q, cols: k, values: longSide), iterations, converged)
    }
}

struct DoublePointer: @unchecked Sendable { let base: UnsafeMutablePointer<Double> }
