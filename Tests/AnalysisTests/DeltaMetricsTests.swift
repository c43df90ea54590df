import Testing
@testable import Analysis

@Suite struct DeltaMetricsTests {
    /// σ₁ by Lanczos against every singular value computed exactly, on matrices with a decaying
    /// spectrum, a flat one (uniform noise: the top values lie close together) and rank one.
    @Test func lanczosSpectralNorm_matchesTheExactSpectrum() throws {
        let cases: [Matrix] = [
            TestMatrices.structured(rows: 96, cols: 160, rank: 6, decay: 0.6, noise: 0.01, seed: 3),
            TestMatrices.random(rows: 120, cols: 70, seed: 4),
            TestMatrices.structured(rows: 40, cols: 300, rank: 1, decay: 1, noise: 0, seed: 5),
        ]
        for m in cases {
            let exact = Double(try allSingularValues(m)[0])
            let estimate = m.values.withUnsafeBufferPointer { p in
                Result { () throws(AnalysisError) -> SpectralNormEstimate in try spectralNormLanczos(p.baseAddress!, rows: m.rows, cols: m.cols) }
            }
            let e = try estimate.get()
            #expect(abs(e.value - exact) <= 2e-5 * exact, "\(m.shape): \(e.value) vs \(exact)")
            #expect(e.value <= exact * (1 + 1e-5), "a Lanczos estimate is a lower bound")
            #expect(e.steps <= 60)
        }
    }

    @Test func lanczosSpectralNorm_ofZero_isZero_andCancels() throws {
        let zeros = [Float](repeating: 0, count: 12)
        let z = try zeros.withUnsafeBufferPointer { p throws(AnalysisError) in try spectralNormLanczos(p.baseAddress!, rows: 3, cols: 4) }
        #expect(z.value == 0 && z.converged)
        let m = TestMatrices.random(rows: 50, cols: 50, seed: 9)
        #expect(throws: AnalysisError.cancelled) {
            try m.values.withUnsafeBufferPointer { p throws(AnalysisError) in
                _ = try spectralNormLanczos(p.baseAddress!, rows: 50, cols: 50, cancellation: Cancellation { true })
            }
        }
    }

    @Test func pairMoments_sumInDouble_andKeepATinyChangeExact() {
        let a: [Float] = (0..<10_000).map { Float($0 % 97) * 0.01 + 1 }
        var b = a
        b[17] += 0.0009765625   // 2^-10: |B - A| = 2^-10 exactly
        var m = PairMoments()
        a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in
            m.add(pa.baseAddress!, pb.baseAddress!, count: 6000)
            var rest = PairMoments()
            rest.add(pa.baseAddress! + 6000, pb.baseAddress! + 6000, count: 4000)
            m.merge(rest)
        } }
        #expect(m.count == 10_000)
        #expect(m.deltaNorm == 0.0009765625)
        let norm = a.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        #expect(abs(m.normA - norm) <= 1e-12 * norm)
        #expect(abs((m.relativeChange ?? 0) - 0.0009765625 / norm) <= 1e-15)
        #expect((m.cosine ?? 0) <= 1 && (m.cosine ?? 0) > 0.999999)
        #expect(PairMoments().relativeChange == nil && PairMoments().cosine == nil)
    }
}
