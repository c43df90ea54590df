// Eigenvalues only of a symmetric matrix, fast: the blocked Householder tridiagonalisation of
// LAPACK's dsytrd/dlatrd (lower variant), then implicit QL without vectors.
//
// The unblocked reduction (SymmetricEigen.swift) streams the whole trailing matrix three times per
// column (a product and a rank-2 update, both on full storage). Here each panel of `panelWidth`
// columns defers its rank-2 updates: a column of the panel is brought up to date from the panel's
// reflectors only, the product with the trailing matrix reads its lower triangle once (CKernels'
// symv_lower_d, four columns at a time: their dot products and their axpys in one pass), and the whole panel's
// update of the trailing matrix is one rank-2·panelWidth update (CKernels' syr2k_lower_d, register
// blocked), so half of the 4/3·n³ flops run at matrix-product speed and the other half read half the
// memory. Same arithmetic as the unblocked reduction up to rounding order; backward stable.

import Dispatch

/// Panel width of the blocked reduction.
private let panelWidth = 32

/// Shortest trailing matrix whose symmetric product is split between two threads: below it the
/// hand-off (a few microseconds per column) costs more than half the product saves.
private let parallelSymvLength = 320

/// Eigenvalues of the symmetric n×n row-major matrix `a` (lower triangle trusted), largest first.
/// With `parallel` the reduction's two kernels (the symmetric product of each column and each
/// panel's trailing update) are split between two threads: for a caller with both cores to itself
/// (one layer through the API). The whole-model overview analyses two layers at a time instead.
/// With `top` (< n) only the `top` largest, by bisection on the tridiagonal matrix instead of QL
/// iterations on all of it: the same accuracy (about eps·‖A‖), a few percent of the QL's cost.
func symmetricEigenvaluesBlocked(_ a: [Double], n: Int, top: Int? = nil, parallel: Bool = false) throws(AnalysisError) -> [Double] {
    if n == 0 { return [] }
    // Column-major lower triangle: element (i, j), i ≥ j, at m[j·n + i] = a[i·n + j] … which is
    // the row-major upper triangle; fill it from the trusted lower triangle.
    var m = a
    for i in 0..<n { for j in 0..<i { m[j * n + i] = a[i * n + j] } }
    var d = [Double](repeating: 0, count: n)
    var e = [Double](repeating: 0, count: n)
    blockedTridiagonalize(&m, n: n, d: &d, e: &e, kernels: .current, parallel: parallel)
    if let top, top < n { return largestTridiagonalEigenvalues(d: d, e: e, count: max(0, top)) }
    var none = [Double]()
    try tridiagonalQL(d: &d, e: &e, n: n, zt: &none, kernels: .current)
    return d.sorted(by: >)
}

/// Reduces the symmetric matrix held in the lower triangle of column-major `m` to tridiagonal
/// (d, e), e[i] coupling i and i+1. `m` is overwritten.
private func blockedTridiagonalize(_ m: inout [Double], n: Int, d: inout [Double], e: inout [Double], kernels: KernelTable,
                                   parallel: Bool) {
    let k = kernels.raw
    m.withUnsafeMutableBufferPointer { buffer in
        let A = buffer.baseAddress!
        let w = UnsafeMutablePointer<Double>.allocate(capacity: n * 2 * panelWidth)  // the last panel is up to 2·panelWidth wide
        let y = UnsafeMutablePointer<Double>.allocate(capacity: n)
        let y2 = UnsafeMutablePointer<Double>.allocate(capacity: n)
        defer { w.deallocate(); y.deallocate(); y2.deallocate() }
        @inline(__always) func col(_ j: Int) -> UnsafeMutablePointer<Double> { A + j * n }
        let shared = DoublePointer(base: A), ys = (DoublePointer(base: y), DoublePointer(base: y2))
        /// Columns [0, c) of a len-column lower triangle hold about half its entries; c is a
        /// multiple of 4 so both kernels keep their 4-column blocks.
        func split(_ len: Int) -> Int { min(len, Int(Double(len) * (1 - 0.5.squareRoot())) / 4 * 4) }
        var k0 = 0
        while k0 < n {
            let rows = n - k0                               // W is rows × nb, column p at w + p·rows
            let nb = rows > 2 * panelWidth ? panelWidth : rows
            for p in 0..<nb {
                let i = k0 + p
                let li = i - k0                             // row i within W
                // Bring column i (rows i..<n) up to date with the panel's earlier reflectors.
                for q in 0..<p {
                    let vq = col(k0 + q), wq = w + q * rows
                    k.pointee.axpy_d(-wq[li], vq + i, col(i) + i, n - i)
                    k.pointee.axpy_d(-vq[i], wq + li, col(i) + i, n - i)
                }
                d[i] = col(i)[i]
                guard i < n - 1 else { e[i] = 0; continue }
                // Householder reflector H = I − τ·v·vᵀ with (H·x)[1...] = 0, x = A[i+1..<n, i].
                let x = col(i) + i + 1, len = n - i - 1
                let alpha = x[0]
                let tailNorm2 = len > 1 ? k.pointee.dot_d(x + 1, x + 1, len - 1) : 0
                var tau = 0.0
                if tailNorm2 == 0 {
                    e[i] = alpha
                } else {
                    let norm = (alpha * alpha + tailNorm2).squareRoot()
                    let beta = alpha >= 0 ? -norm : norm
                    tau = (beta - alpha) / beta
                    let scale = 1 / (alpha - beta)
                    for t in 1..<len { x[t] *= scale }
                    e[i] = beta
                }
                x[0] = 1                                    // v, stored in place of A[i+1, i]
                let wp = w + p * rows
                let wi = wp + (i + 1 - k0)                 // W[i+1..<n, p]
                if tau == 0 {
                    for t in 0..<len { wi[t] = 0 }
                    for t in 0..<(i + 1 - k0) { wp[t] = 0 }
                    continue
                }
                // y = A22·v over the lower triangle of A22 = A[i+1..<n, i+1..<n], read once.
                for t in 0..<len { y[t] = 0 }
                if parallel && len >= parallelSymvLength {
                    // Columns [0, c) into y, the trailing triangle from c into y2 (rows c..<len).
                    let c = split(len), base = i + 1, xs = DoublePointer(base: x)
                    for t in c..<len { y2[t] = 0 }
                    DispatchQueue.concurrentPerform(iterations: 2) { part in
                        let s0 = shared.base + base * n + base
                        if part == 0 {
                            kernels.raw.pointee.symv_lower_d(s0, n, len, c, xs.base, ys.0.base)
                        } else {
                            kernels.raw.pointee.symv_lower_d(s0 + c * n + c, n, len - c, len - c, xs.base + c, ys.1.base + c)
                        }
                    }
                    for t in c..<len { y[t] += y2[t] }
                } else {
                    k.pointee.symv_lower_d(col(i + 1) + i + 1, n, len, len, x, y)
                }
                // Deferred updates of A22 by the panel's earlier reflectors: y −= V·(Wᵀv) + W·(Vᵀv).
                for q in 0..<p {
                    let vq = col(k0 + q) + i + 1, wq = w + q * rows + (i + 1 - k0)
                    let wv = k.pointee.dot_d(wq, x, len), vv = k.pointee.dot_d(vq, x, len)
                    k.pointee.axpy_d(-wv, vq, y, len)
                    k.pointee.axpy_d(-vv, wq, y, len)
                }
                // w = τ·y − (τ²/2)(yᵀv)·v
                for t in 0..<len { y[t] *= tau }
                let correction = -0.5 * tau * k.pointee.dot_d(y, x, len)
                for t in 0..<len { wi[t] = y[t] + correction * x[t] }
                for t in 0..<(i + 1 - k0) { wp[t] = 0 }
            }
            let next = k0 + nb
            if next < n {
                // A[next..<n, next..<n] −= V·Wᵀ + W·Vᵀ (V: the panel's reflectors, rows next..<n).
                let len = n - next, c = parallel ? split(len) : len
                let v0 = DoublePointer(base: col(k0) + next), w0 = DoublePointer(base: w + nb)
                let a0 = DoublePointer(base: col(next) + next)
                if c > 0 && c < len {
                    DispatchQueue.concurrentPerform(iterations: 2) { part in
                        if part == 0 {
                            kernels.raw.pointee.syr2k_lower_d(a0.base, n, len, c, v0.base, n, w0.base, rows, nb)
                        } else {
                            kernels.raw.pointee.syr2k_lower_d(a0.base + c * n + c, n, len - c, len - c, v0.base + c, n, w0.base + c, rows, nb)
                        }
                    }
                } else {
                    k.pointee.syr2k_lower_d(a0.base, n, len, len, v0.base, n, w0.base, rows, nb)
                }
            }
            k0 = next
        }
    }
}
