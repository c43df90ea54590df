import Checkpoint
import OrderedJSON
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs one analysis node outside a server: the CLI's `render --view stats|depth|top-inputs|…`
/// calls the very node code a prompt runs, so the pictures and the report are the node's.
///
/// The node gets the checkpoint as its `model` input and a private temp folder for its preview
/// files; the PNGs are read back from there and the folder is removed.
package enum HeadlessNodeRun {
    package struct Output: Sendable {
        /// The node's pictures, PNG bytes, in the order of its `ui.images`.
        package let pngs: [[UInt8]]
        /// The node's report (its `STRING` output).
        package let report: String
    }

    /// A locator that knows no folders: the checkpoint is handed to the node directly.
    private struct NoModels: ModelLocator {
        func checkpointNames() -> [String] { [] }
        func checkpointPath(named: String) -> String? { nil }
    }

    /// Runs `className` with `inputs` (without `model`) on `model` (a checkpoint, possibly with
    /// LoRAs applied). `progress(done, total)` receives the node's progress reports.
    package static func run(_ className: String, model: LoadedCheckpoint, inputs: [String: NodeValue],
                            progress: @escaping @Sendable (Double, Double) -> Void = { _, _ in }) throws(NodeFailure) -> Output {
        guard let node = NodeRegistry.implementation(for: className) else {
            throw .failed(type: "KeyError", message: "No node class \(className).")
        }
        var template = Array("\(NSTemporaryDirectoryPath())weightlens-render-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            let e = errno
            throw .failed(type: "OSError", message: "Cannot create a temp folder: \(String(cString: strerror(e))).")
        }
        let folder = String(cString: made)
        defer { removeFolder(folder) }
        let environment = ExecutionEnvironment(models: NoModels(), tempDirectory: folder, outputDirectory: folder)
        let context = NodeContext(environment: environment, promptID: "cli", nodeID: "1", reportProgress: progress,
                                  interrupted: { false })
        var all = inputs.mapValues { [$0] }
        all["model"] = [.checkpoint(model, part: .model)]
        let result = try node.run(NodeCall(nodeID: "1", inputs: all, context: context))
        var report = ""
        if result.outputs.count > 1, case .string(let s)? = result.outputs[1].first { report = s }
        var pngs: [[UInt8]] = []
        for reference in result.ui?["images"]?.arrayValue ?? [] {
            guard let filename = reference["filename"]?.stringValue else { continue }
            pngs.append(try readFile(folder + "/" + filename))
        }
        return Output(pngs: pngs, report: report)
    }

    private static func NSTemporaryDirectoryPath() -> String {
        var dir = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        if dir.isEmpty { dir = "/tmp" }
        return dir.hasSuffix("/") ? dir : dir + "/"
    }

    private static func readFile(_ path: String) throws(NodeFailure) -> [UInt8] {
        guard let f = fopen(path, "rb") else {
            let e = errno
            throw .failed(type: "OSError", message: "Cannot read \(path): \(String(cString: strerror(e))).")
        }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, f) }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return bytes
    }

    private static func removeFolder(_ path: String) {
        if let dir = opendir(path) {
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
                }
                if name != "." && name != ".." { unlink(path + "/" + name) }
            }
            closedir(dir)
        }
        rmdir(path)
    }
}
