import OrderedJSON

/// The node catalogue: nodes.json parsed, in file order, with each definition's inputs decoded.
///
/// nodes.json is the one source of node schemas (the /object_info answer without the dynamic
/// lists). Its order matters: the frontend maps a saved workflow's `widgets_values` to inputs by
/// `input_order`, so the catalogue never reorders anything.
public struct NodeCatalog: Sendable {
    /// Class name → definition exactly as in nodes.json, in file order.
    package let definitions: JSONObject
    /// Decoded definitions by class name.
    package let schemas: [String: NodeSchema]

    /// Class names in nodes.json order.
    public var classNames: [String] { definitions.keys }

    /// Parses and checks nodes.json text (every field the frontend needs, typed; `input_order`
    /// consistent with `input`). Does not look at the Swift nodes: see `verifyImplementations()`.
    public static func load(nodesJSON: [UInt8]) throws(NodeCatalogError) -> NodeCatalog {
        let root: JSON
        do { root = try JSON.parse(nodesJSON, limits: JSONLimits(maxDepth: 32, maxBytes: 16 << 20)) } catch {
            throw .malformedJSON(reason: error.description)
        }
        guard let object = root.objectValue else { throw .notAnObject }
        var schemas: [String: NodeSchema] = [:]
        for (className, definition) in object {
            schemas[className] = try NodeSchema(className: className, definition: definition)
        }
        return NodeCatalog(definitions: object, schemas: schemas)
    }

    /// The catalogue compiled into the binary from the repository's nodes.json (see
    /// EmbeddedNodesJSON.swift, kept byte-identical by a test), so a moved binary still starts.
    public static func bundled() throws(NodeCatalogError) -> NodeCatalog {
        try load(nodesJSON: Array(embeddedNodesJSON.utf8))
    }

    /// Checks that nodes.json and the Swift node implementations describe the same nodes: same
    /// class names, inputs (section, name, type, order), outputs and output-node flags.
    /// The server refuses to start when this throws.
    public func verifyImplementations() throws(NodeCatalogError) {
        for className in definitions.keys where NodeRegistry.implementation(for: className) == nil {
            throw .missingImplementation(className: className)
        }
        for node in NodeRegistry.all {
            guard let schema = schemas[node.className] else { throw .missingDefinition(className: node.className) }
            try schema.check(against: node.signature)
        }
    }

    /// The full /object_info answer: every node in nodes.json order, dynamic lists filled now.
    public func objectInfo(models: any ModelLocator) -> JSON {
        var out = JSONObject()
        var checkpoints: [String]?
        for (className, definition) in definitions {
            out[className] = filled(className: className, definition: definition, models: models, checkpoints: &checkpoints)
        }
        return .object(out)
    }

    /// `{className: definition}` for GET /object_info/{class}, or nil for an unknown class
    /// (ComfyUI then answers `{}`).
    public func objectInfo(className: String, models: any ModelLocator) -> JSON? {
        guard let definition = definitions[className] else { return nil }
        var checkpoints: [String]?
        return .object(JSONObject([(className, filled(className: className, definition: definition, models: models,
                                                      checkpoints: &checkpoints))]))
    }

    /// The decoded definition of `className`.
    package func schema(_ className: String) -> NodeSchema? { schemas[className] }

    /// Options of a combo input now: the dynamic list when the node declares one, else nodes.json's.
    package func comboOptions(_ input: InputSpec, className: String, models: any ModelLocator) -> [String]? {
        if let source = NodeRegistry.implementation(for: className)?.dynamicOptions[input.name] {
            return source.options(models: models)
        }
        if case .combo(let options) = input.kind { return options }
        return nil
    }

    private func filled(className: String, definition: JSON, models: any ModelLocator, checkpoints: inout [String]?) -> JSON {
        guard let node = NodeRegistry.implementation(for: className), !node.dynamicOptions.isEmpty,
              let schema = schemas[className], var def = definition.objectValue,
              var input = def["input"]?.objectValue else { return definition }
        for (name, source) in node.dynamicOptions {
            guard let spec = schema.input(named: name), var section = input[spec.section.rawValue]?.objectValue else { continue }
            let options: [String]
            switch source {
            case .checkpoints:
                if checkpoints == nil { checkpoints = models.checkpointNames() }
                options = checkpoints ?? []
            default:
                options = source.options(models: models)
            }
            section[name] = spec.config(withOptions: options)
            input[spec.section.rawValue] = .object(section)
        }
        def["input"] = .object(input)
        return .object(def)
    }
}

/// Where a combo's options come from when they change at run time.
package enum DynamicOptions: Sendable {
    /// The files in models/checkpoints (and extra model paths).
    case checkpoints
    /// The model files in models/diffusion_models and models/unet (and extra model paths).
    case diffusionModels
    /// The `.gguf` files of those folders (ComfyUI-GGUF's `unet_gguf` list).
    case ggufDiffusionModels
    /// The files in models/loras (and extra model paths).
    case loras

    package func options(models: any ModelLocator) -> [String] {
        switch self {
        case .checkpoints: return models.checkpointNames()
        case .diffusionModels: return models.modelNames(in: "diffusion_models")
        case .ggufDiffusionModels: return models.modelNames(in: "unet_gguf")
        case .loras: return models.modelNames(in: "loras")
        }
    }
}

/// One input of a node as nodes.json declares it.
package struct InputSpec: Sendable {
    package enum Section: String, Sendable, CaseIterable { case required, optional, hidden }

    /// What values the input accepts.
    package enum Kind: Sendable, Equatable {
        case int, float, string, boolean
        /// One of these strings (legacy `[["a","b"], {...}]` or `["COMBO", {"options": [...]}]`).
        case combo([String])
        /// Link-only type such as `MODEL`, `*` or a comma-separated set.
        case socket(String)
        /// Filled by the server (`PROMPT`, `UNIQUE_ID`, `EXTRA_PNGINFO`…), never validated.
        case hidden(String)
    }

    package let name: String
    package let section: Section
    package let kind: Kind
    /// The spec as written: `[TYPE, {options}]`, `[TYPE]` or `[[choices], {options}]`; for hidden inputs the type string.
    package let config: JSON
    /// The options object (`default`, `min`, `max`, `tooltip`, `forceInput`…), empty if none.
    package let options: JSONObject

    /// The type name used in messages and link checks: `INT`, `STRING`, `MODEL`, `COMBO`…
    package var typeName: String {
        switch kind {
        case .int: return "INT"
        case .float: return "FLOAT"
        case .string: return "STRING"
        case .boolean: return "BOOLEAN"
        case .combo: return "COMBO"
        case .socket(let t), .hidden(let t): return t
        }
    }

    /// True when the frontend shows a widget for it (and `widgets_values` holds its value).
    package var isWidget: Bool {
        if options["forceInput"]?.boolValue == true || options["defaultInput"]?.boolValue == true { return false }
        switch kind {
        case .int, .float, .string, .boolean, .combo: return true
        case .socket, .hidden: return false
        }
    }

    /// True when the frontend adds a control widget (`fixed|increment|…`) after this one.
    package var hasControlWidget: Bool {
        switch kind {
        case .int, .float:
            if let flag = options["control_after_generate"] { return flag.boolValue ?? true }
            return name == "seed" || name == "noise_seed"
        case .combo:
            return options["control_after_generate"].map { $0.boolValue ?? true } ?? false
        default:
            return false
        }
    }

    /// The config with its choice list replaced (for dynamic combos).
    package func config(withOptions choices: [String]) -> JSON {
        guard case .array(var parts) = config, !parts.isEmpty else { return config }
        let list = JSON.array(choices.map { .string($0) })
        if parts[0].stringValue == "COMBO", parts.count > 1, var opts = parts[1].objectValue {
            opts["options"] = list
            parts[1] = .object(opts)
        } else {
            parts[0] = list
        }
        return .array(parts)
    }

    init(name: String, section: Section, spec: JSON, className: String) throws(NodeCatalogError) {
        self.name = name
        self.section = section
        self.config = spec
        if section == .hidden {
            guard let t = spec.stringValue else {
                throw .invalidDefinition(className: className, reason: "hidden input \(name) must be a type string")
            }
            kind = .hidden(t)
            options = JSONObject()
            return
        }
        guard let parts = spec.arrayValue, let head = parts.first, parts.count <= 2 else {
            throw .invalidDefinition(className: className, reason: "input \(name) must be [type] or [type, {options}]")
        }
        let opts: JSONObject
        if parts.count == 2 {
            guard let o = parts[1].objectValue else {
                throw .invalidDefinition(className: className, reason: "options of input \(name) must be an object")
            }
            opts = o
        } else {
            opts = JSONObject()
        }
        options = opts
        switch head {
        case .array(let choices):
            var list: [String] = []
            for c in choices {
                guard let s = c.stringValue else {
                    throw .invalidDefinition(className: className, reason: "choices of input \(name) must be strings")
                }
                list.append(s)
            }
            kind = .combo(list)
        case .string("COMBO"):
            let choices = opts["options"]?.arrayValue ?? []
            kind = .combo(choices.compactMap(\.stringValue))
        case .string("INT"): kind = .int
        case .string("FLOAT"): kind = .float
        case .string("STRING"): kind = .string
        case .string("BOOLEAN"): kind = .boolean
        case .string(let t) where !t.isEmpty: kind = .socket(t)
        default:
            throw .invalidDefinition(className: className, reason: "input \(name) has no type")
        }
    }
}

/// A node definition from nodes.json, decoded for validation, conversion and execution.
package struct NodeSchema: Sendable {
    package let className: String
    package let displayName: String
    /// Inputs in `input_order`: required, then optional, then hidden.
    package let inputs: [InputSpec]
    package let outputTypes: [String]
    package let outputIsList: [Bool]
    package let isOutputNode: Bool

    private let indexByName: [String: Int]

    package func input(named name: String) -> InputSpec? { indexByName[name].map { inputs[$0] } }

    /// Declared (required + optional) inputs, in order; what validation looks at.
    package var declaredInputs: [InputSpec] { inputs.filter { $0.section != .hidden } }

    init(className: String, definition: JSON) throws(NodeCatalogError) {
        func fail(_ reason: String) -> NodeCatalogError { .invalidDefinition(className: className, reason: reason) }
        guard let def = definition.objectValue else { throw fail("the definition is not an object") }
        self.className = className
        guard def["name"]?.stringValue == className else { throw fail("\"name\" must equal the class name") }
        guard let display = def["display_name"]?.stringValue else { throw fail("\"display_name\" must be a string") }
        displayName = display
        for key in ["description", "category", "python_module"] where def[key]?.stringValue == nil {
            throw fail("\"\(key)\" must be a string")
        }
        guard let outputNode = def["output_node"]?.boolValue else { throw fail("\"output_node\" must be a boolean") }
        isOutputNode = outputNode
        guard let outs = def["output"]?.arrayValue else { throw fail("\"output\" must be an array") }
        var types: [String] = []
        for o in outs {
            guard let t = o.stringValue else { throw fail("\"output\" entries must be type names") }
            types.append(t)
        }
        outputTypes = types
        guard let isList = def["output_is_list"]?.arrayValue, isList.count == types.count,
              isList.allSatisfy({ $0.boolValue != nil }) else {
            throw fail("\"output_is_list\" must hold one boolean per output")
        }
        outputIsList = isList.compactMap(\.boolValue)
        guard let names = def["output_name"]?.arrayValue, names.count == types.count,
              names.allSatisfy({ $0.stringValue != nil }) else {
            throw fail("\"output_name\" must hold one string per output")
        }
        guard let input = def["input"]?.objectValue else { throw fail("\"input\" must be an object") }
        guard let order = def["input_order"]?.objectValue else { throw fail("\"input_order\" must be an object") }
        var specs: [InputSpec] = []
        for section in InputSpec.Section.allCases {
            let declared = input[section.rawValue]
            let listed = order[section.rawValue]
            if declared == nil && listed == nil { continue }
            guard let members = declared?.objectValue, let orderList = listed?.arrayValue,
                  orderList.compactMap(\.stringValue) == members.keys else {
                throw fail("input_order.\(section.rawValue) must list input.\(section.rawValue)'s names in the same order")
            }
            for (name, spec) in members {
                specs.append(try InputSpec(name: name, section: section, spec: spec, className: className))
            }
        }
        for key in input.keys where InputSpec.Section(rawValue: key) == nil {
            throw fail("unknown input section \"\(key)\"")
        }
        inputs = specs
        var index: [String: Int] = [:]
        for (i, s) in specs.enumerated() {
            guard index[s.name] == nil else { throw fail("input \(s.name) is declared twice") }
            index[s.name] = i
        }
        indexByName = index
    }

    /// Compares with a Swift node's declared signature.
    func check(against signature: NodeSignature) throws(NodeCatalogError) {
        func mismatch(_ reason: String) -> NodeCatalogError { .signatureMismatch(className: className, reason: reason) }
        let here = inputs.map { "\($0.section.rawValue) \($0.name): \($0.typeName)" }
        let there = signature.inputs.map { "\($0.section.rawValue) \($0.name): \($0.type)" }
        if here != there {
            throw mismatch("inputs are [\(here.joined(separator: ", "))] in nodes.json but [\(there.joined(separator: ", "))] in the implementation")
        }
        if outputTypes != signature.outputs {
            throw mismatch("outputs are \(outputTypes) in nodes.json but \(signature.outputs) in the implementation")
        }
        if outputIsList != signature.outputIsList {
            throw mismatch("output_is_list is \(outputIsList) in nodes.json but \(signature.outputIsList) in the implementation")
        }
        if isOutputNode != signature.isOutputNode {
            throw mismatch("output_node is \(isOutputNode) in nodes.json but \(signature.isOutputNode) in the implementation")
        }
    }
}
