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
                try writeAll(png, to: fd, path: path)
                files.append(File(filename: name))
                break
            }
        }
        return files
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
