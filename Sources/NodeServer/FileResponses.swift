import Foundation
import HTTPWire

/// File answers with ComfyUI's headers. Paths given here are already confined by the caller.
enum FileResponses {
    /// Media types that a browser would run or render as a page; `/view` and userdata force them to download.
    static let activeTypes: Set<String> = ["text/html", "application/xhtml+xml", "application/javascript",
                                           "text/javascript", "text/css", "image/svg+xml", "application/xml", "text/xml"]

    struct Info { var size: Int; var modified: Date; var created: Date }

    /// Size and times of a regular file, or nil for directories and missing files.
    static func info(_ path: String) -> Info? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              (attributes[.type] as? FileAttributeType) == .typeRegular else { return nil }
        let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        let modified = attributes[.modificationDate] as? Date ?? Date(timeIntervalSince1970: 0)
        let created = attributes[.creationDate] as? Date ?? modified
        return Info(size: size, modified: modified, created: created)
    }

    /// A file streamed by the socket layer, with Content-Type, ETag and Last-Modified.
    static func file(_ path: String, contentType: String? = nil, extraHeaders: HTTPHeaders = HTTPHeaders()) -> HTTPResponse? {
        guard let info = info(path) else { return nil }
        var headers = HTTPHeaders()
        headers["Content-Type"] = contentType ?? ContentTypes.forFileName(path)
        let nanos = UInt64(max(0, info.modified.timeIntervalSince1970 * 1e9))
        headers["Etag"] = "\"\(String(nanos, radix: 16))-\(String(info.size, radix: 16))\""
        headers["Last-Modified"] = httpDate(info.modified)
        for (name, value) in extraHeaders { headers[name] = value }
        return HTTPResponse(status: 200, headers: headers, body: .file(path: path, offset: 0, length: info.size))
    }

    /// `Sun, 22 Nov 2026 08:45:30 GMT` (RFC 9110 §5.6.7).
    static func httpDate(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "GMT")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return f.string(from: date)
    }

    /// `child` resolved inside `root` (both standardised), or nil when it would leave `root`.
    static func confined(_ child: String, in root: String) -> String? {
        let base = (root as NSString).standardizingPath
        let joined = ((base as NSString).appendingPathComponent(child) as NSString).standardizingPath
        if joined == base || joined.hasPrefix(base.hasSuffix("/") ? base : base + "/") { return joined }
        return nil
    }

    /// Writes through a temporary file and a rename, so concurrent readers never see half a file.
    static func writeAtomically(_ path: String, _ bytes: [UInt8]) -> Bool {
        (try? Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)) != nil
    }

    static func isActive(_ contentType: String) -> Bool {
        let bare = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        return activeTypes.contains(bare)
    }
}
