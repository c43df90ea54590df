import Testing
@testable import Analysis

@Suite struct MatrixMultiplyTests {
    @Test(arguments: [(1, 1, 1), (5, 7, 3), (6, 16, 256), (13, 300, 29), (97, 257, 1025), (200, 33, 700)])
    func products_matchNaiveReference(m: Int, k: Int, n: Int) throws {
        let a = TestMatrices.random(rows: m, cols: k, seed: 1)
        let b = TestMatrices.random(rows: k, cols: n, seed: 2)
        let ref = TestMatrices.naiveProduct(a, b)
        #expect(TestMatrices.nmse(try matmul(a, b).values, ref) < 1e-11)
        #expect(TestMatrices.nmse(try matmulTransposedA(a.transposed(), b).values, ref) < 1e-11)
        #expect(TestMatrices.nmse(try matmulTransposedB(a, b.transposed()).values, ref) < 1e-11)
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
