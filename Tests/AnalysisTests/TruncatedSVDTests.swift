import Foundation
import Kernels
import Testing
@testable import Analysis
import TensorCore

@Suite struct TruncatedSVDPropertyTests {
    @Test(arguments: [(40, 30, 5), (64, 300, 16), (300, 64, 16), (500, 700, 16), (1200, 256, 8)])
    func svd_hasOrthonormalFactorsAndReconstructs(m: Int, n: Int, k: Int) throws {
        let a = TestMatrices.structured(rows: m, cols: n, rank: 12, decay: 0.7, noise: 0.01, seed: 7)
        let r = try truncatedSVD(a, rank: k)
        #expect(r.u.rows == m && r.u.cols == k && r.vt.rows == k && r.vt.cols == n)
        #expect(TestMatrices.orthonormalityError(columnsOf: r.u) < 1e-4)
        #expect(TestMatrices.orthonormalityError(columnsOf: r.vt.transposed()) < 1e-4)
        for i in 1..<k { #expect(r.singularValues[i] <= r.singularValues[i - 1]) }
        // Aᵀu_i = σ_i v_i.
        let atu = try matmulTransposedA(a, r.u)  // n × k
        var worst: Float = 0
        for i in 0..<k { for j in 0..<n { worst = max(worst, abs(atu[j, i] - r.singularValues[i] * r.vt[i, j])) } }
        #expect(worst < 1e-3 * r.singularValues[0])
        #expect(r.converged)
    }

    /// A steep spectrum through the Krylov path (short side 200 > the exact path's limit): the
    /// 16th value is about 3e-4 of the first. The values must agree with a Double reference
    /// (eigenvalues of AᵀA accumulated in Double) to well under 1e-4. This is what keeps the
    /// Krylov path's Gram update (`updateGram`) in Double: with the Gram of the images formed
    /// by the float GEMM instead, the worst error here was 6.4e-4. (Projecting the applied block
    /// on the basis instead, Qᵀ·(AAᵀQ) over the short side, was four times cheaper and gave 7e-4:
    /// the second product's rounding, over the long side, comes on top.)
    @Test func steepSpectrum_onTheKrylovPath_matchesADoubleReference() throws {
        let m = 1500, n = 200, terms = 24
        var rng = SplitMix64(seed: 0x57EE_9000)
        var a = [Double](repeating: 0, count: m * n)
        for t in 0..<terms {
            let scale = pow(0.6, Double(t))
            let u = (0..<m).map { _ in Double(rng.nextSigned()) }
            let v = (0..<n).map { _ in Double(rng.nextSigned()) }
            for i in 0..<m { for j in 0..<n { a[i * n + j] += scale * u[i] * v[j] } }
        }
        let matrix = Matrix(rows: m, cols: n, values: a.map { Float($0) })
        // Reference from the float matrix the engine sees, in Double.
        var gram = [Double](repeating: 0, count: n * n)
        for i in 0..<m {
            for r in 0..<n {
                let x = Double(matrix.values[i * n + r])
                for c in r..<n { gram[r * n + c] += x * Double(matrix.values[i * n + c]) }
            }
        }
        for r in 0..<n { for c in 0..<r { gram[r * n + c] = gram[c * n + r] } }
        let exact = try symmetricEigen(gram, n: n, vectors: false).values.prefix(16).map { $0.squareRoot() }
        #expect(exact[15] / exact[0] < 1e-3)
        for tall in [true, false] {
            let input = tall ? matrix : matrix.transposed()
            let r = try truncatedSVD(input, rank: 16, tolerance: 1e-5)
            let worst = (0..<16).map { abs(Double(r.singularValues[$0]) - exact[$0]) / exact[$0] }.max()!
            #expect(worst < 1e-4, "tall \(tall): worst relative error \(worst)")
            let values = try topSingularValues(input, rank: 16, tolerance: 1e-5)
            let worstValues = (0..<16).map { abs(Double(values[$0]) - exact[$0]) / exact[$0] }.max()!
            #expect(worstValues < 1e-4, "values only, tall \(tall): worst relative error \(worstValues)")
        }
    }

    /// The values-only run (no vectors extracted) takes the same steps as the full one: the same values to rounding, on the exact path, the Krylov
    /// path with restarts, tall and wide, on every kernel path.
    @Test(arguments: [(40, 30, 5), (300, 64, 16), (1200, 256, 8), (256, 1200, 16), (900, 400, 24)], KernelPath.supported)
    func topSingularValues_matchTheFullDecomposition(shape: (Int, Int, Int), path: KernelPath) throws {
        let (m, n, k) = shape
        let a = TestMatrices.random(rows: m, cols: n, seed: UInt64(m * 7 + n))
        var full: SVDResult?, values: [Float] = []
        try path.run {
            full = try truncatedSVD(a, rank: k, tolerance: 1e-5)
            values = try topSingularValues(a, rank: k, tolerance: 1e-5)
        }
        let f = try #require(full)
        #expect(values.count == k)
        for i in 0..<k {
            #expect(abs(values[i] - f.singularValues[i]) <= 1e-6 * f.singularValues[0], "value \(i) of \(m)×\(n), path \(path)")
        }
    }

    @Test func topSingularValues_rejectsWhatTruncatedSVDRejects() {
        #expect(throws: AnalysisError.invalidRank(requested: 9, limit: 8, shape: [8, 20])) {
            try topSingularValues(Matrix(zeros: 8, 20), rank: 9)
        }
        var bad = Matrix(zeros: 30, 20)
        bad[4, 5] = .nan
        #expect(throws: AnalysisError.nonFiniteValue(index: 85)) { try topSingularValues(bad, rank: 3) }
    }

    @Test func zeroMatrix_givesZeroValuesAndOrthonormalVectors() throws {
        let r = try truncatedSVD(Matrix(zeros: 200, 150), rank: 4)
        #expect(r.singularValues == [0, 0, 0, 0])
        #expect(TestMatrices.orthonormalityError(columnsOf: r.u) < 1e-5)
        #expect(TestMatrices.orthonormalityError(columnsOf: r.vt.transposed()) < 1e-5)
    }

    @Test func rankOutOfRange_isRejected() {
        #expect(throws: AnalysisError.invalidRank(requested: 9, limit: 8, shape: [8, 20])) {
            try truncatedSVD(Matrix(zeros: 8, 20), rank: 9)
        }
    }

    @Test func nonFiniteInput_isRejected() {
        var a = Matrix(zeros: 10, 10)
        a[3, 4] = .nan
        #expect(throws: AnalysisError.nonFiniteValue(index: 34)) { try truncatedSVD(a, rank: 2) }
    }

    /// Large matrices are checked in parallel chunks: the answer is still the first bad index.
    @Test func nonFiniteInput_inALargeMatrix_reportsTheFirstIndex() {
        var a = Matrix(zeros: 2000, 1500)
        a.values[2_500_000] = .nan
        a.values[1_200_001] = -.infinity
        #expect(a.firstNonFiniteIndex() == 1_200_001)
        a.values[1_200_001] = 0
        #expect(a.firstNonFiniteIndex() == 2_500_000)
        a.values[2_500_000] = 0
        #expect(a.firstNonFiniteIndex() == nil)
    }

    @Test func progress_isReportedOncePerKrylovStep() throws {
        final class Calls: @unchecked Sendable {
            let lock = NSLock()
            var completed: [Int] = []
            var totals = Set<Int>()
        }
        let calls = Calls()
        let a = TestMatrices.structured(rows: 300, cols: 400, rank: 12, decay: 0.9, noise: 0.05, seed: 9)
        let r = try truncatedSVD(a, rank: 8, maxIterations: 50) { done, total in
            calls.lock.lock(); calls.completed.append(done); calls.totals.insert(total); calls.lock.unlock()
        }
        #expect(r.iterations > 0)
        #expect(calls.completed == Array(1...r.iterations))
        #expect(calls.totals == [50])
    }

    @Test func cancellation_stopsTheIteration() {
        let a = TestMatrices.random(rows: 400, cols: 500, seed: 3)
        #expect(throws: AnalysisError.cancelled) {
            try truncatedSVD(a, rank: 8, cancellation: Cancellation { true })
        }
    }
}
