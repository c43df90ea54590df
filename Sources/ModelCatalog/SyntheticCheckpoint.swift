import TensorCore

/// Deterministic synthetic checkpoints with a real key layout and structured (not random) weights.
public enum SyntheticCheckpoint {
    /// Key layouts shipped as resources.
    public enum Layout: String, Sendable, CaseIterable { case sdxl, sd15 }
    /// Which tensors to write.
    public enum Parts: String, Sendable, CaseIterable {
        /// Only `model.diffusion_model.*`.
        case unet
        /// Every tensor of the layout (U-Net, text encoders, VAE).
        case all
    }

    /// Writes a safetensors file. `scale` divides channel widths (1 = full size, 6.9 GB for SDXL
    /// f16 with parts all); float tensors use `dtype` (f16, bf16 or f32), integers keep theirs.
    public static func write(layout: Layout, scale: Int = 1, dtype: DType = .f16, parts: Parts = .all,
                             seed: UInt64 = 0, to path: String) throws(SyntheticCheckpointError) {
        throw .unsupported(reason: "the generator is not implemented yet")
    }
}

/// Why a synthetic checkpoint could not be written.
public enum SyntheticCheckpointError: Error, CustomStringConvertible, Equatable {
    /// Arguments out of range (scale < 1, non-float dtype).
    case unsupported(reason: String)
    /// The bundled manifest is missing or malformed.
    case badManifest(name: String, reason: String)
    /// A write to the output file failed.
    case writeFailed(path: String, call: String, errno: Int32)

    public var description: String {
        switch self {
        case .unsupported(let r): return "Cannot generate the checkpoint: \(r)."
        case .badManifest(let n, let r): return "The bundled manifest \(n) is unusable: \(r)."
        case .writeFailed(let p, let call, let e): return "\(p): cannot be written (\(call) failed: errno \(e))."
        }
    }
}
