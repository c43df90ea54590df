import OrderedJSON

/// What a Swift node declares about itself; `NodeCatalog.verifyImplementations()` compares it with nodes.json.
package struct NodeSignature: Sendable, Equatable {
    package struct Input: Sendable, Equatable {
        package let section: InputSpec.Section
        package let name: String
        /// `INT`, `FLOAT`, `STRING`, `BOOLEAN`, `COMBO`, a socket type, or a hidden kind (`UNIQUE_ID`).
        package let type: String
        package init(_ section: InputSpec.Section, _ name: String, _ type: String) {
            self.section = section
            self.name = name
            self.type = type
        }
    }
    package let inputs: [Input]
    package let outputs: [String]
    package let outputIsList: [Bool]
    package let isOutputNode: Bool
}

/// A value travelling along a link or given as a constant.
package enum NodeValue: Sendable {
    case int(Int64)
    case float(Double)
    case string(String)
    case bool(Bool)
    /// MODEL / CLIP / VAE: a handle on a lazily opened checkpoint.
    case checkpoint(LoadedCheckpoint, part: CheckpointPart)
    /// IMAGE: a batch of pictures (ComfyUI's [B, H, W, C] tensor).
    case images(ImageBatch)
    /// Any other constant (hidden inputs, unusual widget values).
    case json(JSON)

    /// The value as ComfyUI's `current_inputs` shows it: primitives as they are, objects as text.
    package var displayJSON: JSON {
        switch self {
        case .int(let i): return .int(i)
        case .float(let d): return .double(d)
        case .string(let s): return .string(s)
        case .bool(let b): return .bool(b)
        case .checkpoint(let c, let part): return .string("<\(part.rawValue) of \(c.name)>")
        case .images(let batch): return .string("<IMAGE [\(batch.shape.map(String.init).joined(separator: ", "))]>")
        case .json(let j): return j
        }
    }

    /// A constant input value (after validation's coercion) as a node value.
    package init(constant: JSON) {
        switch constant {
        case .int(let i): self = .int(i)
        case .double(let d): self = .float(d)
        case .string(let s): self = .string(s)
        case .bool(let b): self = .bool(b)
        default: self = .json(constant)
        }
    }
}

/// Which part of a checkpoint a handle stands for.
package enum CheckpointPart: String, Sendable {
    case model = "MODEL", clip = "CLIP", vae = "VAE"
}

/// Why a node failed; becomes `execution_error` (or `execution_interrupted`).
package enum NodeFailure: Error, Sendable {
    /// The node raised: `type` and `message` become `exception_type` / `exception_message`.
    case failed(type: String, message: String)
    /// The prompt was interrupted while the node ran.
    case interrupted
}

extension NodeFailure: CustomStringConvertible {
    /// The message alone (the CLI prints it as its one-line error).
    package var description: String {
        switch self {
        case .failed(_, let message): return message
        case .interrupted: return "Interrupted."
        }
    }
}

/// What one call of a node produced.
package struct NodeResult: Sendable {
    /// Per output slot, the values of this call: one value, or several for `output_is_list` slots.
    package var outputs: [[NodeValue]]
    /// The UI output (`{"images": [...], "text": [...]}`), or nil.
    package var ui: JSONObject?

    package init(outputs: [[NodeValue]] = [], ui: JSONObject? = nil) {
        self.outputs = outputs
        self.ui = ui
    }
}

/// The inputs of one node call and the services it may use.
package struct NodeCall: Sendable {
    package let nodeID: String
    /// Input name → values. One value per input unless the node takes lists (`inputIsList`).
    package let inputs: [String: [NodeValue]]
    package let context: NodeContext

    package func value(_ name: String) -> NodeValue? { inputs[name]?.first }

    package func string(_ name: String) -> String? {
        if case .string(let s)? = value(name) { return s }
        return nil
    }

    package func int(_ name: String) -> Int64? {
        switch value(name) {
        case .int(let i)?: return i
        case .float(let d)? where d.isFinite && abs(d) < 9e18: return Int64(d)
        default: return nil
        }
    }

    /// A hidden input's JSON (PROMPT, EXTRA_PNGINFO); nil when absent or null.
    package func hiddenJSON(_ name: String) -> JSON? {
        if case .json(let j)? = value(name), !j.isNull { return j }
        return nil
    }

    package func images(_ name: String) -> ImageBatch? {
        if case .images(let batch)? = value(name) { return batch }
        return nil
    }

    package func checkpoint(_ name: String) -> LoadedCheckpoint? {
        if case .checkpoint(let c, _)? = value(name) { return c }
        return nil
    }
}

/// A node implementation: static functions over the node's inputs. Stateless; caching is the executor's.
package protocol NodeImplementation: Sendable {
    /// The class name (`class_type`), as in nodes.json.
    static var className: String { get }
    static var signature: NodeSignature { get }
    /// Combo inputs whose options are computed when asked (checkpoint lists).
    static var dynamicOptions: [String: DynamicOptions] { get }
    /// True when the node receives whole lists (ComfyUI's `INPUT_IS_LIST`) instead of one call per element.
    static var inputIsList: Bool { get }
    /// A change fingerprint mixed into the cache key (ComfyUI's `IS_CHANGED`), from the constant inputs.
    static func fingerprint(constants: JSONObject, environment: ExecutionEnvironment) -> String?
    /// Runs the node once.
    static func run(_ call: NodeCall) throws(NodeFailure) -> NodeResult
}

extension NodeImplementation {
    package static var dynamicOptions: [String: DynamicOptions] { [:] }
    package static var inputIsList: Bool { false }
    package static func fingerprint(constants: JSONObject, environment: ExecutionEnvironment) -> String? { nil }
}

/// Every node this build implements.
package enum NodeRegistry {
    package static let all: [any NodeImplementation.Type] = [
        CheckpointLoaderSimpleNode.self,
        UNETLoaderNode.self,
        UnetLoaderGGUFNode.self,
        LTListLayersNode.self,
        LTVisualizeWeightsNode.self,
        ShowTextNode.self,
        PreviewImageNode.self,
        SaveImageNode.self,
        LTWeightNMFNode.self,
        LTWeightStatsNode.self,
        LTModelOverviewNode.self,
        LTExpandedWeightsNode.self,
        LTTopInputsNode.self,
        LoraLoaderNode.self,
        LoraLoaderModelOnlyNode.self,
        LTLoraInspectNode.self,
        LTCompareModelsNode.self,
        LTVisualizeDeltaNode.self,
    ]

    private static let byName: [String: any NodeImplementation.Type] = {
        var map: [String: any NodeImplementation.Type] = [:]
        for node in all { map[node.className] = node }
        return map
    }()

    package static func implementation(for className: String) -> (any NodeImplementation.Type)? { byName[className] }
}
