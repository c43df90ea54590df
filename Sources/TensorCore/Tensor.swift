// TensorCore: dense Float32 tensors, element types and their conversion. No I/O.

/// A dense, row-major (C order) Float32 tensor: what every analysis works on.
///
/// Checkpoint readers convert whatever the file stores (F16, BF16, F8, strided views…) into
/// this one layout, so kernels never deal with dtypes or strides.
public struct Tensor: Sendable, Equatable {
    /// Extent of each dimension, outermost first. `[]` is a scalar holding one value.
    public let shape: [Int]
    /// `shape.product` values in row-major order.
    public var values: [Float]

    /// Creates a tensor; `values.count` must equal the product of `shape`.
    public init(shape: [Int], values: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        precondition(values.count == Tensor.elementCount(shape), "\(values.count) values for shape \(shape)")
        self.shape = shape
        self.values = values
    }

    /// A tensor of zeros.
    public init(zeros shape: [Int]) {
        self.init(shape: shape, values: [Float](repeating: 0, count: Tensor.elementCount(shape)))
    }

    /// Number of elements a shape holds (1 for a scalar).
    public static func elementCount(_ shape: [Int]) -> Int { shape.reduce(1, *) }

    /// Number of elements.
    public var count: Int { values.count }
    /// Number of dimensions.
    public var rank: Int { shape.count }

    /// The weight seen as a matrix: rows = `shape[0]` (output channels), columns = the product
    /// of the remaining dimensions, as conv [out, in, kh, kw] → (out, in·kh·kw).
    /// Rank 0 and 1 tensors become a single row.
    public var matrixShape: (rows: Int, cols: Int) {
        switch rank {
        case 0: return (1, 1)
        case 1: return (1, shape[0])
        default: return (shape[0], count / max(shape[0], 1))
        }
    }
}
