import CKernels
import Foundation
import Kernels
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

    /// The r×r Double products behind the spectrum (`gemm_d`, T = G·C and S = Cᵀ·T) on every
    /// path: sizes on and off the register tile, A read transposed, triangular operands whose
    /// zero steps are skipped, against a plain triple loop.
    @Test(arguments: KernelPath.supported)
    func doubleProductKernel_matchesAPlainProduct(path: KernelPath) throws {
        for (m, n, k) in [(128, 128, 128), (4, 16, 3), (13, 21, 17), (1, 1, 1), (37, 5, 64)] {
            func value(_ seed: UInt64, _ i: Int) -> Double { TestMatrices.hashUniform(seed: seed, index: UInt64(i)) }
            for shape in [0, Int32(WL_GEMM_D_B_LOWER), Int32(WL_GEMM_D_A_UPPER)] {
                // A (m×k) stored transposed when it is upper triangular (the Cᵀ of the spectrum).
                var a = [Double](repeating: 0, count: m * k), b = [Double](repeating: 0, count: k * n)
                for i in 0..<m { for p in 0..<k where shape != WL_GEMM_D_A_UPPER || p >= i { a[p * m + i] = value(1, i * k + p) } }
                for p in 0..<k { for j in 0..<n where shape != WL_GEMM_D_B_LOWER || p >= j { b[p * n + j] = value(2, p * n + j) } }
                var want = [Double](repeating: 0, count: m * n)
                for i in 0..<m { for j in 0..<n { for p in 0..<k { want[i * n + j] += a[p * m + i] * b[p * n + j] } } }
                var got = [Double](repeating: .nan, count: m * n)
                try path.run {
                    let t = wl_current()
                    a.withUnsafeBufferPointer { ap in
                        b.withUnsafeBufferPointer { bp in
                            got.withUnsafeMutableBufferPointer { gp in
                                t.pointee.gemm_d(m, n, k, ap.baseAddress!, 1, m, bp.baseAddress!, n, gp.baseAddress!, n, shape)
                            }
                        }
                    }
                }
                for idx in want.indices {
                    #expect(abs(got[idx] - want[idx]) <= 1e-12 * Double(k), "\(path) \(m)×\(k)·\(k)×\(n) shape \(shape) entry \(idx)")
                }
            }
        }
    }

    /// The factors' Gram matrices read in place (`gram_cols` for LᵀL, `gram_rows` for R·Rᵀ) on
    /// every path: widths on and off the register tiles (6 × NR and 4 × 4), long sides across the
    /// slice boundaries (64 and 1024) and below one vector, a row stride wider than the rows, against
    /// a plain Double sum. Only the lower triangle is specified.
    @Test(arguments: KernelPath.supported)
    func gramKernels_matchAPlainSum(path: KernelPath) throws {
        for k in [1, 3, 5, 6, 7, 31, 33, 130] {
            for long in [0, 1, 15, 65, 200, 1100] where k * long <= 130 * 200 || k <= 7 {
                let ld = k + 3, ldr = long + 5
                // X of `long` rows × k (gram_cols) and its transpose stored as k rows × long (gram_rows).
                var x = [Float](repeating: .nan, count: max(1, long * ld)), xt = [Float](repeating: .nan, count: max(1, k * ldr))
                for p in 0..<long {
                    for i in 0..<k {
                        let v = Float(TestMatrices.hashUniform(seed: 7, index: UInt64(p * k + i)) * 2 - 1)
                        x[p * ld + i] = v
                        xt[i * ldr + p] = v
                    }
                }
                var want = [Double](repeating: 0, count: k * k), scale = [Double](repeating: 0, count: k)
                for p in 0..<long {
                    for i in 0..<k {
                        scale[i] += Double(x[p * ld + i]) * Double(x[p * ld + i])
                        for j in 0...i { want[i * k + j] += Double(x[p * ld + i]) * Double(x[p * ld + j]) }
                    }
                }
                var cols = [Float](repeating: .nan, count: k * k), rows = [Float](repeating: .nan, count: k * k)
                try path.run {
                    let t = wl_current()
                    x.withUnsafeBufferPointer { xp in cols.withUnsafeMutableBufferPointer { t.pointee.gram_cols(xp.baseAddress!, long, k, ld, $0.baseAddress!, k) } }
                    xt.withUnsafeBufferPointer { xp in rows.withUnsafeMutableBufferPointer { t.pointee.gram_rows(xp.baseAddress!, k, long, ldr, $0.baseAddress!, k) } }
                }
                for i in 0..<k {
                    for j in 0...i {
                        let bound = 1e-6 * Double(max(long, 1)).squareRoot() * (scale[i] * scale[j]).squareRoot() + 1e-30
                        #expect(abs(Double(cols[i * k + j]) - want[i * k + j]) <= bound, "\(path) gram_cols \(long)×\(k) (\(i), \(j))")
                        #expect(abs(Double(rows[i * k + j]) - want[i * k + j]) <= bound, "\(path) gram_rows \(k)×\(long) (\(i), \(j))")
                    }
                }
            }
        }
    }

    /// Split across the cores (the long sides cut into parts whose Gram matrices are added), the
    /// spectrum is the one computed on one core.
    @Test func spectrum_inParts_isTheWholeOne() throws {
        let l = TestMatrices.random(rows: 5000, cols: 9, seed: 43), rt = TestMatrices.random(rows: 9, cols: 4500, seed: 44)
        let one = try productSpectrum(l, rt, top: 4, parallel: false), parts = try productSpectrum(l, rt, top: 4, parallel: true)
        for (x, y) in zip(parts.singularValues, one.singularValues) { #expect(abs(x - y) <= 1e-5 * one.singularValues[0]) }
        #expect(abs(parts.sumOfSquares - one.sumOfSquares) <= 1e-5 * one.sumOfSquares)
    }

    /// The spectrum from the factors is the same on every path (to Float rounding).
    @Test func spectrum_agreesAcrossPaths() throws {
        let l = TestMatrices.random(rows: 300, cols: 24, seed: 41), rt = TestMatrices.random(rows: 24, cols: 170, seed: 42)
        let reference = try productSpectrum(l, rt, top: 4, parallel: false)
        for path in KernelPath.supported {
            let got = try path.run { try productSpectrum(l, rt, top: 4, parallel: false) }
            for (x, y) in zip(got.singularValues, reference.singularValues) { #expect(abs(x - y) <= 1e-5 * reference.singularValues[0], "\(path)") }
            #expect(abs(got.sumOfSquares - reference.sumOfSquares) <= 1e-5 * reference.sumOfSquares)
        }
    }

    @Test func emptyAndMismatched() throws {
        #expect(try productEntryMoments(Matrix(zeros: 0, 3), Matrix(zeros: 3, 5)) == ProductEntryMoments(sumOfSquares: 0, maxAbs: 0))
        #expect(throws: AnalysisError.self) { try productEntryMoments(Matrix(zeros: 2, 3), Matrix(zeros: 4, 5)) }
        #expect(throws: AnalysisError.self) { try productSingularValues(Matrix(zeros: 2, 3), Matrix(zeros: 4, 5), top: 2) }
    }
}
