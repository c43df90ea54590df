import OrderedJSON
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes node pictures into the temp folder under fresh, URL-safe names.
///
/// Names follow ComfyUI's preview pattern (`<prefix>_<5 random letters>_<counter>_.png`) so clients
/// that build /view URLs without encoding keep working. Files are created with `O_EXCL`, never
/// overwriting another prompt's picture.
enum TempImageWriter {
    struct File {
        let filename: String
        /// `{"filename", "subfolder": "", "type": "temp"}` as UI outputs carry it.
        var reference: JSON {
            .object(JSONObject([("filename", .string(filename)), ("subfolder", ""), ("type", "temp")]))
        }
    }

    static func writeFiles(_ pngs: [[UInt8]], environment: ExecutionEnvironment, prefix: String = "LTVisualizeWeights") throws(NodeFailure) -> [File] {
        let directory = environment.tempDirectory
        try makeDirectories(directory)
        var generator = SystemRandomNumberGenerator()
        let letters = Array("abcdefghijklmnopqrstuvwxyz")
        var files: [File] = []
        for (index, png) in pngs.enumerated() {
            var attempt = 0
            while true {
                attempt += 1
                let tag = String((0..<5).map { _ in letters[Int(generator.next() % 26)] })
                let counter = String(index + 1)
                let name = "\(prefix)_\(tag)_\(String(repeating: "0", count: max(0, 5 - counter.count)) + counter)_.png"
                let path = directory.hasSuffix("/") ? directory + name : directory + "/" + name
                let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
                if fd < 0 {
                    let e = errno
                    if e == EEXIST && attempt < 20 { continue }
                    throw .failed(type: "OSError", message: "Cannot create \(path): \(String(cString: strerror(e))) (errno \(e)).")
                }
                defer { close(fd) }
                try writeOrRemove(png, to: fd, path: path)
                files.append(File(filename: name))
                break
            }
        }
        prune(directory)
        return files
    }

    /// Most pictures the temp folder keeps while the server runs, and most bytes; beyond either,
    /// the oldest files go. ComfyUI keeps every preview until the next start (when the folder is
    /// emptied, as `ServerDirectories.prepare` does here too), so a long-running server would grow
    /// it without bound; 1,000 files is far more than a browser tab shows.
    static let keepFiles = 1000
    static let keepBytes = 1 << 30

    /// Deletes the oldest regular files at the top of `directory` (by modification time, then
    /// name) until at most `keepFiles` files and `keepBytes` bytes remain. Subfolders are left
    /// alone. Failures are ignored: pruning must never fail the node that wrote a picture.
    static func prune(_ directory: String, keepFiles: Int = keepFiles, keepBytes: Int = keepBytes) {
        guard let dir = opendir(directory) else { return }
        var files: [(seconds: Int, nanos: Int, name: String, size: Int)] = []
        var total = 0
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name == "." || name == ".." { continue }
            var st = stat()
            guard fstatat(dirfd(dir), name, &st, AT_SYMLINK_NOFOLLOW) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
            files.append((Int(st.st_mtim.tv_sec), Int(st.st_mtim.tv_nsec), name, Int(st.st_size)))
            total += Int(st.st_size)
        }
        let fd = dirfd(dir)
        defer { closedir(dir) }
        guard files.count > keepFiles || total > keepBytes else { return }
        files.sort { ($0.seconds, $0.nanos, $0.name) < ($1.seconds, $1.nanos, $1.name) }
        var count = files.count
        for f in files where count > keepFiles || total > keepBytes {
            if unlinkat(fd, f.name, 0) == 0 {
                count -= 1
                total -= f.size
            }
        }
    }

    /// `writeAll`, removing the partly written file when it fails (a full disk leaves no truncated
    /// picture behind for /view to serve).
    static func writeOrRemove(_ bytes: [UInt8], to fd: Int32, path: String) throws(NodeFailure) {
        do {
            try writeAll(bytes, to: fd, path: path)
        } catch {
            unlink(path)
            throw error
        }
    }

    /// Writes all of `bytes` to `fd` (retrying short writes and EINTR); `path` names it in errors.
    static func writeAll(_ bytes: [UInt8], to fd: Int32, path: String) throws(NodeFailure) {
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, bytes.count - written) }
            if n < 0 {
                let e = errno
                if e == EINTR { continue }
                throw .failed(type: "OSError", message: "Cannot write \(path): \(String(cString: strerror(e))) (errno \(e)).")
            }
            written += n
        }
    }

    /// `mkdir -p`: the temp folder may have been removed while the server runs.
    static func makeDirectories(_ path: String) throws(NodeFailure) {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, 0o755) != 0 {
                let e = errno
                if e != EEXIST {
                    throw .failed(type: "OSError", message: "Cannot create the folder \(current): \(String(cString: strerror(e))) (errno \(e)).")
                }
            }
        }
    }
}
