import TensorCore

/// One input channel of a neuron and the L2 norm of its kernel slice.
public struct ChannelNorm: Sendable, Equatable, Codable {
    public let channel: Int
    public let norm: Float
}

/// The `k` input channels of `outputChannel` whose kernels (W[o, i, :, :]) have the largest L2
/// norm, largest first (ties by channel index) — Distill's "small multiples" selection.
/// Works for conv [out, in, kh, kw] and linear [out, in] weights.
public func topInputChannels(of weight: Tensor, outputChannel: Int, k: Int) throws(AnalysisError) -> [ChannelNorm] {
    let s = weight.shape
    guard s.count >= 2 else {
        throw .unsupportedShape(operation: "select input channels of", shape: s, expected: "rank 2 or more")
    }
    let out = s[0], inC = s[1]
    guard outputChannel >= 0, outputChannel < out else {
        throw .invalidArgument(name: "outputChannel", value: outputChannel, allowed: "0..<\(out)")
    }
    guard k >= 1 else { throw .invalidArgument(name: "k", value: k, allowed: "1 or more") }
    let spatial = s.dropFirst(2).reduce(1, *)
    var norms = [ChannelNorm]()
    norms.reserveCapacity(inC)
    for i in 0..<inC {
        let base = (outputChannel * inC + i) * spatial
        var acc = 0.0
        for j in 0..<spatial { let v = Double(weight.values[base + j]); acc += v * v }
        norms.append(ChannelNorm(channel: i, norm: Float(acc.squareRoot())))
    }
    norms.sort { $0.norm != $1.norm ? $0.norm > $1.norm : $0.channel < $1.channel }
    return Array(norms.prefix(k))
}
