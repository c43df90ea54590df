import Foundation
import HTTPWire
import LTNodes
import OrderedJSON

extension NodeServerApp {
    /// Keys of `extra_data` that carry credentials; stored nowhere and never echoed.
    static let secretExtraDataKeys: Set<String> = ["auth_token_comfy_org", "api_key_comfy_org"]

    /// POST /prompt: validate, queue, answer `{prompt_id, number, node_errors}`; 400 with
    /// ComfyUI's error body (and nothing queued) otherwise. Also takes a UI-format workflow.
    func postPrompt(_ r: HTTPRequest) -> HTTPResponse {
        let parsed: JSON?
        switch r.jsonBody() {
        case .success(let v): parsed = v
        case .failure(let e):
            _ = queue.takeNumber()
            return Reply.promptError(type: "invalid_prompt", message: "Invalid JSON in the request body", details: e.description)
        }
        guard var body = parsed?.objectValue else {
            _ = queue.takeNumber()
            return Reply.promptError(type: "invalid_prompt", message: "The request body must be a JSON object",
                                     details: "received \(parsed?.typeName ?? "an empty body")")
        }
        // A UI workflow posted as is (or as the `prompt` member) is converted with nodes.json's widget order.
        let whole = JSON.object(body)
        if WorkflowConversion.isUIWorkflow(whole) {
            body = JSONObject([("prompt", whole)])
        }
        if let inner = body["prompt"], WorkflowConversion.isUIWorkflow(inner) {
            do { body["prompt"] = try WorkflowConversion.apiPrompt(fromUIWorkflow: inner, catalog: catalog) } catch {
                _ = queue.takeNumber()
                return Reply.json(error.responseBody, status: 400)
            }
        }

        // As ComfyUI: a client `number` is used as a float; otherwise the counter, negated by `front`.
        let number: JSON
        let sortKey: Double
        if let n = body["number"], let d = n.doubleValue, d.isFinite {
            number = .double(d); sortKey = d
        } else {
            var n = queue.takeNumber()
            if body["front"]?.boolValue == true { n = -n }
            number = .int(n); sortKey = Double(n)
        }

        guard let prompt = body["prompt"], !prompt.isNull else {
            return Reply.promptError(type: "no_prompt", message: "No prompt provided", details: "No prompt provided")
        }
        guard prompt.objectValue != nil else {
            return Reply.promptError(type: "invalid_prompt", message: "The prompt must be a JSON object of nodes",
                                     details: "received \(prompt.typeName)")
        }

        let promptID: String
        if let given = body["prompt_id"], !given.isNull {
            guard let s = given.stringValue, Self.isCanonicalUUID(s) else {
                return Reply.promptError(type: "invalid_prompt_id", message: "Invalid prompt_id",
                                         details: "prompt_id must be a canonical lower-case UUID")
            }
            promptID = s
        } else {
            promptID = UUID().uuidString.lowercased()
        }

        let validated: ValidatedPrompt
        let targets = body["partial_execution_targets"]?.arrayValue?.compactMap(\.stringValue)
        switch PromptValidation.validate(prompt: prompt, catalog: catalog, models: models, targets: targets) {
        case .success(let v): validated = v
        case .failure(let failure):
            logInvalidPrompt(failure.body)
            return Reply.json(failure.body, status: 400)
        }
        let outputs = validated.outputNodeIDs

        var extra = body["extra_data"]?.objectValue ?? JSONObject()
        for key in Self.secretExtraDataKeys { extra[key] = nil }
        if let client = body["client_id"], !client.isNull { extra.set("client_id", client) }
        let now = Self.milliseconds()
        extra.set("create_time", .int(now))
        if let source = r.headers["Comfy-Usage-Source"] { extra.set("comfy_usage_source", .string(source)) }

        let item = QueueItem(number: number, sortKey: sortKey, promptID: promptID, prompt: validated.prompt,
                             extraData: extra, outputsToExecute: outputs, createTime: now, byteCount: r.body.count)
        queue.enqueue(item)
        log.append(configuration.verbose ? "got prompt \(promptID)" : "got prompt")
        logNodeErrors(validated.nodeErrors, ignored: true)
        broadcastStatus()
        worker.async { [self] in runNextPrompt() }
        return Reply.json(.object(JSONObject([
            ("prompt_id", .string(promptID)), ("number", number), ("node_errors", .object(validated.nodeErrors)),
        ])))
    }

    /// Runs the lowest-numbered pending prompt, if any. Only ever called on `worker`.
    func runNextPrompt() {
        dispatchPrecondition(condition: .onQueue(worker))
        guard let item = queue.startNext(now: Self.milliseconds()) else { return }
        broadcastStatus()
        let clientID = item.clientID
        let started = Date()
        let record = executor.execute(
            ValidatedPrompt(prompt: item.prompt, outputNodeIDs: item.outputsToExecute),
            promptID: item.promptID, extraData: .object(item.extraData),
            send: { [self] type, data in deliver(type: type, data: data, clientID: clientID) },
            isInterrupted: { [queue] in queue.isInterruptRequested })
        var start: Int64?
        var end: Int64?
        let messages: [JSON] = record.messages.map { name, data in
            let t = data["timestamp"]?.intValue
            if name == "execution_start" { start = t } else if name != "execution_cached" { end = t }
            return .array([.string(name), data])
        }
        let entry = HistoryEntry(item: item, outputs: record.outputs, meta: record.meta, statusString: record.statusString,
                                 completed: record.completed, interrupted: record.interrupted, messages: messages,
                                 executionStartTime: start, executionEndTime: end ?? Self.milliseconds())
        queue.finish(entry)
        let seconds = (Date().timeIntervalSince(started) * 100).rounded() / 100
        for (name, data) in record.messages {
            logExecutionEvent(name, data)
        }
        let detail = configuration.verbose ? " (prompt \(item.promptID), \(record.statusString))" : ""
        log.append("Prompt executed in \(seconds) seconds\(detail)")
        broadcastStatus()
        let final = GraphExecutor.finalExecutingMessage(promptID: item.promptID)
        deliver(type: final.0, data: final.1, clientID: clientID)
    }

    /// Sends one prompt event: to the prompt's client only; without a client id only the events
    /// ComfyUI broadcasts (progress, progress_state, execution_interrupted, executed) go to all.
    func deliver(type: String, data: JSON, clientID: String?) {
        if type == "executing" { queue.noteExecuting(data["node"]?.stringValue) }
        if let clientID {
            clients.send(type: type, data: data, to: clientID)
        } else if Self.broadcastWithoutClient.contains(type) {
            clients.broadcast(type: type, data: data)
        }
    }

    static let broadcastWithoutClient: Set<String> = ["progress", "progress_state", "execution_interrupted", "executed"]

    static func isCanonicalUUID(_ s: String) -> Bool {
        guard s.utf8.count == 36, let u = UUID(uuidString: s) else { return false }
        return u.uuidString.lowercased() == s
    }

    // MARK: Queue, interrupt, history, free

    func getQueue() -> HTTPResponse {
        let (running, pending) = queue.snapshot()
        return Reply.json(.object(JSONObject([
            ("queue_running", .array(running.map { [$0.json] } ?? [])),
            ("queue_pending", .array(pending.map(\.json))),
        ])))
    }

    func postQueue(_ r: HTTPRequest) -> HTTPResponse {
        let object = (try? r.jsonBody().get())?.objectValue ?? JSONObject()
        var changed = false
        if object["clear"]?.boolValue == true { changed = queue.clearPending() > 0 || changed }
        if let ids = object["delete"]?.arrayValue {
            changed = queue.deletePending(Set(ids.compactMap(\.stringValue))) > 0 || changed
        }
        if changed { broadcastStatus() }
        return Reply.empty(200)
    }

    func postInterrupt(_ r: HTTPRequest) -> HTTPResponse {
        // An empty or non-JSON body means "whatever runs" (the frontend may send none).
        let body = try? r.jsonBody().get()
        if let id = body?["prompt_id"]?.stringValue {
            queue.interrupt(promptID: id)
        } else {
            queue.interrupt()
        }
        return Reply.empty(200)
    }

    func getHistory(_ r: HTTPRequest) -> HTTPResponse {
        var entries = queue.historyEntries()
        let maxItems = r.queryValue("max_items").flatMap { Int($0) }
        let offset = r.queryValue("offset").flatMap { Int($0) }
        if let offset, offset >= 0 {
            entries = Array(entries.dropFirst(offset))
            if let maxItems, maxItems >= 0 { entries = Array(entries.prefix(maxItems)) }
        } else if let maxItems, maxItems >= 0 {
            entries = Array(entries.suffix(maxItems))
        }
        var out = JSONObject()
        for e in entries { out.set(e.item.promptID, e.json) }
        return Reply.json(.object(out))
    }

    func getHistoryEntry(_ id: String) -> HTTPResponse {
        guard let e = queue.historyEntry(id) else { return Reply.json(.object(JSONObject())) }
        return Reply.json(.object(JSONObject([(id, e.json)])))
    }

    func postHistory(_ r: HTTPRequest) -> HTTPResponse {
        let object = (try? r.jsonBody().get())?.objectValue ?? JSONObject()
        if object["clear"]?.boolValue == true { queue.clearHistory() }
        if let ids = object["delete"]?.arrayValue { queue.deleteHistory(Set(ids.compactMap(\.stringValue))) }
        return Reply.empty(200)
    }

    /// POST /free: applied on the worker after the running prompt, as ComfyUI does.
    func postFree(_ r: HTTPRequest) -> HTTPResponse {
        let object = (try? r.jsonBody().get())?.objectValue ?? JSONObject()
        if object["unload_models"]?.boolValue == true || object["free_memory"]?.boolValue == true {
            worker.async { [self] in executor.clearCache() }
        }
        return Reply.empty(200)
    }
}

extension NodeServerApp {
    /// ComfyUI's terminal lines for a failed or interrupted node; with `--verbose` also the nodes
    /// that came from the cache.
    func logExecutionEvent(_ name: String, _ data: JSON) {
        let node = data["node_id"]?.stringValue ?? data["node"]?.stringValue ?? "?"
        let type = data["node_type"]?.stringValue ?? data["display_node"]?.stringValue ?? ""
        switch name {
        case "execution_error":
            let kind = data["exception_type"]?.stringValue ?? "Exception"
            let message = data["exception_message"]?.stringValue ?? ""
            log.append("!!! Exception during processing !!! Node \(node) (\(type)): \(kind): \(message)")
        case "execution_interrupted":
            log.append("Processing interrupted at node \(node) (\(type))")
        case "execution_cached" where configuration.verbose:
            let nodes = data["nodes"]?.arrayValue?.compactMap(\.stringValue) ?? []
            if !nodes.isEmpty { log.append("  cached: nodes \(nodes.joined(separator: ", "))") }
        default:
            break
        }
    }

    /// A refused prompt as ComfyUI prints it: the error, then each node's problems.
    func logInvalidPrompt(_ body: JSON) {
        let error = body["error"]
        let details = error?["details"]?.stringValue ?? ""
        logNodeErrors(body["node_errors"]?.objectValue ?? JSONObject(), ignored: false)
        log.append("invalid prompt: \(error?["message"]?.stringValue ?? "")" + (details.isEmpty ? "" : " — \(details)"))
    }

    /// `Failed to validate prompt for output N:` with the node's class and problems.
    func logNodeErrors(_ nodes: JSONObject, ignored: Bool) {
        for (id, entry) in nodes {
            var lines = ["Failed to validate prompt for output \(id):",
                         "* \(entry["class_type"]?.stringValue ?? "") \(id):"]
            for problem in entry["errors"]?.arrayValue ?? [] {
                let details = problem["details"]?.stringValue ?? ""
                lines.append("  - \(problem["message"]?.stringValue ?? "")" + (details.isEmpty ? "" : ": \(details)"))
            }
            if ignored { lines.append("Output will be ignored") }
            log.append(lines.joined(separator: "\n"))
        }
    }
}
