import OrderedJSON

/// One queued prompt, in the shape `/queue` and `/history` show:
/// `[number, prompt_id, prompt, extra_data, outputs_to_execute]`.
public struct QueueItem: Sendable {
    /// The number as the client sees it (an integer from the server counter, or the client's `number`).
    public var number: JSON
    /// Sort key: lower runs first; ties break by prompt id, as ComfyUI's heap does.
    public var sortKey: Double
    public var promptID: String
    /// The validated API prompt.
    public var prompt: JSON
    /// `extra_data` as stored (client_id and create_time added, secrets removed).
    public var extraData: JSONObject
    public var outputsToExecute: [String]
    /// Milliseconds since the epoch when the prompt was accepted (jobs' `create_time`).
    public var createTime: Int64
    /// Approximate bytes held by this item (the request body size), for the history budget.
    public var byteCount: Int

    public var clientID: String? { extraData["client_id"]?.stringValue }

    /// The 5-element array clients index positionally.
    public var json: JSON {
        .array([number, .string(promptID), prompt, .object(extraData), .array(outputsToExecute.map(JSON.string))])
    }

    /// Orders pending items as ComfyUI's heap pops them.
    static func runsBefore(_ a: QueueItem, _ b: QueueItem) -> Bool {
        a.sortKey != b.sortKey ? a.sortKey < b.sortKey : a.promptID < b.promptID
    }
}

/// A finished prompt as `/history` shows it, plus the times `/jobs` reports.
public struct HistoryEntry: Sendable {
    public var item: QueueItem
    public var outputs: JSONObject
    public var meta: JSONObject
    public var statusString: String
    public var completed: Bool
    public var interrupted: Bool
    /// `[[name, data], …]` as stored in `status.messages`.
    public var messages: [JSON]
    public var executionStartTime: Int64?
    public var executionEndTime: Int64?

    /// ComfyUI's history record: `{prompt, outputs, status, meta}`.
    public var json: JSON {
        .object(JSONObject([
            ("prompt", item.json),
            ("outputs", .object(outputs)),
            ("status", .object(JSONObject([
                ("status_str", .string(statusString)),
                ("completed", .bool(completed)),
                ("messages", .array(messages)),
            ]))),
            ("meta", .object(meta)),
        ]))
    }

    /// The terminal error/interrupt message data, if the run failed.
    var failureMessage: (String, JSON)? {
        for m in messages.reversed() {
            guard let pair = m.arrayValue, pair.count == 2, let name = pair[0].stringValue else { continue }
            if name == "execution_error" || name == "execution_interrupted" { return (name, pair[1]) }
        }
        return nil
    }
}
