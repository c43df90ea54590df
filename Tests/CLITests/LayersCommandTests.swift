import Foundation
import Testing
@testable import WeightLensCLI

/// `weightlens layers` and `make-checkpoint`, run as the built binary (exit status, stdout, stderr)
/// and in-process where only the text matters.
@Suite struct LayersCommandTests {
    static let fixtures: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/real").path

    /// The `weightlens` executable next to the test bundle (SwiftPM builds every product for `swift test`).
    static var binary: String? {
        if let env = ProcessInfo.processInfo.environment["WEIGHTLENS_BIN"], FileManager.default.isExecutableFile(atPath: env) {
            return env
        }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("weightlens").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }

    struct Result { var status: Int32; var stdout: String; var stderr: String }

    static func run(_ arguments: [String]) throws -> Result {
        let bin = try #require(binary, "the weightlens executable was not built next to the tests")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: bin)
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                      stderr: String(decoding: e, as: UTF8.self))
    }

    @Test func layers_printsOneNamePerLine() throws {
        let r = try Self.run(["layers", Self.fixtures + "/facenet_rnet.pt"])
        #expect(r.status == 0)
        #expect(r.stderr.isEmpty)
        let names = r.stdout.split(separator: "\n").map(String.init)
        #expect(names.first == "conv1")
        #expect(names.contains("dense4"))
        #expect(names.contains("dense5_1"))
        #expect(!names.contains { $0.hasSuffix(".weight") || $0.hasSuffix(".bias") })
    }

    @Test func layersJSON_hasTheDocumentedKeys() throws {
        let r = try Self.run(["layers", Self.fixtures + "/facenet_onet.safetensors", "--json", "--filter", "dense"])
        #expect(r.status == 0)
        let array = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        #expect(!array.isEmpty)
        let dense5 = try #require(array.first { ($0["name"] as? String) == "dense5" })
        #expect(Set(dense5.keys) == ["name", "shape", "dtype", "parameters", "block"])
        #expect(dense5["shape"] as? [Int] == [256, 1152])
        #expect(dense5["dtype"] as? String == "F32")
        #expect(dense5["parameters"] as? Int == 256 * 1152)
        #expect(dense5["block"] is NSNull)
    }

    @Test(arguments: [
        ("/no/such/file.safetensors", "no such file"),
        ("/", "not a regular file"),
    ])
    func layers_badFile_oneLineOnStderrAndStatus1(path: String, fragment: String) throws {
        let r = try Self.run(["layers", path])
        #expect(r.status == 1)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.hasPrefix("weightlens: \(path): "))
        #expect(r.stderr.lowercased().contains(fragment))
        #expect(r.stderr.filter { $0 == "\n" }.count == 1)
    }

    @Test func layers_hostileFile_failsCleanly() throws {
        // A pickle that asks for os.system: refused by name, nothing executed.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wl-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("evil.pt").path
        let pickle: [UInt8] = [0x80, 0x02] + Array("cos\nsystem\n".utf8) + [0x58, 2, 0, 0, 0] + Array("id".utf8) + [0x85, 0x52, 0x2E]
        _ = FileManager.default.createFile(atPath: path, contents: Data(pickle))
        let r = try Self.run(["layers", path])
        #expect(r.status == 1)
        #expect(r.stderr.contains("os.system"))
    }

    @Test func makeCheckpoint_thenLayersWithBlockFilter() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wl-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("sd15.safetensors").path
        let made = try Self.run(["make-checkpoint", "--layout", "sd15", "--scale", "16", "--parts", "unet", "--out", path])
        #expect(made.status == 0, "\(made.stderr)")
        #expect(made.stdout.hasPrefix("wrote \(path)"))
        let r = try Self.run(["layers", path, "--filter", "M00"])
        #expect(r.status == 0)
        #expect(r.stdout.split(separator: "\n").allSatisfy { $0.hasPrefix("middle_block.") })
        let bad = try Self.run(["layers", path, "--filter", "IN00-IN12"])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("IN12"))
        let badLayout = try Self.run(["make-checkpoint", "--layout", "sd9", "--out", path])
        #expect(badLayout.status == 1)
        #expect(badLayout.stderr.hasPrefix("weightlens: --layout"))
    }

    @Test func cliErrorMessage_namesTheFileOnce() {
        struct Plain: Error, CustomStringConvertible { var description: String { "/x.pt: is broken" } }
        #expect(CLIError.message(for: Plain(), file: "/x.pt") == "weightlens: /x.pt: is broken")
        #expect(CLIError.message(for: CLIError.failure(file: nil, "bad option"), file: "/x.pt") == "weightlens: bad option")
        struct Multi: Error, CustomStringConvertible { var description: String { "two\nlines" } }
        #expect(CLIError.message(for: Multi(), file: "f") == "weightlens: f: two lines")
    }

    @Test func layersOutput_inProcess_matchesFilter() throws {
        let text = try LayersCommand.output(file: Self.fixtures + "/lpips_v0.1_squeeze.pth", filter: "lin?.model.1", json: false, all: false)
        #expect(text.split(separator: "\n").count == 7)
    }
}
