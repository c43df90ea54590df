import OrderedJSON

/// Runs validated prompts one at a time and keeps the output cache between them.
///
/// Not thread-safe by design: the server owns one instance and calls it only from its serial
/// prompt queue (ComfyUI runs one prompt at a time). `isInterrupted` is the one thing read from
/// other threads, through the closure the caller passes.
public final class GraphExecutor: @unchecked Sendable {
    public let catalog: NodeCatalog
    public let environment: ExecutionEnvironment

    public init(catalog: NodeCatalog, environment: ExecutionEnvironment) {
        self.catalog = catalog
        self.environment = environment
    }

    /// Runs a validated prompt.
    ///
    /// `send(type, data)` receives each WebSocket message exactly as ComfyUI sends it for this
    /// prompt: execution_start, execution_cached, progress_state, executing, progress, executed,
    /// then execution_success / execution_error / execution_interrupted. The final
    /// `executing {node: null}` is NOT sent here: store the record in history, broadcast the queue
    /// status, then send `GraphExecutor.finalExecutingMessage(promptID:)` (ComfyUI's order).
    /// `isInterrupted` is polled before each node and during long node work.
    public func execute(_ prompt: ValidatedPrompt, promptID: String, extraData: JSON,
                        send: @Sendable (String, JSON) -> Void, isInterrupted: @Sendable () -> Bool) -> ExecutionRecord {
        ExecutionRecord(outputs: JSONObject(), meta: JSONObject(), statusString: "error", completed: false,
                        interrupted: false, messages: [])
    }

    /// Drops every cached node output (POST /free with `free_memory`, or `unload_models`).
    public func clearCache() {}

    /// The message that ends a prompt for clients: `executing` with `node: null`.
    public static func finalExecutingMessage(promptID: String) -> (String, JSON) {
        ("executing", .object(JSONObject([("node", .null), ("prompt_id", .string(promptID))])))
    }
}
