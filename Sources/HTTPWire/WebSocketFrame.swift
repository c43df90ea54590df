/// WebSocket opcodes (RFC 6455 §5.2).
public enum WebSocketOpcode: UInt8, Sendable {
    case continuation = 0x0, text = 0x1, binary = 0x2, close = 0x8, ping = 0x9, pong = 0xA
    public var isControl: Bool { rawValue & 0x8 != 0 }
}

/// One frame with its payload already unmasked.
public struct WebSocketFrame: Sendable, Equatable {
    public var fin: Bool
    public var opcode: WebSocketOpcode
    public var payload: [UInt8]

    public init(fin: Bool = true, opcode: WebSocketOpcode, payload: [UInt8]) {
        self.fin = fin; self.opcode = opcode; self.payload = payload
    }

    /// Encodes the frame. Servers send unmasked frames (RFC 6455 §5.1); clients pass a `maskKey`.
    public func encoded(maskKey: (UInt8, UInt8, UInt8, UInt8)? = nil) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(payload.count + 14)
        WebSocketFrame.appendHeader(fin: fin, opcode: opcode, length: payload.count, masked: maskKey != nil, to: &out)
        if let k = maskKey {
            let key = [k.0, k.1, k.2, k.3]
            out.append(contentsOf: key)
            for (i, b) in payload.enumerated() { out.append(b ^ key[i & 3]) }
        } else {
            out.append(contentsOf: payload)
        }
        return out
    }

    static func appendHeader(fin: Bool, opcode: WebSocketOpcode, length: Int, masked: Bool, to out: inout [UInt8]) {
        out.append((fin ? 0x80 : 0) | opcode.rawValue)
        let m: UInt8 = masked ? 0x80 : 0
        if length < 126 {
            out.append(m | UInt8(length))
        } else if length <= 0xFFFF {
            out.append(m | 126)
            out.append(UInt8(length >> 8)); out.append(UInt8(length & 0xFF))
        } else {
            out.append(m | 127)
            for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8((UInt64(length) >> UInt64(shift)) & 0xFF)) }
        }
    }

    /// A complete unfragmented server frame for a text message.
    public static func text(_ s: String) -> [UInt8] { WebSocketFrame(opcode: .text, payload: Array(s.utf8)).encoded() }
    /// A complete unfragmented server frame for a binary message.
    public static func binary(_ b: [UInt8]) -> [UInt8] { WebSocketFrame(opcode: .binary, payload: b).encoded() }
    /// A close frame with a status code and optional reason (RFC 6455 §5.5.1).
    public static func close(code: UInt16, reason: String = "") -> [UInt8] {
        var payload = [UInt8(code >> 8), UInt8(code & 0xFF)]
        payload.append(contentsOf: reason.utf8.prefix(123))
        return WebSocketFrame(opcode: .close, payload: payload).encoded()
    }
}

/// Protocol violations, each with the close code to answer with (RFC 6455 §7.4.1).
public enum WebSocketError: Error, Equatable, Sendable, CustomStringConvertible {
    /// RSV bits set without a negotiated extension.
    case reservedBitsSet
    /// Opcode 0x3–0x7 or 0xB–0xF.
    case unknownOpcode(UInt8)
    /// A client frame without the mask bit (RFC 6455 §5.1), or a server frame with it.
    case maskingViolation
    /// A control frame that is fragmented or longer than 125 bytes.
    case invalidControlFrame
    /// A 64-bit payload length with the most significant bit set (RFC 6455 §5.2).
    case invalidLength
    /// The frame or reassembled message exceeds `limit` bytes.
    case messageTooLarge(limit: Int)
    /// A continuation frame with no message in progress, or a new message while one is open.
    case unexpectedContinuation
    case expectedContinuation
    /// A text message (or close reason) that is not valid UTF-8.
    case invalidUTF8
    /// A close frame with a one-byte payload or a code that must not be sent.
    case invalidClosePayload

    public var closeCode: UInt16 {
        switch self {
        case .messageTooLarge: return 1009
        case .invalidUTF8: return 1007
        default: return 1002
        }
    }

    public var description: String {
        switch self {
        case .reservedBitsSet: return "A WebSocket frame has RSV bits set but no extension was negotiated."
        case .unknownOpcode(let op): return "The WebSocket opcode \(op) is reserved."
        case .maskingViolation: return "A WebSocket frame breaks the masking rule (clients must mask, servers must not)."
        case .invalidControlFrame: return "A WebSocket control frame is fragmented or longer than 125 bytes."
        case .invalidLength: return "A WebSocket frame declares a 64-bit length with the top bit set."
        case .messageTooLarge(let limit): return "A WebSocket message is larger than \(limit) bytes."
        case .unexpectedContinuation: return "A WebSocket continuation frame arrived with no message in progress."
        case .expectedContinuation: return "A new WebSocket message started before the previous fragmented one ended."
        case .invalidUTF8: return "A WebSocket text message is not valid UTF-8."
        case .invalidClosePayload: return "A WebSocket close frame has a malformed payload or a reserved code."
        }
    }
}

/// Incremental frame parser (RFC 6455 §5.2). No I/O: append bytes, call `next()` until nil.
public struct WebSocketFrameParser: Sendable {
    /// Largest frame payload accepted.
    public let maxPayloadBytes: Int
    /// Frames from clients must be masked; set false to parse server frames (tests, clients).
    public let expectMasked: Bool
    var buffer: [UInt8] = []
    var readIndex = 0
    var failure: WebSocketError?

    public init(maxPayloadBytes: Int, expectMasked: Bool = true) {
        self.maxPayloadBytes = maxPayloadBytes; self.expectMasked = expectMasked
    }

    public var bufferedByteCount: Int { buffer.count - readIndex }

    public mutating func append<C: Collection>(contentsOf bytes: C) where C.Element == UInt8 {
        if readIndex > 0 && readIndex == buffer.count && buffer.capacity > 16 * 1024 {
            buffer = []; readIndex = 0  // keep idle sockets small after a large message
        } else if readIndex > 0 && (readIndex == buffer.count || readIndex >= 65536) {
            buffer.removeFirst(readIndex); readIndex = 0
        }
        buffer.append(contentsOf: bytes)
    }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        append(contentsOf: UnsafeBufferPointer(start: bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), count: bytes.count))
    }

    public mutating func next() throws(WebSocketError) -> WebSocketFrame? {
        if let failure { throw failure }
        let available = buffer.count - readIndex
        if available < 2 { return nil }
        let b0 = buffer[readIndex], b1 = buffer[readIndex + 1]
        do throws(WebSocketError) {
            if b0 & 0x70 != 0 { throw .reservedBitsSet }
            guard let opcode = WebSocketOpcode(rawValue: b0 & 0x0F) else { throw .unknownOpcode(b0 & 0x0F) }
            let fin = b0 & 0x80 != 0
            let masked = b1 & 0x80 != 0
            if masked != expectMasked { throw .maskingViolation }
            var headerLength = 2
            var length = UInt64(b1 & 0x7F)
            if opcode.isControl && (!fin || length > 125) { throw .invalidControlFrame }
            if length == 126 {
                if available < 4 { return nil }
                length = UInt64(buffer[readIndex + 2]) << 8 | UInt64(buffer[readIndex + 3])
                headerLength = 4
            } else if length == 127 {
                if available < 10 { return nil }
                length = 0
                for i in 0..<8 { length = length << 8 | UInt64(buffer[readIndex + 2 + i]) }
                if length >> 63 != 0 { throw .invalidLength }
                headerLength = 10
            }
            if length > UInt64(maxPayloadBytes) { throw .messageTooLarge(limit: maxPayloadBytes) }
            let maskOffset = headerLength
            if masked { headerLength += 4 }
            let total = headerLength + Int(length)
            if available < total { return nil }
            let start = readIndex + headerLength
            var payload = Array(buffer[start..<(start + Int(length))])
            if masked {
                let k0 = buffer[readIndex + maskOffset], k1 = buffer[readIndex + maskOffset + 1]
                let k2 = buffer[readIndex + maskOffset + 2], k3 = buffer[readIndex + maskOffset + 3]
                WebSocketFrameParser.unmask(&payload, key: (k0, k1, k2, k3))
            }
            readIndex += total
            return WebSocketFrame(fin: fin, opcode: opcode, payload: payload)
        } catch {
            failure = error
            throw error
        }
    }

    static func unmask(_ payload: inout [UInt8], key: (UInt8, UInt8, UInt8, UInt8)) {
        let k32 = UInt32(key.0) | UInt32(key.1) << 8 | UInt32(key.2) << 16 | UInt32(key.3) << 24
        payload.withUnsafeMutableBytes { raw in
            let n = raw.count
            var i = 0
            while i + 4 <= n {
                let v = raw.loadUnaligned(fromByteOffset: i, as: UInt32.self)
                raw.storeBytes(of: v ^ k32.littleEndian, toByteOffset: i, as: UInt32.self)
                i += 4
            }
            let k = [key.0, key.1, key.2, key.3]
            while i < n { raw[i] ^= k[i & 3]; i += 1 }
        }
    }
}

/// Reassembles fragmented messages and validates them (RFC 6455 §5.4, §8.1).
public struct WebSocketMessageAssembler: Sendable {
    public enum Message: Sendable, Equatable {
        case text(String)
        case binary([UInt8])
        case ping([UInt8])
        case pong([UInt8])
        /// A close frame: code (1005 when absent) and reason.
        case close(code: UInt16, reason: String)
    }

    public let maxMessageBytes: Int
    var partial: [UInt8] = []
    var partialOpcode: WebSocketOpcode?

    public init(maxMessageBytes: Int) { self.maxMessageBytes = maxMessageBytes }

    /// Adds one frame; returns a message when one is complete.
    public mutating func add(_ frame: WebSocketFrame) throws(WebSocketError) -> Message? {
        switch frame.opcode {
        case .ping: return .ping(frame.payload)
        case .pong: return .pong(frame.payload)
        case .close:
            if frame.payload.isEmpty { return .close(code: 1005, reason: "") }
            if frame.payload.count == 1 { throw .invalidClosePayload }
            let code = UInt16(frame.payload[0]) << 8 | UInt16(frame.payload[1])
            guard WebSocketMessageAssembler.isValidReceivedCloseCode(code) else { throw .invalidClosePayload }
            guard let reason = String(validating: frame.payload[2...], as: UTF8.self) else { throw .invalidUTF8 }
            return .close(code: code, reason: reason)
        case .text, .binary:
            if partialOpcode != nil { throw .expectedContinuation }
            if frame.fin { return try finish(frame.opcode, frame.payload) }
            partialOpcode = frame.opcode
            partial = frame.payload
            return nil
        case .continuation:
            guard let op = partialOpcode else { throw .unexpectedContinuation }
            if frame.payload.count > maxMessageBytes - partial.count { throw .messageTooLarge(limit: maxMessageBytes) }
            partial.append(contentsOf: frame.payload)
            if !frame.fin { return nil }
            let whole = partial
            partial = []
            partialOpcode = nil
            return try finish(op, whole)
        }
    }

    func finish(_ opcode: WebSocketOpcode, _ payload: [UInt8]) throws(WebSocketError) -> Message {
        if payload.count > maxMessageBytes { throw .messageTooLarge(limit: maxMessageBytes) }
        if opcode == .text {
            guard let s = String(validating: payload, as: UTF8.self) else { throw .invalidUTF8 }
            return .text(s)
        }
        return .binary(payload)
    }

    /// Codes a peer may send (RFC 6455 §7.4.1–§7.4.2): 1000–1003, 1007–1011, 3000–4999.
    public static func isValidReceivedCloseCode(_ code: UInt16) -> Bool {
        switch code {
        case 1000...1003, 1007...1011, 3000...4999: return true
        default: return false
        }
    }
}
