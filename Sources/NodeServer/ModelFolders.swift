import Foundation
import Yams

/// ComfyUI's model folder table: folder name → search directories, in priority order.
///
/// Listings are read from disk on every call (no cache), so files added or removed while the
/// server runs show up at the next request, as ComfyUI's "refresh" does.
public struct ModelFolders: Sendable {
    /// One named folder (`checkpoints`) and the directories searched for it.
    public struct Folder: Sendable, Equatable {
        public var name: String
        public var directories: [String]
        /// File name extensions listed for this folder, lower-case with the dot; empty = none.
        public var extensions: Set<String>
    }

    /// The model extensions ComfyUI lists (`supported_pt_extensions`).
    public static let modelExtensions: Set<String> = [".ckpt", ".pt", ".pt2", ".bin", ".pth", ".safetensors", ".pkl", ".sft"]

    /// Legacy folder names that ComfyUI maps onto current ones.
    public static let aliases: [String: String] = ["unet": "diffusion_models", "clip": "text_encoders"]

    /// Listing stops after this many entries per folder, so a huge tree cannot stall a request.
    static let maximumListedFiles = 50_000
    /// Directory depth followed below a folder root (symlink loops end here too).
    static let maximumDepth = 16

    public private(set) var folders: [Folder]

    /// The standard layout under `modelsDirectory` (`<base>/models`), folder order as ComfyUI answers `/models`.
    public init(modelsDirectory: String, customNodesDirectory: String) {
        func dir(_ name: String) -> String { (modelsDirectory as NSString).appendingPathComponent(name) }
        let m = Self.modelExtensions
        folders = [
            Folder(name: "checkpoints", directories: [dir("checkpoints")], extensions: m),
            Folder(name: "configs", directories: [dir("configs")], extensions: [".yaml"]),
            Folder(name: "loras", directories: [dir("loras")], extensions: m),
            Folder(name: "vae", directories: [dir("vae")], extensions: m),
            Folder(name: "text_encoders", directories: [dir("text_encoders"), dir("clip")], extensions: m),
            Folder(name: "diffusion_models", directories: [dir("unet"), dir("diffusion_models")], extensions: m),
            Folder(name: "clip_vision", directories: [dir("clip_vision")], extensions: m),
            Folder(name: "style_models", directories: [dir("style_models")], extensions: m),
            Folder(name: "embeddings", directories: [dir("embeddings")], extensions: m),
            Folder(name: "diffusers", directories: [dir("diffusers")], extensions: ["folder"]),
            Folder(name: "vae_approx", directories: [dir("vae_approx")], extensions: m),
            Folder(name: "controlnet", directories: [dir("controlnet"), dir("t2i_adapter")], extensions: m),
            Folder(name: "gligen", directories: [dir("gligen")], extensions: m),
            Folder(name: "upscale_models", directories: [dir("upscale_models")], extensions: m),
            Folder(name: "latent_upscale_models", directories: [dir("latent_upscale_models")], extensions: m),
            Folder(name: "custom_nodes", directories: [customNodesDirectory], extensions: []),
            Folder(name: "hypernetworks", directories: [dir("hypernetworks")], extensions: m),
            Folder(name: "photomaker", directories: [dir("photomaker")], extensions: m),
            Folder(name: "classifiers", directories: [dir("classifiers")], extensions: [""]),
            Folder(name: "model_patches", directories: [dir("model_patches")], extensions: m),
            Folder(name: "audio_encoders", directories: [dir("audio_encoders")], extensions: m),
        ]
    }

    /// Folder names in `/models` order.
    public var names: [String] { folders.map(\.name) }

    /// The folder called `name` (aliases resolved), or nil.
    public func folder(_ name: String) -> Folder? {
        let key = Self.aliases[name] ?? name
        return folders.first { $0.name == key }
    }

    /// Adds `directory` to folder `name` (created when unknown), first when `asDefault`.
    public mutating func add(_ directory: String, to name: String, asDefault: Bool = false) {
        let key = Self.aliases[name] ?? name
        if let i = folders.firstIndex(where: { $0.name == key }) {
            if folders[i].directories.contains(directory) { return }
            if asDefault { folders[i].directories.insert(directory, at: 0) } else { folders[i].directories.append(directory) }
        } else {
            folders.append(Folder(name: key, directories: [directory], extensions: Self.modelExtensions))
        }
    }

    // MARK: Listing

    /// One listed file: its `/`-separated name relative to the folder root, and where it lives.
    public struct Entry: Sendable, Equatable {
        public var name: String
        public var path: String
        public var directoryIndex: Int
    }

    /// Every matching file of folder `name`, recursively, sorted by name; the first directory
    /// wins when two hold the same relative name. Nil for an unknown folder.
    public func entries(of name: String, extensions: Set<String>? = nil) -> [Entry]? {
        guard var folder = folder(name) else { return nil }
        if let extensions { folder.extensions = extensions }
        var seen = Set<String>()
        var result: [Entry] = []
        for (index, root) in folder.directories.enumerated() {
            for relative in Self.walk(root: root, limit: Self.maximumListedFiles) where Self.matches(relative, folder.extensions) {
                if seen.insert(relative).inserted {
                    result.append(Entry(name: relative, path: (root as NSString).appendingPathComponent(relative), directoryIndex: index))
                }
            }
        }
        return result.sorted { $0.name < $1.name }
    }

    /// Names only (what `/models/{folder}` and combo options show).
    public func fileNames(of name: String) -> [String]? { entries(of: name)?.map(\.name) }

    /// Names of the files of folder `name` with other extensions than the folder's own: ComfyUI-GGUF
    /// lists the `.gguf` files of diffusion_models as its own `unet_gguf` folder.
    public func fileNames(of name: String, extensions: Set<String>) -> [String]? {
        entries(of: name, extensions: extensions)?.map(\.name)
    }

    /// The file for `relativeName` in folder `folderName`, or nil. The name is normalised against
    /// a virtual root first, as ComfyUI does, so `../x` can never leave the folder.
    public func resolve(_ relativeName: String, in folderName: String) -> String? {
        guard let folder = folder(folderName), let clean = Self.normalisedRelative(relativeName) else { return nil }
        for root in folder.directories {
            let candidate = (root as NSString).appendingPathComponent(clean)
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory), !isDirectory.boolValue {
                return candidate
            }
        }
        return nil
    }

    /// `a/../b` → `b`, `../../x` → `x`, `/etc/x` → `etc/x`; nil for empty results or NUL bytes.
    static func normalisedRelative(_ name: String) -> String? {
        if name.utf8.contains(0) { return nil }
        var parts: [Substring] = []
        for part in name.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." { if !parts.isEmpty { parts.removeLast() }; continue }
            parts.append(part)
        }
        return parts.isEmpty ? nil : parts.joined(separator: "/")
    }

    static func matches(_ relative: String, _ extensions: Set<String>) -> Bool {
        if extensions.isEmpty || extensions.contains("folder") { return false }
        if extensions.contains("") { return true }
        let ext = (relative as NSString).pathExtension.lowercased()
        return !ext.isEmpty && extensions.contains("." + ext)
    }

    /// Relative paths of regular files below `root`, following symlinks up to `maximumDepth`.
    static func walk(root: String, limit: Int) -> [String] {
        var out: [String] = []
        func visit(_ directory: String, _ prefix: String, _ depth: Int) {
            guard depth <= maximumDepth, out.count < limit,
                  let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
            for name in names.sorted() where !name.hasPrefix(".") {
                if out.count >= limit { return }
                let full = (directory as NSString).appendingPathComponent(name)
                let relative = prefix.isEmpty ? name : prefix + "/" + name
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory) else { continue }
                if isDirectory.boolValue { visit(full, relative, depth + 1) } else { out.append(relative) }
            }
        }
        visit(root, "", 0)
        return out
    }
}

extension ModelFolders {
    /// Adds the folders of a ComfyUI `extra_model_paths.yaml`.
    ///
    /// Each top-level section may set `base_path` (relative to the file's directory, `~` expanded)
    /// and `is_default`; every other key is a folder name whose value holds one or more paths
    /// (newline-separated), each relative to `base_path`.
    public mutating func addExtraModelPaths(yaml text: String, configPath: String) throws(NodeServerError) {
        let loaded: Any?
        do { loaded = try Yams.load(yaml: text) } catch {
            throw .malformedConfig(path: configPath, reason: "\(error)")
        }
        guard let loaded else { return }
        guard let sections = loaded as? [String: Any] else {
            throw .malformedConfig(path: configPath, reason: "the top level must be a mapping of sections")
        }
        let configDirectory = ((configPath as NSString).deletingLastPathComponent as NSString).standardizingPath
        for sectionName in sections.keys.sorted() {
            guard let section = sections[sectionName] as? [String: Any] else {
                if sections[sectionName] == nil || sections[sectionName] is NSNull { continue }
                throw .malformedConfig(path: configPath, reason: "section '\(sectionName)' must be a mapping")
            }
            var base = ""
            if let value = section["base_path"] {
                guard let text = value as? String else {
                    throw .malformedConfig(path: configPath, reason: "base_path of '\(sectionName)' must be a string")
                }
                base = Self.expand(text, relativeTo: configDirectory)
            }
            let asDefault = (section["is_default"] as? Bool) ?? false
            for key in section.keys.sorted() where key != "base_path" && key != "is_default" && key != "download_model_base" {
                let lines: [String]
                switch section[key] {
                case let s as String: lines = s.split(whereSeparator: \.isNewline).map(String.init)
                case let n as Int: lines = [String(n)]
                case .none, is NSNull: continue
                default:
                    throw .malformedConfig(path: configPath, reason: "'\(sectionName).\(key)' must be a path or a block of paths")
                }
                for line in lines {
                    let trimmed = line.trimmingCharacters(in: .whitespaces)
                    if trimmed.isEmpty { continue }
                    let full = base.isEmpty ? Self.expand(trimmed, relativeTo: configDirectory)
                                            : Self.expand(trimmed, relativeTo: base)
                    add(full, to: key, asDefault: asDefault)
                }
            }
        }
    }

    static func expand(_ path: String, relativeTo directory: String) -> String {
        var p = (path as NSString).expandingTildeInPath
        if !p.hasPrefix("/") { p = (directory as NSString).appendingPathComponent(p) }
        return (p as NSString).standardizingPath
    }
}
