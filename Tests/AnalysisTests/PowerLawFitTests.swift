import Foundation
import Testing
import TensorCore
@testable import Analysis

/// The fit of every candidate x_min, without pruning: the definition the pruned search must match.
private func bruteForce(_ sample: [Double]) -> (alpha: Double, xmin: Double, d: Double) {
    let x = sample.filter { $0 > 0 }.sorted()
    let n = x.count, xmax = x[n - 1]
    var best = (alpha: Double.nan, xmin: 0.0, d: Double.infinity)
    var k = 0
    while k < n {
        defer { while k + 1 < n && x[k + 1] == x[k] { k += 1 }; k += 1 }
        if x[k] == xmax { break }
        let tail = Array(x[k...])
        let m = Double(tail.count)
        let alpha = 1 + m / tail.reduce(0) { $0 + log($1 / x[k]) }
        let norm = 1 - pow(xmax / x[k], 1 - alpha)
        var d = 0.0
        for (j, v) in tail.enumerated() where j == 0 || tail[j - 1] != v {
            let t = (1 - pow(v / x[k], 1 - alpha)) / norm
            d = max(d, abs(t - Double(j) / m))
        }
        if d < best.d { best = (alpha, x[k], d) }
    }
    return best
}

@Suite struct PowerLawFitTests {
    @Test(arguments: [(UInt64(1), 200), (2, 1280), (3, 57), (4, 3000)])
    func prunedSearch_findsTheSameFitAsTheFullScan(seed: UInt64, count: Int) throws {
        var rng = SplitMix64(seed: seed)
        // A Marchenko–Pastur-like bulk plus a heavy tail, and some repeated values.
        var sample = (0..<count).map { i -> Double in
            let u = Double(rng.next() >> 11) / Double(1 << 53)
            return i % 5 == 0 ? pow(1 - u, -1 / 1.8) : 0.2 + u
        }
        sample += sample.prefix(10)
        let fit = try #require(powerLawFit(sample))
        let reference = bruteForce(sample)
        #expect(fit.xmin == reference.xmin)
        #expect(abs(fit.alpha - reference.alpha) < 1e-12 && abs(fit.ksDistance - reference.d) < 1e-12)
        #expect(fit.xmax == sample.max())
    }

    @Test func paretoSample_recoversItsExponent() throws {
        var rng = SplitMix64(seed: 7)
        let alpha = 2.5
        let sample = (0..<20_000).map { _ -> Double in
            let u = Double(rng.next() >> 11) / Double(1 << 53)
            return 3 * pow(1 - u, -1 / (alpha - 1))
        }
        let fit = try #require(powerLawFit(sample))
        #expect(abs(fit.alpha - alpha) < 0.08, "α = \(fit.alpha)")
        #expect(powerLawFit([1, 1, 1]) == nil && powerLawFit([0, -1, 2]) == nil)
    }

    @Test func spectralHealth_ofAKnownMatrix() throws {
        // W = diag(3, 2, 1) padded to 3×5: σ = 3, 2, 1; λ = σ² / 5.
        var values = [Float](repeating: 0, count: 15)
        values[0] = 3; values[6] = 2; values[12] = 1
        let e = try gramEigenvalues(Matrix(rows: 3, cols: 5, values: values))
        #expect(e.count == 3 && abs(e[0] - 9.0 / 5) < 1e-9 && abs(e[2] - 1.0 / 5) < 1e-9)
        let h = SpectralHealth(eigenvalues: e, longSide: 5)
        #expect(abs(h.spectralNorm - 3) < 1e-9 && abs(h.stableRank - 14.0 / 9) < 1e-9)
        #expect(h.alpha != nil && abs(h.alphaWeighted! - h.alpha! * log10(9.0 / 5)) < 1e-12)
    }
}
