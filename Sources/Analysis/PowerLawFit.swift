import Foundation

/// A power law p(x) ∝ x^(−α) fitted to the tail x_min ≤ x ≤ x_max of a sample.
public struct PowerLawFit: Sendable, Equatable {
    /// Maximum-likelihood exponent of the tail.
    public let alpha: Double
    public let xmin: Double
    public let xmax: Double
    /// Kolmogorov–Smirnov distance between the tail and the fitted law.
    public let ksDistance: Double
    /// Values in the tail.
    public let tailCount: Int
}

/// Fits a continuous power law to the positive values of `sample` as Clauset, Shalizi & Newman
/// (2009) describe and the `powerlaw` package (which WeightWatcher uses) implements with
/// `xmax = max(sample)`:
///
/// - every distinct value but the largest is a candidate x_min;
/// - for each, α = 1 + n / Σ ln(xᵢ / x_min) over the n tail values xᵢ ≥ x_min (the
///   maximum-likelihood estimate; suffix sums of ln x make all candidates O(n));
/// - its distance D = max |T(xᵢ) − Ŝ(xᵢ)| over the tail's distinct values, with T the power-law
///   CDF truncated to [x_min, x_max], T(x) = (1 − (x/x_min)^(1−α)) / (1 − (x_max/x_min)^(1−α)),
///   and Ŝ the empirical CDF (the share of tail values below x, as `powerlaw` computes it);
/// - the candidate with the smallest D wins.
///
/// Finding D exactly costs O(n) per candidate. Most candidates are far from the best fit, so each
/// is first probed at a few quantiles of its tail: any probe is a lower bound of its D, and a
/// candidate whose bound already exceeds the best D so far is dropped without the full scan.
/// A first pass over 64 evenly spread candidates finds a good D to prune against. The winner is the
/// same as with the full scan of every candidate.
///
/// Returns nil when fewer than two distinct positive values exist.
public func powerLawFit(_ sample: [Double]) -> PowerLawFit? {
    let x = sample.filter { $0 > 0 && $0.isFinite }.sorted()
    let n = x.count
    guard n >= 2, x[0] < x[n - 1] else { return nil }
    let logs = x.map { Foundation.log($0) }
    // suffix[k] = Σ_{i ≥ k} ln xᵢ
    var suffix = [Double](repeating: 0, count: n + 1)
    for i in stride(from: n - 1, through: 0, by: -1) { suffix[i] = suffix[i + 1] + logs[i] }
    // Candidates: first index of each distinct value, the largest value excluded.
    var candidates: [Int] = []
    // firstOfRun[j] = index of the first value equal to x[j] (the empirical CDF's position).
    var firstOfRun = [Int](repeating: 0, count: n)
    for j in 0..<n {
        if j > 0 && x[j] == x[j - 1] { firstOfRun[j] = firstOfRun[j - 1] } else {
            firstOfRun[j] = j
            if x[j] < x[n - 1] { candidates.append(j) }
        }
    }
    let xmax = x[n - 1], logMax = logs[n - 1]

    struct Candidate {
        let k: Int, alpha: Double, m: Double, scale: Double, exponent: Double, logMin: Double
        /// |T(x_j) − Ŝ(x_j)| at sorted index j (j ≥ k, first of its run).
        @inline(__always) func gap(_ j: Int, _ logs: [Double], _ firstOfRun: [Int]) -> Double {
            let t = (1 - Foundation.exp(exponent * (logs[j] - logMin))) * scale
            return abs(t - Double(firstOfRun[j] - k) / m)
        }
    }
    func candidate(_ k: Int) -> Candidate {
        let m = Double(n - k)
        let sumLog = suffix[k] - m * logs[k]
        let alpha = 1 + m / sumLog
        let exponent = 1 - alpha
        let norm = 1 - Foundation.exp(exponent * (logMax - logs[k]))
        return Candidate(k: k, alpha: alpha, m: m, scale: norm > 0 ? 1 / norm : 0, exponent: exponent, logMin: logs[k])
    }
    func fullDistance(_ c: Candidate, stopAbove limit: Double) -> Double {
        var d = 0.0
        var j = c.k
        while j < n {
            if firstOfRun[j] == j {
                d = max(d, c.gap(j, logs, firstOfRun))
                if d > limit { return d }
            }
            j += 1
        }
        return d
    }

    var best: (d: Double, c: Candidate)?
    func consider(_ c: Candidate) {
        let limit = best?.d ?? .infinity
        // Probes at quantiles of the tail: lower bounds of D.
        let span = n - c.k
        for q in [1, 2, 3, 4, 5, 6, 7] {
            let j = firstOfRun[c.k + span * q / 8]
            if c.gap(j, logs, firstOfRun) > limit { return }
        }
        let d = fullDistance(c, stopAbove: limit)
        if d < limit || (d == limit && c.k < (best?.c.k ?? Int.max)) { best = (d, c) }
    }
    let stride16 = max(1, candidates.count / 64)
    for i in Swift.stride(from: 0, to: candidates.count, by: stride16) { consider(candidate(candidates[i])) }
    for k in candidates { consider(candidate(k)) }
    guard let winner = best else { return nil }
    return PowerLawFit(alpha: winner.c.alpha, xmin: x[winner.c.k], xmax: xmax, ksDistance: winner.d, tailCount: n - winner.c.k)
}
