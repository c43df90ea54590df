/// Percent-decoding for request targets (RFC 3986 §2.1), done per path segment so that an
/// encoded slash (`%2F`) stays inside its segment instead of becoming a separator.
public enum PercentDecoding {
    @inline(__always) static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c &- UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c &- UInt8(ascii: "a") &+ 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c &- UInt8(ascii: "A") &+ 10
        default: return nil
        }
    }

    /// Strictly decodes one path segment: every `%` must start a two-digit escape and the
    /// result must be UTF-8. Returns nil otherwise.
    public static func decodeSegment<S: Collection>(_ bytes: S) -> String? where S.Element == UInt8 {
        if !bytes.contains(UInt8(ascii: "%")) { return String(validating: bytes, as: UTF8.self) }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = bytes.startIndex
        while i != bytes.endIndex {
            let c = bytes[i]
            if c == UInt8(ascii: "%") {
                let h = bytes.index(after: i)
                guard h != bytes.endIndex else { return nil }
                let l = bytes.index(after: h)
                guard l != bytes.endIndex, let hi = hexValue(bytes[h]), let lo = hexValue(bytes[l]) else { return nil }
                out.append(hi << 4 | lo)
                i = bytes.index(after: l)
            } else {
                out.append(c)
                i = bytes.index(after: i)
            }
        }
        return String(validating: out, as: UTF8.self)
    }

    /// Leniently decodes a query component as HTML forms encode it: `+` is a space, a broken
    /// escape is kept literally, and invalid UTF-8 becomes U+FFFD (browsers and Python do the same).
    public static func decodeQueryComponent<S: Collection>(_ bytes: S) -> String where S.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        let a = Array(bytes)
        var i = 0
        while i < a.count {
            let c = a[i]
            if c == UInt8(ascii: "+") {
                out.append(UInt8(ascii: " ")); i += 1
            } else if c == UInt8(ascii: "%"), i + 2 < a.count,
                      let hi = hexValue(a[i + 1]), let lo = hexValue(a[i + 2]) {
                out.append(hi << 4 | lo); i += 3
            } else {
                out.append(c); i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Splits a raw path on literal `/` and decodes each segment. A leading slash yields no empty
    /// first segment; a trailing slash yields a final empty segment (`/a/` → `["a", ""]`), so
    /// handlers can tell a directory URL apart. Returns nil if a segment does not decode.
    public static func pathSegments(_ rawPath: String) -> [String]? {
        var utf8 = Array(rawPath.utf8)[...]
        if utf8.first == UInt8(ascii: "/") { utf8 = utf8.dropFirst() }
        if utf8.isEmpty { return [] }
        var result: [String] = []
        for part in utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false) {
            guard let s = decodeSegment(part) else { return nil }
            result.append(s)
        }
        return result
    }

    /// Parses `a=1&b=x+y&c` into ordered pairs; a name without `=` gets an empty value.
    public static func query(_ rawQuery: String) -> [(name: String, value: String)] {
        var result: [(name: String, value: String)] = []
        for part in Array(rawQuery.utf8).split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            if let eq = part.firstIndex(of: UInt8(ascii: "=")) {
                result.append((decodeQueryComponent(part[part.startIndex..<eq]), decodeQueryComponent(part[(eq + 1)...])))
            } else {
                result.append((decodeQueryComponent(part), ""))
            }
        }
        return result
    }

    /// Percent-encodes everything except RFC 3986 unreserved characters (for building URLs in tests and links).
    public static func encode(_ s: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for c in s.utf8 {
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                 UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(c)
            default:
                out.append(UInt8(ascii: "%")); out.append(hex[Int(c >> 4)]); out.append(hex[Int(c & 15)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
