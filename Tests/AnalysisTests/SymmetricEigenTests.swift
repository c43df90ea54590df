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

    @Test func blockedEigenvalues_agreeWithTheUnblockedReduction() throws {
        let n = 300
        let a = TestMatrices.random(rows: n, cols: 410, seed: 7)
        let gram = try matmulTransposedB(a, a).values.map(Double.init)
        let blocked = try symmetricEigen(gram, n: n, vectors: false).values
        let unblocked = try symmetricEigen(gram, n: n, vectors: true).values
        let scale = unblocked[0]
        for (x, y) in zip(blocked, unblocked) { #expect(abs(x - y) <= 1e-11 * scale) }
    }
}
