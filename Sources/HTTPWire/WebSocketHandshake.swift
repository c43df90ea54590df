/// The pure parts of the opening handshake (RFC 6455 §4.2). The SHA-1 itself is computed by
/// the socket layer with libcrypto; this type says what to hash and builds the 101 response.
public enum WebSocketHandshake {
    public static let guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// Why an upgrade request is not a valid WebSocket handshake.
    public enum Problem: Error, Equatable, Sendable, CustomStringConvertible {
        /// Handshakes must be GET over HTTP/1.1.
        case notGet(String)
        case missingKey
        /// `Sec-WebSocket-Key` must be base64 of 16 bytes (24 characters).
        case badKey(String)
        /// Only version 13 exists.
        case unsupportedVersion(String)

        public var description: String {
            switch self {
            case .notGet(let m): return "A WebSocket handshake must use GET, not \(m)."
            case .missingKey: return "The WebSocket handshake has no Sec-WebSocket-Key."
            case .badKey(let k): return "The Sec-WebSocket-Key \(k.debugDescription) is not base64 of 16 bytes."
            case .unsupportedVersion(let v): return "The Sec-WebSocket-Version \(v.debugDescription) is not 13."
            }
        }
    }

    /// Validates the request and returns the string whose SHA-1 becomes `Sec-WebSocket-Accept`.
    public static func acceptKeyInput(method: String, headers: HTTPHeaders) throws(Problem) -> String {
        guard method == "GET" else { throw .notGet(method) }
        guard let version = headers["Sec-WebSocket-Version"], version.trimmingCharacters() == "13" else {
            throw .unsupportedVersion(headers["Sec-WebSocket-Version"] ?? "")
        }
        guard let rawKey = headers["Sec-WebSocket-Key"] else { throw .missingKey }
        let key = rawKey.trimmingCharacters()
        guard let decoded = Base64.decode(key), decoded.count == 16 else { throw .badKey(key) }
        return key + guid
    }

    /// The 101 response head given the base64 SHA-1 digest.
    public static func switchingProtocolsHead(accept: String) -> [UInt8] {
        ResponseEncoder.head(status: 101, headers: [
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Accept": accept,
        ])
    }
}

extension String {
    func trimmingCharacters() -> String { String(Substring(self).trimmingWhitespace()) }
}

/// Standard base64 (RFC 4648 §4) with padding.
public enum Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    public static func encode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        let a = Array(bytes)
        var out: [UInt8] = []
        out.reserveCapacity((a.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= a.count {
            let v = UInt32(a[i]) << 16 | UInt32(a[i + 1]) << 8 | UInt32(a[i + 2])
            for s in [18, 12, 6, 0] { out.append(alphabet[Int((v >> UInt32(s)) & 63)]) }
            i += 3
        }
        let rest = a.count - i
        if rest == 1 {
            let v = UInt32(a[i]) << 16
            out.append(alphabet[Int(v >> 18 & 63)]); out.append(alphabet[Int(v >> 12 & 63)])
            out.append(61); out.append(61)
        } else if rest == 2 {
            let v = UInt32(a[i]) << 16 | UInt32(a[i + 1]) << 8
            out.append(alphabet[Int(v >> 18 & 63)]); out.append(alphabet[Int(v >> 12 & 63)]); out.append(alphabet[Int(v >> 6 & 63)])
            out.append(61)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes padded base64; nil on any other character or a wrong length.
    public static func decode(_ s: String) -> [UInt8]? {
        let chars = Array(s.utf8)
        guard chars.count % 4 == 0 else { return nil }
        var out: [UInt8] = []
        var i = 0
        while i < chars.count {
            var v: UInt32 = 0
            var pad = 0
            for j in 0..<4 {
                let c = chars[i + j]
                let d: UInt32
                switch c {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"): d = UInt32(c - 65)
                case UInt8(ascii: "a")...UInt8(ascii: "z"): d = UInt32(c - 97 + 26)
                case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - 48 + 52)
                case UInt8(ascii: "+"): d = 62
                case UInt8(ascii: "/"): d = 63
                case UInt8(ascii: "=") where i + 4 == chars.count && j >= 2: d = 0; pad += 1
                default: return nil
                }
                if pad > 0 && c != UInt8(ascii: "=") { return nil }
                v = v << 6 | d
            }
            out.append(UInt8(v >> 16 & 0xFF))
            if pad < 2 { out.append(UInt8(v >> 8 & 0xFF)) }
            if pad < 1 { out.append(UInt8(v & 0xFF)) }
            i += 4
        }
        return out
    }
}
