import Foundation
import Kernels
import Testing
@testable import Analysis

@Suite struct HouseholderQRTests {
    /// An orthonormal m×l block inside a row-major array of row stride ld, with the columns past
    /// l filled with a marker.
    static func orthonormalBlock(m: Int, l: Int, ld: Int, seed: UInt64) -> [Float] {
        var a = TestMatrices.random(rows: m, cols: ld, seed: seed).values
        a.withUnsafeMutableBufferPointer { orthonormalizeColumns($0.baseAddress!, rows: m, cols: l, ld: ld) }
        for i in 0..<m { for j in l..<ld { a[i * ld + j] = 7 } }
        return a
    }

    static func block(_ a: [Float], m: Int, l: Int, ld: Int) -> Matrix {
        Matrix(rows: m, cols: l, values: (0..<m).flatMap { i in (0..<l).map { a[i * ld + $0] } })
    }

    /// A rotated basis drifts from orthonormality by rounding; one Cholesky pass brings it back to
    /// rounding level without turning it (R within rounding of the identity), and leaves the
    /// other columns of the rows alone.
    @Test(arguments: KernelPath.supported)
    func reorthonormalize_restoresADriftedBlock(path: KernelPath) throws {
        let (m, l, ld) = (700, 37, 45)
        var a = Self.orthonormalBlock(m: m, l: l, ld: ld, seed: 21)
        let drift = TestMatrices.random(rows: m, cols: l, seed: 22)
        for i in 0..<m { for j in 0..<l { a[i * ld + j] += 3e-4 * drift[i, j] / Float(m).squareRoot() } }
        let before = Self.block(a, m: m, l: l, ld: ld)
        #expect(TestMatrices.orthonormalityError(columnsOf: before) > 1e-5)
        try path.run { a.withUnsafeMutableBufferPointer { reorthonormalizeColumns($0.baseAddress!, rows: m, cols: l, ld: ld) } }
        let after = Self.block(a, m: m, l: l, ld: ld)
        #expect(TestMatrices.orthonormalityError(columnsOf: after) < 1e-6)
        #expect(zip(after.values, before.values).map { abs($0 - $1) }.max()! < 1e-3)
        #expect((0..<m).allSatisfy { i in (l..<ld).allSatisfy { a[i * ld + $0] == 7 } })
    }

    /// Columns far from orthonormal (long, short, nearly parallel) are not a drift: the Householder
    /// fallback still returns an orthonormal block spanning the same space.
    @Test func reorthonormalize_fallsBackForAGeneralBlock() throws {
        let (m, l, ld) = (300, 12, 12)
        var a = TestMatrices.random(rows: m, cols: l, seed: 23).values
        for i in 0..<m {
            a[i * ld + 0] *= 40
            a[i * ld + 3] *= 0.01
            a[i * ld + 5] = a[i * ld + 4] + 1e-3 * a[i * ld + 5]
        }
        let input = Self.block(a, m: m, l: l, ld: ld)
        a.withUnsafeMutableBufferPointer { reorthonormalizeColumns($0.baseAddress!, rows: m, cols: l, ld: ld) }
        let q = Self.block(a, m: m, l: l, ld: ld)
        #expect(TestMatrices.orthonormalityError(columnsOf: q) < 1e-5)
        // Same span: each input column is reproduced by its projection on Q.
        let coefficients = try matmulTransposedA(q, input)
        let back = try matmul(q, coefficients)
        for j in 0..<l {
            let column = (0..<m).map { Double(input[$0, j]) }
            let norm = column.reduce(0) { $0 + $1 * $1 }.squareRoot()
            let residual = (0..<m).map { Double(back[$0, j]) - column[$0] }.reduce(0) { $0 + $1 * $1 }.squareRoot()
            #expect(residual < 1e-4 * norm, "column \(j)")
        }
    }
}
