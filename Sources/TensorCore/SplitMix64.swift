/// SplitMix64 pseudo-random numbers: tiny, fast and fully determined by the seed, so random
/// starts (SVD sketches) and synthetic weights are identical on every run and machine.
public struct SplitMix64: Sendable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1), from the top 24 bits.
    public mutating func uniform() -> Float { Float(next() >> 40) * 0x1p-24 }

    /// Uniform in [a, b).
    public mutating func uniform(_ a: Float, _ b: Float) -> Float { a + (b - a) * uniform() }

    /// Uniform in [-1, 1), from the top 24 bits taken as a signed number.
    public mutating func nextSigned() -> Float {
        Float(Int64(bitPattern: next()) >> 40) / Float(1 << 23)
    }
}
