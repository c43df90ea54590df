/// Why an analysis could not produce a result.
public enum AnalysisError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The caller's `Cancellation` asked the computation to stop.
    case cancelled
    /// Two operands have incompatible shapes for `operation`.
    case shapeMismatch(operation: String, left: [Int], right: [Int])
    /// A requested rank is outside `1...limit` for a matrix of the given shape.
    case invalidRank(requested: Int, limit: Int, shape: [Int])
    /// The input holds a NaN or infinity at flat index `index`.
    case nonFiniteValue(index: Int)
    /// The operation needs a tensor of a different rank (e.g. a 4-D conv weight).
    case unsupportedShape(operation: String, shape: [Int], expected: String)
    /// An argument is out of its valid range (`name`, the value, and what is allowed).
    case invalidArgument(name: String, value: Int, allowed: String)
    /// The result would need more memory than the engine allows for one call.
    case tooLarge(operation: String, elementCount: Int, limit: Int)
    /// An iterative solver did not converge within its iteration cap.
    case notConverged(operation: String, iterations: Int)

    public var description: String {
        switch self {
        case .cancelled:
            return "The computation was cancelled."
        case let .shapeMismatch(operation, left, right):
            return "Cannot \(operation): shapes \(left) and \(right) are incompatible."
        case let .invalidRank(requested, limit, shape):
            return "Rank \(requested) is invalid for a matrix of shape \(shape); choose 1...\(limit)."
        case let .nonFiniteValue(index):
            return "The input contains a NaN or infinite value at element \(index)."
        case let .unsupportedShape(operation, shape, expected):
            return "Cannot \(operation) a tensor of shape \(shape); expected \(expected)."
        case let .invalidArgument(name, value, allowed):
            return "Argument \(name) = \(value) is out of range; allowed: \(allowed)."
        case let .tooLarge(operation, count, limit):
            return "\(operation) would need \(count) elements, more than the limit of \(limit)."
        case let .notConverged(operation, iterations):
            return "\(operation) did not converge within \(iterations) iterations."
        }
    }
}
