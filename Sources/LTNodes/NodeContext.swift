import OrderedJSON

/// What a running node may use: the environment, progress reporting and the interrupt flag.
package struct NodeContext: Sendable {
    package let environment: ExecutionEnvironment
    package let promptID: String
    package let nodeID: String
    let reportProgress: @Sendable (_ value: Double, _ max: Double) -> Void
    let interrupted: @Sendable () -> Bool

    package init(environment: ExecutionEnvironment, promptID: String, nodeID: String,
                 reportProgress: @escaping @Sendable (Double, Double) -> Void,
                 interrupted: @escaping @Sendable () -> Bool) {
        self.environment = environment
        self.promptID = promptID
        self.nodeID = nodeID
        self.reportProgress = reportProgress
        self.interrupted = interrupted
    }

    /// Reports `value` of `max` units done (becomes `progress` and `progress_state` messages).
    package func progress(_ value: Double, of max: Double) { reportProgress(value, max) }

    /// True once the prompt has been interrupted.
    package var isInterrupted: Bool { interrupted() }

    /// Throws `.interrupted` once the prompt has been interrupted.
    package func checkInterrupted() throws(NodeFailure) {
        if interrupted() { throw .interrupted }
    }
}
