import Foundation
import HTTPWire
import OrderedJSON

extension NodeServerApp {
    // MARK: /view

    /// GET /view?filename=&type=&subfolder=&preview=&channel= (spec §5).
    func getView(_ r: HTTPRequest) -> HTTPResponse {
        guard var filename = r.queryValue("filename") else { return Reply.empty(404) }
        var type = r.queryValue("type") ?? "output"
        for t in ["output", "input", "temp"] where filename.hasSuffix(" [\(t)]") {
            filename = String(filename.dropLast(t.count + 3)); type = t
        }
        if filename.isEmpty || filename.hasPrefix("/") || filename.contains("..") || filename.utf8.contains(0) {
            return Reply.empty(400)
        }
        guard let root = directories.directory(forType: type) else { return Reply.empty(400) }
        var directory = root
        if let sub = r.queryValue("subfolder"), !sub.isEmpty {
            guard !sub.utf8.contains(0), let inside = FileResponses.confined(sub, in: root) else { return Reply.empty(403) }
            directory = inside
        }
        let name = (filename as NSString).lastPathComponent
        let path = (directory as NSString).appendingPathComponent(name)
        // `channel=rgb` / `channel=a` re-encode a PNG; `rgba` (the default) and other formats are sent
        // as stored. `preview=` is accepted but never re-encodes (there is no JPEG/WebP encoder).
        if let channel = r.queryValue("channel")?.lowercased(), channel == "rgb" || channel == "a",
           (name as NSString).pathExtension.lowercased() == "png" {
            return channelView(path: path, name: name, channel: channel)
        }
        var contentType = ContentTypes.forFileName(name)
        var extra = HTTPHeaders()
        if FileResponses.isActive(contentType) {
            contentType = "application/octet-stream"
            extra["Content-Disposition"] = "attachment; filename=\"\(Self.headerSafe(name))\""
            extra["X-Content-Type-Options"] = "nosniff"
            extra["Cache-Control"] = "no-store"
            extra["Vary"] = "Sec-Fetch-Dest"
        } else {
            extra["Content-Disposition"] = "filename=\"\(Self.headerSafe(name))\""
        }
        return FileResponses.file(path, contentType: contentType, extraHeaders: extra) ?? Reply.empty(404)
    }

    /// One channel view of the PNG at `path`: `rgb` drops the alpha (every pixel opaque), `a` keeps
    /// only the alpha on black (opaque when the file has none). 404 missing, 400 not a decodable PNG.
    func channelView(path: String, name: String, channel: String) -> HTTPResponse {
        guard let info = FileResponses.info(path) else { return Reply.empty(404) }
        guard info.size <= 512 << 20, let data = FileManager.default.contents(atPath: path) else {
            return Reply.error("\(name) is too large to re-encode.", status: 400)
        }
        do throws(PNGEditError) {
            let picture = try PNGEdits.decode(Array(data), what: "file \(name)")
            let edited = channel == "a" ? PNGEdits.alphaOnly(picture) : PNGEdits.opaque(picture)
            let png = try PNGEdits.encode(edited, what: "file \(name)")
            return HTTPResponse(status: 200, headers: [
                "Content-Type": "image/png", "Content-Disposition": "filename=\"\(Self.headerSafe(name))\"",
            ], body: .bytes(png))
        } catch {
            return Reply.error(error.description, status: 400)
        }
    }

    /// Keeps a file name usable inside a quoted header parameter.
    static func headerSafe(_ name: String) -> String {
        String(name.unicodeScalars.filter { $0 != "\"" && $0 != "\\" && $0.value >= 32 && $0.value != 127 }.map(Character.init))
    }

    /// GET /view_metadata/{folder}?filename=: the safetensors `__metadata__` object (header read capped at 1 MiB).
    func getViewMetadata(_ r: HTTPRequest, folder: String) -> HTTPResponse {
        guard let name = r.queryValue("filename"), name.hasSuffix(".safetensors"),
              let path = directories.models.resolve(name, in: folder),
              let handle = FileHandle(forReadingAtPath: path) else { return Reply.empty(404) }
        defer { try? handle.close() }
        guard let prefix = try? handle.read(upToCount: 8), prefix.count == 8 else { return Reply.empty(404) }
        let length = prefix.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard length > 0, length <= 1 << 20, let header = try? handle.read(upToCount: Int(length)), header.count == Int(length),
              let json = try? JSON.parse(Array(header), limits: JSONLimits(maxDepth: 16, maxBytes: 1 << 20)),
              let metadata = json["__metadata__"] else { return Reply.empty(404) }
        return Reply.json(metadata)
    }

    // MARK: Uploads

    /// POST /upload/image (multipart: image, type, subfolder, overwrite).
    func uploadImage(_ r: HTTPRequest) -> HTTPResponse { upload(r, mask: false) }

    /// POST /upload/mask: as /upload/image plus `original_ref` JSON `{filename, subfolder, type}`;
    /// saves the original picture with the uploaded mask's alpha channel (spec §2, Uploads).
    func uploadMask(_ r: HTTPRequest) -> HTTPResponse { upload(r, mask: true) }

    private func upload(_ r: HTTPRequest, mask: Bool) -> HTTPResponse {
        guard let contentType = r.headers["Content-Type"],
              let parts = try? MultipartFormData.parse(body: r.body, contentType: contentType) else { return Reply.empty(400) }
        guard let image = parts.first(where: { $0.name == "image" }), let rawName = image.filename else { return Reply.empty(400) }
        func field(_ n: String) -> String? { parts.first { $0.name == n && $0.filename == nil }?.text }
        let type = field("type").flatMap { $0.isEmpty ? nil : $0 } ?? "input"
        guard let root = directories.directory(forType: type) else { return Reply.empty(400) }
        let overwrite = ["true", "1"].contains(field("overwrite")?.lowercased() ?? "")
        let subfolder = field("subfolder") ?? ""
        var name = (rawName as NSString).lastPathComponent
        if name.utf8.contains(0) || name == ".." || name == "." { name = "" }
        guard !name.isEmpty else { return Reply.empty(400) }
        guard !subfolder.utf8.contains(0), let directory = subfolder.isEmpty ? root : FileResponses.confined(subfolder, in: root) else {
            return Reply.empty(400)
        }
        var bytes = image.body
        if mask {
            switch maskedOriginal(reference: field("original_ref"), mask: image.body) {
            case .success(let masked): bytes = masked
            case .failure(let refusal): return refusal.response
            }
        }
        let fm = FileManager.default
        try? fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var path = (directory as NSString).appendingPathComponent(name)
        if !overwrite {
            let stem = (name as NSString).deletingPathExtension
            let ext = (name as NSString).pathExtension
            var i = 1
            while fm.fileExists(atPath: path) {
                if let existing = fm.contents(atPath: path), existing.count == bytes.count, Array(existing) == bytes { break }
                name = ext.isEmpty ? "\(stem) (\(i))" : "\(stem) (\(i)).\(ext)"
                path = (directory as NSString).appendingPathComponent(name)
                i += 1
            }
        }
        guard FileResponses.writeAtomically(path, bytes) else { return Reply.empty(500) }
        return Reply.json(.object(JSONObject([("name", .string(name)), ("subfolder", .string(subfolder)), ("type", .string(type))])))
    }

    /// An HTTP answer used as an error value, so helpers can hand back a refusal.
    struct Refusal: Error { var response: HTTPResponse }

    /// The PNG bytes of the picture `original_ref` names with `mask`'s alpha, or the refusal:
    /// 400 for a bad reference or a picture that is not a decodable PNG, 403 for a subfolder
    /// outside its folder, 404 when the original does not exist.
    func maskedOriginal(reference: String?, mask: [UInt8]) -> Result<[UInt8], Refusal> {
        func refuse(_ message: String, _ status: Int = 400) -> Result<[UInt8], Refusal> {
            .failure(Refusal(response: Reply.error(message, status: status)))
        }
        guard let reference, let ref = try? JSON.parse(Array(reference.utf8), limits: JSONLimits(maxDepth: 4, maxBytes: 64 << 10)),
              var filename = ref["filename"]?.stringValue else {
            return refuse("original_ref must be a JSON object with filename, subfolder and type.")
        }
        var type = ref["type"]?.stringValue ?? "output"
        for t in ["output", "input", "temp"] where filename.hasSuffix(" [\(t)]") {
            filename = String(filename.dropLast(t.count + 3)); type = t
        }
        if filename.isEmpty || filename.hasPrefix("/") || filename.contains("..") || filename.utf8.contains(0) {
            return refuse("original_ref.filename must be a file name inside its folder.")
        }
        guard let root = directories.directory(forType: type) else {
            return refuse("original_ref.type \(type) is not one of output, input, temp.")
        }
        var directory = root
        if let sub = ref["subfolder"]?.stringValue, !sub.isEmpty {
            guard !sub.utf8.contains(0), let inside = FileResponses.confined(sub, in: root) else {
                return refuse("original_ref.subfolder leaves the \(type) folder.", 403)
            }
            directory = inside
        }
        let path = (directory as NSString).appendingPathComponent(filename)
        guard let confined = FileResponses.confined(filename, in: directory), confined == (path as NSString).standardizingPath,
              let info = FileResponses.info(path) else {
            return refuse("The original picture \(filename) does not exist in \(type).", 404)
        }
        // A PNG of maxPixels compresses to far less than this; the cap keeps the read bounded.
        guard info.size <= 512 << 20, let data = FileManager.default.contents(atPath: path) else {
            return refuse("The original picture \(filename) is too large to read.")
        }
        do throws(PNGEditError) {
            let maskPicture = try PNGEdits.decode(mask, what: "mask")
            let original = try PNGEdits.decode(Array(data), what: "original picture \(filename)")
            return .success(try PNGEdits.encode(PNGEdits.applyingAlpha(of: maskPicture, to: original), what: "masked picture"))
        } catch {
            return refuse(error.description)
        }
    }

    // MARK: Static files

    /// The shipped `Resources/` folder (`configuration.resourcesDirectory`), nil without it.
    var resourcesRoot: String? { configuration.resourcesDirectory }

    /// Files of `Resources/` shipped inside the module, by path segments.
    func resourceFile(_ segments: [String]) -> HTTPResponse? {
        guard let root = resourcesRoot,
              !segments.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." || $0.contains("/") || $0.utf8.contains(0) }),
              let path = FileResponses.confined(segments.joined(separator: "/"), in: root) else { return nil }
        return FileResponses.file(path, extraHeaders: ["Cache-Control": "no-cache"])
    }

    /// The built-in viewer: `/viewer` (and `/` without a frontend) → index.html; `/viewer/...` assets.
    func viewerFile(_ segments: [String]) -> HTTPResponse? {
        resourceFile(["viewer"] + (segments.isEmpty ? ["index.html"] : segments))
    }

    /// Script URLs for `/extensions`: every `.js` file shipped under Resources/extensions.
    func extensionScripts() -> [String] {
        guard let root = resourcesRoot.map({ ($0 as NSString).appendingPathComponent("extensions") }) else { return [] }
        return ModelFolders.walk(root: root, limit: 200).filter { $0.hasSuffix(".js") }.map { "/extensions/" + $0 }
    }

    /// The frontend build at `--front-end-root`: `/` → index.html without caching, other files as they are.
    func frontendFile(root: String, _ segments: [String]) -> HTTPResponse? {
        if segments.isEmpty {
            return FileResponses.file((root as NSString).appendingPathComponent("index.html"), extraHeaders: [
                "Cache-Control": "no-cache", "Pragma": "no-cache", "Expires": "0",
            ])
        }
        guard !segments.contains(where: { $0 == "." || $0 == ".." || $0.contains("/") || $0.utf8.contains(0) }),
              let path = FileResponses.confined(segments.joined(separator: "/"), in: root) else { return nil }
        var extra = HTTPHeaders()
        let last = segments.last ?? ""
        if last.hasSuffix(".js") || last.hasSuffix(".css") || (last.hasPrefix("index") && last.hasSuffix(".json")) {
            extra["Cache-Control"] = "no-cache"
        } else if ["jpg", "jpeg", "png", "ppm", "bmp", "pgm", "tif", "tiff", "webp"].contains((last as NSString).pathExtension.lowercased()) {
            extra["Cache-Control"] = "public, max-age=86400"
        }
        // The templates browser reads /templates/index.json, which ComfyUI serves from a separate
        // templates package. Without one, WeightLens serves its shipped workflows there (with
        // titles, descriptions and thumbnails; NodeServerApp+Templates.swift), else an empty catalogue.
        if segments.count == 2, segments[0] == "templates", let ours = templatesFile(segments[1]) { return ours }
        if segments == ["templates", "index.json"], !FileManager.default.fileExists(atPath: path) {
            return Reply.json(.array([]))
        }
        return FileResponses.file(path, extraHeaders: extra)
    }

    /// `/workflows/NAME` and `/workflow_templates/weightlens/NAME`: the shipped example workflows.
    func workflowFile(_ name: String) -> HTTPResponse {
        guard let dir = configuration.workflowsDirectory else { return Reply.empty(404) }
        // The templates browser shows `/workflow_templates/weightlens/<name>.jpg` beside each
        // template: a picture shipped next to the workflow if there is one, else the built-in one.
        if ["jpg", "jpeg", "png", "webp"].contains((name as NSString).pathExtension.lowercased()) {
            if !name.contains("/"), !name.hasPrefix("."), !name.utf8.contains(0),
               let own = FileResponses.file((dir as NSString).appendingPathComponent(name)) { return own }
            return resourceFile(["viewer", "template-thumbnail.png"]) ?? Reply.empty(404)
        }
        let file = name.hasSuffix(".json") ? name : name + ".json"
        guard !file.contains("/"), !file.hasPrefix("."), !file.utf8.contains(0),
              let response = FileResponses.file((dir as NSString).appendingPathComponent(file), contentType: Reply.jsonType) else {
            return Reply.empty(404)
        }
        return response
    }
}
