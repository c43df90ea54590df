import Checkpoint
import OrderedJSON
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// ComfyUI's `UNETLoader` ("Load Diffusion Model"): a diffusion model from models/diffusion_models
/// (and models/unet) → MODEL. Takes what ComfyUI's loader takes: diffusion-model-only files (keys
/// without a prefix, diffusers-named files included) and all-in-one checkpoints (keys under
/// `model.diffusion_model.`). `weight_dtype` only changes the compute dtype in ComfyUI; here it is
/// validated and recorded on the handle, and analyses read the stored values.
enum UNETLoaderNode: NodeImplementation {
    static let className = "UNETLoader"
    static let signature = NodeSignature(
        inputs: [.init(.required, "unet_name", "COMBO"), .init(.required, "weight_dtype", "COMBO")],
        outputs: ["MODEL"], outputIsList: [false], isOutputNode: false)
    static var dynamicOptions: [String: DynamicOptions] { ["unet_name": .diffusionModels] }

    static func fingerprint(constants: JSONObject, environment: ExecutionEnvironment) -> String? {
        DiffusionModelFile.fingerprint(constants["unet_name"]?.stringValue, folder: "diffusion_models", environment: environment)
    }

    static func run(_ call: NodeCall) throws(NodeFailure) -> NodeResult {
        let handle = try DiffusionModelFile.load(call, folder: "diffusion_models",
                                                 missing: "is not in models/diffusion_models or models/unet",
                                                 weightDType: call.string("weight_dtype") ?? "default")
        return NodeResult(outputs: [[.checkpoint(handle, part: .model)]])
    }
}

/// What the two diffusion-model loaders share: name → path, open, change fingerprint.
enum DiffusionModelFile {
    static func load(_ call: NodeCall, folder: String, missing: String, weightDType: String?) throws(NodeFailure) -> LoadedCheckpoint {
        guard let name = call.string("unet_name") else {
            throw .failed(type: "ValueError", message: "unet_name must be a string")
        }
        guard let path = call.context.environment.models.modelPath(named: name, in: folder) else {
            throw .failed(type: "FileNotFoundError", message: "Diffusion model '\(name)' \(missing) (or its name leaves the folder).")
        }
        let file: CheckpointFile
        do { file = try CheckpointFile.open(path: path) } catch {
            throw .failed(type: "CheckpointError", message: "Cannot load diffusion model '\(name)': \(error.description)")
        }
        return LoadedCheckpoint(name: name, file: file, weightDType: weightDType)
    }

    /// Size and modification time, so a file replaced under the same name is reloaded.
    static func fingerprint(_ name: String?, folder: String, environment: ExecutionEnvironment) -> String? {
        guard let name, let path = environment.models.modelPath(named: name, in: folder) else { return "missing" }
        var st = stat()
        guard stat(path, &st) == 0 else { return "unreadable" }
        #if canImport(Darwin)
        let mtime = Int64(st.st_mtimespec.tv_sec) * 1_000_000_000 + Int64(st.st_mtimespec.tv_nsec)
        #else
        let mtime = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
        #endif
        return "\(st.st_size)@\(mtime)"
    }
}
