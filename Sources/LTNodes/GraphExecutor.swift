import OrderedJSON
import Synchronization

/// Runs validated prompts one at a time and keeps the output cache between them.
///
/// Not thread-safe by design: the server owns one instance and calls `execute` and `clearCache`
/// only from its serial prompt queue (ComfyUI runs one prompt at a time). `send` may be called
/// from engine worker threads while a node reports progress; `isInterrupted` is polled from them too.
///
/// Caching follows ComfyUI's default ("classic") cache: a node's key is its class, its change
/// fingerprint, its constant inputs and, recursively, the keys of the nodes it links to (plus its
/// id when it takes `UNIQUE_ID`). At the start of each prompt, entries no node of the new prompt
/// uses are dropped, so an unchanged re-run executes nothing and an edited widget re-runs that
/// node and its descendants.
public final class GraphExecutor: @unchecked Sendable {
    public let catalog: NodeCatalog
    public let environment: ExecutionEnvironment

    fileprivate struct CacheEntry {
        /// Per output slot, the values (several for list outputs or mapped calls).
        let outputs: [[NodeValue]]
        let ui: JSONObject?
    }

    /// Cache key text → interned id. Keys embed the ids of their ancestors' keys, so a key stays
    /// linear in the node's own inputs even on a 10,000-node chain.
    private var internedKeys: [String: Int] = [:]
    private var nextKeyID = 0
    private var cache: [Int: CacheEntry] = [:]

    public init(catalog: NodeCatalog, environment: ExecutionEnvironment) {
        self.catalog = catalog
        self.environment = environment
    }

    /// Drops every cached node output (POST /free with `free_memory`, or `unload_models`).
    public func clearCache() {
        cache.removeAll()
        internedKeys.removeAll()
    }

    /// Number of cached node outputs (for tests and /system_stats-like reporting).
    public var cachedNodeCount: Int { cache.count }

    /// The message that ends a prompt for clients: `executing` with `node: null`.
    public static func finalExecutingMessage(promptID: String) -> (String, JSON) {
        ("executing", .object(JSONObject([("node", .null), ("prompt_id", .string(promptID))])))
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
        var run = PromptRun(executor: self, prompt: prompt, promptID: promptID, extraData: extraData)
        return withoutActuallyEscaping(send) { send in
            withoutActuallyEscaping(isInterrupted) { isInterrupted in
                run.execute(send: send, isInterrupted: isInterrupted)
            }
        }
    }

    // MARK: Cache access for PromptRun

    fileprivate func keyID(for text: String) -> Int {
        if let id = internedKeys[text] { return id }
        let id = nextKeyID
        nextKeyID += 1
        internedKeys[text] = id
        return id
    }

    /// Keeps only entries (and interned keys) that this prompt's nodes use.
    fileprivate func retainOnly(_ keys: Set<String>, ids: Set<Int>) {
        cache = cache.filter { ids.contains($0.key) }
        internedKeys = internedKeys.filter { keys.contains($0.key) }
    }

    fileprivate func cached(_ id: Int) -> CacheEntry? { cache[id] }
    fileprivate func store(_ id: Int, outputs: [[NodeValue]], ui: JSONObject?) { cache[id] = CacheEntry(outputs: outputs, ui: ui) }
}

/// One prompt's execution state.
private struct PromptRun {
    let executor: GraphExecutor
    let prompt: ValidatedPrompt
    let promptID: String
    let extraData: JSON
    let nodes: JSONObject

    var messages: [(String, JSON)] = []
    var outputsUI = JSONObject()
    var meta = JSONObject()
    var executed: [String] = []
    /// Results of nodes computed or taken from the cache in this prompt.
    var results: [String: [[NodeValue]]] = [:]
    var keyIDs: [String: Int] = [:]
    let progress: SharedBoard

    init(executor: GraphExecutor, prompt: ValidatedPrompt, promptID: String, extraData: JSON) {
        self.executor = executor
        self.prompt = prompt
        self.promptID = promptID
        self.extraData = extraData
        self.nodes = prompt.prompt.objectValue ?? JSONObject()
        self.progress = SharedBoard(ProgressBoard(promptID: promptID))
    }

    private var now: Int64 { executor.environment.clock() }

    private func classOf(_ id: String) -> String { nodes[id]?["class_type"]?.stringValue ?? "" }

    /// Links of a node's declared inputs: input name → (source id, slot), in input order.
    /// Undeclared keys are ignored, as validation ignores them.
    private func links(of id: String) -> [(name: String, source: String, slot: Int)] {
        guard let inputs = nodes[id]?["inputs"]?.objectValue, let schema = executor.catalog.schema(classOf(id)) else { return [] }
        var out: [(String, String, Int)] = []
        for (name, value) in inputs where schema.input(named: name).map({ $0.section != .hidden }) ?? false {
            if case .array(let l) = value, l.count == 2, let s = l[0].stringValue, let slot = l[1].intValue {
                out.append((name, s, Int(clamping: slot)))
            }
        }
        return out
    }

    private enum Problem: Error {
        case missingNode(String, from: String)
        case cycle(String)
    }

    /// Nodes reachable from the outputs, dependencies first (iterative DFS, so long chains are fine).
    private func reachableInDependencyOrder() -> Result<[String], Problem> {
        var state: [String: Bool] = [:]   // false = on the path, true = done
        var order: [String] = []
        for output in prompt.outputNodeIDs {
            guard nodes[output] != nil else { return .failure(.missingNode(output, from: output)) }
            if state[output] != nil { continue }
            var stack: [(id: String, next: Int, links: [(name: String, source: String, slot: Int)])] = [(output, 0, links(of: output))]
            state[output] = false
            while let top = stack.last {
                if top.next == top.links.count {
                    stack.removeLast()
                    state[top.id] = true
                    order.append(top.id)
                    continue
                }
                let source = top.links[top.next].source
                stack[stack.count - 1].next += 1
                guard nodes[source] != nil else { return .failure(.missingNode(source, from: top.id)) }
                switch state[source] {
                case .some(true): continue
                case .some(false): return .failure(.cycle(source))
                case .none:
                    state[source] = false
                    stack.append((source, 0, links(of: source)))
                }
            }
        }
        return .success(order)
    }

    /// ComfyUI's cache key of each node, interned (see GraphExecutor).
    private mutating func computeKeys(order: [String]) -> (texts: Set<String>, ids: Set<Int>) {
        var texts = Set<String>()
        var ids = Set<Int>()
        for id in order {
            let className = classOf(id)
            guard let node = NodeRegistry.implementation(for: className), let schema = executor.catalog.schema(className) else { continue }
            let inputs = nodes[id]?["inputs"]?.objectValue ?? JSONObject()
            var constants = JSONObject()
            var parts: [JSON] = [.string(className)]
            for name in inputs.keys.sorted() {
                guard let value = inputs[name] else { continue }
                if case .array(let l) = value, l.count == 2, let source = l[0].stringValue, let slot = l[1].intValue,
                   let sourceKey = keyIDs[source] {
                    parts.append(.array([.string(name), "link", .int(Int64(sourceKey)), .int(slot)]))
                } else {
                    parts.append(.array([.string(name), value]))
                    constants[name] = value
                }
            }
            if let fingerprint = node.fingerprint(constants: constants, environment: executor.environment) {
                parts.append(.array(["fingerprint", .string(fingerprint)]))
            }
            if schema.inputs.contains(where: { $0.kind == .hidden("UNIQUE_ID") }) {
                parts.append(.array(["node", .string(id)]))
            }
            let text = JSON.array(parts).serialized()
            let keyID = executor.keyID(for: text)
            keyIDs[id] = keyID
            texts.insert(text)
            ids.insert(keyID)
        }
        return (texts, ids)
    }

    private mutating func emit(_ type: String, _ data: JSON, _ send: (String, JSON) -> Void, history: Bool = false) {
        send(type, data)
        if history { messages.append((type, data)) }
    }

    private func nodeEvent(_ id: String, extra: [(String, JSON)] = []) -> JSON {
        var o = JSONObject([("node", .string(id)), ("display_node", .string(id))])
        for (k, v) in extra { o[k] = v }
        o["prompt_id"] = .string(promptID)
        return .object(o)
    }

    mutating func execute(send: @escaping @Sendable (String, JSON) -> Void, isInterrupted: @escaping @Sendable () -> Bool) -> ExecutionRecord {
        emit("execution_start", .object(JSONObject([("prompt_id", .string(promptID)), ("timestamp", .int(now))])), send, history: true)

        let order: [String]
        switch reachableInDependencyOrder() {
        case .success(let o): order = o
        case .failure(let problem):
            emit("execution_cached", cachedMessage([]), send, history: true)
            let (nodeID, message) = Self.describe(problem)
            return fail(nodeID: nodeID, type: "ValueError", message: message, inputs: JSONObject(), send: send)
        }
        let keys = computeKeys(order: order)
        executor.retainOnly(keys.texts, ids: keys.ids)

        // execution_cached lists every submitted node already cached, in prompt order.
        let cachedIDs = nodes.keys.filter { id in keyIDs[id].map { executor.cached($0) != nil } ?? false }
        emit("execution_cached", cachedMessage(cachedIDs), send, history: true)
        for id in cachedIDs {
            if let entry = keyIDs[id].flatMap({ executor.cached($0) }) { results[id] = entry.outputs }
        }

        // Stage like ComfyUI's ExecutionList: outputs and their uncached ancestors.
        var staging = Staging()
        for output in prompt.outputNodeIDs {
            var todo = [output]
            while let id = todo.popLast() {
                if staging.contains(id) { continue }
                staging.add(id)
                for link in links(of: id) where results[link.source] == nil {
                    todo.append(link.source)
                    staging.block(link.source, blocks: id)
                }
            }
        }
        staging.finishAdding()

        while let id = staging.pick(isOutput: { isOutputNode($0) }) {
            if isInterrupted() {
                return interrupt(nodeID: id, send: send)
            }
            if let cachedOutputs = results[id], let keyID = keyIDs[id], let entry = executor.cached(keyID) {
                // A cached output node: replay its UI.
                emit("executed", nodeEvent(id, extra: [("output", entry.ui.map { .object($0) } ?? .null)]), send)
                if let ui = entry.ui { record(id, ui: ui) }
                let board = progress.withLock { $0.finishCached(id) }
                emit("progress_state", board, send)
                results[id] = cachedOutputs
                executed.append(id)
                staging.complete(id)
                continue
            }
            let outcome = run(id, send: send, isInterrupted: isInterrupted)
            switch outcome {
            case .success(let outputs, let ui):
                results[id] = outputs
                if let keyID = keyIDs[id] { executor.store(keyID, outputs: outputs, ui: ui) }
                if let ui, !ui.isEmpty {
                    emit("executed", nodeEvent(id, extra: [("output", .object(ui))]), send)
                    record(id, ui: ui)
                }
                let board = progress.withLock { $0.finish(id) }
                emit("progress_state", board, send)
                executed.append(id)
                staging.complete(id)
            case .failure(let failure, let inputs):
                switch failure {
                case .interrupted:
                    return interrupt(nodeID: id, send: send)
                case .failed(let type, let message):
                    return fail(nodeID: id, type: type, message: message, inputs: inputs, send: send)
                }
            }
        }
        emit("execution_success", .object(JSONObject([("prompt_id", .string(promptID)), ("timestamp", .int(now))])), send, history: true)
        return ExecutionRecord(outputs: outputsUI, meta: meta, statusString: "success", completed: true, interrupted: false,
                               messages: messages)
    }

    private static func describe(_ problem: Problem) -> (String, String) {
        switch problem {
        case .missingNode(let id, let from): return (from, "Node \(from) links to node \(id), which is not in the prompt.")
        case .cycle(let id): return (id, "Dependency cycle detected through node \(id).")
        }
    }

    private func isOutputNode(_ id: String) -> Bool { executor.catalog.schema(classOf(id))?.isOutputNode ?? false }

    private func cachedMessage(_ ids: [String]) -> JSON {
        .object(JSONObject([("nodes", .array(ids.map { .string($0) })), ("prompt_id", .string(promptID)), ("timestamp", .int(now))]))
    }

    private mutating func record(_ id: String, ui: JSONObject) {
        outputsUI[id] = .object(ui)
        meta[id] = .object(JSONObject([("node_id", .string(id)), ("display_node", .string(id)), ("parent_node", .null),
                                       ("real_node_id", .string(id))]))
    }

    private enum Outcome {
        case success([[NodeValue]], JSONObject?)
        case failure(NodeFailure, inputs: JSONObject)
    }

    /// Gathers a node's inputs, runs it (once, or once per list element), merges the results.
    private mutating func run(_ id: String, send: @escaping @Sendable (String, JSON) -> Void,
                              isInterrupted: @escaping @Sendable () -> Bool) -> Outcome {
        let className = classOf(id)
        let runningBoard = progress.withLock { $0.start(id) }
        emit("progress_state", runningBoard, send)
        emit("executing", nodeEvent(id), send)

        guard let node = NodeRegistry.implementation(for: className), let schema = executor.catalog.schema(className) else {
            return .failure(.failed(type: "KeyError", message: "No implementation for node class \(className)."), inputs: JSONObject())
        }
        let given = nodes[id]?["inputs"]?.objectValue ?? JSONObject()
        var lists: [(String, [NodeValue])] = []
        for spec in schema.inputs {
            if spec.section == .hidden {
                switch spec.kind {
                case .hidden("UNIQUE_ID"): lists.append((spec.name, [.string(id)]))
                case .hidden("PROMPT"): lists.append((spec.name, [.json(prompt.prompt)]))
                case .hidden("EXTRA_PNGINFO"): lists.append((spec.name, [.json(extraData["extra_pnginfo"] ?? .null)]))
                default: break
                }
                continue
            }
            guard let value = given[spec.name] else { continue }   // unconnected optional inputs are absent
            if case .array(let l) = value, l.count == 2, let source = l[0].stringValue, let slot = l[1].intValue {
                let values = results[source].flatMap { $0.indices.contains(Int(slot)) ? $0[Int(slot)] : nil } ?? []
                lists.append((spec.name, values))
            } else {
                lists.append((spec.name, [NodeValue(constant: value)]))
            }
        }
        var shownInputs = JSONObject()
        for (name, values) in lists where schema.input(named: name)?.section != .hidden {
            shownInputs[name] = .array(values.map(\.displayJSON))
        }

        let promptID = self.promptID
        let board = self.progress
        let context = NodeContext(
            environment: executor.environment, promptID: promptID, nodeID: id,
            reportProgress: { value, max in
                let update = board.withLock { $0.update(id, value: value, max: max) }
                guard let update else { return }
                send("progress_state", update)
                send("progress", .object(JSONObject([("value", PromptRun.number(value)), ("max", PromptRun.number(max)),
                                                     ("prompt_id", .string(promptID)), ("node", .string(id))])))
            },
            interrupted: isInterrupted)

        // One call per element of the longest list input (shorter lists repeat their last item),
        // unless the node takes whole lists.
        let calls: [[String: [NodeValue]]]
        if node.inputIsList {
            calls = [Dictionary(lists, uniquingKeysWith: { a, _ in a })]
        } else if lists.contains(where: { $0.1.isEmpty }) {
            calls = []
        } else {
            let count = lists.map(\.1.count).max() ?? 1
            calls = (0..<max(count, 1)).map { i in
                Dictionary(lists.map { ($0.0, [$0.1[min(i, $0.1.count - 1)]]) }, uniquingKeysWith: { a, _ in a })
            }
        }
        var outputs = [[NodeValue]](repeating: [], count: schema.outputTypes.count)
        var ui: JSONObject?
        for inputs in calls {
            if isInterrupted() { return .failure(.interrupted, inputs: shownInputs) }
            let result: NodeResult
            do { result = try node.run(NodeCall(nodeID: id, inputs: inputs, context: context)) } catch {
                return .failure(error, inputs: shownInputs)
            }
            for (slot, values) in result.outputs.enumerated() where slot < outputs.count { outputs[slot] += values }
            if let part = result.ui {
                var merged = ui ?? JSONObject()
                for (key, value) in part {
                    if case .array(let old)? = merged[key], case .array(let new) = value {
                        merged[key] = .array(old + new)
                    } else {
                        merged[key] = value
                    }
                }
                ui = merged
            }
        }
        return .success(outputs, ui)
    }

    static func number(_ value: Double) -> JSON {
        if value.rounded() == value, abs(value) < 9e15 { return .int(Int64(value)) }
        return .double(value)
    }

    private mutating func fail(nodeID: String, type: String, message: String, inputs: JSONObject,
                               send: (String, JSON) -> Void) -> ExecutionRecord {
        let data = JSONObject([
            ("prompt_id", .string(promptID)),
            ("node_id", .string(nodeID)),
            ("node_type", .string(classOf(nodeID))),
            ("executed", .array(executed.map { .string($0) })),
            ("exception_message", .string(message)),
            ("exception_type", .string(type)),
            ("traceback", .array([.string("  Node \(nodeID) (\(classOf(nodeID))) raised \(type): \(message)\n")])),
            ("current_inputs", .object(inputs)),
            ("current_outputs", .array(nodes.keys.filter { keyIDs[$0] != nil }.map { .string($0) })),
            ("timestamp", .int(now)),
        ])
        emit("execution_error", .object(data), send, history: true)
        return ExecutionRecord(outputs: outputsUI, meta: meta, statusString: "error", completed: false, interrupted: false,
                               messages: messages)
    }

    private mutating func interrupt(nodeID: String, send: (String, JSON) -> Void) -> ExecutionRecord {
        let data = JSONObject([
            ("prompt_id", .string(promptID)),
            ("node_id", .string(nodeID)),
            ("node_type", .string(classOf(nodeID))),
            ("executed", .array(executed.map { .string($0) })),
            ("timestamp", .int(now)),
        ])
        emit("execution_interrupted", .object(data), send, history: true)
        return ExecutionRecord(outputs: outputsUI, meta: meta, statusString: "error", completed: false, interrupted: true,
                               messages: messages)
    }
}

/// ComfyUI's ExecutionList: pending nodes in staging order, how many uncomputed inputs block
/// each one, and the "UX-friendly" pick (an output first, then a node feeding one, then one two
/// links away, else the first ready node).
private struct Staging {
    private var order: [String] = []
    private var position: [String: Int] = [:]
    private var blockCount: [String: Int] = [:]
    /// node → nodes waiting for it.
    private var blocking: [String: [String]] = [:]
    private var ready: [String] = []
    private var done: Set<String> = []

    func contains(_ id: String) -> Bool { position[id] != nil }

    mutating func add(_ id: String) {
        position[id] = order.count
        order.append(id)
        blockCount[id] = blockCount[id] ?? 0
    }

    mutating func block(_ source: String, blocks target: String) {
        blocking[source, default: []].append(target)
        blockCount[target, default: 0] += 1
    }

    mutating func finishAdding() {
        ready = order.filter { blockCount[$0] == 0 }
    }

    mutating func pick(isOutput: (String) -> Bool) -> String? {
        guard !ready.isEmpty else { return nil }
        ready.sort { position[$0]! < position[$1]! }
        let choice = ready.first(where: isOutput)
            ?? ready.first(where: { blocking[$0, default: []].contains(where: isOutput) })
            ?? ready.first(where: { blocking[$0, default: []].contains { blocking[$0, default: []].contains(where: isOutput) } })
            ?? ready[0]
        ready.removeAll { $0 == choice }
        return choice
    }

    mutating func complete(_ id: String) {
        done.insert(id)
        for target in blocking[id] ?? [] {
            blockCount[target, default: 1] -= 1
            if blockCount[target] == 0 && !done.contains(target) { ready.append(target) }
        }
    }
}

/// The board behind a lock: progress callbacks may arrive from engine worker threads.
private final class SharedBoard: Sendable {
    private let mutex: Mutex<ProgressBoard>
    init(_ board: ProgressBoard) { mutex = Mutex(board) }
    func withLock<R>(_ body: (inout ProgressBoard) -> R) -> R { mutex.withLock { body(&$0) } }
}

/// The `progress_state` board: every node that left "pending" in this prompt, in order.
///
/// ComfyUI sends the whole board in each message, which is quadratic in the node count; past
/// `maxEntries` the oldest finished nodes are left out (clients only update the nodes listed).
private struct ProgressBoard {
    static let maxEntries = 256
    let promptID: String
    private var entries = JSONObject()
    private var lastPercent: [String: Int] = [:]

    init(promptID: String) { self.promptID = promptID }

    private mutating func put(_ id: String, _ value: JSON) {
        entries[id] = value
        guard entries.count > Self.maxEntries else { return }
        // Rebuild without the oldest finished entries (amortised: trims down to 3/4 of the cap).
        var kept = JSONObject()
        var excess = entries.count - Self.maxEntries * 3 / 4
        for (key, entry) in entries {
            if excess > 0, key != id, entry["state"] == "finished" {
                excess -= 1
                continue
            }
            kept[key] = entry
        }
        entries = kept
    }

    private func entry(_ id: String, value: JSON, max: JSON, state: String) -> JSON {
        .object(JSONObject([("value", value), ("max", max), ("state", .string(state)), ("node_id", .string(id)),
                            ("prompt_id", .string(promptID)), ("display_node_id", .string(id)), ("parent_node_id", .null),
                            ("real_node_id", .string(id))]))
    }

    private var message: JSON { .object(JSONObject([("prompt_id", .string(promptID)), ("nodes", .object(entries))])) }

    mutating func start(_ id: String) -> JSON {
        put(id, entry(id, value: .double(0), max: .double(1), state: "running"))
        return message
    }

    /// Records progress; returns the board to send, or nil when the change is too small to report
    /// (at most one message per percent, so a kernel reporting per row cannot flood the socket).
    mutating func update(_ id: String, value: Double, max: Double) -> JSON? {
        guard value.isFinite, max.isFinite else { return nil }
        let ratio = max > 0 ? Swift.min(Swift.max(value / max, 0), 1) : 0
        let percent = Int((ratio * 100).rounded(.down))
        if let last = lastPercent[id], last == percent, value < max { return nil }
        lastPercent[id] = percent
        put(id, entry(id, value: .double(value), max: .double(max), state: "running"))
        return message
    }

    mutating func finish(_ id: String) -> JSON {
        let max = entries[id]?["max"] ?? .double(1)
        put(id, entry(id, value: max, max: max, state: "finished"))
        return message
    }

    /// Cached output nodes are reported finished with integer 1/1, as ComfyUI does.
    mutating func finishCached(_ id: String) -> JSON {
        put(id, entry(id, value: .int(1), max: .int(1), state: "finished"))
        return message
    }
}
