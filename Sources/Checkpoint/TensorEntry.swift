import TensorCore

/// One tensor a checkpoint holds, as listed in its header or pickle (no data is read).
public struct TensorEntry: Sendable, Equatable {
    /// Full key, e.g. `model.diffusion_model.input_blocks.0.0.weight`.
    public let name: String
    /// Element type as stored in the file.
    public let dtype: DType
    /// Extent of each dimension, outermost first; `[]` for a scalar.
    public let shape: [Int]

    public init(name: String, dtype: DType, shape: [Int]) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
    }

    /// Number of elements (1 for a scalar). Readers have already checked it does not overflow.
    public var parameterCount: Int { shape.reduce(1, *) }
}
