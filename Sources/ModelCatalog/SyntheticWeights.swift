import Foundation
import TensorCore

// Structured synthetic weights. The idea follows the brief's reference generator: low-rank
// matrices with smooth factors and decaying singular values, conv kernels built from oriented
// Gabor patches, smooth norm scales — so SVD / NMF / filter views show structure, not noise.
// The values are our own (a different RNG); they depend only on (seed, key, shape), never on order.
//
// Speed matters (a full-size SDXL file is 3.5 G values): every tensor is "rows × columns" where a
// row is a short sum of precomputed basis rows plus a slice of a shared Gaussian noise table, so
// each element costs a few fused multiply-adds and no transcendental functions.

extension SplitMix64 {
    /// Standard normal (Box–Muller).
    mutating func gaussian() -> Float {
        let u1 = max(uniform(), 1e-7), u2 = uniform()
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }
}

/// FNV-1a of the key, so each tensor gets its own stream.
func keyHash(_ key: String) -> UInt64 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for b in key.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
    return h
}

/// A tensor seen as `rows × cols` with a cheap per-row generator.
struct RowGenerator: Sendable {
    static let noiseBits = 16
    let rows: Int
    let cols: Int
    /// k basis rows of length `cols`, already scaled (row-major k × cols).
    let basis: [Float]
    /// Per-row coefficients (rows × k).
    let coefficients: [Float]
    let k: Int
    /// Constant added to every element (1 for norm scales).
    let offset: Float
    /// Noise amplitude and the shared table.
    let noiseAmplitude: Float
    let noise: [Float]
    let noiseSeed: UInt64
    /// Optional conv term: for row r, `orientedRows[r·taps + t] * amp[i]` is added at column i·taps + t.
    let taps: Int
    let orientedRows: [Float]
    let amp: [Float]
    /// Integer tensors: value = column index (position ids).
    let isRamp: Bool

    func row(_ r: Int, into dst: UnsafeMutablePointer<Float>) {
        if isRamp {
            for j in 0..<cols { dst[j] = Float(j) }
            return
        }
        for j in 0..<cols { dst[j] = offset }
        basis.withUnsafeBufferPointer { b in
            for kk in 0..<k {
                let a = coefficients[r * k + kk]
                let base = b.baseAddress! + kk * cols
                for j in 0..<cols { dst[j] += a * base[j] }
            }
        }
        if taps > 0 {
            orientedRows.withUnsafeBufferPointer { o in
                amp.withUnsafeBufferPointer { am in
                    let g = o.baseAddress! + r * taps
                    for i in 0..<(cols / taps) {
                        let s = am[i]
                        for t in 0..<taps { dst[i * taps + t] += s * g[t] }
                    }
                }
            }
        }
        if noiseAmplitude != 0 {
            var rng = SplitMix64(seed: noiseSeed ^ UInt64(r) &* 0xD6E8_FEB8_6659_FD93)
            let mask = (1 << Self.noiseBits) - 1
            var start = Int(rng.next() & UInt64(mask))
            noise.withUnsafeBufferPointer { nz in
                var j = 0
                while j < cols {
                    let run = min(cols - j, mask + 1 - start)
                    for t in 0..<run { dst[j + t] += noiseAmplitude * nz[start + t] }
                    j += run
                    start = 0
                }
            }
        }
    }
}

enum SyntheticWeights {
    /// Shared unit-Gaussian noise table (2^16 values) for a seed.
    static func noiseTable(seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed ^ 0x5EED_5EED_5EED_5EED)
        return (0..<(1 << RowGenerator.noiseBits)).map { _ in rng.gaussian() }
    }

    /// `count` smooth unit-norm vectors of length n (row-major n × count): sinusoids under envelopes plus a little noise.
    static func smoothFactors(_ rng: inout SplitMix64, n: Int, count k: Int) -> [Float] {
        var f = [Float](repeating: 0, count: n * k)
        for c in 0..<k {
            let freq = rng.uniform(0.5, 6) * (1 + Float(c) * 0.7)
            let phase = rng.uniform(0, 2 * .pi)
            let centre = rng.uniform(0.2, 0.8)
            let width = rng.uniform(0.15, 0.6)
            var norm: Float = 0
            for t in 0..<n {
                let x = n > 1 ? Float(t) / Float(n - 1) : 0
                let d = x - centre
                let v = sin(2 * .pi * freq * x + phase) * exp(-d * d / (2 * width * width)) + 0.15 * rng.gaussian()
                f[t * k + c] = v
                norm += v * v
            }
            let inv = 1 / (norm.squareRoot() + 1e-6)
            for t in 0..<n { f[t * k + c] *= inv }
        }
        return f
    }

    /// Low-rank `o × i` matrix: U diag(s) Vᵀ at RMS 1, plus noise, divided by √i.
    static func lowRank(_ rng: inout SplitMix64, rows o: Int, cols i: Int, noise: [Float], rank: Int = 12) -> RowGenerator {
        let k = max(1, min(rank, o, i))
        let u = smoothFactors(&rng, n: o, count: k)
        let v = smoothFactors(&rng, n: i, count: k)
        let s = (0..<k).map { exp(-Float($0) / 2.5) }
        let sNorm = s.reduce(0) { $0 + $1 * $1 }.squareRoot()
        // ‖U S Vᵀ‖_F ≈ ‖s‖ for near-orthogonal smooth factors; scale to RMS 1, then by 1/√i.
        let scale = Float(Double(o * i).squareRoot()) / sNorm / Float(i).squareRoot()
        var basis = [Float](repeating: 0, count: k * i)
        for c in 0..<k { for j in 0..<i { basis[c * i + j] = v[j * k + c] * scale } }
        var coefficients = [Float](repeating: 0, count: o * k)
        for r in 0..<o { for c in 0..<k { coefficients[r * k + c] = u[r * k + c] * s[c] } }
        return RowGenerator(rows: o, cols: i, basis: basis, coefficients: coefficients, k: k, offset: 0,
                            noiseAmplitude: 0.08 * Float(k).squareRoot() / Float(i).squareRoot(), noise: noise,
                            noiseSeed: rng.next(), taps: 0, orientedRows: [], amp: [], isRamp: false)
    }

    /// Gabor patch values on a kh × kw grid centred at the middle.
    static func gabor(kh: Int, kw: Int, theta: Float, freq: Float, phase: Float) -> [Float] {
        let sigma = Float(max(kh, kw)) / 2.5
        var g = [Float](repeating: 0, count: kh * kw)
        for y in 0..<kh {
            for x in 0..<kw {
                let ys = Float(y) - Float(kh - 1) / 2, xs = Float(x) - Float(kw - 1) / 2
                let env = exp(-(xs * xs + ys * ys) / (2 * sigma * sigma))
                let proj = xs * cos(theta) + ys * sin(theta)
                g[y * kw + x] = cos(2 * .pi * freq * proj + phase) * env
            }
        }
        return g
    }

    /// Conv kernel `[o, i, kh, kw]`: rank-6 Gabor components plus one oriented Gabor per output
    /// channel (angle turning smoothly along the channels), plus noise, divided by √(i·kh·kw).
    static func gaborConv(_ rng: inout SplitMix64, o: Int, i: Int, kh: Int, kw: Int, noise: [Float]) -> RowGenerator {
        let taps = kh * kw
        let cols = i * taps
        let k = max(1, min(6, o, cols))
        let u = smoothFactors(&rng, n: o, count: k)
        let v = smoothFactors(&rng, n: i, count: k)
        let s = (0..<k).map { exp(-Float($0) / 1.5) }
        let turn = rng.uniform()
        var patches: [[Float]] = []
        for c in 0..<k {
            var g = gabor(kh: kh, kw: kw, theta: .pi * (Float(c) / Float(k) + turn),
                          freq: rng.uniform(0.2, 0.45), phase: rng.uniform(0, 2 * .pi))
            let n = g.reduce(0) { $0 + $1 * $1 }.squareRoot() + 1e-6
            for t in 0..<taps { g[t] /= n }
            patches.append(g)
        }
        let sNorm = s.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let fan = Float(cols).squareRoot()
        let scale = Float(Double(o * cols).squareRoot()) / sNorm / fan
        var basis = [Float](repeating: 0, count: k * cols)
        for c in 0..<k { for ii in 0..<i { for t in 0..<taps { basis[c * cols + ii * taps + t] = v[ii * k + c] * patches[c][t] * scale } } }
        var coefficients = [Float](repeating: 0, count: o * k)
        for r in 0..<o { for c in 0..<k { coefficients[r * k + c] = u[r * k + c] * s[c] } }
        // Oriented part: per output channel a Gabor whose angle and frequency drift smoothly.
        let turns = rng.uniform(1, 3), start = rng.uniform(), wobble = rng.uniform(0.5, 2), wobblePhase = rng.uniform()
        var oriented = [Float](repeating: 0, count: o * taps)
        for r in 0..<o {
            let t = o > 1 ? Float(r) / Float(o - 1) : 0
            var g = gabor(kh: kh, kw: kw, theta: .pi * (t * turns + start),
                          freq: 0.3 + 0.12 * sin(2 * .pi * (t * wobble + wobblePhase)), phase: 0)
            let rms = (g.reduce(0) { $0 + $1 * $1 } / Float(taps)).squareRoot() + 1e-6
            for q in 0..<taps { g[q] = 0.35 * g[q] / rms / fan }
            oriented.replaceSubrange((r * taps)..<((r + 1) * taps), with: g)
        }
        let ampFactor = smoothFactors(&rng, n: i, count: 1)
        let amp = ampFactor.map { $0 * Float(i).squareRoot() }
        return RowGenerator(rows: o, cols: cols, basis: basis, coefficients: coefficients, k: k, offset: 0,
                            noiseAmplitude: 0.05 / fan, noise: noise, noiseSeed: rng.next(),
                            taps: taps, orientedRows: oriented, amp: amp, isRamp: false)
    }

    /// Generator for one manifest tensor.
    static func generator(seed: UInt64, key: String, shape: [Int], isInteger: Bool, noise: [Float]) -> RowGenerator {
        var rng = SplitMix64(seed: seed &* 0x9E37_79B9_7F4A_7C15 ^ keyHash(key))
        let count = shape.reduce(1, *)
        func constant(_ rows: Int, _ cols: Int, _ value: Float) -> RowGenerator {
            RowGenerator(rows: rows, cols: cols, basis: [], coefficients: [], k: 0, offset: value, noiseAmplitude: 0,
                         noise: noise, noiseSeed: 0, taps: 0, orientedRows: [], amp: [], isRamp: false)
        }
        if isInteger {
            let cols = shape.last ?? 1
            return RowGenerator(rows: count / max(cols, 1), cols: cols, basis: [], coefficients: [], k: 0, offset: 0,
                                noiseAmplitude: 0, noise: noise, noiseSeed: 0, taps: 0, orientedRows: [], amp: [], isRamp: true)
        }
        switch shape.count {
        case 0:
            return constant(1, 1, key.hasSuffix("logit_scale") ? log(100) : 0.02 * rng.gaussian())
        case 1:
            // Norm scales: 1 + ripple; biases: small ripple.
            let n = shape[0]
            // Flux's RMSNorms call their gain `scale`.
            let isWeight = key.hasSuffix(".weight") || key.hasSuffix(".scale")
            let ripple: Float = isWeight ? 0.05 : 0.01
            let cycles = rng.uniform(1, 8), phase = rng.uniform()
            let basis = (0..<n).map { j -> Float in
                let t = n > 1 ? Float(j) / Float(n - 1) : 0
                return ripple * sin(2 * .pi * (t * cycles + phase))
            }
            return RowGenerator(rows: 1, cols: n, basis: basis, coefficients: [1], k: 1, offset: isWeight ? 1 : 0,
                                noiseAmplitude: 0.3 * ripple, noise: noise, noiseSeed: rng.next(), taps: 0,
                                orientedRows: [], amp: [], isRamp: false)
        case 2 where key.hasSuffix("positional_embedding") || key.hasSuffix("position_embedding.weight"):
            // Sinusoidal positions, row r = 0.02·sin(r·f_j + φ_j). Only 77 rows, so each row is its own
            // basis row (identity coefficients) instead of a low-rank product.
            let (n, d) = (shape[0], shape[1])
            let phases = (0..<d).map { _ in rng.uniform(0, 2 * .pi) }
            let freqs = (0..<d).map { exp(-log(Float(1000)) * Float($0) / Float(max(d, 1))) }
            var basis = [Float](repeating: 0, count: n * d)
            for r in 0..<n { for j in 0..<d { basis[r * d + j] = 0.02 * sin(Float(r) * freqs[j] + phases[j]) } }
            var coefficients = [Float](repeating: 0, count: n * n)
            for r in 0..<n { coefficients[r * n + r] = 1 }
            return RowGenerator(rows: n, cols: d, basis: basis, coefficients: coefficients, k: n, offset: 0,
                                noiseAmplitude: 0.002, noise: noise, noiseSeed: rng.next(), taps: 0,
                                orientedRows: [], amp: [], isRamp: false)
        case 2:
            return lowRank(&rng, rows: shape[0], cols: shape[1], noise: noise)
        case 3 where shape[0] == 1:
            // A batch-of-one table such as SD3's pos_embed [1, positions, width]: one matrix, so the
            // basis stays one row of `width` instead of the whole table.
            return lowRank(&rng, rows: shape[1], cols: shape[2], noise: noise)
        case 4 where shape[2] * shape[3] > 1:
            return gaborConv(&rng, o: shape[0], i: shape[1], kh: shape[2], kw: shape[3], noise: noise)
        default:
            let o = shape[0]
            return lowRank(&rng, rows: o, cols: count / max(o, 1), noise: noise)
        }
    }
}
