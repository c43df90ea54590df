import OrderedJSON

/// ComfyUI's `PreviewImage`: `SaveImage` into the temp folder (`ComfyUI_temp_<5 letters>_<counter>_.png`,
/// faster compression, `type: "temp"`), for looking at pictures without keeping them.
enum PreviewImageNode: NodeImplementation {
    static let className = "PreviewImage"
    static let signature = NodeSignature(
        inputs: [.init(.required, "images", "IMAGE"),
                 .init(.hidden, "prompt", "PROMPT"), .init(.hidden, "extra_pnginfo", "EXTRA_PNGINFO")],
        outputs: [], outputIsList: [], isOutputNode: true)

    static func run(_ call: NodeCall) throws(NodeFailure) -> NodeResult {
        guard let images = call.images("images") else {
            throw .failed(type: "TypeError", message: "images must be an IMAGE")
        }
        let ui = try ImageSaver.save(images, prefix: "ComfyUI", prompt: call.hiddenJSON("prompt"),
                                     extraPNGInfo: call.hiddenJSON("extra_pnginfo"),
                                     to: ImageSaver.temp(call.context.environment))
        return NodeResult(outputs: [], ui: ui)
    }
}
