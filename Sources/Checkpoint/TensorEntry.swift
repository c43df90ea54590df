import TensorCore

/// One tensor a checkpoint holds, as listed in its header or pickle (no data is read).
public struct TensorEntry: Sendable, Equatable {
    /// Full key, e.g. `model.diffusion_model.input_blocks.0.0.weight`.
    public let name: String
    /// Element type as stored in the file.
    public let dtype: DType
    /// Extent of each dimension, outermost first; `[]` for a scalar.
    public let shape: [Int]
    /// The stored encoding when `dtype` does not say it: a GGUF block quantization (`Q4_K`,
    /// `Q8_0`…), whose values `loadTensor` dequantizes to Float32 (`dtype` is then `.f32`). Nil
    /// for tensors stored as plain elements.
    public let quantization: String?

    public init(name: String, dtype: DType, shape: [Int], quantization: String? = nil) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.quantization = quantization
    }

    /// What the file stores, for listings: the quantization (`Q4_K`) or the dtype (`BF16`).
    public var storedType: String { quantization ?? dtype.rawValue }

    /// Number of elements (1 for a scalar). Readers have already checked it does not overflow.
    public var parameterCount: Int { shape.reduce(1, *) }
}
