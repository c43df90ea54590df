/// Reports progress of a long computation: `completed` steps out of `total` (the total may be an
/// upper bound for iterative solvers, which finish early when they converge).
public typealias ProgressHandler = @Sendable (_ completed: Int, _ total: Int) -> Void

/// A cooperative cancellation check polled between the expensive steps of a computation.
///
/// The closure is called from whatever thread runs the computation, so it must be thread-safe
/// (typically it reads an atomic flag set by /interrupt).
public struct Cancellation: Sendable {
    private let isCancelled: @Sendable () -> Bool

    /// Creates a check from a closure that returns `true` once the work should stop.
    public init(_ isCancelled: @escaping @Sendable () -> Bool) {
        self.isCancelled = isCancelled
    }

    /// A check that never cancels.
    public static let never = Cancellation { false }

    /// Throws `AnalysisError.cancelled` when the flag is set.
    @inline(__always)
    public func check() throws(AnalysisError) {
        if isCancelled() { throw AnalysisError.cancelled }
    }
}

extension Optional where Wrapped == Cancellation {
    @inline(__always)
    func check() throws(AnalysisError) {
        if let c = self { try c.check() }
    }
}
