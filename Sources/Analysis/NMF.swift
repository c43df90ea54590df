import CKernels
import TensorCore

/// One-sided NMF of a conv weight over its input channels.
public struct NMFResult: Sendable {
    public let rank: Int
    /// rank × inChannels, non-negative: each row is one factor's mix of input channels.
    public let factors: Matrix
    /// [neurons, kh, kw, rank], signed: each output neuron's kernel expressed in the factors,
    /// ready to be drawn as a kh×kw image with one colour channel per factor.
    public let loadings: Tensor
    /// The output channels (neurons) that were factored, in `loadings` order.
    public let outputChannels: [Int]
    /// ‖X − L·F‖F / ‖X‖F.
    public let relativeError: Float
    public let iterations: Int
}

/// A general factorisation X ≈ W·H with H ≥ 0 and, optionally, W ≥ 0.
public struct Factorization: Sendable {
    /// rows × rank.
    public let w: Matrix
    /// rank × cols, non-negative.
    public let h: Matrix
    public let relativeError: Float
    public let iterations: Int
}

/// Factors `x` (rows × cols) as W·H with H ≥ 0 by alternating updates: H by HALS (exact
/// coordinate minimisation per row, clipped at zero), W by least squares (`nonNegativeW`
/// false: semi-NMF, W signed) or by HALS (`nonNegativeW` true: classic NMF, which needs x ≥ 0
/// to fit well). Initialisation is NNDSVD-like from the top-`rank` SVD, so results are
/// deterministic. Stops when the relative error improves by less than `tolerance` per step.
public func nonNegativeFactorization(_ x: Matrix, rank r: Int, nonNegativeW: Bool, maxIterations: Int = 400,
                                     tolerance: Float = 1e-6, cancellation: Cancellation? = nil,
                                     progress: ProgressHandler? = nil) throws(AnalysisError) -> Factorization {
    let nRows = x.rows, nCols = x.cols
    guard r >= 1, r <= min(nRows, nCols) else {
        throw .invalidRank(requested: r, limit: min(nRows, nCols), shape: x.shape)
    }
    if let bad = x.firstNonFiniteIndex() { throw .nonFiniteValue(index: bad) }
    let xNorm2 = Double(x.frobeniusNorm) * Double(x.frobeniusNorm)
    if xNorm2 == 0 {
        return Factorization(w: Matrix(zeros: nRows, r), h: Matrix(zeros: r, nCols), relativeError: 0, iterations: 0)
    }
    // NNDSVD-like start: each component takes the sign half (of u and v together) with more
    // energy; empty entries get a small positive value so HALS can move them.
    let svd = try truncatedSVD(x, rank: r, cancellation: cancellation)
    var w = Matrix(zeros: nRows, r)
    var h = Matrix(zeros: r, nCols)
    let fill = Float((xNorm2 / Double(nRows * nCols)).squareRoot()) * 1e-2
    for t in 0..<r {
        let s = svd.singularValues[t]
        var up = [Float](repeating: 0, count: nRows), un = up
        var vp = [Float](repeating: 0, count: nCols), vn = vp
        for i in 0..<nRows { let u = svd.u[i, t]; up[i] = max(u, 0); un[i] = max(-u, 0) }
        for j in 0..<nCols { let v = svd.vt[t, j]; vp[j] = max(v, 0); vn[j] = max(-v, 0) }
        func norm(_ a: [Float]) -> Float { a.reduce(0) { $0 + $1 * $1 }.squareRoot() }
        let positive = norm(up) * norm(vp) >= norm(un) * norm(vn)
        let hv = positive ? vp : vn
        let hn = norm(hv)
        let scale = (s * (hn > 0 ? hn : 1)).squareRoot()
        for j in 0..<nCols { h[t, j] = hn > 0 ? max(fill, scale * hv[j] / hn) : fill }
        if nonNegativeW {
            let wv = positive ? up : un
            let wn = norm(wv)
            for i in 0..<nRows { w[i, t] = wn > 0 ? max(fill, scale * wv[i] / wn) : fill }
        }
    }
    if !nonNegativeW { w = try leastSquaresW(x, h) }

    var previous = Double.infinity
    var error2 = xNorm2
    var iterations = 0
    while iterations < maxIterations {
        try cancellation.check()
        if nonNegativeW {
            let p = try matmulTransposedB(x, h)          // rows × r
            let s = try matmulTransposedB(h, h)          // r × r
            halsUpdateColumns(&w, p, s)
        } else {
            w = try leastSquaresW(x, h)
        }
        // WᵀX as (XᵀW)ᵀ: the big X then is the kernel's left operand, streamed once in
        // cache-sized blocks, instead of being packed whole as the right operand every iteration.
        let a = try matmulTransposedA(x, w).transposed() // r × cols
        let b = try matmulTransposedA(w, w)              // r × r
        halsUpdateRows(&h, a, b)
        // ‖X − WH‖² = ‖X‖² − 2⟨WᵀX, H⟩ + ⟨WᵀW, HHᵀ⟩, without forming WH.
        let hh = try matmulTransposedB(h, h)
        let cross = a.values.withUnsafeBufferPointer { ap in
            h.values.withUnsafeBufferPointer { hp in dotDouble(ap.baseAddress!, hp.baseAddress!, r * nCols) }
        }
        var quad = 0.0
        for i in 0..<(r * r) { quad += Double(b.values[i]) * Double(hh.values[i]) }
        error2 = max(0, xNorm2 - 2 * cross + quad)
        iterations += 1
        progress?(iterations, maxIterations)
        let rel = (error2 / xNorm2).squareRoot()
        if previous - rel < Double(tolerance) * max(rel, 1e-12) { previous = rel; break }
        previous = rel
    }
    // Report the exact residual (the expansion above loses digits when the fit is very close).
    let fit = try matmul(w, h)
    let res = x.values.withUnsafeBufferPointer { xp in
        fit.values.withUnsafeBufferPointer { fp in
            KernelTable.current.raw.pointee.sqdiff_f64acc(xp.baseAddress!, fp.baseAddress!, nRows * nCols)
        }
    }
    return Factorization(w: w, h: h, relativeError: Float((res / xNorm2).squareRoot()), iterations: iterations)
}

/// W = X Hᵀ (H Hᵀ + εI)⁻¹ by a Cholesky solve of the small r×r system in Double.
private func leastSquaresW(_ x: Matrix, _ h: Matrix) throws(AnalysisError) -> Matrix {
    let r = h.rows
    let xh = try matmulTransposedB(x, h)   // rows × r
    let g = try matmulTransposedB(h, h)    // r × r
    var a = g.values.map(Double.init)
    var trace = 0.0
    for i in 0..<r { trace += a[i * r + i] }
    let ridge = max(trace, 1e-30) * 1e-10
    for i in 0..<r { a[i * r + i] += ridge }
    // Cholesky a = L Lᵀ.
    for j in 0..<r {
        var d = a[j * r + j]
        for k in 0..<j { d -= a[j * r + k] * a[j * r + k] }
        let ljj = max(d, ridge).squareRoot()
        a[j * r + j] = ljj
        for i in (j + 1)..<max(j + 1, r) {
            var s = a[i * r + j]
            for k in 0..<j { s -= a[i * r + k] * a[j * r + k] }
            a[i * r + j] = s / ljj
        }
    }
    var w = Matrix(zeros: x.rows, r)
    var y = [Double](repeating: 0, count: r)
    for row in 0..<x.rows {
        // Solve L Lᵀ wᵀ = (xh row)ᵀ.
        for i in 0..<r {
            var s = Double(xh[row, i])
            for k in 0..<i { s -= a[i * r + k] * y[k] }
            y[i] = s / a[i * r + i]
        }
        for i in stride(from: r - 1, through: 0, by: -1) {
            var s = y[i]
            for k in (i + 1)..<max(i + 1, r) { s -= a[k * r + i] * y[k] }
            y[i] = s / a[i * r + i]
        }
        for i in 0..<r { w[row, i] = Float(y[i]) }
    }
    return w
}

/// HALS on the rows of H (r × cols) given A = WᵀX and B = WᵀW.
private func halsUpdateRows(_ h: inout Matrix, _ a: Matrix, _ b: Matrix) {
    let r = h.rows, cols = h.cols
    for t in 0..<r {
        let btt = b[t, t]
        guard btt > 0 else { continue }
        for j in 0..<cols {
            var s = a[t, j]
            for u in 0..<r { s -= b[t, u] * h[u, j] }
            h[t, j] = max(0, h[t, j] + s / btt)
        }
    }
}

/// HALS on the columns of W (rows × r) given P = XHᵀ and S = HHᵀ.
private func halsUpdateColumns(_ w: inout Matrix, _ p: Matrix, _ s: Matrix) {
    let r = w.cols, rows = w.rows
    for t in 0..<r {
        let stt = s[t, t]
        guard stt > 0 else { continue }
        for i in 0..<rows {
            var v = p[i, t]
            for u in 0..<r { v -= w[i, u] * s[u, t] }
            w[i, t] = max(0, w[i, t] + v / stt)
        }
    }
}

/// One-sided NMF of a conv weight [out, in, kh, kw] (or linear [out, in], seen as 1×1) over its
/// input channels (Distill, "Visualizing Weights"): X[(o, y, x), i] = W[o, i, y, x] ≈ L·F with
/// F (rank × in) ≥ 0 and L signed, so each neuron's kernel becomes a kh×kw image with `rank`
/// colour channels. `outputChannels` restricts the neurons factored together ("weight factors"
/// of a group); the default is every output channel.
public func oneSidedNMF(convWeight: Tensor, rank: Int = 3, outputChannels: [Int]? = nil, maxIterations: Int = 400,
                        tolerance: Float = 1e-6, cancellation: Cancellation? = nil,
                        progress: ProgressHandler? = nil) throws(AnalysisError) -> NMFResult {
    let s = convWeight.shape
    guard s.count == 4 || s.count == 2 else {
        throw .unsupportedShape(operation: "factor", shape: s, expected: "a conv weight [out, in, kh, kw] or linear [out, in]")
    }
    let out = s[0], inC = s[1], kh = s.count == 4 ? s[2] : 1, kw = s.count == 4 ? s[3] : 1
    let neurons = outputChannels ?? Array(0..<out)
    guard !neurons.isEmpty else { throw .invalidArgument(name: "outputChannels", value: 0, allowed: "at least one channel") }
    for c in neurons where c < 0 || c >= out {
        throw .invalidArgument(name: "outputChannel", value: c, allowed: "0..<\(out)")
    }
    let rowsX = neurons.count * kh * kw
    guard rank >= 1, rank <= min(rowsX, inC) else {
        throw .invalidRank(requested: rank, limit: min(rowsX, inC), shape: [rowsX, inC])
    }
    var x = [Float](repeating: 0, count: rowsX * inC)
    let spatial = kh * kw
    for (n, o) in neurons.enumerated() {
        for i in 0..<inC {
            for yx in 0..<spatial {
                x[(n * spatial + yx) * inC + i] = convWeight.values[(o * inC + i) * spatial + yx]
            }
        }
    }
    let f = try nonNegativeFactorization(Matrix(rows: rowsX, cols: inC, values: x), rank: rank, nonNegativeW: false,
                                         maxIterations: maxIterations, tolerance: tolerance,
                                         cancellation: cancellation, progress: progress)
    return NMFResult(rank: rank, factors: f.h,
                     loadings: Tensor(shape: [neurons.count, kh, kw, rank], values: f.w.values),
                     outputChannels: neurons, relativeError: f.relativeError, iterations: f.iterations)
}
