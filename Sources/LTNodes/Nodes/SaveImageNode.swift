import OrderedJSON

/// ComfyUI's `SaveImage`: writes each picture of the batch to the output folder as
/// `<prefix>_<counter>_.png` (the counter continues after the highest number already there), with
/// the prompt and the workflow as PNG text chunks, and shows them on the node (`type: "output"`).
enum SaveImageNode: NodeImplementation {
    static let className = "SaveImage"
    static let signature = NodeSignature(
        inputs: [.init(.required, "images", "IMAGE"), .init(.required, "filename_prefix", "STRING"),
                 .init(.hidden, "prompt", "PROMPT"), .init(.hidden, "extra_pnginfo", "EXTRA_PNGINFO")],
        outputs: [], outputIsList: [], isOutputNode: true)

    static func run(_ call: NodeCall) throws(NodeFailure) -> NodeResult {
        guard let images = call.images("images") else {
            throw .failed(type: "TypeError", message: "images must be an IMAGE")
        }
        let ui = try ImageSaver.save(images, prefix: call.string("filename_prefix") ?? "ComfyUI",
                                     prompt: call.hiddenJSON("prompt"), extraPNGInfo: call.hiddenJSON("extra_pnginfo"),
                                     to: ImageSaver.output(call.context.environment))
        return NodeResult(outputs: [], ui: ui)
    }
}
