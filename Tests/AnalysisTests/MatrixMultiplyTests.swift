import Kernels
import Testing
@testable import Analysis

@Suite struct MatrixMultiplyTests {
    /// Every kernel path this machine runs (forced per test); the shapes cover partial MR×NR
    /// tiles of every path (NR 8, 16, 32) and more than one KC slice.
    @Test(arguments: [(1, 1, 1), (5, 7, 3), (6, 16, 256), (13, 300, 29), (97, 257, 1025), (200, 33, 700)], KernelPath.supported)
    func products_matchNaiveReference(shape: (Int, Int, Int), path: KernelPath) throws {
        let (m, k, n) = shape
        let a = TestMatrices.random(rows: m, cols: k, seed: 1)
        let b = TestMatrices.random(rows: k, cols: n, seed: 2)
        let ref = TestMatrices.naiveProduct(a, b)
        let (ab, aTb, abT) = try path.run {
            (try matmul(a, b), try matmulTransposedA(a.transposed(), b), try matmulTransposedB(a, b.transposed()))
        }
        #expect(TestMatrices.nmse(ab.values, ref) < 1e-11)
        #expect(TestMatrices.nmse(aTb.values, ref) < 1e-11)
        #expect(TestMatrices.nmse(abT.values, ref) < 1e-11)
    }

    @Test(arguments: KernelPath.supported)
    func accumulatingProduct_addsToC(path: KernelPath) throws {
        // C += A·B with strided (transposed) operands, as the SVD's Gram–Schmidt uses it.
        let a = TestMatrices.random(rows: 41, cols: 70, seed: 3), b = TestMatrices.random(rows: 70, cols: 35, seed: 4)
        let ref = TestMatrices.naiveProduct(a, b).map { $0 + 1 }
        var c = [Float](repeating: 1, count: 41 * 35)
        let at = a.transposed()
        try path.run {
            at.values.withUnsafeBufferPointer { ap in
                b.values.withUnsafeBufferPointer { bp in
                    c.withUnsafeMutableBufferPointer { cp in
                        let av = StridedOperand(base: ap.baseAddress!, rows: 70, cols: 41, rowStride: 41, colStride: 1).transposed
                        let bv = StridedOperand(base: bp.baseAddress!, rows: 70, cols: 35, rowStride: 35, colStride: 1)
                        gemm(av, bv, cp.baseAddress!, ldc: 35, accumulate: true)
                    }
                }
            }
        }
        #expect(TestMatrices.nmse(c, ref) < 1e-11)
    }

    @Test func mismatchedInnerDimensions_throwShapeMismatch() {
        let a = Matrix(zeros: 3, 4), b = Matrix(zeros: 5, 2)
        #expect(throws: AnalysisError.shapeMismatch(operation: "multiply A·B", left: [3, 4], right: [5, 2])) { try matmul(a, b) }
    }

    @Test func emptyInnerDimension_givesZeros() throws {
        let c = try matmul(Matrix(zeros: 3, 0), Matrix(zeros: 0, 2))
        #expect(c == Matrix(zeros: 3, 2))
    }
}
