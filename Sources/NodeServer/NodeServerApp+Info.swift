import Foundation
import HTTPWire
import Kernels
import OrderedJSON

extension NodeServerApp {
    /// The ComfyUI version whose API this server follows, and the frontend it was checked with.
    static let comfyUIVersion = "0.8.0"
    static let frontendVersion = "1.58.1"

    /// GET /system_stats: every number an integer; no GPU, so one `cpu` device. `weightlens_kernels`
    /// names the engine's instruction-set path (docs/ENGINE.md); ComfyUI clients ignore extra keys.
    func systemStats() -> JSON {
        let memory = Self.memoryInfo()
        return .object(JSONObject([
            ("system", .object(JSONObject([
                ("os", "linux"),
                ("ram_total", .int(memory.total)),
                ("ram_free", .int(memory.available)),
                ("comfyui_version", .string(Self.comfyUIVersion)),
                ("required_frontend_version", .string(Self.frontendVersion)),
                ("installed_templates_version", "0.0.0"),
                ("required_templates_version", "0.0.0"),
                ("python_version", "-"),
                ("pytorch_version", "-"),
                ("embedded_python", false),
                ("argv", .array(configuration.argv.map(JSON.string))),
                ("weightlens_kernels", .string(KernelPath.process.rawValue)),
            ]))),
            ("devices", .array([.object(JSONObject([
                ("name", "cpu"), ("type", "cpu"), ("index", .null),
                ("vram_total", .int(memory.total)), ("vram_free", .int(memory.available)),
                ("torch_vram_total", .int(memory.total)), ("torch_vram_free", .int(memory.available)),
            ]))])),
        ]))
    }

    /// (MemTotal, MemAvailable) in bytes from /proc/meminfo; zeros where it cannot be read.
    static func memoryInfo() -> (total: Int64, available: Int64) {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return (0, 0) }
        var total: Int64 = 0
        var available: Int64 = 0
        for line in text.split(separator: "\n") {
            let parts = line.split(whereSeparator: { $0 == " " || $0 == ":" })
            guard parts.count >= 2, let kib = Int64(parts[1]) else { continue }
            if parts[0] == "MemTotal" { total = kib * 1024 }
            if parts[0] == "MemAvailable" { available = kib * 1024 }
        }
        return (total, available)
    }

    /// GET /experiment/models (+ /{folder}).
    func experimentModels(folder: String? = nil) -> HTTPResponse {
        guard let folder else {
            let list: [JSON] = directories.models.folders.filter { $0.name != "configs" && $0.name != "custom_nodes" }.map {
                .object(JSONObject([("name", .string($0.name)), ("folders", .array($0.directories.map(JSON.string)))]))
            }
            return Reply.json(.array(list))
        }
        guard let entries = directories.models.entries(of: folder) else { return Reply.empty(404) }
        return Reply.json(.array(entries.map { e in
            let info = FileResponses.info(e.path)
            return .object(JSONObject([
                ("name", .string(e.name)), ("pathIndex", .number(e.directoryIndex)),
                ("modified", .double(info?.modified.timeIntervalSince1970 ?? 0)),
                ("created", .double(info?.created.timeIntervalSince1970 ?? 0)),
                ("size", .number(info?.size ?? 0)),
            ]))
        }))
    }

    /// PATCH /internal/logs/subscribe `{"clientId": "...", "enabled": bool}`: from then on the
    /// client's socket gets a `logs` message for each new server log line.
    func subscribeLogs(_ r: HTTPRequest) -> HTTPResponse {
        guard case .success(let body?) = r.jsonBody(maxDepth: 8), let clientID = body["clientId"]?.stringValue,
              let enabled = body["enabled"]?.boolValue else {
            return Reply.error("The body must be {\"clientId\": string, \"enabled\": bool}.", status: 400)
        }
        guard !clientID.isEmpty, clientID.utf8.count <= 256 else {
            return Reply.error("clientId must be 1 to 256 bytes long.", status: 400)
        }
        guard clients.setLogSubscription(clientID: clientID, enabled: enabled) else {
            return Reply.error("Too many log subscriptions (\(ClientRegistry.maxLogSubscribers)) with open sockets.", status: 400)
        }
        return Reply.empty(200)
    }

    /// `/internal/*` (no `/api` alias): logs, folder paths, file lists.
    func internalRoute(_ r: HTTPRequest, _ s: [String]) -> HTTPResponse? {
        switch (r.method, s) {
        case ("GET", ["logs"]):
            return Reply.json(.string(log.all.map { "\($0.time) \($0.message)" }.joined()))
        case ("GET", ["logs", "raw"]):
            return Reply.json(LogBuffer.json(log.all))
        case ("PATCH", ["logs", "subscribe"]):
            return subscribeLogs(r)
        case ("GET", ["folder_paths"]):
            var o = JSONObject()
            for f in directories.models.folders { o.set(f.name, .array(f.directories.map(JSON.string))) }
            return Reply.json(.object(o))
        case ("GET", let p) where p.count == 2 && p[0] == "files":
            guard let dir = directories.directory(forType: p[1]) else { return Reply.empty(400) }
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).compactMap { name -> (String, Date)? in
                FileResponses.info((dir as NSString).appendingPathComponent(name)).map { (name, $0.modified) }
            }.sorted { $0.1 > $1.1 }.map { JSON.string($0.0) }
            return Reply.json(.array(names))
        default:
            return nil
        }
    }
}
