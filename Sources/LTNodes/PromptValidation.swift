import OrderedJSON

/// POST /prompt validation, reproducing ComfyUI's error types and body shapes.
///
/// The algorithm follows ComfyUI's `validate_prompt`: every node must name a known class; the
/// output nodes are validated depth-first along their links (memoised, so each node is checked
/// once); errors are reported on the node where they occur; an output whose ancestors fail is
/// dropped; the prompt is rejected when no output survives. The walk uses an explicit stack, so a
/// 10,000-node chain cannot overflow the thread stack, and a link back into the current path is
/// reported as a `dependency_cycle` instead of recursing forever.
public enum PromptValidation {
    /// Most `dependent_outputs` listed per failing node; ComfyUI appends every failing output to
    /// every failing node, which grows quadratically on hostile prompts.
    static let maxDependentOutputs = 100

    /// Validates an API-format prompt. On failure returns ComfyUI's 400 body `{"error": {...}, "node_errors": {...}}`.
    ///
    /// - Parameter targets: `partial_execution_targets` (only these output nodes run), or nil for all.
    public static func validate(prompt: JSON, catalog: NodeCatalog, models: any ModelLocator,
                                targets: [String]? = nil) -> Result<ValidatedPrompt, PromptValidationFailure> {
        guard let nodes = prompt.objectValue else {
            return .failure(failure(type: "invalid_prompt", message: "Cannot execute because the prompt is not an object of nodes.",
                                    details: "The prompt must map node ids to {\"class_type\", \"inputs\"} objects, got \(prompt.typeName)."))
        }
        // 1. Every node names a known class (ComfyUI checks all nodes before anything else).
        for (id, node) in nodes {
            guard let object = node.objectValue, let classValue = object["class_type"] else {
                return .failure(failure(type: "invalid_prompt",
                                        message: "Cannot execute because a node is missing the class_type property.",
                                        details: "Node ID '#\(id)'"))
            }
            let className = PythonFormat.str(classValue)
            guard classValue.stringValue != nil, catalog.schema(className) != nil else {
                return .failure(failure(type: "invalid_prompt", message: "Cannot execute because node \(className) does not exist.",
                                        details: "Node ID '#\(id)'"))
            }
            if let inputs = object["inputs"], inputs.objectValue == nil {
                return .failure(failure(type: "invalid_prompt", message: "Cannot execute because node \(id) has malformed inputs.",
                                        details: "Node ID '#\(id)': \"inputs\" must be an object, got \(inputs.typeName)."))
            }
        }
        // 2. Output nodes, in prompt order.
        let targetSet = targets.map(Set.init)
        var outputs: [String] = []
        for (id, node) in nodes {
            guard let className = node["class_type"]?.stringValue, let schema = catalog.schema(className),
                  schema.isOutputNode else { continue }
            if let targetSet, !targetSet.contains(id) { continue }
            outputs.append(id)
        }
        if outputs.isEmpty {
            return .failure(failure(type: "prompt_no_outputs", message: "Prompt has no outputs", details: ""))
        }
        // 3. Depth-first validation from each output.
        var walker = Walker(nodes: nodes, catalog: catalog, models: models)
        var good: [String] = []
        var failedOutputs: [(id: String, reasons: [JSON])] = []
        // node_errors, kept as plain arrays while outputs are appended and turned into JSON once.
        var failing: [(id: String, errors: [JSON])] = []
        var dependents: [String: [String]] = [:]
        var open: [String] = []        // failing nodes whose dependent_outputs is not full yet
        var reported = 0               // prefix of walker.order already scanned for failures
        for output in outputs {
            let result = walker.validate(output)
            if result.valid {
                good.append(output)
                continue
            }
            failedOutputs.append((output, result.errors))
            while reported < walker.order.count {
                let id = walker.order[reported]
                reported += 1
                if let r = walker.results[id], !r.valid, !r.errors.isEmpty, dependents[id] == nil {
                    failing.append((id, r.errors))
                    dependents[id] = []
                    open.append(id)
                }
            }
            open.removeAll { id in
                dependents[id, default: []].append(output)
                return dependents[id, default: []].count >= maxDependentOutputs
            }
        }
        var nodeErrors = JSONObject()
        for (id, errors) in failing {
            nodeErrors[id] = .object(JSONObject([
                ("errors", .array(errors)),
                ("dependent_outputs", .array((dependents[id] ?? []).map { .string($0) })),
                ("class_type", .string(nodes[id]?["class_type"]?.stringValue ?? "")),
            ]))
        }
        if good.isEmpty {
            let lines = failedOutputs.flatMap { failed in
                failed.reasons.map { "\($0["message"]?.stringValue ?? ""): \($0["details"]?.stringValue ?? "")" }
            }
            var body = JSONObject()
            body["error"] = errorObject(type: "prompt_outputs_failed_validation", message: "Prompt outputs failed validation",
                                        details: lines.joined(separator: "\n"))
            body["node_errors"] = .object(nodeErrors)
            return .failure(PromptValidationFailure(body: .object(body)))
        }
        // Coerced values replace the originals, as ComfyUI does in place.
        var coerced = nodes
        for (id, inputs) in walker.coercedInputs {
            guard var node = coerced[id]?.objectValue else { continue }
            node["inputs"] = .object(inputs)
            coerced[id] = .object(node)
        }
        return .success(ValidatedPrompt(prompt: .object(coerced), outputNodeIDs: good, nodeErrors: nodeErrors))
    }

    static func errorObject(type: String, message: String, details: String, extraInfo: JSONObject = JSONObject()) -> JSON {
        .object(JSONObject([("type", .string(type)), ("message", .string(message)), ("details", .string(details)),
                            ("extra_info", .object(extraInfo))]))
    }

    static func failure(type: String, message: String, details: String) -> PromptValidationFailure {
        PromptValidationFailure(body: .object(JSONObject([
            ("error", errorObject(type: type, message: message, details: details)),
            ("node_errors", .object(JSONObject())),
        ])))
    }
}

/// The memoised depth-first walk over links, with an explicit stack.
private struct Walker {
    struct Outcome {
        var valid: Bool
        var errors: [JSON]
    }

    /// An exception in ComfyUI's validation (bad link target or slot): Python type and message.
    struct Raised {
        let type: String
        let message: String
    }

    private struct Frame {
        let id: String
        let schema: NodeSchema
        let inputs: JSONObject
        let declared: [InputSpec]
        var next = 0
        var errors: [JSON] = []
        var valid = true
        var coerced: JSONObject
        /// The link input being followed into the frame above this one.
        var following: (spec: InputSpec, link: JSON)?
    }

    let nodes: JSONObject
    let catalog: NodeCatalog
    let models: any ModelLocator
    /// Finished nodes (ComfyUI's `validated`), and the order they were recorded in.
    private(set) var results: [String: Outcome] = [:]
    private(set) var order: [String] = []
    private(set) var coercedInputs: [(String, JSONObject)] = []
    private var onStack: [String: Int] = [:]
    private var stack: [Frame] = []
    /// Combo options of dynamic inputs, fetched once per validation (a folder scan each).
    private var optionsCache: [String: [String]] = [:]

    init(nodes: JSONObject, catalog: NodeCatalog, models: any ModelLocator) {
        self.nodes = nodes
        self.catalog = catalog
        self.models = models
    }

    private mutating func record(_ id: String, _ outcome: Outcome) {
        if results[id] == nil { order.append(id) }
        results[id] = outcome
    }

    mutating func validate(_ output: String) -> Outcome {
        if let done = results[output] { return done }
        push(output)
        while !stack.isEmpty {
            let top = stack.count - 1
            if stack[top].next >= stack[top].declared.count {
                finishTop()
                continue
            }
            let spec = stack[top].declared[stack[top].next]
            stack[top].next += 1
            guard let value = stack[top].inputs[spec.name] else {
                if spec.section == .required {
                    stack[top].errors.append(PromptValidation.errorObject(
                        type: "required_input_missing", message: "Required input is missing", details: spec.name,
                        extraInfo: JSONObject([("input_name", .string(spec.name))])))
                }
                continue
            }
            if case .array(let link) = value {
                followLink(spec: spec, link: link, value: value)
            } else {
                checkConstant(spec: spec, value: value)
            }
        }
        return results[output] ?? Outcome(valid: false, errors: [])
    }

    private mutating func push(_ id: String) {
        // Every id reaching here exists and names a known class (checked in step 1).
        let node = nodes[id]?.objectValue ?? JSONObject()
        let schema = catalog.schema(node["class_type"]?.stringValue ?? "")!
        let inputs = node["inputs"]?.objectValue ?? JSONObject()
        onStack[id] = stack.count
        stack.append(Frame(id: id, schema: schema, inputs: inputs, declared: schema.declaredInputs, coerced: inputs))
    }

    private mutating func finishTop() {
        let frame = stack.removeLast()
        onStack[frame.id] = nil
        let valid = frame.valid && frame.errors.isEmpty
        record(frame.id, Outcome(valid: valid, errors: frame.errors))
        coercedInputs.append((frame.id, frame.coerced))
        if !stack.isEmpty {
            stack[stack.count - 1].following = nil
            if !valid { stack[stack.count - 1].valid = false }
        }
    }

    /// ComfyUI raises out of the node's validation; its caller catches it (see `raise`).
    private mutating func followLink(spec: InputSpec, link: [JSON], value: JSON) {
        let top = stack.count - 1
        guard link.count == 2 else {
            let config = inputConfig(spec, className: stack[top].schema.className)
            stack[top].errors.append(PromptValidation.errorObject(
                type: "bad_linked_input", message: "Bad linked input, must be a length-2 list of [node_id, slot_index]",
                details: spec.name,
                extraInfo: JSONObject([("input_name", .string(spec.name)), ("input_config", config), ("received_value", value)])))
            return
        }
        guard let sourceID = link[0].stringValue, let source = nodes[sourceID],
              let sourceSchema = catalog.schema(source["class_type"]?.stringValue ?? "") else {
            raise(Raised(type: "KeyError", message: PythonFormat.repr(link[0])))
            return
        }
        let slot: Int
        switch link[1] {
        case .int(let i): slot = Int(clamping: i)
        case .bool(let b): slot = b ? 1 : 0
        default:
            raise(Raised(type: "TypeError", message: "tuple indices must be integers or slices, not \(PythonFormat.typeName(link[1]))"))
            return
        }
        guard slot >= 0, slot < sourceSchema.outputTypes.count else {
            raise(Raised(type: "IndexError", message: "tuple index out of range"))
            return
        }
        let received = sourceSchema.outputTypes[slot]
        if !Self.typesMatch(received: received, input: spec) {
            let config = inputConfig(spec, className: stack[top].schema.className)
            let inputType: String
            if case .combo(let options) = spec.kind { inputType = PythonFormat.repr(.array(options.map { .string($0) })) } else { inputType = spec.typeName }
            stack[top].errors.append(PromptValidation.errorObject(
                type: "return_type_mismatch", message: "Return type mismatch between linked nodes",
                details: "\(spec.name), received_type(\(received)) mismatch input_type(\(inputType))",
                extraInfo: JSONObject([("input_name", .string(spec.name)), ("input_config", config),
                                       ("received_type", .string(received)), ("linked_node", value)])))
            return
        }
        if let done = results[sourceID] {
            if !done.valid { stack[top].valid = false }
            return
        }
        if let start = onStack[sourceID] {
            reportCycle(from: start)
            stack[top].valid = false
            return
        }
        stack[top].following = (spec, value)
        push(sourceID)
    }

    /// ComfyUI's `validate_node_input`: equal types, `*`, or overlapping comma-separated sets.
    private static func typesMatch(received: String, input: InputSpec) -> Bool {
        if case .combo = input.kind { return received == "*" }
        let wanted = input.typeName
        if received == wanted || received == "*" || wanted == "*" { return true }
        let a = Set(received.split(separator: ",").map { $0.trimmingSpaces() })
        let b = Set(wanted.split(separator: ",").map { $0.trimmingSpaces() })
        return !a.isDisjoint(with: b)
    }

    /// The top frame raised: drop it; its caller records the error on it (ComfyUI's
    /// `exception_during_inner_validation`), or, for an output node, `exception_during_validation`.
    private mutating func raise(_ raised: Raised) {
        let frame = stack.removeLast()
        onStack[frame.id] = nil
        let location = "  File \"validation\", in validate_inputs\n    node \(frame.id) (\(frame.schema.className)): \(raised.type): \(raised.message)\n"
        guard !stack.isEmpty, let following = stack[stack.count - 1].following else {
            record(frame.id, Outcome(valid: false, errors: [PromptValidation.errorObject(
                type: "exception_during_validation", message: "Exception when validating node", details: raised.message,
                extraInfo: JSONObject([("exception_type", .string(raised.type)), ("traceback", .array([.string(location)]))]))]))
            return
        }
        let parent = stack.count - 1
        let config = inputConfig(following.spec, className: stack[parent].schema.className)
        record(frame.id, Outcome(valid: false, errors: [PromptValidation.errorObject(
            type: "exception_during_inner_validation", message: "Exception when validating inner node", details: raised.message,
            extraInfo: JSONObject([("input_name", .string(following.spec.name)), ("input_config", config),
                                   ("exception_message", .string(raised.message)), ("exception_type", .string(raised.type)),
                                   ("traceback", .array([.string(location)])), ("linked_node", following.link)]))]))
        stack[parent].following = nil
        stack[parent].valid = false
    }

    /// Links from the top frame back to the frame at `start`: every node on that path gets a
    /// `dependency_cycle` error naming the loop.
    private mutating func reportCycle(from start: Int) {
        let members = stack[start...].map { ($0.id, $0.schema.className) }
        let path = (members + [members[0]]).map { "\($0.0) (\($0.1))" }.joined(separator: " -> ")
        let ids = JSON.array(members.map { .string($0.0) })
        // Repeating the whole loop on every member makes the body quadratic (a 10 000-node
        // loop would be gigabytes), so long loops name it in full on the first member only.
        let fullOnEveryMember = members.count <= 32
        for i in start..<stack.count {
            let full = fullOnEveryMember || i == start
            let details = full ? path
                : "\(stack[i].id) (\(stack[i].schema.className)) is on the cycle of \(members.count) nodes reported on node \(members[0].0)"
            var extra = JSONObject([("node_id", .string(stack[i].id))])
            if full { extra.set("cycle_nodes", ids) }
            stack[i].errors.append(PromptValidation.errorObject(
                type: "dependency_cycle", message: "Dependency cycle detected", details: details, extraInfo: extra))
        }
    }

    private mutating func checkConstant(spec: InputSpec, value original: JSON) {
        let top = stack.count - 1
        let className = stack[top].schema.className
        var value = original
        // List widget values arrive wrapped, because a bare list means a link.
        if case .object(let o) = value, let inner = o["__value__"] { value = inner }
        let received = value
        // Number to compare with min/max, and its text for messages.
        var number: (value: Double, text: String)?
        var conversionError: String?
        switch spec.kind {
        case .int:
            switch PythonFormat.int(value) {
            case .value(let i):
                value = .int(i)
                number = (Double(i), String(i))
            case .huge(let d):
                // Python's int has no limit; keep the magnitude for the range check.
                value = .double(d)
                number = (d, d.description)
                if spec.options["min"] == nil && spec.options["max"] == nil {
                    conversionError = "integer \(d.description) does not fit in 64 bits"
                }
            case .failure(_, let message):
                conversionError = message
            }
        case .float:
            switch PythonFormat.float(value) {
            case .success(let d):
                value = .double(d)
                number = (d, PythonFormat.float(d))
            case .failure(let e):
                conversionError = e.message
            }
        case .string:
            value = .string(PythonFormat.str(value))
        case .boolean:
            value = .bool(PythonFormat.truthy(value))
        case .socket(let type):
            // ComfyUI lets this through and fails at run time; refusing it here is kinder.
            conversionError = "a \(type) input must be linked to a node output ([node_id, slot_index])"
        case .combo, .hidden:
            break
        }
        if let message = conversionError {
            let config = inputConfig(spec, className: className)
            stack[top].errors.append(PromptValidation.errorObject(
                type: "invalid_input_type", message: "Failed to convert an input value to a \(spec.typeName) value",
                details: "\(spec.name), \(PythonFormat.str(received)), \(message)",
                extraInfo: JSONObject([("input_name", .string(spec.name)), ("input_config", config),
                                       ("received_value", received), ("exception_message", .string(message))])))
            return
        }
        stack[top].coerced[spec.name] = value
        if let number {
            if let min = spec.options["min"], let m = min.doubleValue, number.value < m {
                let config = inputConfig(spec, className: className)
                stack[top].errors.append(PromptValidation.errorObject(
                    type: "value_smaller_than_min", message: "Value \(number.text) smaller than min of \(Self.pyNumber(min))",
                    details: spec.name,
                    extraInfo: JSONObject([("input_name", .string(spec.name)), ("input_config", config), ("received_value", value)])))
                return
            }
            if let max = spec.options["max"], let m = max.doubleValue, number.value > m {
                let config = inputConfig(spec, className: className)
                stack[top].errors.append(PromptValidation.errorObject(
                    type: "value_bigger_than_max", message: "Value \(number.text) bigger than max of \(Self.pyNumber(max))",
                    details: spec.name,
                    extraInfo: JSONObject([("input_name", .string(spec.name)), ("input_config", config), ("received_value", value)])))
                return
            }
        }
        if case .combo = spec.kind {
            let options = comboOptions(spec, className: className)
            if let s = value.stringValue, options.contains(s) { return }
            let listInfo: String
            var shownConfig: JSON = .null
            if options.count > 20 {
                listInfo = "(list of length \(options.count))"
            } else {
                listInfo = PythonFormat.repr(.array(options.map { .string($0) }))
                shownConfig = inputConfig(spec, className: className)
            }
            stack[top].errors.append(PromptValidation.errorObject(
                type: "value_not_in_list", message: "Value not in list",
                details: "\(spec.name): '\(PythonFormat.str(value))' not in \(listInfo)",
                extraInfo: JSONObject([("input_name", .string(spec.name)), ("input_config", shownConfig), ("received_value", value)])))
        }
    }

    /// `input_config` for messages: `[type-or-choices, {options}]` with dynamic choices filled.
    private mutating func inputConfig(_ spec: InputSpec, className: String) -> JSON {
        var config = spec.config
        if NodeRegistry.implementation(for: className)?.dynamicOptions[spec.name] != nil {
            config = spec.config(withOptions: comboOptions(spec, className: className))
        }
        if case .array(let parts) = config, parts.count == 1 { return .array(parts + [.object(JSONObject())]) }
        return config
    }

    private mutating func comboOptions(_ spec: InputSpec, className: String) -> [String] {
        let key = className + "\u{0}" + spec.name
        if let cached = optionsCache[key] { return cached }
        let options = catalog.comboOptions(spec, className: className, models: models) ?? []
        optionsCache[key] = options
        return options
    }

    private static func pyNumber(_ value: JSON) -> String {
        switch value {
        case .int(let i): return String(i)
        case .double(let d): return PythonFormat.float(d)
        default: return PythonFormat.str(value)
        }
    }
}

private extension Substring {
    func trimmingSpaces() -> String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
