/// Why the node server could not start or could not read its configuration.
public enum NodeServerError: Error, CustomStringConvertible, Equatable {
    /// A directory the server needs could not be created.
    case cannotCreateDirectory(path: String, reason: String)
    /// The `--extra-model-paths-config` file could not be read.
    case unreadableConfig(path: String, reason: String)
    /// The `--extra-model-paths-config` file is not in ComfyUI's extra_model_paths.yaml shape.
    case malformedConfig(path: String, reason: String)
    /// nodes.json and the compiled node implementations disagree.
    case catalogMismatch(problems: [String])
    /// The demo checkpoint could not be written.
    case demoCheckpointFailed(path: String, reason: String)
    /// The socket layer refused to start (port in use, bad TLS files…).
    case listenFailed(reason: String)

    public var description: String {
        switch self {
        case .cannotCreateDirectory(let path, let reason):
            return "Cannot create the directory \(path): \(reason)."
        case .unreadableConfig(let path, let reason):
            return "Cannot read the extra model paths file \(path): \(reason)."
        case .malformedConfig(let path, let reason):
            return "The extra model paths file \(path) is not valid: \(reason)."
        case .catalogMismatch(let problems):
            return "nodes.json disagrees with the implemented nodes: \(problems.joined(separator: "; "))."
        case .demoCheckpointFailed(let path, let reason):
            return "Cannot write the demo checkpoint \(path): \(reason)."
        case .listenFailed(let reason):
            return "The server could not start listening: \(reason)."
        }
    }
}
