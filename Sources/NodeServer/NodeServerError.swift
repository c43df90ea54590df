import Foundation

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
            return "Cannot create the directory \(path): \(Self.clause(reason))."
        case .unreadableConfig(let path, let reason):
            return "Cannot read the extra model paths file \(path): \(Self.clause(reason))."
        case .malformedConfig(let path, let reason):
            return "The extra model paths file \(path) is not valid: \(Self.clause(reason))."
        case .catalogMismatch(let problems):
            return "nodes.json disagrees with the implemented nodes: \(problems.map(Self.clause).joined(separator: "; "))."
        case .demoCheckpointFailed(let path, let reason):
            return "Cannot write the demo checkpoint \(path): \(Self.clause(reason))."
        case .listenFailed(let reason):
            return "The server could not start listening: \(Self.clause(reason))."
        }
    }

    /// The short reason for a Foundation file error: the system's words for the underlying POSIX
    /// error ("No such file or directory") when there is one, since Foundation's own text on Linux
    /// is two sentences ("The operation could not be completed. The file doesn't exist.") or a bare
    /// error code.
    static func reason(_ error: any Error) -> String {
        // On Linux the underlying error is stored as a Swift `Error`, not as an `NSError`.
        if let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? any Error {
            let posix = underlying as NSError
            if posix.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(posix.code))) }
        }
        return error.localizedDescription
    }

    /// A reason quoted inside one of the sentences above, without its own final full stop
    /// (Foundation's and other errors' descriptions end in "."), so no sentence ends in "..".
    static func clause(_ reason: String) -> String {
        var s = Substring(reason)
        while let last = s.last, last == "." || last == " " || last == "\n" { s.removeLast() }
        return String(s)
    }
}
