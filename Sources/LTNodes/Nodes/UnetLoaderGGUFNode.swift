import OrderedJSON

/// ComfyUI-GGUF's `UnetLoaderGGUF` ("Unet Loader (GGUF)"): a `.gguf` diffusion model from the
/// diffusion_models / unet folders (ComfyUI-GGUF's `unet_gguf` list) → MODEL.
enum UnetLoaderGGUFNode: NodeImplementation {
    static let className = "UnetLoaderGGUF"
    static let signature = NodeSignature(
        inputs: [.init(.required, "unet_name", "COMBO")],
        outputs: ["MODEL"], outputIsList: [false], isOutputNode: false)
    static var dynamicOptions: [String: DynamicOptions] { ["unet_name": .ggufDiffusionModels] }

    static func fingerprint(constants: JSONObject, environment: ExecutionEnvironment) -> String? {
        DiffusionModelFile.fingerprint(constants["unet_name"]?.stringValue, folder: "unet_gguf", environment: environment)
    }

    static func run(_ call: NodeCall) throws(NodeFailure) -> NodeResult {
        let handle = try DiffusionModelFile.load(call, folder: "unet_gguf",
                                                 missing: "is not a .gguf file in models/diffusion_models or models/unet",
                                                 weightDType: nil)
        return NodeResult(outputs: [[.checkpoint(handle, part: .model)]])
    }
}
