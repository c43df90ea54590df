import Foundation
import Kernels
import Testing
@testable import Analysis

/// `productMaxAbs` (the integer screen, then exact recomputation of the tiles that can hold the
/// maximum) against the largest |entry| computed in Double entry by entry, on every kernel path
/// this machine runs, for random factors and for inputs chosen to break the bounds.
@Suite struct FactoredMaxAbsTests {
    struct Case: CustomStringConvertible, Sendable {
        let description: String
        let l: Matrix, r: Matrix
    }

    static func matrix(_ rows: Int, _ cols: Int, _ f: (Int, Int) -> Float) -> Matrix {
        var m = Matrix(zeros: rows, cols)
        for i in 0..<rows { for j in 0..<cols { m[i, j] = f(i, j) } }
        return m
    }

    static func rand(_ seed: UInt64, _ index: Int) -> Float { Float(TestMatrices.hashUniform(seed: seed, index: UInt64(index))) }

    static let cases: [Case] = {
        var c: [Case] = []
        // Shapes off the 6 × 32 tile grid, depth 1, odd depths, a LoRA-like depth of 128.
        for (i, (m, k, n)) in [(50, 128, 200), (7, 1, 33), (13, 3, 65), (96, 257, 40), (1, 2, 1), (190, 64, 97)].enumerated() {
            c.append(Case(description: "random \(m)x\(k)x\(n)", l: TestMatrices.random(rows: m, cols: k, seed: UInt64(100 + i)),
                          r: TestMatrices.random(rows: k, cols: n, seed: UInt64(200 + i))))
        }
        // Every entry of the same magnitude (all ties), with and without alternating signs.
        c.append(Case(description: "all equal", l: matrix(10, 16) { _, _ in 1 }, r: matrix(16, 70) { _, _ in 1 }))
        c.append(Case(description: "equal magnitudes, signs alternate", l: matrix(11, 16) { i, _ in i % 2 == 0 ? 0.5 : -0.5 },
                      r: matrix(16, 40) { _, j in j % 3 == 0 ? -2 : 2 }))
        // Zeros: the whole product, and zero rows and columns among random ones.
        c.append(Case(description: "all zero", l: Matrix(zeros: 20, 8), r: TestMatrices.random(rows: 8, cols: 50, seed: 3)))
        c.append(Case(description: "zero rows and columns", l: matrix(30, 12) { i, j in i % 4 == 1 ? 0 : rand(4, i * 12 + j) },
                      r: matrix(12, 70) { p, j in j % 5 == 2 ? 0 : rand(5, p * 70 + j) }))
        // Rows and columns over 30 and 20 decades: every row has its own scale.
        c.append(Case(description: "huge dynamic range",
                      l: matrix(40, 32) { i, j in rand(6, i * 32 + j) * powf(10, Float(i % 31) - 15) },
                      r: matrix(32, 60) { p, j in rand(7, p * 60 + j) * powf(10, Float(j % 21) - 10) }))
        // Within one row: one large value and many small ones (quantised to zero).
        c.append(Case(description: "dynamic range within rows",
                      l: matrix(25, 40) { i, j in j == i % 40 ? 1e6 : rand(8, i * 40 + j) * 1e-3 },
                      r: matrix(40, 45) { p, j in p == (j * 7) % 40 ? 1e-6 : rand(9, p * 45 + j) }))
        // Subnormal products: every entry far below the screen's absolute slack.
        c.append(Case(description: "subnormal entries", l: matrix(9, 8) { i, j in rand(10, i * 8 + j) * 1e-38 },
                      r: matrix(8, 40) { p, j in rand(11, p * 40 + j) * 1e-4 }))
        // Scales below 2⁻¹⁰⁰, whose reciprocals overflow a Float (the packers switch to Double).
        c.append(Case(description: "tiny rows", l: matrix(14, 16) { i, j in rand(17, i * 16 + j) * 1e-33 },
                      r: TestMatrices.random(rows: 16, cols: 70, seed: 18)))
        c.append(Case(description: "tiny columns", l: TestMatrices.random(rows: 14, cols: 16, seed: 19),
                      r: matrix(16, 70) { p, j in rand(20, p * 70 + j) * (j % 3 == 0 ? 1e-33 : 1e-3) }))
        // Near-ties: every column the same vector plus a perturbation at the quantisation step's scale.
        c.append(Case(description: "near ties", l: TestMatrices.random(rows: 60, cols: 64, seed: 12),
                      r: matrix(64, 200) { p, j in sinf(Float(p)) + 1e-4 * rand(13, p * 200 + j) }))
        // Cancellation: L·R is 1e-5 of what the factors' norms allow (the bounds cover everything).
        let x = TestMatrices.random(rows: 35, cols: 20, seed: 14), y = TestMatrices.random(rows: 20, cols: 50, seed: 15)
        c.append(Case(description: "cancellation",
                      l: matrix(35, 40) { i, j in x[i, j % 20] },
                      r: matrix(40, 50) { p, j in p < 20 ? y[p, j] : -y[p - 20, j] + 1e-5 * rand(16, p * 50 + j) }))
        return c
    }()

    /// max |entry| in Double, entry by entry.
    static func bruteForce(_ l: Matrix, _ r: Matrix) -> Float {
        var best = 0.0
        for i in 0..<l.rows {
            for j in 0..<r.cols {
                var s = 0.0
                for p in 0..<l.cols { s += Double(l[i, p]) * Double(r[p, j]) }
                best = max(best, abs(s))
            }
        }
        return Float(best)
    }

    @Test(arguments: cases, KernelPath.supportedVariants)
    func matchesTheLargestEntry(_ c: Case, path: KernelPath.Variant) throws {
        try path.run {
            let want = Self.bruteForce(c.l, c.r)
            let got = try productMaxAbs(c.l, c.r)
            #expect(abs(got - want) <= max(2e-7 * want, 3e-45), "\(c): \(got) vs \(want)")
        }
    }

    /// Every tile's upper bound holds each of its entries, and the best lower bound is below the
    /// largest entry: the screen itself, not only the final answer.
    @Test(arguments: cases, KernelPath.supportedVariants)
    func boundsHoldTheEntries(_ c: Case, path: KernelPath.Variant) throws {
        try path.run {
            let screen = try #require(QuantisedScreen(c.l, c.r))
            let (upper, lower) = screen.bounds()
            let qmr = QuantisedScreen.qmr, qnr = QuantisedScreen.qnr
            var top = 0.0
            for i in 0..<c.l.rows {
                for j in 0..<c.r.cols {
                    var s = 0.0
                    for p in 0..<c.l.cols { s += Double(c.l[i, p]) * Double(c.r[p, j]) }
                    top = max(top, abs(s))
                    let u = Double(upper[(i / qmr) * screen.colPanels + j / qnr])
                    #expect(abs(s) <= u * (1 + 0x1p-18) + 1e-37, "\(c) entry (\(i), \(j)): \(abs(s)) above its bound \(u)")
                }
            }
            #expect(Double(lower) <= top * (1 + 1e-7), "\(c): lower bound \(lower) above the maximum \(top)")
        }
    }

    /// How much the screen leaves to recompute on Gaussian factors like a LoRA's (r = 128): a
    /// handful of tiles, or the screen is not doing its job.
    @Test(arguments: KernelPath.supportedVariants)
    func fewTilesAreRecomputed(path: KernelPath.Variant) throws {
        func gauss(_ seed: UInt64, _ i: Int) -> Float {
            let u1 = max(Self.rand(seed, 2 * i), 1e-7), u2 = Self.rand(seed, 2 * i + 1)
            return sqrtf(-2 * logf(u1)) * cosf(2 * .pi * u2)
        }
        let l = Self.matrix(600, 128) { i, j in gauss(20, i * 128 + j) }, r = Self.matrix(128, 960) { p, j in gauss(21, p * 960 + j) }
        try path.run {
            let screen = try #require(QuantisedScreen(l, r))
            let (upper, lower) = screen.bounds()
            let candidates = upper.filter { $0 * (1 + 0x1p-18) + 1e-37 >= lower }.count
            #expect(candidates >= 1 && candidates * 100 <= upper.count, "\(candidates) of \(upper.count) tiles")
        }
    }

    /// Factors the screen does not take: values that are not finite, products that could overflow
    /// its Float bounds, depth past WL_QMAX_DEPTH. They go through the Float GEMM, as before.
    @Test(arguments: KernelPath.supported)
    func fallsBackToTheGEMM(path: KernelPath) throws {
        try path.run {
            var l = TestMatrices.random(rows: 12, cols: 8, seed: 30)
            let r = TestMatrices.random(rows: 8, cols: 40, seed: 31)
            l[3, 2] = .nan
            #expect(QuantisedScreen(l, r) == nil)
            let nanMax = try productMaxAbs(l, r)
            #expect(nanMax == (try productEntryMoments(l, r, parallel: false)).maxAbs && nanMax.isFinite && nanMax > 0,
                    "NaN entries never win")
            l[3, 2] = .infinity
            #expect(try productMaxAbs(l, r) == .infinity)
            let big = Self.matrix(7, 4) { i, j in 1e20 * Self.rand(32, i * 4 + j) }, bigR = Self.matrix(4, 9) { p, j in 1e19 * Self.rand(33, p * 9 + j) }
            #expect(QuantisedScreen(big, bigR) == nil)
            #expect(try productMaxAbs(big, bigR) == (try productEntryMoments(big, bigR, parallel: false)).maxAbs)
            let deep = TestMatrices.random(rows: 2, cols: 16400, seed: 34), deepR = TestMatrices.random(rows: 16400, cols: 3, seed: 35)
            #expect(try productMaxAbs(deep, deepR) == (try productEntryMoments(deep, deepR, parallel: false)).maxAbs)
        }
        #expect(try productMaxAbs(Matrix(zeros: 0, 3), Matrix(zeros: 3, 5)) == 0)
        #expect(throws: AnalysisError.self) { try productMaxAbs(Matrix(zeros: 2, 3), Matrix(zeros: 4, 5)) }
    }
}
