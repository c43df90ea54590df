import ArgumentParser
import Dispatch
import Foundation
import ModelCatalog
import NodeServer
import SocketServer

/// `weightlens serve`: the ComfyUI-compatible server, with ComfyUI's flag names.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the ComfyUI-compatible API, WebSocket and web frontend.",
        discussion: """
        --listen [HOSTS]: listen on HOSTS (comma-separated); alone, on every interface (0.0.0.0,::). \
        The default is 127.0.0.1 only. \
        --enable-cors-header [ORIGIN]: send CORS headers for ORIGIN (default '*') instead of the same-origin guard. \
        Folders follow ComfyUI: <base>/models/checkpoints, output, temp, input and user. \
        The default base directory is ./data (created on first start). When no checkpoint exists, \
        a small synthetic SDXL-layout demo checkpoint is written there so the first run works.
        """)

    /// `--listen [HOSTS]` and `--enable-cors-header [ORIGIN]` take an optional value, as in ComfyUI;
    /// ArgumentParser has no optional-value options, so they are read from the unparsed words.
    @Argument(parsing: .allUnrecognized, help: .hidden)
    var optionalValueOptions: [String] = []

    @Option(help: "TCP port (0 picks a free one; the URL line on stdout names it).")
    var port: Int = 8188

    @Option(name: .customLong("base-directory"), help: "ComfyUI base directory (models/, output/, temp/, input/, user/).")
    var baseDirectory: String = "data"

    @Option(name: .customLong("output-directory")) var outputDirectory: String?
    @Option(name: .customLong("temp-directory")) var tempDirectory: String?
    @Option(name: .customLong("input-directory")) var inputDirectory: String?
    @Option(name: .customLong("user-directory")) var userDirectory: String?

    @Option(name: .customLong("extra-model-paths-config"), help: "A ComfyUI extra_model_paths.yaml (repeatable).")
    var extraModelPathsConfig: [String] = []

    @Option(name: .customLong("front-end-root"), help: "Directory of a ComfyUI frontend build served at /; without it / shows the built-in viewer.")
    var frontEndRoot: String?

    @Option(name: .customLong("workflows-directory"), help: "Example workflows served at /workflows/NAME (default: the repository's workflows/ when found).")
    var workflowsDirectory: String?

    @Option(name: .customLong("tls-keyfile")) var tlsKeyfile: String?
    @Option(name: .customLong("tls-certfile")) var tlsCertfile: String?

    @Option(name: .customLong("max-upload-size"), help: "Largest request body in MB.")
    var maxUploadSize: Double = 100

    @Flag(help: "Log every request to standard error.")
    var verbose = false

    @Flag(name: .customLong("no-demo-checkpoint"), help: "Do not write the demo checkpoint when no checkpoint exists.")
    var noDemoCheckpoint = false

    /// Only command-line syntax is checked here (ArgumentParser then prints the usage and exits 64);
    /// values that parse but cannot be used are start-up failures reported by `run()`.
    func validate() throws {
        _ = try optionalValues()
    }

    /// Option values that parsed but are unusable, as the one-sentence failure `run()` reports.
    func checkValues() throws {
        guard (0...65535).contains(port) else { throw CLIError.failure(file: nil, "--port must be between 0 and 65535, not \(port).") }
        guard maxUploadSize > 0, maxUploadSize < 1_048_576 else {
            throw CLIError.failure(file: nil, "--max-upload-size must be a positive number of MB below 1048576, not \(maxUploadSize).")
        }
        if (tlsKeyfile == nil) != (tlsCertfile == nil) {
            throw CLIError.failure(file: nil, "--tls-keyfile and --tls-certfile must be given together.")
        }
    }

    /// (listen hosts, CORS origin) from the words ArgumentParser left over; anything else is an error.
    func optionalValues() throws -> (hosts: [String]?, cors: String?) {
        var hosts: [String]?
        var cors: String?
        var i = 0
        let words = optionalValueOptions
        func value(after index: Int) -> String? {
            index + 1 < words.count && !words[index + 1].hasPrefix("-") ? words[index + 1] : nil
        }
        while i < words.count {
            let word = words[i]
            let (name, inline): (String, String?) = word.contains("=")
                ? (String(word.prefix(while: { $0 != "=" })), String(word.drop(while: { $0 != "=" }).dropFirst()))
                : (word, nil)
            switch name {
            case "--listen":
                let v = inline ?? value(after: i)
                if inline == nil && v != nil { i += 1 }
                let list = (v ?? "0.0.0.0,::").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                hosts = list.isEmpty ? ["0.0.0.0", "::"] : list
            case "--enable-cors-header":
                let v = inline ?? value(after: i)
                if inline == nil && v != nil { i += 1 }
                cors = v ?? "*"
            default:
                throw ValidationError("Unknown argument '\(word)'.")
            }
            i += 1
        }
        return (hosts, cors)
    }

    /// Start-up failures (unusable option values, unreadable files, folders that cannot be
    /// created, a port in use…) are one sentence on stderr and exit status 1, as for every command.
    func run() throws {
        try CLIError.run(file: nil) { try start() }
    }

    private func start() throws {
        try checkValues()
        // Freed per-prompt buffers go back to the kernel instead of piling up in thread arenas (AllocatorPolicy says why).
        AllocatorPolicy.applyServerPolicy(environment: ProcessInfo.processInfo.environment)
        var config = NodeServerConfiguration(baseDirectory: baseDirectory)
        config.outputDirectory = outputDirectory
        config.tempDirectory = tempDirectory
        config.inputDirectory = inputDirectory
        config.userDirectory = userDirectory
        config.extraModelPathsConfigs = extraModelPathsConfig
        config.frontEndRoot = frontEndRoot.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        config.workflowsDirectory = workflowsDirectory ?? Self.locateWorkflows()
        config.maxUploadBytes = Int(maxUploadSize * 1024 * 1024)
        config.argv = CommandLine.arguments
        config.verbose = verbose
        config.consoleLog = true
        if !noDemoCheckpoint {
            // Scale 16 keeps SDXL's 2 515 tensor names and shapes' proportions in 66 MB (f16), written in about a second by a release build.
            config.demoCheckpointWriter = { path in
                try SyntheticCheckpoint.write(layout: .sdxl, scale: 16, dtype: .f16, parts: .all, seed: 0, to: path)
            }
        }
        let app = try NodeServerApp(configuration: config)

        var server = ServerConfiguration()
        let optional = try optionalValues()
        server.hosts = optional.hosts ?? ["127.0.0.1"]
        server.port = port
        server.maxBodyBytes = config.maxUploadBytes
        server.tlsCertificatePath = tlsCertfile
        server.tlsKeyPath = tlsKeyfile
        server.corsOrigin = optional.cors
        server.logLevel = verbose ? .info : .warning
        let http: HTTPServer
        do {
            http = try HTTPServer(configuration: server, service: app)
            try http.start()
        } catch {
            throw NodeServerError.listenFailed(reason: "\(error)")
        }
        http.stopOnSignals()
        let scheme = server.usesTLS ? "https" : "http"
        let shownHost = server.hosts.first.map { $0 == "0.0.0.0" || $0 == "::" ? "127.0.0.1" : $0 } ?? "127.0.0.1"
        let hostPart = shownHost.contains(":") && !shownHost.hasPrefix("[") ? "[\(shownHost)]" : shownHost
        // Tests and scripts read the port from this line (with --port 0 it is the one the kernel picked).
        FileHandle.standardOutput.write(Data("To see the GUI go to: \(scheme)://\(hostPart):\(http.port)\n".utf8))
        http.waitUntilStopped()
    }

    /// The repository's workflows/ next to the executable's build directory or the current directory.
    static func locateWorkflows() -> String? {
        var candidates: [URL] = [URL(fileURLWithPath: FileManager.default.currentDirectoryPath)]
        candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent())
        for start in candidates {
            var dir = start.standardizedFileURL
            for _ in 0..<6 {
                let workflows = dir.appendingPathComponent("workflows")
                if FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path),
                   FileManager.default.fileExists(atPath: workflows.path) { return workflows.path }
                dir.deleteLastPathComponent()
            }
        }
        return nil
    }
}
