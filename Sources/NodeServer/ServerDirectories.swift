import Foundation
import LTNodes

/// ComfyUI's directory layout: `<base>/models/*`, `output`, `temp`, `input`, `user`, each overridable.
public struct ServerDirectories: Sendable {
    public var base: String
    public var output: String
    public var temp: String
    public var input: String
    public var user: String
    public var models: ModelFolders

    /// Resolves the layout; relative paths are taken from the current directory.
    public init(base: String, output: String? = nil, temp: String? = nil, input: String? = nil, user: String? = nil) {
        let b = Self.absolute(base)
        self.base = b
        func sub(_ name: String, _ override: String?) -> String { override.map(Self.absolute) ?? (b as NSString).appendingPathComponent(name) }
        self.output = sub("output", output)
        self.temp = sub("temp", temp)
        self.input = sub("input", input)
        self.user = sub("user", user)
        self.models = ModelFolders(modelsDirectory: (b as NSString).appendingPathComponent("models"),
                                   customNodesDirectory: (b as NSString).appendingPathComponent("custom_nodes"))
    }

    /// `<base>/models/checkpoints`: created at start and where the demo checkpoint goes (never an
    /// extra model path, which may belong to another installation).
    public var baseCheckpoints: String { ((base as NSString).appendingPathComponent("models") as NSString).appendingPathComponent("checkpoints") }

    /// The directory holding the single user's files (ComfyUI's `user/default`).
    public var defaultUser: String { (user as NSString).appendingPathComponent("default") }

    /// The folder for a `/view` or upload `type`, or nil for an unknown type.
    public func directory(forType type: String) -> String? {
        switch type {
        case "output": return output
        case "temp": return temp
        case "input": return input
        default: return nil
        }
    }

    /// Creates the directories and empties `temp`, as ComfyUI does at start.
    public func prepare() throws(NodeServerError) {
        let fm = FileManager.default
        if fm.fileExists(atPath: temp) {
            for name in (try? fm.contentsOfDirectory(atPath: temp)) ?? [] {
                try? fm.removeItem(atPath: (temp as NSString).appendingPathComponent(name))
            }
        }
        for dir in [output, temp, input, defaultUser, baseCheckpoints] {
            do { try fm.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
                throw .cannotCreateDirectory(path: dir, reason: NodeServerError.reason(error))
            }
        }
    }

    static func absolute(_ path: String) -> String {
        let expanded = (path as NSString).expandingTildeInPath
        if expanded.hasPrefix("/") { return (expanded as NSString).standardizingPath }
        return ((FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(expanded) as NSString).standardizingPath
    }
}

/// The folder layer seen by the nodes: checkpoint names and paths, rescanned on every call.
public struct FolderModelLocator: ModelLocator {
    public let folders: ModelFolders
    public init(folders: ModelFolders) { self.folders = folders }
    public func checkpointNames() -> [String] { folders.fileNames(of: "checkpoints") ?? [] }
    public func checkpointPath(named name: String) -> String? { folders.resolve(name, in: "checkpoints") }

    public func modelNames(in folder: String) -> [String] {
        if folder == "unet_gguf" { return folders.fileNames(of: "diffusion_models", extensions: [".gguf"]) ?? [] }
        return folders.fileNames(of: folder) ?? []
    }

    public func modelPath(named name: String, in folder: String) -> String? {
        if folder == "unet_gguf" {
            guard name.lowercased().hasSuffix(".gguf") else { return nil }
            return folders.resolve(name, in: "diffusion_models")
        }
        return folders.resolve(name, in: folder)
    }
}
