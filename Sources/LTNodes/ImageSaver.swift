import OrderedJSON
import Render
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// ComfyUI's `SaveImage.save_images` (which `PreviewImage` inherits): file names from a prefix
/// and a counter continuing after the highest number already in the folder, the prompt and the
/// workflow embedded as PNG tEXt chunks, and the `ui.images` references.
enum ImageSaver {
    /// Where and how pictures go: SaveImage writes to output at zlib level 4, PreviewImage to temp
    /// at level 1 with `_temp_` and 5 random letters appended to the prefix.
    struct Target {
        let directory: String
        /// `type` in the UI references and /view URLs.
        let type: String
        let prefixAppend: String
        let compressionLevel: Int
    }

    static func output(_ environment: ExecutionEnvironment) -> Target {
        Target(directory: environment.outputDirectory, type: "output", prefixAppend: "", compressionLevel: 4)
    }

    static func temp(_ environment: ExecutionEnvironment) -> Target {
        // ComfyUI's alphabet for this tag, as it is written there (no "w", "p" twice).
        let letters = Array("abcdefghijklmnopqrstupvxyz")
        var generator = SystemRandomNumberGenerator()
        let tag = String((0..<5).map { _ in letters[Int(generator.next() % UInt64(letters.count))] })
        return Target(directory: environment.tempDirectory, type: "temp", prefixAppend: "_temp_" + tag, compressionLevel: 1)
    }

    /// Saves every picture of `images`; returns the `ui` object (`{"images": [...]}`).
    static func save(_ images: ImageBatch, prefix: String, prompt: JSON?, extraPNGInfo: JSON?,
                     to target: Target) throws(NodeFailure) -> JSONObject {
        let place = try location(prefix: prefix + target.prefixAppend, outputDirectory: target.directory,
                                 width: images.width, height: images.height)
        let texts = try metadata(prompt: prompt, extraPNGInfo: extraPNGInfo)
        var counter = place.counter
        var references: [JSON] = []
        for index in 0..<images.count {
            let name = place.filename.replacing("%batch_num%", with: String(index)) + "_" + fiveDigits(counter) + "_.png"
            guard !name.contains("/"), name.utf8.count <= 255 else {
                throw .failed(type: "OSError", message: "The file name '\(name)' is not usable (a '/' or more than 255 bytes).")
            }
            let png = try images.png(at: index, compressionLevel: target.compressionLevel, texts: texts)
            let path = join(place.folder, name)
            // PIL's save replaces a file of the same name, so this does too.
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o644)
            if fd < 0 {
                let e = errno
                throw .failed(type: "OSError", message: "Cannot create \(path): \(String(cString: strerror(e))) (errno \(e)).")
            }
            defer { close(fd) }
            try TempImageWriter.writeOrRemove(png, to: fd, path: path)
            references.append(.object(JSONObject([("filename", .string(name)), ("subfolder", .string(place.subfolder)),
                                                  ("type", .string(target.type))])))
            counter += 1
        }
        if target.type == "temp" { TempImageWriter.prune(target.directory) }
        return JSONObject([("images", .array(references))])
    }

    /// `prompt` and each `extra_pnginfo` entry (usually `workflow`) as `json.dumps` text, in tEXt chunks.
    static func metadata(prompt: JSON?, extraPNGInfo: JSON?) throws(NodeFailure) -> [PNGTextChunk] {
        var texts: [PNGTextChunk] = []
        if let prompt, !prompt.isNull {
            texts.append(PNGTextChunk(keyword: "prompt", text: PythonFormat.jsonDumps(prompt), latin1: true))
        }
        if let extra = extraPNGInfo?.objectValue {
            for (key, value) in extra {
                let latin1 = key.unicodeScalars.allSatisfy { (0x20...0x7E).contains($0.value) || (0xA1...0xFF).contains($0.value) }
                guard !key.isEmpty, key.unicodeScalars.count <= 79, latin1, !key.hasPrefix(" "), !key.hasSuffix(" ") else {
                    throw .failed(type: "ValueError", message: "extra_pnginfo key '\(key)' cannot be a PNG text keyword (1–79 printable Latin-1 characters, no leading or trailing space).")
                }
                texts.append(PNGTextChunk(keyword: key, text: PythonFormat.jsonDumps(value), latin1: true))
            }
        }
        return texts
    }

    struct Location: Equatable {
        /// Absolute folder the files go into (output or temp, plus `subfolder`).
        let folder: String
        /// The file name stem before `_<counter>_.png`.
        let filename: String
        let counter: Int
        /// The prefix's folder part, relative to the output folder ("" for none).
        let subfolder: String
    }

    /// `folder_paths.get_save_image_path`: `%width%`, `%height%` and the date/time variables
    /// replaced, the prefix split into subfolder and file stem (refused when it leaves the
    /// folder), the subfolder created, and the counter one past the highest `<stem>_<n>` there.
    static func location(prefix rawPrefix: String, outputDirectory: String, width: Int, height: Int) throws(NodeFailure) -> Location {
        let prefix = rawPrefix.contains("%") ? substituteVariables(rawPrefix, width: width, height: height) : rawPrefix
        let normalized = normalizePath(prefix)
        let subfolder = directoryName(normalized)
        let filename = baseName(normalized)
        if subfolder.hasPrefix("/") || subfolder == ".." || subfolder.hasPrefix("../") {
            throw .failed(type: "Exception", message: "Saving image outside the output folder is not allowed. filename_prefix '\(rawPrefix)' leads to '\(normalizePath(join(outputDirectory, subfolder)))', outside '\(outputDirectory)'.")
        }
        let folder = subfolder.isEmpty ? outputDirectory : join(outputDirectory, subfolder)
        // ComfyUI measures the stem on the prefix before normalisation ("a/" counts as empty).
        let stemLength = baseName(prefix).unicodeScalars.count
        var highest: Int?
        if let entries = listDirectory(folder) {
            for entry in entries {
                let scalars = Array(entry.unicodeScalars)
                let head = scalars.prefix(stemLength + 1)
                guard head.count == stemLength + 1, head.last == "_",
                      String(String.UnicodeScalarView(head.dropLast())) == filename else { continue }
                let rest = String(String.UnicodeScalarView(scalars.dropFirst(stemLength + 1)))
                let field = rest.split(separator: "_", omittingEmptySubsequences: false).first.map(String.init) ?? ""
                let digits: Int
                switch PythonFormat.int(.string(field)) {
                case .value(let v): digits = Int(clamping: v)
                case .huge(let d): digits = d > 0 ? Int.max - 1 : Int.min
                case .failure: digits = 0
                }
                highest = max(highest ?? digits, digits)
            }
        } else {
            try TempImageWriter.makeDirectories(folder)
        }
        let counter = highest.map { $0 == Int.max ? $0 : $0 + 1 } ?? 1
        return Location(folder: folder, filename: filename, counter: counter, subfolder: subfolder)
    }

    /// `%width%`, `%height%`, `%year%`, `%month%`, `%day%`, `%hour%`, `%minute%`, `%second%` (local time).
    static func substituteVariables(_ text: String, width: Int, height: Int) -> String {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : String(v) }
        var s = text
        for (name, value) in [("%width%", String(width)), ("%height%", String(height)), ("%year%", String(parts.tm_year + 1900)),
                              ("%month%", two(parts.tm_mon + 1)), ("%day%", two(parts.tm_mday)), ("%hour%", two(parts.tm_hour)),
                              ("%minute%", two(parts.tm_min)), ("%second%", two(parts.tm_sec))] {
            s = s.replacing(name, with: value)
        }
        return s
    }

    /// POSIX `os.path.normpath`: `.` and empty parts dropped, `..` folded, "." for nothing.
    static func normalizePath(_ path: String) -> String {
        if path.isEmpty { return "." }
        let absolute = path.hasPrefix("/")
        // POSIX keeps exactly two leading slashes, and reduces three or more to one.
        let leading = absolute ? (path.hasPrefix("//") && !path.hasPrefix("///") ? "//" : "/") : ""
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." {
                if let last = parts.last, last != ".." { parts.removeLast(); continue }
                if absolute { continue }
            }
            parts.append(part)
        }
        let joined = leading + parts.joined(separator: "/")
        return joined.isEmpty ? "." : joined
    }

    /// `os.path.dirname`: everything before the last `/`, trailing slashes removed unless all slashes.
    static func directoryName(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        let head = String(path[...slash])
        let stripped = String(head.reversed().drop(while: { $0 == "/" }).reversed())
        return stripped.isEmpty ? head : stripped
    }

    /// `os.path.basename`: everything after the last `/`.
    static func baseName(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    private static func join(_ a: String, _ b: String) -> String {
        b.hasPrefix("/") ? b : (a.hasSuffix("/") ? a + b : a + "/" + b)
    }

    private static func fiveDigits(_ n: Int) -> String {
        let s = String(n.magnitude)
        return (n < 0 ? "-" : "") + String(repeating: "0", count: max(0, (n < 0 ? 4 : 5) - s.count)) + s
    }

    /// Names in `folder`, or nil when it does not exist (or is not a readable folder).
    private static func listDirectory(_ folder: String) -> [String]? {
        guard let dir = opendir(folder) else { return nil }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.bindMemory(to: UInt8.self).prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
