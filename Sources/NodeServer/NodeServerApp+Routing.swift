import HTTPWire
import OrderedJSON

extension NodeServerApp {
    /// Dispatches one request. API routes answer at `/X` and `/api/X`; `/internal/*`, static
    /// files and extension scripts only at their own paths. Anything else is 404 at once.
    func route(_ original: HTTPRequest) -> HTTPResponse {
        // HEAD is answered like GET; the socket layer drops the body.
        var request = original
        if request.method == "HEAD" { request.method = "GET" }
        var segments = request.pathSegments
        while segments.last == "" { segments.removeLast() }
        if segments.first == "" { segments.removeFirst() }
        if segments.first == "api" {
            return apiRoute(request, Array(segments.dropFirst())) ?? Reply.empty(404)
        }
        if let response = apiRoute(request, segments) { return response }
        return staticRoute(request, segments) ?? Reply.empty(404)
    }

    /// The ComfyUI REST routes (after the optional `api` prefix), or nil when none matches.
    func apiRoute(_ r: HTTPRequest, _ s: [String]) -> HTTPResponse? {
        let m = r.method
        switch (m, s.first ?? "", s.count) {
        case ("GET", "prompt", 1): return Reply.json(.object(JSONObject([("exec_info", .object(JSONObject([("queue_remaining", .number(queue.remaining))])))])))
        case ("POST", "prompt", 1): return postPrompt(r)
        case ("GET", "queue", 1): return getQueue()
        case ("POST", "queue", 1): return postQueue(r)
        case ("POST", "interrupt", 1): return postInterrupt(r)
        case ("GET", "history", 1): return getHistory(r)
        case ("GET", "history", 2): return getHistoryEntry(s[1])
        case ("POST", "history", 1): return postHistory(r)
        case ("GET", "jobs", 1): return getJobs(r)
        case ("GET", "jobs", 2): return getJob(s[1])
        case ("POST", "jobs", 2) where s[1] == "cancel": return cancelJobs(r)
        case ("POST", "jobs", 3) where s[2] == "cancel": return cancelJob(s[1])
        case ("GET", "object_info", 1): return Reply.json(catalog.objectInfo(models: models))
        case ("GET", "object_info", 2):
            return Reply.json(catalog.objectInfo(className: s[1], models: models) ?? .object(JSONObject()))
        case ("GET", "view", 1): return getView(r)
        case ("GET", "view_metadata", 2): return getViewMetadata(r, folder: s[1])
        case ("GET", "system_stats", 1): return Reply.json(systemStats())
        case ("GET", "features", 1): return Reply.json(featureFlags)
        case ("GET", "embeddings", 1):
            let names = (directories.models.fileNames(of: "embeddings") ?? []).map { name -> JSON in
                let dot = name.lastIndex(of: ".").map { name[..<$0] } ?? Substring(name)
                return .string(String(dot))
            }
            return Reply.json(.array(names))
        case ("GET", "extensions", 1): return Reply.json(.array(extensionScripts().map(JSON.string)))
        case ("GET", "models", 1): return Reply.json(.array(directories.models.names.map(JSON.string)))
        case ("GET", "models", 2):
            guard let names = directories.models.fileNames(of: s[1]) else { return Reply.empty(404) }
            return Reply.json(.array(names.map(JSON.string)))
        case ("GET", "experiment", 2) where s[1] == "models": return experimentModels()
        case ("GET", "experiment", 3) where s[1] == "models": return experimentModels(folder: s[2])
        case ("GET", "users", 1): return Reply.json(.object(JSONObject([("storage", "server"), ("migrated", true)])))
        case ("POST", "users", 1): return postUsers(r)
        case ("GET", "settings", 1): return Reply.json(.object(readSettings()))
        case ("GET", "settings", 2): return Reply.json(readSettings()[s[1]] ?? .null)
        case ("POST", "settings", 1): return postSettings(r, id: nil)
        case ("POST", "settings", 2): return postSettings(r, id: s[1])
        case ("GET", "userdata", 1): return listUserData(r)
        case ("GET", "userdata", 2): return getUserData(s[1])
        case ("POST", "userdata", 2): return postUserData(r, file: s[1])
        case ("DELETE", "userdata", 2): return deleteUserData(s[1])
        case ("POST", "userdata", 4) where s[2] == "move": return moveUserData(r, from: s[1], to: s[3])
        case ("GET", "v2", 2) where s[1] == "userdata": return listUserDataV2(r)
        case ("POST", "upload", 2) where s[1] == "image": return uploadImage(r)
        case ("POST", "upload", 2) where s[1] == "mask": return uploadMask(r)
        case ("POST", "free", 1): return postFree(r)
        case ("GET", "i18n", 1), ("GET", "global_subgraphs", 1), ("GET", "node_replacements", 1):
            return Reply.json(.object(JSONObject()))
        case ("GET", "workflow_templates", 1):
            // With our /templates/index.json the frontend lists the workflows from there (with their
            // titles and descriptions); listing them here too would show every card twice.
            let names = servesTemplatesIndex ? [] : exampleWorkflowNames().map { JSON.string(String($0.dropLast(5))) }
            return Reply.json(.object(names.isEmpty ? JSONObject() : JSONObject([("weightlens", .array(names))])))
        case ("GET", "workflow_templates", 3) where s[1] == "weightlens": return workflowFile(s[2])
        case ("GET", "workflows", 2): return workflowFile(s[1])
        case ("GET", "weightlens", 2) where s[1] == "tensor": return getTensor(r)
        default: return nil
        }
    }

    /// Shown at `/` when neither a frontend nor the built-in viewer files are available.
    static let fallbackPage = Reply.text("""
        <!doctype html><meta charset="utf-8"><title>WeightLens</title>
        <h1>WeightLens</h1><p>The ComfyUI-compatible API is running: POST /prompt, GET /object_info, WebSocket /ws.
        Start with <code>--front-end-root DIR</code> to serve a ComfyUI frontend here.</p>
        """, type: "text/html; charset=utf-8")

    /// `/internal/*`, the frontend or viewer files and extension scripts.
    func staticRoute(_ r: HTTPRequest, _ s: [String]) -> HTTPResponse? {
        if s.first == "internal" { return internalRoute(r, Array(s.dropFirst())) }
        guard r.method == "GET" || r.method == "HEAD" else { return nil }
        if s.first == "viewer" { return viewerFile(Array(s.dropFirst())) }
        if s.count >= 2, s[0] == "extensions", s[1] == "weightlens" {
            return resourceFile(["extensions", "weightlens"] + s.dropFirst(2))
        }
        if let root = configuration.frontEndRoot {
            return frontendFile(root: root, s)
        }
        if s.isEmpty { return viewerFile([]) ?? Self.fallbackPage }
        return nil
    }
}
