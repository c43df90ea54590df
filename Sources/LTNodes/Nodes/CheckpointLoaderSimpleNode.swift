import Checkpoint
import OrderedJSON
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `CheckpointLoaderSimple`: opens a checkpoint from models/checkpoints and hands out MODEL, CLIP
/// and VAE handles on it. Only the header is read; no tensor data is touched until a node asks.
enum CheckpointLoaderSimpleNode: NodeImplementation {
    static let className = "CheckpointLoaderSimple"
    static let signature = NodeSignature(
        inputs: [.init(.required, "ckpt_name", "COMBO")],
        outputs: ["MODEL", "CLIP", "VAE"], outputIsList: [false, false, false], isOutputNode: false)
    static var dynamicOptions: [String: DynamicOptions] { ["ckpt_name": .checkpoints] }

    /// Size and modification time of the file, so a checkpoint replaced in place (same name) is
    /// reloaded instead of served from the cache (ComfyUI keys checkpoints by name only).
    static func fingerprint(constants: JSONObject, environment: ExecutionEnvironment) -> String? {
        guard let name = constants["ckpt_name"]?.stringValue,
              let path = environment.models.checkpointPath(named: name) else { return "missing" }
        var st = stat()
        guard stat(path, &st) == 0 else { return "unreadable" }
        #if canImport(Darwin)
        let mtime = Int64(st.st_mtimespec.tv_sec) * 1_000_000_000 + Int64(st.st_mtimespec.tv_nsec)
        #else
        let mtime = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
        #endif
        return "\(st.st_size)@\(mtime)"
    }

    static func run(_ call: NodeCall) throws(NodeFailure) -> NodeResult {
        guard let name = call.string("ckpt_name") else {
            throw .failed(type: "ValueError", message: "ckpt_name must be a string")
        }
        guard let path = call.context.environment.models.checkpointPath(named: name) else {
            throw .failed(type: "FileNotFoundError", message: "Checkpoint '\(name)' is not in models/checkpoints (or its name leaves the folder).")
        }
        let file: CheckpointFile
        do { file = try CheckpointFile.open(path: path) } catch {
            throw .failed(type: "CheckpointError", message: "Cannot load checkpoint '\(name)': \(error.description)")
        }
        let handle = LoadedCheckpoint(name: name, file: file)
        return NodeResult(outputs: [[.checkpoint(handle, part: .model)], [.checkpoint(handle, part: .clip)],
                                    [.checkpoint(handle, part: .vae)]])
    }
}
