import Foundation
import HTTPWire
import OrderedJSON

/// Single-user data under `user/default/`: settings, saved workflows and other frontend files.
/// A user path inside the user directory, or the answer refusing it.
enum Confined {
    case path(String)
    case refused(HTTPResponse)
}

extension NodeServerApp {
    var settingsPath: String { (directories.defaultUser as NSString).appendingPathComponent("comfy.settings.json") }

    func readSettings() -> JSONObject {
        guard let data = FileManager.default.contents(atPath: settingsPath),
              let json = try? JSON.parse(Array(data)), let object = json.objectValue else { return JSONObject() }
        return object
    }

    /// POST /settings (shallow merge of an object) and POST /settings/{id} (any JSON value).
    func postSettings(_ r: HTTPRequest, id: String?) -> HTTPResponse {
        guard case .success(let parsed) = r.jsonBody(), let value = parsed else { return Reply.empty(400) }
        return userDataLock.withLock { _ -> HTTPResponse in
            var settings = readSettings()
            if let id {
                settings.set(id, value)
            } else {
                guard let object = value.objectValue else { return Reply.empty(400) }
                for (k, v) in object { settings.set(k, v) }
            }
            let ok = FileResponses.writeAtomically(settingsPath, JSON.object(settings).serializedBytes(pretty: true))
            return Reply.empty(ok ? 200 : 500)
        }
    }

    /// POST /users: ComfyUI creates `<name>_<uuid>`; single-user mode keeps everything in `default`.
    func postUsers(_ r: HTTPRequest) -> HTTPResponse {
        guard let name = (try? r.jsonBody().get())?["username"]?.stringValue,
              !name.trimmingCharacters(in: .whitespaces).isEmpty else { return Reply.error("Username is required.", status: 400) }
        let safe = String(name.unicodeScalars.map { CharacterSet.alphanumerics.contains($0) ? Character($0) : "_" })
        let id = "\(safe)_\(UUID().uuidString.lowercased())"
        return Reply.json(.string(id))
    }

    /// `file` (one decoded path segment, may contain `/`) inside the user directory, or an error status.
    func userFilePath(_ file: String) -> Confined {
        if file.isEmpty || file.utf8.contains(0) { return .refused(Reply.empty(400)) }
        guard let path = FileResponses.confined(file, in: directories.defaultUser),
              path != (directories.defaultUser as NSString).standardizingPath else { return .refused(Reply.empty(403)) }
        return .path(path)
    }

    func relativeUserPath(_ path: String) -> String {
        let root = (directories.defaultUser as NSString).standardizingPath + "/"
        return path.hasPrefix(root) ? String(path.dropFirst(root.count)) : path
    }

    func fileInfo(_ path: String, relativeTo root: String) -> JSON {
        let info = FileResponses.info(path)
        let rootPrefix = (root as NSString).standardizingPath + "/"
        let rel = path.hasPrefix(rootPrefix) ? String(path.dropFirst(rootPrefix.count)) : path
        return .object(JSONObject([
            ("path", .string(rel)),
            ("size", .number(info?.size ?? 0)),
            ("modified", .int(Int64(((info?.modified.timeIntervalSince1970 ?? 0) * 1000).rounded()))),
            ("created", .int(Int64(((info?.created.timeIntervalSince1970 ?? 0) * 1000).rounded()))),
        ]))
    }

    /// GET /userdata?dir=D&recurse=&full_info=&split=
    func listUserData(_ r: HTTPRequest) -> HTTPResponse {
        guard let dir = r.queryValue("dir"), !dir.isEmpty else { return Reply.empty(400) }
        let root: String
        switch userFilePath(dir) {
        case .path(let p): root = p
        case .refused(let response): return response
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue else { return Reply.empty(404) }
        let recurse = r.queryFlag("recurse")
        let files: [String]
        if recurse {
            files = ModelFolders.walk(root: root, limit: 100_000)
        } else {
            files = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).sorted().filter {
                FileResponses.info((root as NSString).appendingPathComponent($0)) != nil
            }
        }
        let fullInfo = r.queryFlag("full_info")
        let split = r.queryFlag("split")
        let items: [JSON] = files.map { rel in
            if fullInfo { return fileInfo((root as NSString).appendingPathComponent(rel), relativeTo: root) }
            if split { return .array([.string(rel)] + rel.split(separator: "/").map { .string(String($0)) }) }
            return .string(rel)
        }
        return Reply.json(.array(items))
    }

    /// GET /v2/userdata?path=P: entries of one directory, directories first, then by lower-case name.
    func listUserDataV2(_ r: HTTPRequest) -> HTTPResponse {
        let sub = r.queryValue("path") ?? ""
        let root: String
        if sub.isEmpty { root = (directories.defaultUser as NSString).standardizingPath } else {
            switch userFilePath(sub) {
            case .path(let p): root = p
            case .refused(let response): return response
            }
        }
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: root) else { return Reply.empty(404) }
        var items: [(isDirectory: Bool, json: JSON, key: String)] = []
        for name in names {
            let full = (root as NSString).appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory) else { continue }
            var o = JSONObject([("name", .string(name)), ("path", .string(relativeUserPath(full))),
                                ("type", .string(isDirectory.boolValue ? "directory" : "file"))])
            if !isDirectory.boolValue, let info = FileResponses.info(full) {
                o.set("size", .number(info.size))
                o.set("modified", .double(info.modified.timeIntervalSince1970))
            }
            items.append((isDirectory.boolValue, .object(o), name.lowercased()))
        }
        items.sort { $0.isDirectory != $1.isDirectory ? $0.isDirectory : $0.key < $1.key }
        return Reply.json(.array(items.map(\.json)))
    }

    /// GET /userdata/{file}: the bytes; active content forced to download.
    func getUserData(_ file: String) -> HTTPResponse {
        let path: String
        switch userFilePath(file) {
        case .path(let p): path = p
        case .refused(let response): return response
        }
        var extra = HTTPHeaders()
        var type = ContentTypes.forFileName(path)
        if file != "user.css" {
            extra["Content-Disposition"] = "attachment; filename=\"\(Self.headerSafe((path as NSString).lastPathComponent))\""
            extra["X-Content-Type-Options"] = "nosniff"
            if FileResponses.isActive(type) { type = "application/octet-stream" }
        }
        return FileResponses.file(path, contentType: type, extraHeaders: extra) ?? Reply.empty(404)
    }

    /// POST /userdata/{file}?overwrite=&full_info=: stores the raw body.
    func postUserData(_ r: HTTPRequest, file: String) -> HTTPResponse {
        let path: String
        switch userFilePath(file) {
        case .path(let p): path = p
        case .refused(let response): return response
        }
        let overwrite = r.queryValue("overwrite")?.lowercased() != "false"
        return userDataLock.withLock { _ -> HTTPResponse in
            let fm = FileManager.default
            if !overwrite && fm.fileExists(atPath: path) { return Reply.empty(409) }
            do { try fm.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true) } catch {
                return Reply.empty(500)
            }
            guard FileResponses.writeAtomically(path, r.body) else { return Reply.empty(500) }
            return r.queryFlag("full_info") ? Reply.json(fileInfo(path, relativeTo: directories.defaultUser))
                                            : Reply.json(.string(relativeUserPath(path)))
        }
    }

    func deleteUserData(_ file: String) -> HTTPResponse {
        let path: String
        switch userFilePath(file) {
        case .path(let p): path = p
        case .refused(let response): return response
        }
        guard FileResponses.info(path) != nil else { return Reply.empty(404) }
        return userDataLock.withLock { _ in
            (try? FileManager.default.removeItem(atPath: path)) != nil ? Reply.empty(204) : Reply.empty(500)
        }
    }

    /// POST /userdata/{file}/move/{dest}?overwrite=&full_info=
    func moveUserData(_ r: HTTPRequest, from: String, to: String) -> HTTPResponse {
        let source: String
        let dest: String
        switch userFilePath(from) {
        case .path(let p): source = p
        case .refused(let response): return response
        }
        switch userFilePath(to) {
        case .path(let p): dest = p
        case .refused(let response): return response
        }
        guard FileResponses.info(source) != nil else { return Reply.empty(404) }
        let overwrite = r.queryValue("overwrite")?.lowercased() != "false"
        return userDataLock.withLock { _ -> HTTPResponse in
            let fm = FileManager.default
            if fm.fileExists(atPath: dest) {
                guard overwrite else { return Reply.empty(409) }
                try? fm.removeItem(atPath: dest)
            }
            try? fm.createDirectory(atPath: (dest as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            guard (try? fm.moveItem(atPath: source, toPath: dest)) != nil else { return Reply.empty(500) }
            return r.queryValue("full_info").map({ $0.lowercased() == "false" }) == true
                ? Reply.json(.string(relativeUserPath(dest)))
                : Reply.json(fileInfo(dest, relativeTo: directories.defaultUser))
        }
    }
}
