// Householder QR for tall, thin blocks (m ≥ l), used to orthonormalise Krylov blocks and
// singular vectors. Columns are stored contiguously (column j at data[j*m ..< (j+1)*m]) so that
// every reflector application is a SIMD dot product and axpy of length m.

/// Overwrites the m×l column-major block `data` with an orthonormal Q (Q·R = input) and
/// returns R's diagonal. Zero columns yield reflector-free columns that are still orthonormal
/// to the others, so the result is orthonormal even for rank-deficient input.
@discardableResult
func householderQR(columns data: UnsafeMutablePointer<Float>, m: Int, l: Int) -> [Float] {
    precondition(m >= l)
    var diag = [Float](repeating: 0, count: l)
    // Unit reflectors v_j (length m - j), stored at vs[j*m ..< j*m + m - j].
    let vs = UnsafeMutablePointer<Float>.allocate(capacity: max(1, l * m))
    defer { vs.deallocate() }
    var active = [Bool](repeating: false, count: l)
    for j in 0..<l {
        let x = data + j * m + j, len = m - j
        let norm = Float(dotDouble(x, x, len).squareRoot())
        if norm == 0 || !norm.isFinite { diag[j] = 0; continue }
        let alpha: Float = x[0] > 0 ? -norm : norm
        let v = vs + j * m
        v.update(from: x, count: len)
        v[0] -= alpha
        let vnorm = Float(dotDouble(v, v, len).squareRoot())
        if vnorm == 0 { diag[j] = alpha; continue }
        let inv = 1 / vnorm
        for i in 0..<len { v[i] *= inv }
        active[j] = true
        diag[j] = alpha
        for t in (j + 1)..<max(j + 1, l) {
            let c = data + t * m + j
            let s = 2 * dot(v, c, len)
            axpy(-s, v, c, len)
        }
    }
    // Q = H_0 ⋯ H_{l-1} · [I; 0], accumulated backwards; H_j only touches rows ≥ j and
    // columns ≥ j of the partial product.
    for t in 0..<l {
        let c = data + t * m
        c.update(repeating: 0, count: m)
        c[t] = 1
    }
    for j in stride(from: l - 1, through: 0, by: -1) where active[j] {
        let v = vs + j * m, len = m - j
        for t in j..<l {
            let c = data + t * m + j
            let s = 2 * dot(v, c, len)
            axpy(-s, v, c, len)
        }
    }
    return diag
}

/// Orthonormalises the columns of an m×l row-major block (row stride `ld`) in place, keeping
/// each column's direction where the input has full rank (R's diagonal made positive).
func orthonormalizeColumns(_ block: UnsafeMutablePointer<Float>, rows m: Int, cols l: Int, ld: Int) {
    if l == 0 || m == 0 { return }
    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: m * l)
    defer { scratch.deallocate() }
    for i in 0..<m { for j in 0..<l { scratch[j * m + i] = block[i * ld + j] } }
    let diag = householderQR(columns: scratch, m: m, l: l)
    for j in 0..<l {
        let sign: Float = diag[j] < 0 ? -1 : 1
        for i in 0..<m { block[i * ld + j] = sign * scratch[j * m + i] }
    }
}

/// Restores orthonormality of an m×l row-major block (row stride `ld`) whose columns are already
/// orthonormal up to a small drift (a rotated basis, a block after one more projection): Q ← Q·R⁻¹
/// with RᵀR = QᵀQ, the Gram matrix summed in Double and factored by Cholesky. For such input
/// R is within rounding of the identity, so one pass leaves the columns orthonormal to rounding,
/// at a fraction of Householder's cost (an l×l Gram, a Cholesky, one GEMM). Falls back to
/// `orthonormalizeColumns` when the Gram matrix is not safely positive definite (columns that
/// are far from orthonormal).
func reorthonormalizeColumns(_ block: UnsafeMutablePointer<Float>, rows m: Int, cols l: Int, ld: Int) {
    if l == 0 || m == 0 { return }
    var g = [Double](repeating: 0, count: l * l)
    g.withUnsafeMutableBufferPointer { gb in
        KernelTable.current.raw.pointee.gram_rows_d(block, ld, m, 0, l, l, gb.baseAddress!)
    }
    // Cholesky G = RᵀR, R upper triangular (stored in g's upper triangle).
    for j in 0..<l {
        var d = g[j * l + j]
        for t in 0..<j { d -= g[t * l + j] * g[t * l + j] }
        // A column that kept less than half its length, or lost orthogonality: not a drift.
        guard d > 0.25 else { orthonormalizeColumns(block, rows: m, cols: l, ld: ld); return }
        let r = d.squareRoot()
        g[j * l + j] = r
        for c in (j + 1)..<max(j + 1, l) {
            var s = g[j * l + c]
            for t in 0..<j { s -= g[t * l + j] * g[t * l + c] }
            g[j * l + c] = s / r
        }
    }
    // R⁻¹ (upper triangular), by columns of the identity solved backwards, then Q·R⁻¹ in Float.
    var inv = [Float](repeating: 0, count: l * l)
    var x = [Double](repeating: 0, count: l)
    for c in 0..<l {
        for i in stride(from: c, through: 0, by: -1) {
            var s = i == c ? 1.0 : 0.0
            for t in (i + 1)..<(c + 1) { s -= g[i * l + t] * x[t] }
            x[i] = s / g[i * l + i]
        }
        for i in 0...c { inv[i * l + c] = Float(x[i]) }
    }
    let tmp = UnsafeMutablePointer<Float>.allocate(capacity: m * l)
    defer { tmp.deallocate() }
    inv.withUnsafeBufferPointer { ib in
        gemm(StridedOperand(base: block, rows: m, cols: l, rowStride: ld, colStride: 1),
             StridedOperand(base: ib.baseAddress!, rows: l, cols: l, rowStride: l, colStride: 1), tmp, ldc: l, accumulate: false)
    }
    for i in 0..<m { (block + i * ld).update(from: tmp + i * l, count: l) }
}
