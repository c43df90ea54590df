import Foundation
import Testing
@testable import Analysis

/// Norm, largest entry and singular values of L·R from the factors, against the formed product.
@Suite struct FactoredProductTests {
    /// (m, r, n): row counts that are and are not multiples of the MC block, an inner size above
    /// the KC slice (256), a wide conv-like right factor, and r larger than m.
    static let shapes: [(Int, Int, Int)] = [(96, 8, 40), (301, 16, 577), (130, 300, 90), (640, 32, 5760), (6, 12, 50)]

    @Test(arguments: shapes.indices)
    func matchesTheFormedProduct(_ index: Int) throws {
        let (m, r, n) = Self.shapes[index]
        let l = TestMatrices.random(rows: m, cols: r, seed: UInt64(10 + index))
        let rt = TestMatrices.random(rows: r, cols: n, seed: UInt64(20 + index))
        let p = try matmul(l, rt)
        var sum = 0.0
        var mx: Float = 0
        for v in p.values { sum += Double(v) * Double(v); mx = max(mx, abs(v)) }
        for parallel in [true, false] {
            let moments = try productEntryMoments(l, rt, parallel: parallel)
            #expect(abs(moments.sumOfSquares - sum) <= 1e-5 * sum)
            #expect(moments.maxAbs == mx, "the entries are the GEMM's own, so the maximum is the same Float")
        }
        let want = try allSingularValues(p)
        let got = try productSingularValues(l, rt, top: 4)
        #expect(got.count == 4)
        for i in 0..<min(4, want.count) {
            #expect(abs(got[i] - want[i]) <= 2e-4 * want[0], "σ\(i + 1): \(got) vs \(want.prefix(4))")
        }
    }

    /// A right factor with a zero row (R·Rᵀ singular: the Cholesky breaks down and the
    /// eigendecomposition takes over), and more values asked than the product's rank.
    @Test func singularFactorAndZerosPastTheRank() throws {
        let l = TestMatrices.random(rows: 50, cols: 3, seed: 5)
        var rt = TestMatrices.random(rows: 3, cols: 40, seed: 6)
        for j in 0..<40 { rt[1, j] = 0 }
        let want = try allSingularValues(try matmul(l, rt))
        let got = try productSingularValues(l, rt, top: 4)
        #expect(got.count == 4 && got[2] == 0 && got[3] == 0)
        for i in 0..<2 { #expect(abs(got[i] - want[i]) <= 1e-4 * want[0], "\(got) vs \(want.prefix(4))") }
        #expect(try productSingularValues(l, rt, top: 0).isEmpty)
    }

    @Test func emptyAndMismatched() throws {
        #expect(try productEntryMoments(Matrix(zeros: 0, 3), Matrix(zeros: 3, 5)) == ProductEntryMoments(sumOfSquares: 0, maxAbs: 0))
        #expect(throws: AnalysisError.self) { try productEntryMoments(Matrix(zeros: 2, 3), Matrix(zeros: 4, 5)) }
        #expect(throws: AnalysisError.self) { try productSingularValues(Matrix(zeros: 2, 3), Matrix(zeros: 4, 5), top: 2) }
    }
}
