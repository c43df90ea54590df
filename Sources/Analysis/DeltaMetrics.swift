import CKernels
import TensorCore

// What changed between two versions A and B of one weight: the sums behind ‖A‖, ‖B‖, ⟨A, B⟩ and
// ‖B − A‖, accumulated chunk by chunk while the two tensors stream in, and σ₁(B − A) by Lanczos
// on (B − A)ᵀ(B − A). docs/ENGINE.md ("Comparing two models") defines the metrics.

/// Running sums over the elements of two equally shaped tensors A and B, in Double.
public struct PairMoments: Sendable, Equatable {
    /// Σ a², Σ b², Σ a·b and Σ (b − a)² (the last summed directly, so a tiny change keeps its digits).
    public var sumA2 = 0.0, sumB2 = 0.0, sumAB = 0.0, sumD2 = 0.0
    public var count = 0

    public init() {}

    /// Adds `n` element pairs. The four sums are SIMD kernels over data the caller keeps in cache
    /// (a few thousand elements per call).
    public mutating func add(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count n: Int) {
        guard n > 0 else { return }
        let k = wl_current()
        sumA2 += k.pointee.dot_f64acc(a, a, n)
        sumB2 += k.pointee.dot_f64acc(b, b, n)
        sumAB += k.pointee.dot_f64acc(a, b, n)
        sumD2 += k.pointee.sqdiff_f64acc(b, a, n)
        count += n
    }

    /// b ← b − a over `n` elements (forms the delta in place once its sums are taken).
    public static func subtract(_ a: UnsafePointer<Float>, from b: UnsafeMutablePointer<Float>, count n: Int) {
        guard n > 0 else { return }
        wl_current().pointee.axpy(-1, a, b, n)
    }

    public mutating func merge(_ other: PairMoments) {
        sumA2 += other.sumA2; sumB2 += other.sumB2; sumAB += other.sumAB; sumD2 += other.sumD2
        count += other.count
    }

    public var normA: Double { sumA2.squareRoot() }
    public var normB: Double { sumB2.squareRoot() }
    /// ‖B − A‖ (Frobenius).
    public var deltaNorm: Double { sumD2.squareRoot() }
    /// ‖B − A‖ / ‖A‖; nil when A is zero.
    public var relativeChange: Double? { sumA2 > 0 ? deltaNorm / normA : nil }
    /// ⟨A, B⟩ / (‖A‖ ‖B‖), clamped to [−1, 1]; nil when either is zero.
    public var cosine: Double? {
        guard sumA2 > 0, sumB2 > 0 else { return nil }
        let c = sumAB / (normA * normB)
        return c.isFinite ? min(1, max(-1, c)) : c
    }
}

/// The result of `spectralNormLanczos`.
public struct SpectralNormEstimate: Sendable, Equatable {
    /// σ₁ (a lower bound that only grows with the steps; exact when `converged`).
    public let value: Double
    /// Products with MᵀM done (one pass over the matrix each).
    public let steps: Int
    /// The residual bound met the tolerance, or the Krylov space became invariant.
    public let converged: Bool
}

/// σ₁ of the `rows`×`cols` row-major Float matrix at `m`, by the Lanczos iteration on MᵀM with
/// full reorthogonalisation: each step is one pass over M (row i: s = Mᵢ·v, w += s·Mᵢ, so the row
/// is read once), the largest eigenvalue θ of the small tridiagonal matrix estimates σ₁². It stops
/// when the Lanczos residual bound of θ is below `tolerance`·θ, when θ reaches ‖M‖²_F (rank
/// one), when the Krylov space is invariant, or after `maxSteps`.
///
/// - Parameter frobenius: ‖M‖_F when the caller already has it (an upper bound of σ₁).
/// - Throws: `.cancelled`.
public func spectralNormLanczos(_ m: UnsafePointer<Float>, rows: Int, cols: Int, frobenius: Double? = nil,
                                tolerance: Double = 1e-6, maxSteps: Int = 60,
                                cancellation: Cancellation? = nil) throws(AnalysisError) -> SpectralNormEstimate {
    guard rows > 0, cols > 0 else { return SpectralNormEstimate(value: 0, steps: 0, converged: true) }
    let kernels = wl_current()
    let fro2: Double
    if let frobenius { fro2 = frobenius * frobenius } else {
        var s = 0.0
        for i in 0..<rows { s += kernels.pointee.dot_f64acc(m + i * cols, m + i * cols, cols) }
        fro2 = s
    }
    guard fro2 > 0 else { return SpectralNormEstimate(value: 0, steps: 0, converged: true) }
    guard fro2.isFinite else { return SpectralNormEstimate(value: .nan, steps: 0, converged: false) }
    let n = cols
    let limit = max(1, min(maxSteps, n))
    var basis: [[Double]] = []
    var alphas: [Double] = [], betas: [Double] = []
    var rng = SplitMix64(seed: 0x5EED_DE17_A000_0001)
    var q = (0..<n).map { _ in Double(rng.uniform()) - 0.5 }
    normalize(&q)
    var vf = [Float](repeating: 0, count: n)
    var w = [Double](repeating: 0, count: n)
    var lambda = 0.0
    for step in 1...limit {
        try cancellation.check()
        for j in 0..<n { vf[j] = Float(q[j]) }
        for j in 0..<n { w[j] = 0 }
        vf.withUnsafeBufferPointer { v in
            w.withUnsafeMutableBufferPointer { out in
                for i in 0..<rows {
                    let row = m + i * cols
                    let s = kernels.pointee.dot_f64acc(row, v.baseAddress!, cols)
                    if s != 0 { kernels.pointee.axpy_f32_f64(s, row, out.baseAddress!, cols) }
                }
            }
        }
        let alpha = dot(q, w)
        alphas.append(alpha)
        basis.append(q)
        // w ← w − α q − β q_prev, then against every basis vector twice (full reorthogonalisation).
        for j in 0..<n { w[j] -= alpha * q[j] }
        if let beta = betas.last, basis.count >= 2 {
            let p = basis[basis.count - 2]
            for j in 0..<n { w[j] -= beta * p[j] }
        }
        for _ in 0..<2 {
            for b in basis {
                let c = dot(b, w)
                for j in 0..<n { w[j] -= c * b[j] }
            }
        }
        let beta = dot(w, w).squareRoot()
        // Ritz value θ and the Lanczos residual bound ‖MᵀM x − θ x‖ = β·|last component of y|.
        let (theta, last) = try topRitzPair(alphas, betas)
        lambda = theta
        let residual = beta * abs(last)
        let invariant = beta <= 1e-13 * max(lambda, fro2 * 1e-30)
        let settled = residual <= tolerance * lambda
        let rankOne = lambda >= fro2 * (1 - tolerance)
        if invariant || settled || rankOne || step == limit {
            return SpectralNormEstimate(value: min(lambda, fro2).squareRoot(), steps: step,
                                        converged: invariant || settled || rankOne || basis.count == n)
        }
        betas.append(beta)
        q = w.map { $0 / beta }
    }
    return SpectralNormEstimate(value: min(lambda, fro2).squareRoot(), steps: limit, converged: false)
}

private func dot(_ a: [Double], _ b: [Double]) -> Double {
    var s = 0.0
    for i in 0..<a.count { s += a[i] * b[i] }
    return s
}

private func normalize(_ v: inout [Double]) {
    let n = dot(v, v).squareRoot()
    if n > 0 { for i in 0..<v.count { v[i] /= n } }
}

/// The largest eigenvalue of the symmetric tridiagonal matrix with diagonal `alphas` and
/// off-diagonal `betas` (one fewer), and the last component of its unit eigenvector.
private func topRitzPair(_ alphas: [Double], _ betas: [Double]) throws(AnalysisError) -> (Double, Double) {
    let k = alphas.count
    var t = [Double](repeating: 0, count: k * k)
    for i in 0..<k { t[i * k + i] = alphas[i] }
    for i in 0..<min(betas.count, k - 1) { t[(i + 1) * k + i] = betas[i] }
    let e = try symmetricEigen(t, n: k, vectors: true)
    return (e.values.first ?? 0, e.vectors.isEmpty ? 0 : e.vectors[(k - 1) * k])
}
