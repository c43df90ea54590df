import Foundation
import ModelCatalog
import OrderedJSON
import Synchronization
@testable import LTNodes

/// Paths inside the repository, found from this file's location (tests run from any directory).
enum Repo {
    static let root: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func bytes(_ relative: String) throws -> [UInt8] {
        Array(try Data(contentsOf: root.appendingPathComponent(relative)))
    }

    static func json(_ relative: String) throws -> JSON {
        try JSON.parse(bytes(relative))
    }

    static func transcript(_ name: String) throws -> JSON {
        try json("Tests/Fixtures/comfyui/" + name)
    }
}

/// A real folder of checkpoints, listed and resolved like the server's folder layer does.
struct DirectoryModels: ModelLocator {
    let directory: String

    func checkpointNames() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(".safetensors") }.sorted()
    }

    func checkpointPath(named name: String) -> String? {
        guard !name.isEmpty, !name.hasPrefix("/"), !name.split(separator: "/").contains(".."),
              checkpointNames().contains(name) else { return nil }
        return directory + "/" + name
    }
}

/// The demo checkpoints plus names listed in other model folders (`loras`, `unet_gguf`), as a
/// server with the user's files there lists them: validation checks names, not the files.
struct ListedModels: ModelLocator {
    let models: DirectoryModels
    let extra: [String: [String]]
    func checkpointNames() -> [String] { models.checkpointNames() }
    func checkpointPath(named name: String) -> String? { models.checkpointPath(named: name) }
    func modelNames(in folder: String) -> [String] { extra[folder] ?? models.modelNames(in: folder) }
    func modelPath(named name: String, in folder: String) -> String? { models.modelPath(named: name, in: folder) }
}

/// A fresh temporary directory, removed by the caller with `cleanup()`.
struct TempDirectory {
    let path: String

    init(_ label: String = "ltnodes") {
        path = NSTemporaryDirectory() + "\(label)-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func cleanup() { try? FileManager.default.removeItem(atPath: path) }
}

/// Synthetic SDXL checkpoints (1/16 width, U-Net only), generated once per test process.
enum TestCheckpoints {
    /// Folder with `sdxl_synthetic_fp16.safetensors` (the transcripts' name) and the demo name.
    static let folder: Result<String, SyntheticCheckpointError> = {
        let dir = NSTemporaryDirectory() + "ltnodes-checkpoints-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        do throws(SyntheticCheckpointError) {
            try SyntheticCheckpoint.write(layout: .sdxl, scale: 16, dtype: .f16, parts: .unet, seed: 1,
                                          to: dir + "/sdxl_synthetic_fp16.safetensors")
            try SyntheticCheckpoint.write(layout: .sdxl, scale: 16, dtype: .f16, parts: .unet, seed: 2,
                                          to: dir + "/weightlens_demo_sdxl_synthetic.safetensors")
        } catch {
            return .failure(error)
        }
        // The real-weights demo, as `serve` copies it beside the synthetic one (its workflow names it).
        let real = Repo.root.appendingPathComponent("Sources/NodeServer/Resources/demo/weightlens_real_mobilenetv2.safetensors").path
        if !FileManager.default.fileExists(atPath: dir + "/weightlens_real_mobilenetv2.safetensors") {
            try? FileManager.default.copyItem(atPath: real, toPath: dir + "/weightlens_real_mobilenetv2.safetensors")
        }
        return .success(dir)
    }()

    static func models() throws -> DirectoryModels { DirectoryModels(directory: try folder.get()) }
}

/// Collects the messages an executor sends (they may arrive from engine threads).
final class MessageLog: Sendable {
    private let items = Mutex<[(String, JSON)]>([])

    var send: @Sendable (String, JSON) -> Void { { type, data in self.items.withLock { $0.append((type, data)) } } }
    var all: [(String, JSON)] { items.withLock { $0 } }
    var types: [String] { all.map(\.0) }
}

/// An interrupt flag that tests can set from a `send` callback.
final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .relaxed) }
    var isSet: Bool { value.load(ordering: .relaxed) }
}

extension JSON {
    /// Test shorthand: parse JSON text, failing the test on error.
    static func text(_ s: String) throws -> JSON { try JSON.parse(Array(s.utf8)) }

    /// The value with every `traceback` member removed (Python tracebacks differ by design).
    var withoutTracebacks: JSON {
        switch self {
        case .object(let o):
            var out = JSONObject()
            for (k, v) in o where k != "traceback" { out[k] = v.withoutTracebacks }
            return .object(out)
        case .array(let a): return .array(a.map(\.withoutTracebacks))
        default: return self
        }
    }
}

func catalog() throws -> NodeCatalog { try NodeCatalog.bundled() }
