/// Serializes response heads (RFC 9112 §4) and chunked bodies. No I/O.
public enum ResponseEncoder {
    /// Reason phrases for the statuses this server sends; others get "Status".
    public static func reason(_ status: Int) -> String {
        switch status {
        case 100: return "Continue"
        case 101: return "Switching Protocols"
        case 200: return "OK"
        case 201: return "Created"
        case 202: return "Accepted"
        case 204: return "No Content"
        case 206: return "Partial Content"
        case 301: return "Moved Permanently"
        case 302: return "Found"
        case 303: return "See Other"
        case 304: return "Not Modified"
        case 307: return "Temporary Redirect"
        case 308: return "Permanent Redirect"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 408: return "Request Timeout"
        case 409: return "Conflict"
        case 411: return "Length Required"
        case 413: return "Content Too Large"
        case 414: return "URI Too Long"
        case 415: return "Unsupported Media Type"
        case 416: return "Range Not Satisfiable"
        case 417: return "Expectation Failed"
        case 426: return "Upgrade Required"
        case 429: return "Too Many Requests"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        case 505: return "HTTP Version Not Supported"
        default: return "Status"
        }
    }

    /// Whether a response with this status never carries a body (RFC 9110 §6.4.1).
    public static func statusForbidsBody(_ status: Int) -> Bool {
        (100..<200).contains(status) || status == 204 || status == 304
    }

    /// Encodes a status line and header fields followed by the blank line. Header names and
    /// values with CR, LF or NUL are dropped so a service cannot split the response.
    public static func head(status: Int, headers: HTTPHeaders, into out: inout [UInt8]) {
        out.append(contentsOf: "HTTP/1.1 ".utf8)
        appendDecimal(status, to: &out)
        out.append(32)
        out.append(contentsOf: reason(status).utf8)
        out.append(13); out.append(10)
        for (name, value) in headers {
            if !isSafe(name) || !isSafe(value) || name.isEmpty { continue }
            out.append(contentsOf: name.utf8)
            out.append(58); out.append(32)
            out.append(contentsOf: value.utf8)
            out.append(13); out.append(10)
        }
        out.append(13); out.append(10)
    }

    public static func head(status: Int, headers: HTTPHeaders) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        head(status: status, headers: headers, into: &out)
        return out
    }

    @inline(__always) static func isSafe(_ s: String) -> Bool {
        !s.utf8.contains { $0 == 13 || $0 == 10 || $0 == 0 }
    }

    public static func appendDecimal(_ value: Int, to out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")); appendDecimal(-value, to: &out); return }
        if value >= 10 { appendDecimal(value / 10, to: &out) }
        out.append(UInt8(ascii: "0") + UInt8(value % 10))
    }

    /// One chunk of a chunked body (RFC 9112 §7.1); an empty chunk ends the body.
    public static func chunk(_ data: [UInt8]) -> [UInt8] {
        var out = Array(String(data.count, radix: 16).utf8)
        out.append(13); out.append(10)
        out.append(contentsOf: data)
        out.append(13); out.append(10)
        if data.isEmpty { return Array("0\r\n\r\n".utf8) }
        return out
    }
}

/// IMF-fixdate formatting (RFC 9110 §5.6.7) from seconds since the Unix epoch, without Foundation.
public enum HTTPDate {
    static let days = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]  // 1970-01-01 was a Thursday
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    public static func format(secondsSince1970 t: Int64) -> String {
        let dayCount = t >= 0 ? t / 86400 : (t - 86399) / 86400
        let secs = Int(t - dayCount * 86400)
        // Civil-from-days (proleptic Gregorian), Howard Hinnant's published algorithm.
        let z = dayCount + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        let wd = Int(((dayCount % 7) + 7) % 7)
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(days[wd]), \(two(Int(d))) \(months[Int(m) - 1]) \(y) \(two(secs / 3600)):\(two(secs / 60 % 60)):\(two(secs % 60)) GMT"
    }
}
