import Foundation
import NodeServer
import Testing
@testable import WeightLensCLI
#if canImport(Glibc)
import Glibc
#endif

/// Failures print one sentence on stderr (no usage text, no doubled path, no ".."), exit status 1;
/// run as the built binary.
@Suite struct ErrorMessageTests {
    typealias Result = LayersCommandTests.Result

    /// Runs the binary; a process still alive after `seconds` is terminated, so a command that
    /// wrongly starts serving fails the test instead of hanging it.
    static func run(_ arguments: [String], binary: String? = nil, seconds: Double = 60) throws -> Result {
        let bin = try #require(binary ?? LayersCommandTests.binary, "the weightlens executable was not built next to the tests")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: bin)
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let watchdog = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds, execute: watchdog)
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        watchdog.cancel()
        return Result(status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                      stderr: String(decoding: e, as: UTF8.self))
    }

    static func temporaryDirectory() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wl-cli-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// One line on stderr that starts `weightlens: `, names `mentioning` exactly once, and has
    /// neither ArgumentParser's usage text nor a doubled full stop.
    static func expectOneSentence(_ r: Result, mentioning fragment: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status == 1, "\(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.hasPrefix("weightlens: "), "\(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.filter { $0 == "\n" }.count == 1, "\(r.stderr)", sourceLocation: sourceLocation)
        #expect(!r.stderr.contains("Usage"), "\(r.stderr)", sourceLocation: sourceLocation)
        #expect(!r.stderr.contains("Error: "), "\(r.stderr)", sourceLocation: sourceLocation)
        #expect(!r.stderr.contains(".."), "\(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.components(separatedBy: fragment).count == 2, "\(fragment) not named exactly once in: \(r.stderr)",
                sourceLocation: sourceLocation)
    }

    // MARK: serve start-up failures

    @Test func serve_portOutOfRange_oneSentenceStatus1() throws {
        let r = try Self.run(["serve", "--port", "70000", "--no-demo-checkpoint"])
        Self.expectOneSentence(r, mentioning: "70000")
        #expect(r.stderr.hasPrefix("weightlens: --port "))
    }

    @Test func serve_missingExtraModelPathsConfig_oneSentenceStatus1() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let missing = dir + "/nope/extra_model_paths.yaml"
        let r = try Self.run(["serve", "--port", "0", "--no-demo-checkpoint", "--base-directory", dir + "/base",
                              "--extra-model-paths-config", missing])
        Self.expectOneSentence(r, mentioning: missing)
        // The system's short reason, not Foundation's two sentences.
        #expect(r.stderr.hasSuffix("\(missing): No such file or directory.\n"), "\(r.stderr)")
    }

    @Test func serve_baseDirectoryThatCannotBeCreated_oneSentenceStatus1() throws {
        // A folder below a regular file can never be created, not even by root.
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/plain-file"
        _ = FileManager.default.createFile(atPath: file, contents: Data("x".utf8))
        let r = try Self.run(["serve", "--port", "0", "--no-demo-checkpoint", "--base-directory", file + "/base"])
        #expect(r.status == 1)
        #expect(r.stderr.hasPrefix("weightlens: Cannot create the directory "), "\(r.stderr)")
        #expect(r.stderr.hasSuffix(": Not a directory.\n"), "\(r.stderr)")
        #expect(r.stderr.filter { $0 == "\n" }.count == 1)
        #expect(!r.stderr.contains("..") && !r.stderr.contains("Usage"))
    }

    @Test func serve_portInUse_oneSentenceStatus1() throws {
        #if canImport(Glibc)
        // Hold a listening socket on a kernel-chosen port, then ask the server for that port.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        try #require(bound == 0 && listen(fd, 1) == 0)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        let port = Int(UInt16(bigEndian: address.sin_port))
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try Self.run(["serve", "--port", "\(port)", "--no-demo-checkpoint", "--base-directory", dir])
        Self.expectOneSentence(r, mentioning: "could not start listening")
        #expect(r.stdout.isEmpty)
        #endif
    }

    @Test func serve_catalogMismatch_isOneSentenceWithOneFullStop() {
        // nodes.json is compiled in, so the binary cannot be made to disagree; this is the
        // sentence `serve` prints for it, through the same path as the failures above.
        let error = NodeServerError.catalogMismatch(problems: ["Node LTFoo has no implementation."])
        #expect(CLIError.message(for: error, file: nil)
                == "weightlens: nodes.json disagrees with the implemented nodes: Node LTFoo has no implementation.")
        let listen = NodeServerError.listenFailed(reason: "bind failed for 127.0.0.1:8188: Address already in use (errno 98).")
        #expect(!CLIError.message(for: listen, file: nil).contains(".."))
    }

    @Test func serve_unknownArgument_keepsArgumentParsersSyntaxError() throws {
        let r = try Self.run(["serve", "--no-such-option"])
        #expect(r.status == 64)
        #expect(r.stderr.contains("--no-such-option"))
    }

    // MARK: doubled paths and full stops

    @Test func makeCheckpoint_unwritableOut_namesThePathOnce() throws {
        let out = "/nonexistent-\(UUID().uuidString)/x.safetensors"
        let r = try Self.run(["make-checkpoint", "--layout", "sd15", "--scale", "64", "--parts", "unet", "--out", out])
        Self.expectOneSentence(r, mentioning: out)
        #expect(r.stderr.hasPrefix("weightlens: \(out): cannot be written"))
        #expect(!r.stderr.contains(".part"))
    }

    @Test func render_unwritableOut_noDoubledFullStop() throws {
        let out = "/nonexistent-\(UUID().uuidString)/x.png"
        let r = try Self.run(["render", LayersCommandTests.fixtures + "/facenet_onet.safetensors", "--layer", "conv2", "--out", out])
        Self.expectOneSentence(r, mentioning: out)
        #expect(r.stderr.hasPrefix("weightlens: \(out): Cannot write the image"))
        #expect(r.stderr.hasSuffix("Cannot write the image: No such file or directory.\n"), "\(r.stderr)")
    }

    @Test func message_dropsTheCommandsPathWhenTheErrorNamesADerivedOne() {
        struct PartError: Error, CustomStringConvertible { var description: String { "/o/x.bin.part: cannot be written" } }
        #expect(CLIError.message(for: PartError(), file: "/o/x.bin") == "weightlens: /o/x.bin.part: cannot be written")
        // A sentence that merely starts with the same letters as an unrelated word keeps the prefix.
        struct Other: Error, CustomStringConvertible { var description: String { "ab is not cd: bad" } }
        #expect(CLIError.message(for: Other(), file: "ab") == "weightlens: ab: ab is not cd: bad")
    }

    @Test func message_neverEndsInTwoFullStops() {
        struct Wrapped: Error, CustomStringConvertible {
            var description: String { "Cannot write the image: The folder “x.png” doesn’t exist.." }
        }
        #expect(CLIError.message(for: Wrapped(), file: "/a/x.png") == "weightlens: /a/x.png: Cannot write the image: The folder “x.png” doesn’t exist.")
        struct Ellipsis: Error, CustomStringConvertible { var description: String { "closest: a, b..." } }
        #expect(CLIError.message(for: Ellipsis(), file: nil) == "weightlens: closest: a, b...")
        #expect(CLIError.clause("No such file. ") == "No such file")
    }

    // MARK: layers --filter without a match

    @Test func layers_filterWithoutMatch_saysSoOnStderrAndExits0() throws {
        let file = LayersCommandTests.fixtures + "/facenet_rnet.pt"
        let r = try Self.run(["layers", file, "--filter", "no_such_layer"])
        #expect(r.status == 0)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr == "weightlens: \(file): no layer matches 'no_such_layer'.\n")
        let json = try Self.run(["layers", file, "--filter", "no_such_layer", "--json"])
        #expect(json.status == 0)
        #expect(json.stdout == "[]\n")
        #expect(json.stderr.contains("no layer matches"))
        let some = try Self.run(["layers", file, "--filter", "conv1"])
        #expect(some.status == 0 && some.stderr.isEmpty && !some.stdout.isEmpty)
    }

    // MARK: an executable moved without its resource bundles

    @Test func serve_withoutResourceBundle_warnsOnceAndAnswers404() throws {
        #if canImport(Glibc)
        let source = try #require(LayersCommandTests.binary, "the weightlens executable was not built next to the tests")
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let moved = dir + "/weightlens"
        try FileManager.default.copyItem(atPath: source, toPath: moved)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: moved)
        process.arguments = ["serve", "--port", "0", "--no-demo-checkpoint", "--base-directory", dir + "/base"]
        process.currentDirectoryURL = URL(fileURLWithPath: dir)
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let watchdog = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + 60, execute: watchdog)
        defer {
            watchdog.cancel()
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
        }
        // The URL line, read until its newline (or until the process ends).
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        let text = String(decoding: line, as: UTF8.self)
        let port = try #require(text.split(separator: ":").last.flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) },
                                "no URL line: \(text)")
        #expect(try Self.get(port: port, path: "/viewer").hasPrefix("HTTP/1.1 404"))
        let extensions = try Self.get(port: port, path: "/extensions")
        #expect(extensions.hasPrefix("HTTP/1.1 200"))
        #expect(extensions.hasSuffix("\r\n\r\n[]"))
        #expect(try Self.get(port: port, path: "/object_info").hasPrefix("HTTP/1.1 200"))
        process.terminate()
        process.waitUntilExit()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(stderr.components(separatedBy: "warning").count == 2, "\(stderr)")
        #expect(stderr.contains("/viewer"))
        #expect(process.terminationReason == .exit, "the server trapped: \(stderr)")
        #endif
    }

    #if canImport(Glibc)
    /// A plain HTTP/1.1 GET on 127.0.0.1 with `Connection: close`; the whole response as text.
    static func get(port: Int, path: String) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(connected == 0)
        let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            response += buffer[0..<n]
        }
        return String(decoding: response, as: UTF8.self)
    }
    #endif
}
