import Foundation
import Testing
import Kernels
import TensorCore
@testable import Analysis

@Suite struct WeightStatisticsTests {
    @Test func moments_matchDirectComputation() {
        let values: [Float] = (0..<(6 * 4 * 3 * 3)).map { Float(TestMatrices.hashUniform(seed: 11, index: UInt64($0))) * 0.2 + 0.05 }
        let t = Tensor(shape: [6, 4, 3, 3], values: values)
        let s = weightStatistics(t, bins: 10)
        let n = Double(values.count)
        let mean = values.reduce(0.0) { $0 + Double($1) } / n
        let variance = values.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / n
        #expect(abs(s.mean - mean) < 1e-12)
        #expect(abs(s.std - variance.squareRoot()) < 1e-12)
        #expect(s.min == values.min()! && s.max == values.max()!)
        #expect(abs(s.l2Norm - values.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()) < 1e-9)
        #expect(s.histogram.counts.count == 10 && s.histogram.edges.count == 11)
        #expect(s.histogram.counts.reduce(0, +) + s.histogram.below + s.histogram.above == values.count)
        #expect(s.perOutputChannelNorms.count == 6)
        #expect(s.deadFilters.isEmpty)
    }

    /// Without the histogram (what `inspect` asks for) every other number is the same, from the
    /// same kernel calls, and the histogram is empty rather than made up; on every path.
    @Test(arguments: KernelPath.supported)
    func withoutHistogram_theOtherNumbersAreTheSame(path: KernelPath) throws {
        let values: [Float] = (0..<(96 * 300)).map { Float(TestMatrices.hashUniform(seed: 12, index: UInt64($0))) * 0.3 - 0.1 }
        var t = Tensor(shape: [96, 300], values: values)
        for i in 600..<900 { t.values[i] = 0 }      // a dead channel
        var with: WeightStatistics?, without: WeightStatistics?
        try path.run {
            with = weightStatistics(t, bins: 16)
            without = weightStatistics(t, bins: 16, histogram: false)
        }
        let a = try #require(with), b = try #require(without)
        #expect(a.mean == b.mean && a.std == b.std && a.min == b.min && a.max == b.max)
        #expect(a.nearZeroFraction == b.nearZeroFraction && a.l2Norm == b.l2Norm)
        #expect(a.perOutputChannelNorms == b.perOutputChannelNorms && a.deadFilters == b.deadFilters && b.deadFilters == [2])
        #expect(a.histogram.counts.count == 16 && a.histogram.counts.reduce(0, +) > 0)
        #expect(b.histogram.counts.isEmpty && b.histogram.edges.isEmpty && b.histogram.below == 0 && b.histogram.above == 0)
    }

    @Test func zeroFilterAndNearZeroValues_areReported() {
        var values = [Float](repeating: 0.5, count: 4 * 8)
        for i in 8..<16 { values[i] = 0 }          // channel 1 dead
        values[20] = 5e-4                           // one more near-zero value
        let s = weightStatistics(Tensor(shape: [4, 8], values: values))
        #expect(s.deadFilters == [1])
        #expect(abs(s.nearZeroFraction - 9.0 / 32.0) < 1e-12)
        #expect(abs(s.perOutputChannelNorms[0] - Float(0.5 * 8.0.squareRoot())) < 1e-6)
    }

    @Test func constantAndEmptyTensors_doNotCrash() {
        let c = weightStatistics(Tensor(shape: [3], values: [2, 2, 2]))
        #expect(c.std == 0 && c.min == 2 && c.histogram.counts.reduce(0, +) == 3)
        let e = weightStatistics(Tensor(shape: [0, 4], values: []))
        #expect(e.count == 0 && e.mean == 0)
    }

    /// Every kernel path: the same counts and extremes exactly, moments and norms to rounding,
    /// against a direct computation (NaN, zeros and values outside the histogram range included).
    @Test(arguments: KernelPath.supported)
    func statistics_matchDirectComputation_onEveryPath(path: KernelPath) throws {
        let rows = 37, cols = 301
        var values = (0..<(rows * cols)).map { Float(TestMatrices.hashUniform(seed: 21, index: UInt64($0)) - 0.5) * 0.3 }
        values[5] = .nan; values[700] = 0; values[701] = 4e-4; values[2000] = 50; values[2001] = -60
        let t = Tensor(shape: [rows, cols], values: values)
        let s = try path.run { weightStatistics(t, bins: 16) }
        let lo = s.histogram.edges.first!, hi = s.histogram.edges.last!
        let scale = Double(16) / Double(hi - lo)
        var counts = [Int](repeating: 0, count: 16), below = 0, above = 0, near = 0
        var mn = Float.infinity, mx = -Float.infinity
        for x in values {
            if abs(x) < 1e-3 { near += 1 }
            if x < mn { mn = x }
            if x > mx { mx = x }
            if x < lo { below += 1 } else if x > hi { above += 1 } else if x == x { counts[min(15, Int(Double(x - lo) * scale))] += 1 }
        }
        #expect(s.histogram.counts == counts && s.histogram.below == below && s.histogram.above == above)
        #expect(s.min == mn && s.max == mx)
        #expect(abs(s.nearZeroFraction - Double(near) / Double(values.count)) < 1e-15)
        #expect(s.mean.isNaN)   // the NaN propagates into the moments, as documented
        for r in 0..<rows where r != 0 {
            let exact = (0..<cols).reduce(0.0) { $0 + Double(values[r * cols + $1]) * Double(values[r * cols + $1]) }.squareRoot()
            #expect(abs(Double(s.perOutputChannelNorms[r]) - exact) <= 1e-6 * exact)
        }
        // Finite data: moments to rounding.
        let finite = values.map { $0.isNaN ? 0.1 : $0 }
        let f = try path.run { weightStatistics(Tensor(shape: [rows, cols], values: finite), bins: 16) }
        let mean = finite.reduce(0.0) { $0 + Double($1) } / Double(finite.count)
        let variance = finite.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(finite.count)
        #expect(abs(f.mean - mean) < 1e-12 && abs(f.std - variance.squareRoot()) < 1e-12)
    }

    /// The full spectrum (Gram product + the Double eigensolver's kernels) on every path: rows of a
    /// Sylvester–Hadamard matrix are orthogonal, so row i scaled by s_i has exactly the σ = s.
    @Test(arguments: KernelPath.supported)
    func fullSpectrum_ofOrthogonalRows_onEveryPath(path: KernelPath) throws {
        let rows = 100, cols = 256
        let s = (0..<rows).map { 1 + 0.1 * Double($0) }
        var values = [Float](repeating: 0, count: rows * cols)
        for i in 0..<rows { for j in 0..<cols { values[i * cols + j] = Float(s[i] / 16 * ((i & j).nonzeroBitCount % 2 == 0 ? 1 : -1)) } }
        let sigma = try path.run { try allSingularValues(Matrix(rows: rows, cols: cols, values: values)) }
        let expected = s.sorted(by: >)
        for i in 0..<rows { #expect(abs(Double(sigma[i]) - expected[i]) <= 1e-4 * expected[0], "σ\(i + 1)") }
        let m = try path.run { try spectralMetrics(Matrix(rows: rows, cols: cols, values: values)) }
        let total = s.reduce(0, +)
        let entropy = s.reduce(0.0) { $0 - ($1 / total) * log($1 / total) }
        #expect(abs(Double(m.effectiveRank) - exp(entropy)) < 1e-3 && m.exact)
    }

    @Test func spectralMetrics_ofKnownSpectrum() throws {
        // diag(3, 4) padded: σ = (4, 3); ‖W‖F² = 25; stable rank = 25/16; entropy of (4/7, 3/7).
        let a = Matrix(rows: 2, cols: 3, values: [3, 0, 0, 0, 4, 0])
        let m = try spectralMetrics(a)
        #expect(abs(m.spectralNorm - 4) < 1e-5)
        #expect(abs(m.stableRank - 25.0 / 16.0) < 1e-5)
        let p = 4.0 / 7.0, q = 3.0 / 7.0
        #expect(abs(Double(m.effectiveRank) - exp(-(p * log(p) + q * log(q)))) < 1e-5)
        #expect(m.exact)
    }
}

@Suite struct SelectionAndExpansionTests {
    @Test func topInputChannels_ranksByKernelNorm() throws {
        var v = [Float](repeating: 0, count: 2 * 5 * 2 * 2)
        // Output channel 1: input channel c has every tap = c (so norm 2c), except channel 3 = 10.
        for c in 0..<5 { for j in 0..<4 { v[((1 * 5) + c) * 4 + j] = c == 3 ? 10 : Float(c) } }
        let top = try topInputChannels(of: Tensor(shape: [2, 5, 2, 2], values: v), outputChannel: 1, k: 3)
        #expect(top.map(\.channel) == [3, 4, 2])
        #expect(abs(top[0].norm - 20) < 1e-5)
        #expect(throws: AnalysisError.invalidArgument(name: "outputChannel", value: 2, allowed: "0..<2")) {
            try topInputChannels(of: Tensor(shape: [2, 5, 2, 2], values: v), outputChannel: 2, k: 1)
        }
    }

    /// Valid cross-correlation of x [c, h, w] with weight [o, c, kh, kw] → [o, h−kh+1, w−kw+1].
    static func correlate(_ x: [Float], c: Int, h: Int, w: Int, _ k: Tensor) -> [Float] {
        let (o, kh, kw) = (k.shape[0], k.shape[2], k.shape[3])
        let ho = h - kh + 1, wo = w - kw + 1
        var y = [Float](repeating: 0, count: o * ho * wo)
        for oc in 0..<o { for i in 0..<c { for a in 0..<kh { for b in 0..<kw {
            let wt = k.values[((oc * c + i) * kh + a) * kw + b]
            for yy in 0..<ho { for xx in 0..<wo { y[(oc * ho + yy) * wo + xx] += wt * x[(i * h + yy + a) * w + xx + b] } }
        } } } }
        return y
    }

    @Test func composedKernel_equalsApplyingBothConvolutions() throws {
        let w1 = Tensor(shape: [5, 3, 3, 3], values: TestMatrices.random(rows: 5, cols: 27, seed: 21).values)
        let w2 = Tensor(shape: [4, 5, 3, 3], values: TestMatrices.random(rows: 4, cols: 45, seed: 22).values)
        let x = TestMatrices.random(rows: 3, cols: 81, seed: 23).values  // [3, 9, 9]
        let twoSteps = Self.correlate(Self.correlate(x, c: 3, h: 9, w: 9, w1), c: 5, h: 7, w: 7, w2)
        let composed = try composeConvolutions(first: w1, second: w2)
        #expect(composed.shape == [4, 3, 5, 5])
        let oneStep = Self.correlate(x, c: 3, h: 9, w: 9, composed)
        #expect(TestMatrices.nmse(oneStep, twoSteps.map(Double.init)) < 1e-10)
    }

    @Test func linearChain_isTheMatrixProduct() throws {
        let a = TestMatrices.random(rows: 6, cols: 4, seed: 31), b = TestMatrices.random(rows: 3, cols: 6, seed: 32)
        let chain = try expandChain([Tensor(shape: [6, 4], values: a.values), Tensor(shape: [3, 6], values: b.values)])
        #expect(chain.shape == [3, 4])
        #expect(TestMatrices.nmse(chain.values, TestMatrices.naiveProduct(b, a)) < 1e-11)
        #expect(throws: AnalysisError.self) {
            try expandChain([Tensor(shape: [6, 4], values: a.values), Tensor(shape: [6, 4], values: a.values)])
        }
    }

    @Test func attentionCircuits_matchPerHeadProducts() throws {
        let d = 8, heads = 2, dh = 4
        let q = TestMatrices.random(rows: d, cols: d, seed: 41), k = TestMatrices.random(rows: d, cols: 6, seed: 42)
        let v = TestMatrices.random(rows: d, cols: 6, seed: 43), o = TestMatrices.random(rows: d, cols: d, seed: 44)
        func t(_ m: Matrix) -> Tensor { Tensor(shape: [m.rows, m.cols], values: m.values) }
        let circuits = try attentionCircuits(query: t(q), key: t(k), value: t(v), output: t(o), heads: heads)
        #expect(circuits.count == 2)
        let h = 1
        let qh = q.rows(h * dh..<(h + 1) * dh), kh = k.rows(h * dh..<(h + 1) * dh)
        #expect(TestMatrices.nmse(circuits[1].qk.values, TestMatrices.naiveProduct(qh.transposed(), kh)) < 1e-11)
        let oh = o.columns(h * dh..<(h + 1) * dh), vh = v.rows(h * dh..<(h + 1) * dh)
        #expect(TestMatrices.nmse(circuits[1].ov.values, TestMatrices.naiveProduct(oh, vh)) < 1e-11)
        #expect(throws: AnalysisError.self) { try attentionCircuits(query: t(q), key: t(k), value: t(v), output: t(o), heads: 3) }
    }
}

@Suite struct NMFTests {
    @Test func exactNonNegativeFactors_areRecovered() throws {
        // X = L·F with F ≥ 0 (3 × 16) and signed L (60 × 3).
        let f = Matrix(rows: 3, cols: 16, values: (0..<48).map { Float(abs(TestMatrices.hashUniform(seed: 51, index: UInt64($0)))) })
        let l = TestMatrices.random(rows: 60, cols: 3, seed: 52)
        let x = try matmul(l, f)
        let r = try nonNegativeFactorization(x, rank: 3, nonNegativeW: false, maxIterations: 2000, tolerance: 1e-9)
        #expect(r.relativeError < 2e-2)
        #expect(r.h.values.allSatisfy { $0 >= 0 })
    }

    @Test func oneSidedNMF_ofConvWeight_hasImageShapedLoadings() throws {
        let w = Tensor(shape: [8, 6, 3, 3], values: TestMatrices.structured(rows: 8, cols: 54, rank: 4, decay: 0.6, noise: 0.05, seed: 53).values)
        let r = try oneSidedNMF(convWeight: w, rank: 3)
        #expect(r.loadings.shape == [8, 3, 3, 3])
        #expect(r.factors.rows == 3 && r.factors.cols == 6)
        #expect(r.factors.values.allSatisfy { $0 >= 0 })
        // No rank-3 factorisation beats the truncated SVD (Eckart–Young); NMF must be close to it.
        var x = [Float](repeating: 0, count: 72 * 6)
        for o in 0..<8 { for i in 0..<6 { for yx in 0..<9 { x[(o * 9 + yx) * 6 + i] = w.values[(o * 6 + i) * 9 + yx] } } }
        let xm = Matrix(rows: 72, cols: 6, values: x)
        let sv = try allSingularValues(xm)
        let total = sv.reduce(0) { $0 + $1 * $1 }, tail = sv.dropFirst(3).reduce(0) { $0 + $1 * $1 }
        let optimum = (tail / total).squareRoot()
        #expect(r.relativeError >= optimum * 0.999)
        #expect(r.relativeError < 1)
        let group = try oneSidedNMF(convWeight: w, rank: 2, outputChannels: [1, 5])
        #expect(group.loadings.shape == [2, 3, 3, 2] && group.outputChannels == [1, 5])
    }

    @Test func badArguments_areRejected() {
        let w = Tensor(shape: [2, 3, 3, 3], values: [Float](repeating: 1, count: 54))
        #expect(throws: AnalysisError.invalidRank(requested: 4, limit: 3, shape: [18, 3])) { try oneSidedNMF(convWeight: w, rank: 4) }
        #expect(throws: AnalysisError.self) { try oneSidedNMF(convWeight: Tensor(shape: [5], values: [1, 2, 3, 4, 5])) }
        #expect(throws: AnalysisError.invalidArgument(name: "outputChannel", value: 7, allowed: "0..<2")) {
            try oneSidedNMF(convWeight: w, outputChannels: [7])
        }
    }
}
