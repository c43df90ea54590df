// LTNodes: node catalogue, graph validation, the executor and the node implementations.
//
// This file is the module's public surface for the server (NodeServer) and the CLI:
//   NodeCatalog        nodes.json loaded, checked against the Swift nodes, /object_info answers
//   ModelLocator       the folder layer's view of models/checkpoints (implemented by NodeServer)
//   PromptValidation   POST /prompt validation with ComfyUI's 400 bodies
//   WorkflowConversion UI workflow (nodes + links) → API prompt, using nodes.json's widget order
//   GraphExecutor      runs validated prompts, sends ComfyUI's WebSocket messages, caches outputs
import OrderedJSON
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Models

/// Where checkpoints live. Implemented by the server's folder layer, which re-scans its folders
/// on each call so files added or removed show up without a restart.
public protocol ModelLocator: Sendable {
    /// Checkpoint names as ComfyUI lists them: relative paths with `/`, sorted, extensions kept.
    func checkpointNames() -> [String]
    /// Absolute path of the checkpoint called `named`, or nil when it is unknown or would leave
    /// the checkpoint folders (`..`, absolute names).
    func checkpointPath(named: String) -> String?
    /// File names of a model folder as ComfyUI lists them (`diffusion_models`, or `unet_gguf`: the
    /// `.gguf` files of the diffusion_models folders, as ComfyUI-GGUF registers them).
    func modelNames(in folder: String) -> [String]
    /// Absolute path of `named` in that folder, or nil (unknown, or outside the folder).
    func modelPath(named: String, in folder: String) -> String?
}

extension ModelLocator {
    /// Locators that only know checkpoints (tests) answer the `checkpoints` folder and nothing else.
    public func modelNames(in folder: String) -> [String] { folder == "checkpoints" ? checkpointNames() : [] }
    public func modelPath(named name: String, in folder: String) -> String? {
        folder == "checkpoints" ? checkpointPath(named: name) : nil
    }
}

/// What nodes may touch while they run.
public struct ExecutionEnvironment: Sendable {
    public var models: any ModelLocator
    /// Directory where preview PNGs are written (ComfyUI's `temp`, served as `type=temp`).
    public var tempDirectory: String
    /// ComfyUI's `output` directory, where SaveImage writes.
    public var outputDirectory: String
    /// Milliseconds since the Unix epoch, for message timestamps. Replaceable in tests.
    public var clock: @Sendable () -> Int64
    /// Writes one line to the server log (`/internal/logs`, the console), as ComfyUI's nodes log
    /// warnings such as "lora key not loaded: KEY". A no-op outside a server.
    public var log: @Sendable (String) -> Void

    public init(models: any ModelLocator, tempDirectory: String, outputDirectory: String,
                clock: @escaping @Sendable () -> Int64 = ExecutionEnvironment.systemMilliseconds,
                log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.models = models
        self.tempDirectory = tempDirectory
        self.outputDirectory = outputDirectory
        self.clock = clock
        self.log = log
    }
}

// MARK: - Catalogue

/// Why nodes.json could not be used.
public enum NodeCatalogError: Error, CustomStringConvertible, Equatable {
    /// The bytes are not valid JSON (`reason` from the parser).
    case malformedJSON(reason: String)
    /// The top level is not an object of class name → definition.
    case notAnObject
    /// Definition `className` is missing a field or has one of the wrong type.
    case invalidDefinition(className: String, reason: String)
    /// nodes.json defines `className` but no Swift node implements it.
    case missingImplementation(className: String)
    /// A Swift node exists for `className` but nodes.json does not define it.
    case missingDefinition(className: String)
    /// nodes.json and the Swift node disagree (`reason` names the field and both values).
    case signatureMismatch(className: String, reason: String)

    public var description: String {
        switch self {
        case .malformedJSON(let r): return "nodes.json is not valid JSON: \(r)."
        case .notAnObject: return "nodes.json must be an object mapping class names to node definitions."
        case .invalidDefinition(let c, let r): return "nodes.json: node \(c) is invalid: \(r)."
        case .missingImplementation(let c): return "nodes.json defines \(c), but no node implementation has that class name."
        case .missingDefinition(let c): return "Node \(c) is implemented but missing from nodes.json."
        case .signatureMismatch(let c, let r): return "nodes.json disagrees with the implementation of \(c): \(r)."
        }
    }
}

// `NodeCatalog` itself (load, bundled, verifyImplementations, objectInfo) is in NodeCatalog.swift.

// MARK: - Validation

/// A prompt that passed validation: the API form with coerced values, and the output nodes to run.
public struct ValidatedPrompt: Sendable {
    /// The API-form prompt (`{id: {class_type, inputs, _meta?}}`) with values coerced as ComfyUI does
    /// (`"16"` → 16 for INT inputs, `{"__value__": [...]}` unwrapped), in the order it was submitted.
    public let prompt: JSON
    /// Output nodes that passed validation, in prompt order (history's `outputs_to_execute`).
    public let outputNodeIDs: [String]
    /// Errors of output nodes that were dropped while others survived (ComfyUI still answers 200
    /// and lists them in `node_errors`); usually empty.
    public let nodeErrors: JSONObject

    public init(prompt: JSON, outputNodeIDs: [String], nodeErrors: JSONObject = JSONObject()) {
        self.prompt = prompt
        self.outputNodeIDs = outputNodeIDs
        self.nodeErrors = nodeErrors
    }
}

/// A rejected prompt. `body` is ComfyUI's 400 body: `{"error": {type, message, details, extra_info}, "node_errors": {...}}`.
public struct PromptValidationFailure: Error, Sendable, CustomStringConvertible {
    public let body: JSON
    public init(body: JSON) { self.body = body }
    public var description: String {
        let e = body["error"]
        return "\(e?["message"]?.stringValue ?? "invalid prompt"): \(e?["details"]?.stringValue ?? "")"
    }
}

// `PromptValidation.validate(prompt:catalog:models:)` is in PromptValidation.swift.

// MARK: - Workflow conversion

/// Why a UI-format workflow could not be turned into an API prompt.
public enum WorkflowConversionError: Error, CustomStringConvertible, Equatable {
    /// The JSON is not a UI workflow (`reason` says which part is missing or mistyped).
    case notAWorkflow(reason: String)
    /// Node at `index` in `nodes` is malformed.
    case malformedNode(index: Int, reason: String)
    /// Link at `index` in `links` is malformed.
    case malformedLink(index: Int, reason: String)
    /// More nodes, links or subgraph nesting than the converter accepts.
    case tooLarge(reason: String)

    public var description: String {
        switch self {
        case .notAWorkflow(let r): return "Not a UI workflow: \(r)."
        case .malformedNode(let i, let r): return "Workflow node #\(i) is malformed: \(r)."
        case .malformedLink(let i, let r): return "Workflow link #\(i) is malformed: \(r)."
        case .tooLarge(let r): return "Workflow too large: \(r)."
        }
    }

    /// A 400 body in ComfyUI's shape (`invalid_prompt`), for POST /prompt.
    public var responseBody: JSON {
        .object(JSONObject([
            ("error", .object(JSONObject([
                ("type", "invalid_prompt"),
                ("message", "Cannot convert the UI workflow to a prompt."),
                ("details", .string(description)),
                ("extra_info", .object(JSONObject())),
            ]))),
            ("node_errors", .object(JSONObject())),
        ]))
    }
}

// `WorkflowConversion.isUIWorkflow(_:)` and `.apiPrompt(fromUIWorkflow:catalog:)` are in WorkflowConversion.swift.

// MARK: - Execution

/// The result of running one prompt, in the shapes /history needs.
public struct ExecutionRecord: Sendable {
    /// Node id → UI output (`{"images": [...], "text": [...]}`) for every node with UI output in
    /// this run, cached output nodes included; outputs made before an error are kept.
    public let outputs: JSONObject
    /// History `meta`: node id → `{node_id, display_node, parent_node, real_node_id}` for the same nodes.
    public let meta: JSONObject
    /// `"success"` or `"error"` (errors and interrupts).
    public let statusString: String
    /// False after an error or an interrupt.
    public let completed: Bool
    /// True when the run ended with `execution_interrupted`.
    public let interrupted: Bool
    /// History `status.messages`: execution_start, execution_cached, and the final
    /// execution_success / execution_error / execution_interrupted, with the data that was sent.
    public let messages: [(String, JSON)]
}

// `GraphExecutor` is in GraphExecutor.swift. Contract for the server, summarised:
// - one instance per server, used from ONE serial queue (it owns the output cache);
// - `execute` sends, through `send`, every prompt message from `execution_start` up to and
//   including the terminal `execution_success` / `execution_error` / `execution_interrupted`;
// - it does NOT send the final `executing {node: null}`: ComfyUI stores the history entry and
//   broadcasts `status` first, then sends it. Use `GraphExecutor.finalExecutingMessage(promptID:)`
//   after storing `ExecutionRecord` in history and broadcasting the queue status.

extension ExecutionEnvironment {
    /// Wall-clock milliseconds since the Unix epoch (what ComfyUI puts in `timestamp`).
    public static let systemMilliseconds: @Sendable () -> Int64 = {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}
