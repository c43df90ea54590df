/// Scalar summaries of a weight's singular value spectrum.
public struct SpectralMetrics: Sendable, Codable, Equatable {
    /// σ₁, the largest singular value.
    public let spectralNorm: Float
    /// ‖W‖F² / σ₁²: how many directions carry the energy (1 for rank one, p for an orthogonal W).
    public let stableRank: Float
    /// exp(H) with H the entropy of σᵢ / Σσ (Roy & Vetterli 2007).
    public let effectiveRank: Float
    /// True when every singular value was computed; false when the tail beyond the top values
    /// was estimated as evenly spread remaining energy (large matrices).
    public let exact: Bool
}

/// Metrics from a full or partial spectrum. When `singularValues` holds only the top values of
/// a p-column-or-row matrix, the remaining Frobenius energy is spread evenly over the missing
/// p − k values for the effective rank (an estimate: `exact` is false).
public func spectralMetrics(singularValues sv: [Float], frobeniusNorm: Float, shortSide p: Int) -> SpectralMetrics {
    let s1 = Double(sv.first ?? 0)
    let f2 = Double(frobeniusNorm) * Double(frobeniusNorm)
    let stable = s1 > 0 ? f2 / (s1 * s1) : 0
    var values = sv.map { Double(max(0, $0)) }
    let exact = values.count >= p
    if !exact {
        let rest = max(0, f2 - values.reduce(0) { $0 + $1 * $1 })
        let missing = p - values.count
        let tail = (rest / Double(missing)).squareRoot()
        values += [Double](repeating: tail, count: missing)
    }
    let total = values.reduce(0, +)
    var entropy = 0.0
    if total > 0 { for v in values where v > 0 { let q = v / total; entropy -= q * log(q) } }
    return SpectralMetrics(spectralNorm: Float(s1), stableRank: Float(stable),
                           effectiveRank: total > 0 ? Float(exp(entropy)) : 0, exact: exact)
}

/// Spectral metrics of `a`. Matrices whose short side is at most `exactLimit` get their full
/// spectrum (eigenvalues of the smaller Gram matrix); larger ones use the top 64 values plus
/// the tail estimate described in `spectralMetrics(singularValues:frobeniusNorm:shortSide:)`.
public func spectralMetrics(_ a: Matrix, exactLimit: Int = 1024, cancellation: Cancellation? = nil,
                            progress: ProgressHandler? = nil) throws(AnalysisError) -> SpectralMetrics {
    let p = min(a.rows, a.cols)
    if p == 0 { return SpectralMetrics(spectralNorm: 0, stableRank: 0, effectiveRank: 0, exact: true) }
    if let bad = a.firstNonFiniteIndex() { throw .nonFiniteValue(index: bad) }
    let values = try p <= exactLimit ? allSingularValues(a, cancellation: cancellation)
        : topSingularValues(a, rank: min(p, 64), cancellation: cancellation, progress: progress)
    return spectralMetrics(singularValues: values, frobeniusNorm: a.frobeniusNorm, shortSide: p)
}

/// Every singular value of `a`, largest first, from the eigenvalues of the smaller Gram matrix
/// (accurate relative to σ₁; values below ~1e-3 σ₁ carry Float32 rounding of the Gram product).
public func allSingularValues(_ a: Matrix, cancellation: Cancellation? = nil) throws(AnalysisError) -> [Float] {
    let gram = try gramLowerTriangle(a)
    try cancellation.check()
    let e = try symmetricEigen(gram.values.map(Double.init), n: gram.rows, vectors: false)
    return e.values.map { Float(max(0, $0).squareRoot()) }
}

import Foundation

/// Eigenvalues of WᵀW / N (N = the longer side of `a`), largest first: the empirical spectral
/// density WeightWatcher fits. Only the min(rows, cols) eigenvalues that can be non-zero are
/// returned, from the smaller Gram matrix (W Wᵀ when rows ≤ cols), in Double. `parallel` splits
/// the eigenvalue reduction between two threads too (the Gram product always uses both): for a
/// caller that analyses one matrix at a time.
public func gramEigenvalues(_ a: Matrix, cancellation: Cancellation? = nil, parallel: Bool = false) throws(AnalysisError) -> [Double] {
    let p = min(a.rows, a.cols)
    if p == 0 { return [] }
    if let bad = a.firstNonFiniteIndex() { throw .nonFiniteValue(index: bad) }
    let gram = try gramLowerTriangle(a)
    try cancellation.check()
    let values = try symmetricEigenvaluesBlocked(gram.values.map(Double.init), n: gram.rows, parallel: parallel)
    let n = Double(max(a.rows, a.cols))
    return values.map { max(0, $0) / n }
}

/// The spectral metrics of the model overview, from the eigenvalues λ of WᵀW / N (largest first)
/// and N: σ₁ = √(λ_max·N), stable rank = Σλ / λ_max (= ‖W‖²_F / σ₁²), α of the power law fitted
/// to λ (`powerLawFit`), weighted α = α · log10(λ_max).
public struct SpectralHealth: Sendable, Equatable {
    public let spectralNorm: Double
    public let stableRank: Double
    /// nil when the spectrum has fewer than two distinct positive values.
    public let alpha: Double?
    public let alphaWeighted: Double?
    public let fit: PowerLawFit?

    public init(eigenvalues: [Double], longSide n: Int) {
        let top = eigenvalues.max() ?? 0
        spectralNorm = (top * Double(n)).squareRoot()
        stableRank = top > 0 ? eigenvalues.reduce(0, +) / top : 0
        fit = powerLawFit(eigenvalues)
        alpha = fit?.alpha
        alphaWeighted = fit.map { $0.alpha * log10(top) }
    }
}
