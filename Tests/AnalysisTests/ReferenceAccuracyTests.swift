import Foundation
import Testing
import TensorCore
import Checkpoint
import Kernels
@testable import Analysis

/// Accuracy against LAPACK: Tests/Fixtures/reference/svd_reference.json holds numpy.linalg.svd
/// (float64) values of the same matrices, made by make_reference.py beside it.
struct SVDReference: Decodable {
    struct Source: Decodable {
        let kind: String
        let rank: Int?, decay: Double?, noise: Double?, seed: UInt64?
        let file: String?, key: String?
    }
    struct Case: Decodable, CustomTestStringConvertible {
        let name: String
        let source: Source
        let rows: Int, cols: Int
        let singular_values: [Double]
        let frobenius_norm_squared: Double
        var testDescription: String { name }
    }
    let cases: [Case]

    static func load() throws -> [Case] {
        let url = TestMatrices.fixtures.appendingPathComponent("reference/svd_reference.json")
        return try JSONDecoder().decode(SVDReference.self, from: Data(contentsOf: url)).cases
    }
}

struct NMFReference: Decodable {
    struct Case: Decodable, CustomTestStringConvertible {
        let file: String, key: String, rank: Int
        let sklearn_relative_error: Double
        var testDescription: String { "\(file):\(key)" }
    }
    let cases: [Case]
    static func load() throws -> [Case] {
        let url = TestMatrices.fixtures.appendingPathComponent("reference/nmf_reference.json")
        return try JSONDecoder().decode(NMFReference.self, from: Data(contentsOf: url)).cases
    }
}

func loadRealTensor(_ file: String, _ key: String) throws -> Tensor {
    let path = TestMatrices.fixtures.appendingPathComponent("real/\(file)").path
    return try CheckpointFile.open(path: path).loadTensor(key)
}

@Suite struct ReferenceAccuracyTests {
    static func matrix(for c: SVDReference.Case) throws -> Matrix {
        switch c.source.kind {
        case "structured":
            return TestMatrices.structured(rows: c.rows, cols: c.cols, rank: c.source.rank!, decay: c.source.decay!,
                                           noise: c.source.noise!, seed: c.source.seed!)
        default:
            return Matrix(try loadRealTensor(c.source.file!, c.source.key!))
        }
    }

    /// Every kernel path this machine runs (forced per test), against the same references.
    @Test(arguments: try SVDReference.load(), KernelPath.supported)
    func topSingularValues_matchLAPACK(_ c: SVDReference.Case, path: KernelPath) throws {
        try path.run { try Self.checkTopSingularValues(c) }
    }

    static func checkTopSingularValues(_ c: SVDReference.Case) throws {
        let a = try Self.matrix(for: c)
        #expect(a.rows == c.rows && a.cols == c.cols)
        let k = c.singular_values.count
        let r = try truncatedSVD(a, rank: k)
        for i in 0..<k {
            let rel = abs(Double(r.singularValues[i]) - c.singular_values[i]) / c.singular_values[i]
            #expect(rel < 1e-4, "σ\(i + 1): \(r.singularValues[i]) vs \(c.singular_values[i])")
        }
        #expect(TestMatrices.orthonormalityError(columnsOf: r.u) < 1e-4)
        #expect(TestMatrices.orthonormalityError(columnsOf: r.vt.transposed()) < 1e-4)

        // Rank-k reconstruction error within 1 % of the Eckart–Young optimum.
        var scaledU = r.u
        for i in 0..<a.rows { for j in 0..<k { scaledU[i, j] *= r.singularValues[j] } }
        let approx = try matmul(scaledU, r.vt)
        var residual = 0.0
        for i in 0..<a.values.count { let d = Double(a.values[i]) - Double(approx.values[i]); residual += d * d }
        let optimum = c.frobenius_norm_squared - c.singular_values.reduce(0) { $0 + $1 * $1 }
        #expect(residual.squareRoot() <= 1.01 * max(optimum, 0).squareRoot() + 1e-6 * c.frobenius_norm_squared.squareRoot(),
                "residual \(residual.squareRoot()) vs optimum \(max(optimum, 0).squareRoot())")
    }

    @Test(arguments: try NMFReference.load(), KernelPath.supported)
    func nmf_isWithinTenPercentOfScikitLearn(_ c: NMFReference.Case, path: KernelPath) throws {
        try path.run { try Self.checkNMF(c) }
    }

    static func checkNMF(_ c: NMFReference.Case) throws {
        // Same problem as the reference script: the non-negative split [max(X,0); max(−X,0)] of
        // the conv weight arranged as ((out·kh·kw) × in), rank 3, both factors non-negative.
        let t = try loadRealTensor(c.file, c.key)
        let (out, inC, kh, kw) = (t.shape[0], t.shape[1], t.shape[2], t.shape[3])
        let rowsX = out * kh * kw
        var x = [Float](repeating: 0, count: 2 * rowsX * inC)
        for o in 0..<out { for i in 0..<inC { for yx in 0..<(kh * kw) {
            let v = t.values[(o * inC + i) * kh * kw + yx]
            let row = o * kh * kw + yx
            x[row * inC + i] = max(v, 0)
            x[(rowsX + row) * inC + i] = max(-v, 0)
        } } }
        let f = try nonNegativeFactorization(Matrix(rows: 2 * rowsX, cols: inC, values: x), rank: c.rank, nonNegativeW: true,
                                             maxIterations: 2000, tolerance: 1e-7)
        #expect(Double(f.relativeError) <= 1.1 * c.sklearn_relative_error,
                "ours \(f.relativeError) vs scikit-learn \(c.sklearn_relative_error)")
        #expect(f.w.values.allSatisfy { $0 >= 0 } && f.h.values.allSatisfy { $0 >= 0 })
    }
}
