import Foundation
import Kernels
import Testing
@testable import Analysis

@Suite struct SymmetricEigenTests {
    /// A symmetric matrix with a known spectrum: Q·diag(λ)·Qᵀ with Q a product of Householder
    /// reflections, λ spread over six decades with some repeated values.
    static func known(n: Int, seed: UInt64) -> (matrix: [Double], values: [Double]) {
        var values = (0..<n).map { i in pow(10, -6 * Double(i) / Double(max(n - 1, 1))) * (i % 3 == 0 ? -1 : 1) }
        if n > 8 { values[5] = values[4] }
        var m = [Double](repeating: 0, count: n * n)
        for i in 0..<n { m[i * n + i] = values[i] }
        for r in 0..<3 {
            let v = (0..<n).map { TestMatrices.hashUniform(seed: seed &+ UInt64(r), index: UInt64($0)) }
            let vv = v.reduce(0) { $0 + $1 * $1 }
            guard vv > 0 else { continue }
            // m ← H m H with H = I − 2vvᵀ/vᵀv
            var mv = [Double](repeating: 0, count: n)
            for i in 0..<n { for j in 0..<n { mv[i] += m[i * n + j] * v[j] } }
            let vmv = zip(v, mv).reduce(0) { $0 + $1.0 * $1.1 }
            let c = 2 / vv
            for i in 0..<n {
                for j in 0..<n {
                    m[i * n + j] += -c * (v[i] * mv[j] + mv[i] * v[j]) + c * c * vmv * v[i] * v[j]
                }
            }
        }
        return (m, values.sorted(by: >))
    }

    @Test(arguments: [1, 2, 3, 5, 33, 64, 65, 66, 97, 130, 257])
    func blockedEigenvalues_matchTheKnownSpectrum(n: Int) throws {
        let (m, expected) = Self.known(n: n, seed: UInt64(n))
        for path in KernelPath.supported {
            let values = try path.run { try symmetricEigen(m, n: n, vectors: false).values }
            #expect(values.count == n)
            for (got, want) in zip(values, expected) {
                #expect(abs(got - want) <= 1e-12 * Double(n), "n \(n) path \(path): \(got) vs \(want)")
            }
        }
    }

    /// The top eigenvalues by bisection (what a LoRA's report uses) against the known spectrum and
    /// against QL on the same tridiagonal matrix, on matrices with repeated, negative, zero and
    /// tiny eigenvalues.
    @Test(arguments: [1, 2, 5, 33, 128, 257])
    func topEigenvalues_byBisection_matchTheKnownSpectrum(n: Int) throws {
        let (m, expected) = Self.known(n: n, seed: UInt64(n) &+ 40)
        for top in [1, 4, n - 1, n + 3] where top >= 1 {
            let values = try symmetricEigenvaluesBlocked(m, n: n, top: top)
            #expect(values.count == min(top, n))
            for (got, want) in zip(values, expected) {
                #expect(abs(got - want) <= 1e-12 * Double(n), "n \(n) top \(top): \(got) vs \(want)")
            }
        }
    }

    @Test func topEigenvalues_byBisection_agreeWithQLOnHardTridiagonals() throws {
        let n = 128
        let cases: [(String, [Double], [Double])] = [
            ("zero", [Double](repeating: 0, count: n), [Double](repeating: 0, count: n)),
            ("rank deficient", (0..<n).map { $0 < 4 ? Double($0 + 1) : 0 }, (0..<n).map { $0 < 3 ? 0.5 : 0 }),
            ("clustered", (0..<n).map { 1 + 1e-13 * Double($0 % 3) }, (0..<n).map { $0 % 7 == 0 ? 1e-14 : 0 }),
            ("graded", (0..<n).map { pow(10, -Double($0) / 8) }, (0..<n).map { 1e-3 * pow(10, -Double($0) / 8) }),
            ("negative", (0..<n).map { -Double($0) }, (0..<n).map { _ in 0.25 }),
            ("random", (0..<n).map { TestMatrices.hashUniform(seed: 5, index: UInt64($0)) },
             (0..<n).map { TestMatrices.hashUniform(seed: 6, index: UInt64($0)) }),
        ]
        for (name, d, e0) in cases {
            var e = e0
            e[n - 1] = 0
            var dq = d, eq = e, none = [Double]()
            try tridiagonalQL(d: &dq, e: &eq, n: n, zt: &none, kernels: .current)
            let reference = dq.sorted(by: >)
            let norm = reference.map(abs).max()!
            let got = largestTridiagonalEigenvalues(d: d, e: e, count: 6)
            #expect(got.count == 6)
            for (g, want) in zip(got, reference) {
                #expect(abs(g - want) <= 8 * Double.ulpOfOne * norm * Double(n) + 1e-300, "\(name): \(g) vs \(want)")
            }
        }
        // NaN in the matrix gives NaN values, not a hang.
        let withNaN = largestTridiagonalEigenvalues(d: [1, .nan, 2], e: [0.5, 0.5, 0], count: 2)
        #expect(withNaN.count == 2 && withNaN.allSatisfy { $0.isNaN })
    }

    /// The reduction split between two threads (symmetric products of trailing matrices of at
    /// least 320 columns, every panel update) gives the same spectrum on every path.
    @Test(arguments: [330, 517])
    func parallelReduction_matchesTheKnownSpectrum(n: Int) throws {
        let (m, expected) = Self.known(n: n, seed: UInt64(n))
        for path in KernelPath.supported {
            let values = try path.run { try symmetricEigenvaluesBlocked(m, n: n, parallel: true) }
            #expect(values.count == n)
            for (got, want) in zip(values, expected) {
                #expect(abs(got - want) <= 1e-12 * Double(n), "n \(n) path \(path): \(got) vs \(want)")
            }
        }
    }

    @Test func blockedEigenvalues_agreeWithTheUnblockedReduction() throws {
        let n = 300
        let a = TestMatrices.random(rows: n, cols: 410, seed: 7)
        let gram = try matmulTransposedB(a, a).values.map(Double.init)
        let blocked = try symmetricEigen(gram, n: n, vectors: false).values
        let unblocked = try symmetricEigen(gram, n: n, vectors: true).values
        let scale = unblocked[0]
        for (x, y) in zip(blocked, unblocked) { #expect(abs(x - y) <= 1e-11 * scale) }
    }

    /// A rank-deficient Gram matrix (a LoRA's dW = up · down is rank 4): its zero eigenvalues
    /// come out of the reduction as noise of size eps · ‖A‖, which a purely relative deflation
    /// test never accepts ("did not converge" before the norm-based test). Both paths converge,
    /// the r eigenvalues are right and the rest are zero to eps · ‖A‖.
    @Test(arguments: [(40, 1), (80, 8), (320, 1), (320, 4), (257, 2)])
    func rankDeficientGram_converges(n: Int, rank r: Int) throws {
        let b = (0..<(n * r)).map { TestMatrices.hashUniform(seed: UInt64(n * 31 + r), index: UInt64($0)) }
        // In Double, so B·Bᵀ is rank r up to rounding; its nonzero eigenvalues are those of Bᵀ·B.
        var gram = [Double](repeating: 0, count: n * n), small = [Double](repeating: 0, count: r * r)
        for i in 0..<n { for j in 0..<n { for k in 0..<r { gram[i * n + j] += b[i * r + k] * b[j * r + k] } } }
        for i in 0..<r { for j in 0..<r { for k in 0..<n { small[i * r + j] += b[k * r + i] * b[k * r + j] } } }
        let expected = try symmetricEigen(small, n: r, vectors: false).values
        for vectors in [false, true] {
            let e = try symmetricEigen(gram, n: n, vectors: vectors)
            let scale = e.values[0]
            for i in 0..<r { #expect(abs(e.values[i] - expected[i]) <= 1e-10 * scale, "n \(n) rank \(r): \(e.values[i]) vs \(expected[i])") }
            for i in r..<n { #expect(abs(e.values[i]) <= 1e-12 * scale, "n \(n) rank \(r): eigenvalue \(i) = \(e.values[i])") }
        }
    }

    /// The expanded view's SVD of a rank-4 matrix (what LTVisualizeDelta draws for a LoRA): six
    /// components asked, four carry all of ‖A‖²_F and the other two are zero.
    @Test func truncatedSVD_ofALowRankMatrix() throws {
        let up = TestMatrices.random(rows: 320, cols: 4, seed: 3), down = TestMatrices.random(rows: 4, cols: 320, seed: 4)
        let a = try matmulTransposedB(up, down.transposed())
        let svd = try truncatedSVD(a, rank: 6)
        let frobenius2 = a.values.reduce(0.0) { $0 + Double($1) * Double($1) }
        let top4 = svd.singularValues.prefix(4).reduce(0.0) { $0 + Double($1) * Double($1) }
        #expect(abs(top4 - frobenius2) <= 1e-4 * frobenius2)
        #expect(svd.singularValues.suffix(2).allSatisfy { Double($0) <= 1e-3 * Double(svd.singularValues[0]) }, "\(svd.singularValues)")
    }
}
