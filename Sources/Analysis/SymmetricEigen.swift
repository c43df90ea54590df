// Dense symmetric eigensolver (Double) for the small projected problems of the SVD.
// The O(n³) inner loops (dot products, the rank-2 update, Q's reflections, the QL rotations) are
// CKernels' Double kernels, so they follow the instruction-set path chosen at run time.
//
// Householder reduction to tridiagonal form, then implicit QL iterations with Wilkinson-type
// shifts on the tridiagonal matrix. Both steps are backward stable, so eigenvalues are accurate
// to about 1e-16 · ‖A‖ — far below the Float32 noise of the data they come from.

/// Eigen-decomposition of a symmetric matrix.
struct SymmetricEigenResult {
    /// Eigenvalues, largest first.
    var values: [Double]
    /// Row-major n×n; column i is the unit eigenvector of `values[i]`. Empty unless requested.
    var vectors: [Double]
}

/// Eigenvalues (and optionally eigenvectors) of the symmetric n×n row-major matrix `a`.
/// Only the lower triangle is trusted; the upper triangle is ignored.
func symmetricEigen(_ a: [Double], n: Int, vectors wantVectors: Bool) throws(AnalysisError) -> SymmetricEigenResult {
    let kernels = KernelTable.current
    precondition(a.count == n * n)
    if n == 0 { return SymmetricEigenResult(values: [], vectors: []) }
    if !wantVectors { return SymmetricEigenResult(values: try symmetricEigenvaluesBlocked(a, n: n), vectors: []) }
    var m = a
    // Symmetrise from the lower triangle so callers may fill only half.
    for i in 0..<n { for j in 0..<i { m[j * n + i] = m[i * n + j] } }
    var d = [Double](repeating: 0, count: n)
    var e = [Double](repeating: 0, count: n)
    // zt holds eigenvectors as ROWS (zt[i*n + k] = component k of vector i) so that the
    // rotations of the QL sweep touch contiguous memory.
    var zt = [Double]()
    if wantVectors {
        zt = [Double](repeating: 0, count: n * n)
    }
    tridiagonalize(&m, n: n, d: &d, e: &e, qT: &zt, kernels: kernels)
    try tridiagonalQL(d: &d, e: &e, n: n, zt: &zt, kernels: kernels)

    // Sort descending.
    let order = (0..<n).sorted { d[$0] > d[$1] }
    let values = order.map { d[$0] }
    var vecs = [Double]()
    if wantVectors {
        vecs = [Double](repeating: 0, count: n * n)
        for (col, src) in order.enumerated() {
            for k in 0..<n { vecs[k * n + col] = zt[src * n + k] }
        }
    }
    return SymmetricEigenResult(values: values, vectors: vecs)
}

/// Reduces symmetric `a` (overwritten) to tridiagonal T = Qᵀ A Q.
/// d: diagonal; e[i] couples i and i+1 (e[n-1] = 0). If `qT` is given it receives Qᵀ (rows of
/// qT are the columns of Q), which seeds the eigenvector rows for the QL step. An empty `qT`
/// means no vectors are wanted.
private func tridiagonalize(_ a: inout [Double], n: Int, d: inout [Double], e: inout [Double], qT: inout [Double],
                            kernels: KernelTable) {
    let kt = kernels.raw
    let wantQ = !qT.isEmpty
    var q = [Double](repeating: 0, count: wantQ ? n * n : 0)
    if wantQ { for i in 0..<n { q[i * n + i] = 1 } }
    let v = UnsafeMutablePointer<Double>.allocate(capacity: n)
    let p = UnsafeMutablePointer<Double>.allocate(capacity: n)
    defer { v.deallocate(); p.deallocate() }
    a.withUnsafeMutableBufferPointer { Abuf in
        q.withUnsafeMutableBufferPointer { Qbuf in
            let A = Abuf.baseAddress!
            if n > 2 {
                for k in 0..<(n - 2) {
                    let s = k + 1, len = n - s
                    var norm2 = 0.0
                    for i in 0..<len { let x = A[(s + i) * n + k]; v[i] = x; norm2 += x * x }
                    var offNorm2 = norm2 - v[0] * v[0]
                    if offNorm2 <= 0 { offNorm2 = 0 }
                    if offNorm2 == 0 { continue }  // column already tridiagonal
                    let norm = norm2.squareRoot()
                    let alpha = v[0] > 0 ? -norm : norm
                    v[0] -= alpha
                    let vnorm2 = offNorm2 + v[0] * v[0]
                    let beta = 2 / vnorm2
                    // p = beta · A22 · v  (A22 symmetric, full storage kept up to date)
                    var pv = 0.0
                    for i in 0..<len {
                        p[i] = beta * kt.pointee.dot_d(A + (s + i) * n + s, v, len)
                        pv += p[i] * v[i]
                    }
                    let kk = beta * pv / 2
                    for i in 0..<len { p[i] -= kk * v[i] }  // p is now w
                    for i in 0..<len {
                        // row_j -= v_i·w_j + w_i·v_j
                        kt.pointee.rank2_d(A + (s + i) * n + s, v, p, v[i], p[i], len)
                    }
                    A[s * n + k] = alpha
                    A[k * n + s] = alpha
                    for i in 1..<len { A[(s + i) * n + k] = 0; A[k * n + s + i] = 0 }
                    if wantQ, let Q = Qbuf.baseAddress {
                        // Q ← Q·H: rows r of Q, columns s..<n.
                        for r in 0..<n {
                            let row = Q + r * n + s
                            let t = beta * kt.pointee.dot_d(row, v, len)
                            if t != 0 { kt.pointee.axpy_d(-t, v, row, len) }
                        }
                    }
                }
            }
            for i in 0..<n { d[i] = A[i * n + i] }
            for i in 0..<(n - 1) { e[i] = A[(i + 1) * n + i] }
            e[n - 1] = 0
        }
    }
    if wantQ {
        // Store transposed: row i of qT = column i of Q.
        for i in 0..<n { for k in 0..<n { qT[i * n + k] = q[k * n + i] } }
    }
}

/// Implicit QL on the tridiagonal (d, e); accumulates rotations into the rows of `zt`.
func tridiagonalQL(d: inout [Double], e: inout [Double], n: Int, zt: inout [Double],
                           kernels: KernelTable) throws(AnalysisError) {
    let wantZ = !zt.isEmpty
    let eps = Double.ulpOfOne
    let maxIterations = 60
    // Deflation: e[m] is negligible when it is below eps times its diagonal neighbours OR below
    // eps · ‖T‖. The second test (EISPACK tql2's norm-based one) is what lets a rank-deficient
    // matrix converge: its zero eigenvalues come out of the reduction as a cluster of entries
    // ~eps · ‖T‖, whose rotations with the large entries leave noise of that size, so the purely
    // relative test can never be met there (a LoRA's rank-4 dW failed the expanded view with
    // "did not converge"). Dropping an entry below eps · ‖T‖ perturbs T by no more than the
    // reduction already has, so the eigenvalues keep their eps · ‖A‖ accuracy.
    var norm = 0.0
    for i in 0..<n { norm = max(norm, abs(d[i]) + abs(e[i]) + (i > 0 ? abs(e[i - 1]) : 0)) }
    let floor = eps * norm
    for l in 0..<n {
        var iterations = 0
        while true {
            var m = l
            while m < n - 1 {
                let dd = abs(d[m]) + abs(d[m + 1])
                if abs(e[m]) <= eps * dd || abs(e[m]) <= floor { break }
                m += 1
            }
            if m == l { break }
            iterations += 1
            if iterations > maxIterations { throw .notConverged(operation: "Symmetric eigensolver", iterations: maxIterations) }
            var g = (d[l + 1] - d[l]) / (2 * e[l])
            var r = (g * g + 1).squareRoot()
            g = d[m] - d[l] + e[l] / (g + (g >= 0 ? r : -r))
            var s = 1.0, c = 1.0, p = 0.0
            var i = m - 1
            var underflow = false
            while i >= l {
                let f = s * e[i]
                let b = c * e[i]
                r = (f * f + g * g).squareRoot()
                e[i + 1] = r
                if r == 0 {
                    d[i + 1] -= p
                    e[m] = 0
                    underflow = true
                    break
                }
                s = f / r
                c = g / r
                g = d[i + 1] - p
                r = (d[i] - g) * s + 2 * c * b
                p = s * r
                d[i + 1] = g + p
                g = c * r - b
                if wantZ {
                    zt.withUnsafeMutableBufferPointer { Z in
                        // (row i, row i+1) ← (c·row i − s·row i+1, s·row i + c·row i+1)
                        let z = Z.baseAddress!
                        kernels.raw.pointee.rot_d(z + i * n, z + (i + 1) * n, c, s, n)
                    }
                }
                i -= 1
            }
            if underflow { continue }
            d[l] -= p
            e[l] = g
            e[m] = 0
        }
    }
}

/// The `count` largest eigenvalues of the symmetric tridiagonal matrix (d, e), e[i] coupling i and
/// i+1, largest first, by bisection with Sturm counts (the number of negative pivots of T − x·I's
/// LDLᵀ factorisation is the number of eigenvalues below x). Each eigenvalue is narrowed to an
/// interval of width about eps·‖T‖, the accuracy QL reaches, in at most ~60 counts of n steps.
/// Pivots below `pivmin` are replaced by −pivmin (Kahan's guard), which keeps the counts monotone.
func largestTridiagonalEigenvalues(d: [Double], e: [Double], count: Int) -> [Double] {
    let n = d.count
    let wanted = min(count, n)
    if wanted <= 0 { return [] }
    // A matrix holding NaN or infinity has no meaningful counts (QL reports it as not converging).
    guard d.allSatisfy(\.isFinite), e.prefix(n - 1).allSatisfy(\.isFinite) else { return [Double](repeating: .nan, count: wanted) }
    var lo = Double.infinity, hi = -Double.infinity, maxE2 = 0.0
    for i in 0..<n {
        let off = (i > 0 ? abs(e[i - 1]) : 0) + (i < n - 1 ? abs(e[i]) : 0)
        lo = min(lo, d[i] - off)
        hi = max(hi, d[i] + off)
        if i < n - 1 { maxE2 = max(maxE2, e[i] * e[i]) }
    }
    guard lo.isFinite, hi.isFinite else { return [Double](repeating: .nan, count: wanted) }
    let norm = max(abs(lo), abs(hi))
    let eps = Double.ulpOfOne
    let pivmin = Double.leastNormalMagnitude * max(1, maxE2)
    let tolerance = 2 * eps * norm + pivmin
    // Widen so that the counts at the ends are 0 and n.
    lo -= 2 * tolerance + 2 * eps * norm
    hi += 2 * tolerance + 2 * eps * norm
    var e2 = [Double](repeating: 0, count: n)
    for i in 0..<(n - 1) { e2[i] = e[i] * e[i] }
    // The wanted eigenvalues (ascending indices n − wanted ..< n) are bisected together: one sweep
    // over the matrix computes the Sturm counts at every unfinished interval's midpoint, the
    // chains of divisions independent (a single chain is bound by the division's latency), and
    // each count narrows every interval it says something about.
    var a = [Double](repeating: lo, count: wanted), b = [Double](repeating: hi, count: wanted)
    var mids = [Double](repeating: 0, count: wanted), counts = [Int](repeating: 0, count: wanted)
    var open: [Int] = []
    d.withUnsafeBufferPointer { dp in
        e2.withUnsafeBufferPointer { ep in
            for _ in 0..<200 {
                open.removeAll(keepingCapacity: true)
                for j in 0..<wanted {
                    let mid = 0.5 * (a[j] + b[j])
                    if b[j] - a[j] > max(tolerance, 2 * eps * max(abs(a[j]), abs(b[j]))), mid > a[j], mid < b[j] {
                        mids[j] = mid
                        open.append(j)
                    }
                }
                if open.isEmpty { break }
                // Four midpoints per sweep (a short last group repeats its last point).
                var start = 0
                while start < open.count {
                    let lanes = (0..<4).map { open[start + min($0, open.count - start - 1)] }
                    let x = SIMD4(mids[lanes[0]], mids[lanes[1]], mids[lanes[2]], mids[lanes[3]])
                    let below = sturmCounts(dp, ep, at: x, pivmin: pivmin)
                    for l in 0..<4 { counts[lanes[l]] = Int(below[l]) }
                    start += 4
                }
                // count(x) eigenvalues lie below x: those of ascending index < count are below,
                // the others at or above. Wanted j has ascending index n − 1 − j.
                for j in open {
                    let x = mids[j], c = counts[j]
                    for t in 0..<wanted {
                        if n - 1 - t < c { b[t] = min(b[t], x) } else { a[t] = max(a[t], x) }
                    }
                }
            }
        }
    }
    return (0..<wanted).map { 0.5 * (a[$0] + b[$0]) }
}

/// How many eigenvalues of the tridiagonal matrix (d, e², n = d.count) lie below each of four
/// points: the negative pivots of T − x·I's LDLᵀ factorisation, pivots smaller than `pivmin` in
/// magnitude taken as −pivmin. The four chains of divisions are independent, so they overlap
/// instead of each waiting on the division's latency.
private func sturmCounts(_ d: UnsafeBufferPointer<Double>, _ e2: UnsafeBufferPointer<Double>, at x: SIMD4<Double>,
                         pivmin: Double) -> SIMD4<Int64> {
    var q = SIMD4(repeating: d[0]) - x
    q.replace(with: -pivmin, where: (q .< pivmin) .& (q .> -pivmin))
    var below = SIMD4<Int64>.zero
    below.replace(with: 1, where: q .< 0)
    for i in 1..<d.count {
        q = SIMD4(repeating: d[i]) - x - SIMD4(repeating: e2[i - 1]) / q
        q.replace(with: -pivmin, where: (q .< pivmin) .& (q .> -pivmin))
        below.replace(with: below &+ 1, where: q .< 0)
    }
    return below
}
