import Foundation
import OrderedJSON
import Testing
@testable import LTNodes

/// The temp folder while the server runs: capped (oldest previews go first), and a write that
/// fails (full disk) is a node failure, which the executor reports as `execution_error`, with no
/// partly written picture left behind.
@Suite struct TempHygieneTests {
    private static func touch(_ path: String, bytes: Int, age seconds: Double) {
        _ = FileManager.default.createFile(atPath: path, contents: Data(count: bytes))
        try? FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -seconds)], ofItemAtPath: path)
    }

    private static func names(_ folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
    }

    @Test func prune_keepsTheNewestFilesAndLeavesSubfoldersAlone() throws {
        let temp = TempDirectory("ltnodes-prune")
        defer { temp.cleanup() }
        for i in 0..<10 { Self.touch(temp.path + "/p\(i).png", bytes: 100, age: Double(100 - i)) }   // p9 newest
        try FileManager.default.createDirectory(atPath: temp.path + "/sub", withIntermediateDirectories: true)
        Self.touch(temp.path + "/sub/old.png", bytes: 100, age: 1000)
        TempImageWriter.prune(temp.path, keepFiles: 4)
        #expect(Self.names(temp.path) == ["p6.png", "p7.png", "p8.png", "p9.png", "sub"])
        #expect(Self.names(temp.path + "/sub") == ["old.png"])
        // The byte cap: 4 × 100 bytes kept under 250 bytes leaves the two newest.
        TempImageWriter.prune(temp.path, keepFiles: 100, keepBytes: 250)
        #expect(Self.names(temp.path) == ["p8.png", "p9.png", "sub"])
        // Under both caps nothing goes.
        TempImageWriter.prune(temp.path)
        #expect(Self.names(temp.path).count == 3)
    }

    @Test func writingToAFullDevice_failsAsOSErrorAndRemovesThePartialFile() throws {
        let temp = TempDirectory("ltnodes-full")
        defer { temp.cleanup() }
        let path = temp.path + "/partial.png"
        Self.touch(path, bytes: 10, age: 0)
        // /dev/full answers every write with ENOSPC, as a full disk does.
        let fd = open("/dev/full", O_WRONLY)
        try #require(fd >= 0, "no /dev/full on this system")
        defer { close(fd) }
        #expect {
            try TempImageWriter.writeOrRemove([UInt8](repeating: 7, count: 4096), to: fd, path: path)
        } throws: { error in
            guard case NodeFailure.failed(let type, let message) = error else { return false }
            return type == "OSError" && message.contains("errno \(ENOSPC)") && message.contains(path)
        }
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    /// A 4 KB tmpfs as the temp folder: a real full disk. Needs the right to mount (root in a
    /// container); elsewhere the /dev/full test above covers the write path.
    @Test(.enabled(if: TinyDisk.canMount)) func fullTempDisk_isAnExecutionErrorNotACrash() throws {
        let disk = try #require(TinyDisk())
        defer { disk.unmount() }
        let models = try TestCheckpoints.models()
        let catalog = try catalog()
        let executor = GraphExecutor(catalog: catalog, environment: ExecutionEnvironment(
            models: models, tempDirectory: disk.path, outputDirectory: disk.path + "/output-does-not-matter"))
        let prompt = try JSON.text("""
            {"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sdxl_synthetic_fp16.safetensors"}},
             "2": {"class_type": "LTVisualizeWeights", "inputs": {"model": ["1", 0], "layer_name": "input_blocks.1.0.in_layers.2",
                   "num_filters": 64, "visualization_mode": "both", "max_side": 2048}}}
            """)
        let validated = try PromptValidation.validate(prompt: prompt, catalog: catalog, models: models).get()
        let log = MessageLog()
        let record = executor.execute(validated, promptID: "full", extraData: .object(JSONObject()), send: log.send,
                                      isInterrupted: { false })
        #expect(record.statusString == "error")
        let error = try #require(log.all.last { $0.0 == "execution_error" }?.1)
        #expect(error["exception_type"]?.stringValue == "OSError")
        #expect(error["exception_message"]?.stringValue?.contains("errno \(ENOSPC)") == true, "\(error)")
        // Every picture on the disk is complete: a PNG ends with its IEND chunk.
        for name in Self.names(disk.path) where name.hasSuffix(".png") {
            let bytes = try #require(FileManager.default.contents(atPath: disk.path + "/" + name))
            #expect(bytes.suffix(8) == Data([0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82]), "\(name) is truncated")
        }
    }
}

/// A tiny tmpfs mounted on a fresh folder (4 KB, one page).
struct TinyDisk {
    let path: String

    static let canMount: Bool = {
        guard getuid() == 0, let disk = TinyDisk() else { return false }
        disk.unmount()
        return true
    }()

    init?() {
        let dir = TempDirectory("ltnodes-tinydisk").path
        guard Self.run(["/bin/mount", "-t", "tmpfs", "-o", "size=4k", "tmpfs", dir]) else {
            try? FileManager.default.removeItem(atPath: dir)
            return nil
        }
        path = dir
    }

    func unmount() {
        _ = Self.run(["/bin/umount", path])
        try? FileManager.default.removeItem(atPath: path)
    }

    private static func run(_ argv: [String]) -> Bool {
        guard FileManager.default.isExecutableFile(atPath: argv[0]) else { return false }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: argv[0])
        p.arguments = Array(argv.dropFirst())
        p.standardError = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        do { try p.run() } catch { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }
}
