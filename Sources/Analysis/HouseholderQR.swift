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
