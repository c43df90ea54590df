import OrderedJSON

/// `ShowText|pysssss` (from ComfyUI-Custom-Scripts): shows its text input on the node (`ui.text`)
/// and passes it on. Takes and returns whole lists, as the original does.
enum ShowTextNode: NodeImplementation {
    static let className = "ShowText|pysssss"
    static let signature = NodeSignature(
        inputs: [.init(.required, "text", "STRING"), .init(.hidden, "unique_id", "UNIQUE_ID"),
                 .init(.hidden, "extra_pnginfo", "EXTRA_PNGINFO")],
        outputs: ["STRING"], outputIsList: [true], isOutputNode: true)
    static var inputIsList: Bool { true }

    static func run(_ call: NodeCall) throws(NodeFailure) -> NodeResult {
        let texts: [String] = (call.inputs["text"] ?? []).map { value in
            if case .string(let s) = value { return s }
            return value.displayJSON.stringValue ?? value.displayJSON.serialized()
        }
        var ui = JSONObject()
        ui["text"] = .array(texts.map { .string($0) })
        return NodeResult(outputs: [texts.map { .string($0) }], ui: ui)
    }
}
