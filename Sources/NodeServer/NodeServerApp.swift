// NodeServer: the ComfyUI-compatible REST and WebSocket API, folders, queue and history.
import Dispatch
import Foundation
import HTTPWire
import LTNodes
import OrderedJSON
import SocketServer
import Synchronization

/// The ComfyUI-compatible application: routes requests, owns the queue, the history and the
/// WebSocket clients, and runs prompts one at a time on `worker`.
public final class NodeServerApp: HTTPService, @unchecked Sendable {
    // @unchecked: every stored property is immutable and Sendable except `executor`, which is
    // only touched on the serial `worker` queue (GraphExecutor is not thread-safe by contract).
    public let configuration: NodeServerConfiguration
    public let directories: ServerDirectories
    public let catalog: NodeCatalog
    public let queue = PromptQueue()
    public let clients = ClientRegistry()
    let executor: GraphExecutor
    /// Runs prompts and `/free` requests, one at a time, in arrival order.
    let worker = DispatchQueue(label: "weightlens.prompt-worker", qos: .userInitiated)
    /// Serialises writes to settings and user data files.
    let userDataLock = Mutex(())
    let log = LogBuffer()
    /// The last weight `/weightlens/tensor` loaded (the viewer's hover read-out).
    let tensorCache = TensorCache()
    let startTime = Date()

    public var models: FolderModelLocator { FolderModelLocator(folders: directories.models) }

    /// Prepares folders, loads the node catalogue and checks it against the implementations.
    public init(configuration: NodeServerConfiguration) throws(NodeServerError) {
        self.configuration = configuration
        log.echo.withLock { $0 = configuration.consoleLog }
        var dirs = ServerDirectories(base: configuration.baseDirectory, output: configuration.outputDirectory,
                                     temp: configuration.tempDirectory, input: configuration.inputDirectory,
                                     user: configuration.userDirectory)
        for path in configuration.extraModelPathsConfigs {
            let text: String
            do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
                throw .unreadableConfig(path: path, reason: NodeServerError.reason(error))
            }
            try dirs.models.addExtraModelPaths(yaml: text, configPath: ServerDirectories.absolute(path))
        }
        try dirs.prepare()
        self.directories = dirs
        do {
            let catalog = try NodeCatalog.bundled()
            try catalog.verifyImplementations()
            self.catalog = catalog
        } catch {
            throw .catalogMismatch(problems: ["\(error)"])
        }
        let buffer = log
        let environment = ExecutionEnvironment(models: FolderModelLocator(folders: dirs.models),
                                               tempDirectory: dirs.temp, outputDirectory: dirs.output,
                                               log: { buffer.append($0) })
        self.executor = GraphExecutor(catalog: catalog, environment: environment)
        try ensureDemoCheckpoint()
        installExampleWorkflows()
        if configuration.resourcesDirectory == nil {
            // Not fatal: the API works without the viewer and the frontend extension.
            let warning = "weightlens: warning: the NodeServer resource bundle (*_NodeServer.resources) is not next to "
                + "the executable, so /viewer answers 404 and /extensions lists no scripts."
            log.append(warning)
        }
        // New log lines go to the sockets that subscribed (`logs` messages); captures the registry
        // only, so the buffer does not keep the app alive.
        let clients = self.clients
        log.setListener { entries in clients.sendToLogSubscribers(type: "logs", data: LogBuffer.json(entries)) }
    }

    /// Writes the demo checkpoint when no checkpoint exists anywhere, so a first run works
    /// unconfigured, and puts the real-weights demo beside it (also into a folder that holds the
    /// synthetic demo from an earlier run). Folders with the user's own checkpoints are left alone.
    func ensureDemoCheckpoint() throws(NodeServerError) {
        guard let writer = configuration.demoCheckpointWriter else { return }
        let existing = directories.models.fileNames(of: "checkpoints") ?? []
        if existing.isEmpty || existing.contains(configuration.demoCheckpointName) {
            installRealDemoCheckpoint()
        }
        guard existing.isEmpty else { return }
        let path = (directories.baseCheckpoints as NSString).appendingPathComponent(configuration.demoCheckpointName)
        let partial = path + ".partial"
        do {
            try writer(partial)
            try? FileManager.default.removeItem(atPath: path)
            try FileManager.default.moveItem(atPath: partial, toPath: path)
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw .demoCheckpointFailed(path: path, reason: "\(error)")
        }
        log.append("Wrote the demo checkpoint \(path)")
    }

    /// Copies `Resources/demo/<realDemoCheckpointName>` into the base checkpoints folder when it is
    /// not there yet. Without the resource bundle there is nothing to copy (said once at start).
    func installRealDemoCheckpoint() {
        let name = configuration.realDemoCheckpointName
        let dest = (directories.baseCheckpoints as NSString).appendingPathComponent(name)
        let fm = FileManager.default
        guard let root = configuration.resourcesDirectory, !fm.fileExists(atPath: dest) else { return }
        let source = ((root as NSString).appendingPathComponent("demo") as NSString).appendingPathComponent(name)
        guard fm.fileExists(atPath: source) else { return }
        do {
            try fm.createDirectory(atPath: directories.baseCheckpoints, withIntermediateDirectories: true)
            try fm.copyItem(atPath: source, toPath: dest + ".partial")
            try fm.moveItem(atPath: dest + ".partial", toPath: dest)
            log.append("Copied the real-weights demo checkpoint \(dest)")
        } catch {
            try? fm.removeItem(atPath: dest + ".partial")
            log.append("weightlens: warning: cannot copy the real-weights demo checkpoint to \(dest): \(error)")
        }
    }

    /// Copies the example workflows into the user's workflows folder (never over a user's file),
    /// so the frontend's workflow browser lists them, under their titles from `templates.json`
    /// where it has one: the sidebar shortens long names, and the demo and the original workflow
    /// would read alike.
    func installExampleWorkflows() {
        let fm = FileManager.default
        let target = (directories.defaultUser as NSString).appendingPathComponent("workflows")
        let names = exampleWorkflowNames()
        guard !names.isEmpty, let source = configuration.workflowsDirectory else { return }
        let titles = Dictionary(templateDescriptions().map { ($0.name + ".json", $0.title) }, uniquingKeysWith: { a, _ in a })
        try? fm.createDirectory(atPath: target, withIntermediateDirectories: true)
        for name in names {
            let shown = titles[name].map(Self.fileSafe).flatMap { $0.isEmpty ? nil : $0 + ".json" } ?? name
            let dest = (target as NSString).appendingPathComponent(shown)
            if !fm.fileExists(atPath: dest) {
                try? fm.copyItem(atPath: (source as NSString).appendingPathComponent(name), toPath: dest)
            }
        }
    }

    /// A title as a file name: no path separators, control characters or leading dots.
    static func fileSafe(_ title: String) -> String {
        let cleaned = String(title.unicodeScalars.map { $0 == "/" || $0 == "\\" || $0.value < 32 ? "-" : Character($0) })
        return String(cleaned.drop(while: { $0 == "." }).prefix(120))
    }

    /// `*.json` files of the workflows directory that are UI workflows: first those listed in
    /// `templates.json`, in its order (the demo first), then the others by name. API-format prompts
    /// (`*_api.json`) stay reachable at /workflows/NAME, but the frontend cannot open them as a
    /// template or a saved workflow ("not a loadable workflow"), so they are not offered there.
    func exampleWorkflowNames() -> [String] {
        guard let dir = configuration.workflowsDirectory,
              let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return [] }
        let workflows = names.filter {
            $0.hasSuffix(".json") && !$0.hasPrefix(".") && Self.isUIWorkflow((dir as NSString).appendingPathComponent($0))
        }
        let listed = templateDescriptions().map { $0.name + ".json" }
        let rank = Dictionary(listed.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        return workflows.sorted { (rank[$0] ?? Int.max, $0) < (rank[$1] ?? Int.max, $1) }
    }

    /// `templates.json` of the workflows directory: `{"templates": [{"name", "title", "description"}]}`,
    /// the order and one-line descriptions of the shipped workflows. Missing or malformed: none.
    func templateDescriptions() -> [(name: String, title: String, description: String)] {
        guard let dir = configuration.workflowsDirectory,
              let data = FileManager.default.contents(atPath: (dir as NSString).appendingPathComponent("templates.json")),
              data.count <= 1 << 20, let list = (try? JSON.parse([UInt8](data)))?["templates"]?.arrayValue else { return [] }
        return list.compactMap { entry in
            guard let name = entry["name"]?.stringValue else { return nil }
            return (name, entry["title"]?.stringValue ?? name, entry["description"]?.stringValue ?? "")
        }
    }

    /// True for a JSON object with a `nodes` list (the frontend's saved-workflow form).
    static func isUIWorkflow(_ path: String) -> Bool {
        // Size first: a huge file in the folder is not read to find out.
        guard let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size <= 16 << 20,
              let data = FileManager.default.contents(atPath: path),
              case .object(let object)? = try? JSON.parse([UInt8](data)) else { return false }
        return object["nodes"]?.arrayValue != nil
    }

    // MARK: HTTPService

    public func respond(to request: HTTPRequest) -> HTTPResponse {
        var response = route(request)
        // The frontend always links /user.css and /api/userdata/user.css. A 404 for a stylesheet
        // without a type, sent with nosniff, makes Chrome log a console error; typed, it is quiet.
        if response.status == 404, request.rawPath.lowercased().hasSuffix(".css"), response.headers["Content-Type"] == nil {
            response.headers["Content-Type"] = "text/css; charset=utf-8"
        }
        if configuration.verbose {
            FileHandle.standardError.write(Data("\(request.method) \(request.target) → \(response.status)\n".utf8))
        }
        return response
    }

    public func refuseWebSocket(_ request: HTTPRequest) -> HTTPResponse? {
        let segments = request.pathSegments.filter { !$0.isEmpty }
        return segments == ["ws"] || segments == ["api", "ws"] ? nil : HTTPResponse(status: 404)
    }

    public func webSocketDidOpen(_ socket: any WebSocketConnection, request: HTTPRequest) {
        var clientID = request.queryValue("clientId") ?? ""
        if clientID.isEmpty || clientID.utf8.count > 256 { clientID = Self.newHexID() }
        for old in clients.register(socket, clientID: clientID) { old.close(code: 1000) }
        let status = statusData(includeSID: clientID)
        socket.send(text: ClientRegistry.frame(type: "status", data: status))
        if let running = queue.runningClient(), running.clientID == clientID, let node = running.node {
            socket.send(text: ClientRegistry.frame(type: "executing", data: .object(JSONObject([("node", .string(node))]))))
        }
    }

    public func webSocket(_ socket: any WebSocketConnection, didReceiveText text: String) {
        guard text.utf8.count < 1 << 20, let message = try? JSON.parse(Array(text.utf8), limits: JSONLimits(maxDepth: 32, maxBytes: 1 << 20)),
              message["type"]?.stringValue == "feature_flags" else { return }
        clients.setPreviewMetadata(socket, message["data"]?["supports_preview_metadata"]?.boolValue ?? false)
        socket.send(text: ClientRegistry.frame(type: "feature_flags", data: featureFlags))
    }

    public func webSocket(_ socket: any WebSocketConnection, didReceiveBinary data: [UInt8]) {}

    public func webSocketDidClose(_ socket: any WebSocketConnection) { clients.remove(socket) }

    // MARK: Shared pieces

    /// `{"status": {"exec_info": {"queue_remaining": N}}}`, with `sid` on a socket's first message.
    func statusData(includeSID sid: String? = nil) -> JSON {
        var data = JSONObject([("status", .object(JSONObject([("exec_info", .object(JSONObject([("queue_remaining", .number(queue.remaining))])))])))])
        if let sid { data.set("sid", .string(sid)) }
        return .object(data)
    }

    func broadcastStatus() { clients.broadcast(type: "status", data: statusData()) }

    /// The server's feature flags (`/features` and the WebSocket reply), as the reference server answers.
    var featureFlags: JSON {
        .object(JSONObject([
            ("supports_preview_metadata", true),
            ("max_upload_size", .number(configuration.maxUploadBytes)),
            ("extension", .object(JSONObject([("manager", .object(JSONObject([("supports_v4", true)])))]))),
        ]))
    }

    static func milliseconds() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }

    /// 32 lower-case hex characters, as ComfyUI mints client ids.
    static func newHexID() -> String { UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased() }
}

/// The last log lines, for `/internal/logs`. Bounded. With `echo` on, each line is also written
/// to standard error: the server's terminal then reads like ComfyUI's.
final class LogBuffer: Sendable {
    struct Entry: Sendable { var time: String; var message: String }
    let entries = Mutex<[Entry]>([])
    let echo = Mutex(false)
    static let limit = 1000

    func append(_ message: String) {
        let time = ISO8601DateFormatter().string(from: Date())
        let entry = Entry(time: time, message: message + "\n")
        if echo.withLock({ $0 }) { FileHandle.standardError.write(Data(entry.message.utf8)) }
        entries.withLock { e in
            e.append(entry)
            if e.count > Self.limit { e.removeFirst(e.count - Self.limit) }
        }
        listener.withLock { $0 }?.body([entry])
    }

    var all: [Entry] { entries.withLock { $0 } }

    /// Called after each append with the new entries, outside the lock. The closure sits in a class
    /// box: a closure kept directly in the Mutex was re-wrapped in two reabstraction thunks each
    /// time `withLock` handed it out `inout`, so every call ran through a chain as long as the log
    /// and thread stacks grew with every line (LogBufferTests; docs/SECURITY.md, finding 5).
    final class Listener: Sendable {
        let body: @Sendable ([Entry]) -> Void
        init(_ body: @escaping @Sendable ([Entry]) -> Void) { self.body = body }
    }
    let listener = Mutex<Listener?>(nil)

    func setListener(_ body: @escaping @Sendable ([Entry]) -> Void) { listener.withLock { $0 = Listener(body) } }

    /// `{"entries":[{"t","m"}],"size":{"cols","rows"}}`, the shape of `/internal/logs/raw` and of
    /// WebSocket `logs` messages. The size is a fixed terminal size: there is no terminal behind it.
    static func json(_ entries: [Entry]) -> JSON {
        .object(JSONObject([
            ("entries", .array(entries.map { .object(JSONObject([("t", .string($0.time)), ("m", .string($0.message))])) })),
            ("size", .object(JSONObject([("cols", 80), ("rows", 24)]))),
        ]))
    }
}
