/// multipart/form-data bodies (RFC 7578), as browsers send file uploads. Pure and bounded:
/// the whole body is already in memory under the body limit, and the part count is capped.
public struct MultipartPart: Sendable, Equatable {
    /// The `name` parameter of Content-Disposition.
    public var name: String
    /// The `filename` parameter, when the part is a file.
    public var filename: String?
    public var contentType: String?
    public var headers: HTTPHeaders
    public var body: [UInt8]

    /// The body as UTF-8 text (form fields).
    public var text: String { String(decoding: body, as: UTF8.self) }
}

public enum MultipartError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Content-Type is not multipart/form-data or has no boundary parameter.
    case notMultipart(String)
    /// The boundary parameter is empty or longer than 70 characters (RFC 2046 §5.1.1).
    case badBoundary(String)
    /// No opening boundary line, or no closing `--boundary--`.
    case missingBoundary
    /// A part's header section is malformed.
    case malformedPartHeader(String)
    /// A part has no Content-Disposition form-data name.
    case missingName
    /// More than `limit` parts.
    case tooManyParts(limit: Int)

    public var description: String {
        switch self {
        case .notMultipart(let ct): return "The Content-Type \(ct.debugDescription) is not multipart/form-data with a boundary."
        case .badBoundary(let b): return "The multipart boundary \(b.debugDescription) is empty or longer than 70 characters."
        case .missingBoundary: return "The multipart body does not start with its boundary or lacks the closing boundary."
        case .malformedPartHeader(let h): return "The multipart part header \(h.debugDescription) is malformed."
        case .missingName: return "A multipart part has no form-data name."
        case .tooManyParts(let limit): return "The multipart body has more than \(limit) parts."
        }
    }
}

public enum MultipartFormData {
    /// Extracts the boundary from a Content-Type value.
    public static func boundary(contentType: String) throws(MultipartError) -> String {
        let params = parseParameters(contentType)
        guard params.value.lowercased() == "multipart/form-data" else { throw .notMultipart(contentType) }
        guard let b = params.parameters.first(where: { $0.0 == "boundary" })?.1 else { throw .notMultipart(contentType) }
        guard !b.isEmpty, b.utf8.count <= 70 else { throw .badBoundary(b) }
        return b
    }

    /// Parses a whole body into its parts.
    public static func parse(body: [UInt8], contentType: String, maxParts: Int = 1000) throws(MultipartError) -> [MultipartPart] {
        let boundary = try self.boundary(contentType: contentType)
        let delimiter = Array("--\(boundary)".utf8)
        let separator = Array("\r\n--\(boundary)".utf8)
        // The body starts with the delimiter (a preamble is allowed but browsers send none).
        guard let first = find(delimiter, in: body, from: 0) else { throw .missingBoundary }
        var pos = first + delimiter.count
        var parts: [MultipartPart] = []
        while true {
            // After a delimiter: `--` closes, CRLF opens a part.
            if pos + 2 <= body.count && body[pos] == 45 && body[pos + 1] == 45 { return parts }
            guard pos + 2 <= body.count, body[pos] == 13, body[pos + 1] == 10 else { throw .missingBoundary }
            pos += 2
            guard let headEnd = find([13, 10, 13, 10], in: body, from: pos) ?? (body.count >= pos + 2 && body[pos] == 13 && body[pos + 1] == 10 ? pos - 2 : nil) else {
                throw .malformedPartHeader(String(decoding: body[pos..<min(body.count, pos + 80)], as: UTF8.self))
            }
            var headers = HTTPHeaders()
            if headEnd > pos {
                for line in body[pos..<headEnd].split(separator: 10) {
                    var l = line
                    if l.last == 13 { l = l.dropLast() }
                    guard let colon = l.firstIndex(of: 58) else { throw .malformedPartHeader(String(decoding: l, as: UTF8.self)) }
                    let name = String(decoding: l[l.startIndex..<colon], as: UTF8.self)
                    let value = String(Substring(String(decoding: l[(colon + 1)...], as: UTF8.self)).trimmingWhitespace())
                    headers.add(name, value)
                }
            }
            let bodyStart = headEnd + 4
            guard let end = find(separator, in: body, from: bodyStart) else { throw .missingBoundary }
            guard let disposition = headers["Content-Disposition"] else { throw .missingName }
            let dp = parseParameters(disposition)
            guard dp.value.lowercased() == "form-data", let name = dp.parameters.first(where: { $0.0 == "name" })?.1 else { throw .missingName }
            if parts.count == maxParts { throw .tooManyParts(limit: maxParts) }
            parts.append(MultipartPart(name: name, filename: dp.parameters.first(where: { $0.0 == "filename" })?.1,
                                       contentType: headers["Content-Type"], headers: headers, body: Array(body[bodyStart..<end])))
            pos = end + separator.count
        }
    }

    /// Splits `value; a=b; c="d e"` into the value and lower-cased parameter names with unquoted values.
    public static func parseParameters(_ header: String) -> (value: String, parameters: [(String, String)]) {
        var items: [String] = []
        var current = ""
        var quoted = false
        var escaped = false
        for ch in header {
            if escaped { current.append(ch); escaped = false; continue }
            if quoted && ch == "\\" { current.append(ch); escaped = true; continue }
            if ch == "\"" { quoted.toggle() }
            if ch == ";" && !quoted { items.append(current); current = ""; continue }
            current.append(ch)
        }
        items.append(current)
        let value = String(Substring(items[0]).trimmingWhitespace())
        var params: [(String, String)] = []
        for item in items.dropFirst() {
            guard let eq = item.firstIndex(of: "=") else { continue }
            let name = String(Substring(item[..<eq]).trimmingWhitespace()).lowercased()
            var v = String(Substring(item[item.index(after: eq)...]).trimmingWhitespace())
            if v.count >= 2 && v.hasPrefix("\"") && v.hasSuffix("\"") {
                let inner = v.dropFirst().dropLast()
                var unq = ""
                var esc = false
                for ch in inner {
                    if esc { unq.append(ch); esc = false } else if ch == "\\" { esc = true } else { unq.append(ch) }
                }
                v = unq
            }
            params.append((name, v))
        }
        return (value, params)
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8], from: Int) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count else { return nil }
        let first = needle[0]
        let last = haystack.count - needle.count
        var i = from
        return haystack.withUnsafeBufferPointer { h -> Int? in
            needle.withUnsafeBufferPointer { n -> Int? in
                while i <= last {
                    if h[i] == first {
                        var j = 1
                        while j < n.count && h[i + j] == n[j] { j += 1 }
                        if j == n.count { return i }
                    }
                    i += 1
                }
                return nil
            }
        }
    }
}
