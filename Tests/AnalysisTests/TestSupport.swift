import Foundation
@testable import Analysis

/// Deterministic matrices for tests, generated from an integer hash so the Python reference
/// script (Tests/Fixtures/reference/make_reference.py) can produce the very same values.
enum TestMatrices {
    /// Uniform in [-1, 1) from a 64-bit mix of (seed, index) — the same formula as `hash_uniform`
    /// in the reference script.
    static func hashUniform(seed: UInt64, index: UInt64) -> Double {
        var z = seed &* 0x9E37_79B9_7F4A_7C15 &+ index &* 0xD1B5_4A32_D192_ED03
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z = z ^ (z >> 31)
        return Double(z >> 11) / Double(UInt64(1) << 52) - 1
    }

    static func random(rows: Int, cols: Int, seed: UInt64) -> Matrix {
        Matrix(rows: rows, cols: cols, values: (0..<(rows * cols)).map { Float(hashUniform(seed: seed, index: UInt64($0))) })
    }

    /// Σ_r decay^r · u_r v_rᵀ with smooth sinusoidal factors, plus `noise` · uniform hash noise:
    /// a spectrum that decays geometrically into a noise floor, like trained weights. The
    /// arithmetic matches `structured` in Tests/Fixtures/reference/make_reference.py operation
    /// for operation, so both build the same Float32 matrix.
    static func structured(rows: Int, cols: Int, rank: Int, decay: Double, noise: Double, seed: UInt64) -> Matrix {
        var s = [Double](repeating: 0, count: rows * cols)
        for r in 0..<rank {
            let fr = Double(r + 1)
            let u = (0..<rows).map { sin(Double($0) * 0.37 * fr / Double(rows) * 10 + fr) }
            let w = (0..<cols).map { cos(Double($0) * 0.53 * fr / Double(cols) * 10 + 2 * fr) }
            let strength = pow(decay, Double(r))
            for i in 0..<rows {
                let su = strength * u[i]
                for j in 0..<cols { s[i * cols + j] = s[i * cols + j] + su * w[j] }
            }
        }
        var v = [Float](repeating: 0, count: rows * cols)
        for i in 0..<(rows * cols) { v[i] = Float(s[i] + noise * hashUniform(seed: seed, index: UInt64(i))) }
        return Matrix(rows: rows, cols: cols, values: v)
    }

    /// Directory of the shared test fixtures (Tests/Fixtures), found from this file's path.
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func naiveProduct(_ a: Matrix, _ b: Matrix) -> [Double] {
        var c = [Double](repeating: 0, count: a.rows * b.cols)
        for i in 0..<a.rows { for p in 0..<a.cols { let x = Double(a[i, p]); for j in 0..<b.cols { c[i * b.cols + j] += x * Double(b[p, j]) } } }
        return c
    }

    /// ‖x − ref‖² / ‖ref‖².
    static func nmse(_ x: [Float], _ ref: [Double]) -> Double {
        var num = 0.0, den = 0.0
        for i in 0..<ref.count { let d = Double(x[i]) - ref[i]; num += d * d; den += ref[i] * ref[i] }
        return den == 0 ? num : num / den
    }

    /// max |QᵀQ − I| over the columns of q (rows × k).
    static func orthonormalityError(columnsOf q: Matrix) -> Double {
        var worst = 0.0
        for a in 0..<q.cols {
            for b in a..<q.cols {
                var s = 0.0
                for i in 0..<q.rows { s += Double(q[i, a]) * Double(q[i, b]) }
                worst = max(worst, abs(s - (a == b ? 1 : 0)))
            }
        }
        return worst
    }
}
