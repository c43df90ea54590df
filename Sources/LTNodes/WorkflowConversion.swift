import OrderedJSON

/// UI workflow (the frontend's saved graph: `nodes` + `links`) → API prompt, done on the server
/// with nodes.json's widget order, so a saved workflow file can be POSTed as it is.
///
/// Follows what the frontend's graphToPrompt does: virtual nodes (PrimitiveNode, Reroute, Note,
/// MarkdownNote) are never emitted but pass their values or links on; muted (mode 2) and
/// bypassed (mode 4) nodes are skipped, a bypassed node forwarding its input of the matching type;
/// widget values are taken in input order, skipping the control widgets the frontend adds after
/// seed-like inputs; a linked input overrides the widget of the same name; subgraph instances
/// (`definitions.subgraphs`) are expanded into their nodes with ids `"<instance>:<inner>"`.
public enum WorkflowConversion {
    /// Largest workflow accepted (nodes and links each).
    static let maxItems = 100_000

    /// Node types that exist only in the frontend.
    static let virtualTypes: Set<String> = ["PrimitiveNode", "Reroute", "Note", "MarkdownNote"]

    /// True when `json` looks like a UI workflow (a `nodes` array), not an API prompt.
    public static func isUIWorkflow(_ json: JSON) -> Bool {
        json["nodes"]?.arrayValue != nil
    }

    /// Converts a UI workflow to an API prompt (`{"<id>": {"inputs", "class_type", "_meta"}}`).
    public static func apiPrompt(fromUIWorkflow workflow: JSON, catalog: NodeCatalog) throws(WorkflowConversionError) -> JSON {
        guard workflow["nodes"]?.arrayValue != nil else { throw .notAWorkflow(reason: "no \"nodes\" array") }
        var definitions: [String: JSON] = [:]
        for def in workflow["definitions"]?["subgraphs"]?.arrayValue ?? [] {
            if let id = def["id"]?.stringValue { definitions[id] = def }
        }
        var graph = Graph(definitions: definitions)
        let root = try graph.addScope(workflow, prefix: "", parent: nil)
        var prompt = JSONObject()
        try emit(scope: root, graph: graph, catalog: catalog, into: &prompt)
        return .object(prompt)
    }

    /// Emits the real nodes of one scope in execution order, expanding subgraph instances in place.
    private static func emit(scope: Int, graph: Graph, catalog: NodeCatalog, into prompt: inout JSONObject) throws(WorkflowConversionError) {
        for node in graph.scopes[scope].ordered {
            if virtualTypes.contains(node.type) || node.mode == 2 || node.mode == 4 { continue }
            if let child = graph.scopes[scope].children[node.id] {
                try emit(scope: child, graph: graph, catalog: catalog, into: &prompt)
                continue
            }
            var inputs = JSONObject()
            let schema = catalog.schema(node.type)
            if let schema { assignWidgets(node: node, schema: schema, into: &inputs) }
            for slot in node.inputs {
                guard let linkID = slot.link else { continue }
                switch graph.resolve(scope: scope, linkID: linkID) {
                case .link(let origin, let originSlot):
                    inputs[slot.name] = .array([.string(origin), .int(Int64(originSlot))])
                case .constant(let value):
                    inputs[slot.name] = wrapList(value)
                case .none:
                    // A link into nothing (muted or missing source) is dropped, as the frontend does.
                    if case .array? = inputs[slot.name] { inputs[slot.name] = nil }
                }
            }
            let title = node.title ?? schema?.displayName ?? node.type
            prompt[graph.scopes[scope].prefix + node.id] = .object(JSONObject([
                ("inputs", .object(inputs)), ("class_type", .string(node.type)),
                ("_meta", .object(JSONObject([("title", .string(title))]))),
            ]))
        }
    }

    /// Widget values in nodes.json's input order; missing trailing values take their defaults.
    private static func assignWidgets(node: UINode, schema: NodeSchema, into inputs: inout JSONObject) {
        let widgets = schema.inputs.filter { $0.section != .hidden && $0.isWidget }
        if case .object(let byName)? = node.widgetsValues {
            // Some extensions save widgets as an object keyed by name.
            for spec in widgets { inputs[spec.name] = wrapList(byName[spec.name] ?? defaultValue(spec)) }
            return
        }
        let values = node.widgetsValues?.arrayValue ?? []
        var cursor = 0
        for spec in widgets {
            let value = cursor < values.count ? values[cursor] : defaultValue(spec)
            cursor += 1
            if spec.hasControlWidget {
                cursor += 1                                   // fixed | increment | decrement | randomize
                if case .combo = spec.kind { cursor += 1 }    // combos also have a filter string
            }
            inputs[spec.name] = wrapList(value)
        }
    }

    /// A widget's default when the workflow has no value for it: `default`, else 0 / "" / first choice.
    static func defaultValue(_ spec: InputSpec) -> JSON {
        if let d = spec.options["default"] { return d }
        switch spec.kind {
        case .int: return .int(0)
        case .float: return .double(0)
        case .boolean: return .bool(false)
        case .combo(let choices): return choices.first.map { .string($0) } ?? .string("")
        default: return .string("")
        }
    }

    /// Lists reach the server wrapped, because a bare two-element list means a link.
    private static func wrapList(_ value: JSON) -> JSON {
        if case .array = value { return .object(JSONObject([("__value__", value)])) }
        return value
    }
}

private enum Resolved {
    case link(String, Int)
    case constant(JSON)
}

/// The workflow's graphs: the root and one scope per subgraph instance, with ids prefixed the
/// way the frontend does (`"12:5"` for node 5 inside instance 12, `"12:7:5"` nested deeper).
private struct Graph {
    /// Deepest subgraph nesting accepted (a subgraph containing itself would never end).
    static let maxDepth = 16

    struct Scope {
        let prefix: String
        var nodes: [String: UINode] = [:]
        var ordered: [UINode] = []
        var links: [Int64: UILink] = [:]
        /// Subgraph instance node id → its scope.
        var children: [String: Int] = [:]
        /// The instance this scope expands, as (parent scope, instance node, definition).
        let parent: (scope: Int, instance: UINode, definition: JSON)?
        let depth: Int
    }

    let definitions: [String: JSON]
    var scopes: [Scope] = []
    var nodeCount = 0

    init(definitions: [String: JSON]) { self.definitions = definitions }

    mutating func addScope(_ graph: JSON, prefix: String, parent: (scope: Int, instance: UINode, definition: JSON)?) throws(WorkflowConversionError) -> Int {
        let depth = parent.map { scopes[$0.scope].depth + 1 } ?? 0
        guard depth <= Self.maxDepth else { throw .tooLarge(reason: "subgraphs nested deeper than \(Self.maxDepth) levels") }
        let rawNodes = graph["nodes"]?.arrayValue ?? []
        let rawLinks = graph["links"]?.arrayValue ?? []
        nodeCount += rawNodes.count
        guard nodeCount <= WorkflowConversion.maxItems, rawLinks.count <= WorkflowConversion.maxItems else {
            throw .tooLarge(reason: "more than \(WorkflowConversion.maxItems) nodes or links")
        }
        var scope = Scope(prefix: prefix, parent: parent, depth: depth)
        var order: [(order: Int, index: Int, node: UINode)] = []
        for (index, raw) in rawNodes.enumerated() {
            let node = try UINode(raw, index: index)
            guard scope.nodes[node.id] == nil else { throw .malformedNode(index: index, reason: "duplicate node id \(node.id)") }
            scope.nodes[node.id] = node
            order.append((node.order ?? index, index, node))
        }
        scope.ordered = order.sorted { ($0.order, $0.index) < ($1.order, $1.index) }.map(\.node)
        for (index, raw) in rawLinks.enumerated() {
            let link = try UILink(raw, index: index)
            scope.links[link.id] = link
        }
        let id = scopes.count
        scopes.append(scope)
        for node in scopes[id].ordered {
            guard let definition = definitions[node.type], node.mode != 2 else { continue }
            let child = try addScope(definition, prefix: prefix + node.id + ":", parent: (id, node, definition))
            scopes[id].children[node.id] = child
        }
        return id
    }

    /// Follows a link upstream through reroutes, bypassed nodes, primitives and subgraph borders.
    func resolve(scope start: Int, linkID: Int64) -> Resolved? {
        var scope = start
        var current = scopes[scope].links[linkID]
        var steps = 0
        while let link = current {
            steps += 1
            if steps > nodeCount + scopes.count + 1 { return nil }   // a loop of reroutes
            if link.originID == "-10" {
                // The subgraph's input node: continue with the instance's input in the parent graph.
                guard let parent = scopes[scope].parent, parent.instance.inputs.indices.contains(link.originSlot),
                      let outer = parent.instance.inputs[link.originSlot].link else { return nil }
                scope = parent.scope
                current = scopes[scope].links[outer]
                continue
            }
            guard let origin = scopes[scope].nodes[link.originID] else { return nil }
            if origin.mode == 2 { return nil }
            if let child = scopes[scope].children[origin.id], origin.mode != 4 {
                // Into the subgraph: the link feeding its output node's slot.
                guard let outputs = scopes[child].parent?.definition["outputs"]?.arrayValue,
                      outputs.indices.contains(link.originSlot),
                      let inner = outputs[link.originSlot]["linkIds"]?[0]?.intValue else { return nil }
                scope = child
                current = scopes[scope].links[inner]
                continue
            }
            switch origin.type {
            case "Reroute":
                current = origin.inputs.first?.link.flatMap { scopes[scope].links[$0] }
                continue
            case "PrimitiveNode":
                return origin.widgetsValues?.arrayValue?.first.map { .constant($0) }
            case "Note", "MarkdownNote":
                return nil
            default:
                break
            }
            if origin.mode == 4 {
                // Bypassed: pass through the input at the same index with this type, else the first of the type.
                let type = link.type
                let candidate = (origin.inputs.indices.contains(link.originSlot) && origin.inputs[link.originSlot].type == type
                                    ? origin.inputs[link.originSlot] : nil)
                    ?? origin.inputs.first(where: { $0.type == type && $0.link != nil })
                    ?? origin.inputs.first(where: { ($0.type == "*" || type == "*") && $0.link != nil })
                current = candidate?.link.flatMap { scopes[scope].links[$0] }
                continue
            }
            return .link(scopes[scope].prefix + origin.id, link.originSlot)
        }
        return nil
    }
}

/// One node of a UI workflow, with only what conversion needs.
private struct UINode {
    struct Slot {
        let name: String
        let type: String
        let link: Int64?
    }

    let id: String
    let type: String
    let mode: Int64
    let order: Int?
    let title: String?
    let inputs: [Slot]
    let widgetsValues: JSON?

    init(_ raw: JSON, index: Int) throws(WorkflowConversionError) {
        guard let o = raw.objectValue else { throw .malformedNode(index: index, reason: "not an object") }
        switch o["id"] {
        case .int(let i)?: id = String(i)
        case .string(let s)? where !s.isEmpty: id = s
        case .double(let d)? where d.rounded() == d && abs(d) < 1e15: id = String(Int64(d))
        default: throw .malformedNode(index: index, reason: "\"id\" must be a number or a string")
        }
        guard let t = o["type"]?.stringValue, !t.isEmpty else { throw .malformedNode(index: index, reason: "\"type\" must be a string") }
        type = t
        mode = o["mode"]?.intValue ?? 0
        order = o["order"]?.intValue.map { Int(clamping: $0) }
        title = o["title"]?.stringValue
        widgetsValues = o["widgets_values"]
        var slots: [Slot] = []
        for (n, s) in (o["inputs"]?.arrayValue ?? []).enumerated() {
            guard let name = s["name"]?.stringValue else {
                throw .malformedNode(index: index, reason: "input #\(n) has no name")
            }
            slots.append(Slot(name: name, type: s["type"]?.stringValue ?? "*", link: s["link"]?.intValue))
        }
        inputs = slots
    }
}

/// One link: `[id, origin, origin_slot, target, target_slot, type]` or the object form of schema 1.
private struct UILink {
    let id: Int64
    let originID: String
    let originSlot: Int
    let type: String

    init(_ raw: JSON, index: Int) throws(WorkflowConversionError) {
        func nodeID(_ v: JSON?) -> String? {
            switch v {
            case .int(let i)?: return String(i)
            case .string(let s)?: return s
            default: return nil
            }
        }
        let idValue: JSON?, origin: JSON?, slot: JSON?, typeValue: JSON?
        if let a = raw.arrayValue {
            guard a.count >= 5 else { throw .malformedLink(index: index, reason: "needs [id, origin, origin_slot, target, target_slot, type]") }
            (idValue, origin, slot, typeValue) = (a[0], a[1], a[2], a.count > 5 ? a[5] : nil)
        } else if let o = raw.objectValue {
            (idValue, origin, slot, typeValue) = (o["id"], o["origin_id"], o["origin_slot"], o["type"])
        } else {
            throw .malformedLink(index: index, reason: "not an array or object")
        }
        guard let i = idValue?.intValue else { throw .malformedLink(index: index, reason: "the link id must be a number") }
        guard let o = nodeID(origin) else { throw .malformedLink(index: index, reason: "the origin node id must be a number or string") }
        guard let s = slot?.intValue, s >= 0, s < 10_000 else { throw .malformedLink(index: index, reason: "the origin slot must be a small non-negative number") }
        id = i
        originID = o
        originSlot = Int(s)
        type = typeValue?.stringValue ?? "*"
    }
}
