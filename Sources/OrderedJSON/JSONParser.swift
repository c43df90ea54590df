/// Limits that keep hostile input from costing unbounded time, memory or stack.
public struct JSONLimits: Sendable {
    /// Deepest allowed nesting of arrays and objects. The parser recurses once per level, and it
    /// may run on Dispatch worker threads with small stacks, so keep this in the hundreds.
    public var maxDepth: Int
    /// Largest input accepted, in bytes.
    public var maxBytes: Int

    public init(maxDepth: Int = 256, maxBytes: Int = 256 << 20) {
        self.maxDepth = maxDepth
        self.maxBytes = maxBytes
    }

    public static let `default` = JSONLimits()
}

/// Why a JSON text was refused. Offsets are byte offsets into the input.
public enum JSONError: Error, Equatable, CustomStringConvertible {
    /// The input ended inside a value.
    case unexpectedEnd
    /// A byte that cannot start or continue a value here.
    case unexpectedByte(UInt8, offset: Int)
    /// Nesting deeper than `JSONLimits.maxDepth`.
    case tooDeep(limit: Int, offset: Int)
    /// Input longer than `JSONLimits.maxBytes`.
    case tooLarge(byteCount: Int, limit: Int)
    /// A string that is not valid UTF-8 or has a bad escape.
    case invalidString(offset: Int)
    /// A number that does not follow the grammar.
    case invalidNumber(offset: Int)
    /// Non-space bytes after the top-level value.
    case trailingData(offset: Int)

    public var description: String {
        switch self {
        case .unexpectedEnd: return "the JSON text ends in the middle of a value"
        case .unexpectedByte(let b, let o):
            let shown = (32..<127).contains(b) ? "'\(Character(UnicodeScalar(b)))'" : "byte 0x\(String(b, radix: 16))"
            return "unexpected \(shown) at offset \(o) of the JSON text"
        case .tooDeep(let limit, let o): return "JSON nesting deeper than \(limit) levels at offset \(o)"
        case .tooLarge(let n, let limit): return "JSON text of \(n) bytes is larger than the \(limit)-byte limit"
        case .invalidString(let o): return "invalid string (bad escape or UTF-8) at offset \(o) of the JSON text"
        case .invalidNumber(let o): return "invalid number at offset \(o) of the JSON text"
        case .trailingData(let o): return "extra data after the JSON value at offset \(o)"
        }
    }
}

extension JSON {
    /// Parses one JSON text (RFC 8259), plus the `NaN`/`Infinity` literals Python's `json` accepts.
    /// Duplicate object keys keep their first position and the last value, as Python does.
    public static func parse(_ bytes: [UInt8], limits: JSONLimits = .default) throws(JSONError) -> JSON {
        guard bytes.count <= limits.maxBytes else { throw .tooLarge(byteCount: bytes.count, limit: limits.maxBytes) }
        return try bytes.withUnsafeBufferPointer { buffer throws(JSONError) -> JSON in
            var parser = Parser(bytes: buffer, maxDepth: limits.maxDepth)
            parser.skipSpace()
            let value = try parser.parseValue(depth: 0)
            parser.skipSpace()
            if parser.position != buffer.count { throw .trailingData(offset: parser.position) }
            return value
        }
    }

    /// Parses a JSON text given as a string.
    public static func parse(_ text: String, limits: JSONLimits = .default) throws(JSONError) -> JSON {
        try parse(Array(text.utf8), limits: limits)
    }
}

/// Recursive-descent parser over a byte buffer; recursion depth is bounded by `maxDepth`.
private struct Parser {
    let bytes: UnsafeBufferPointer<UInt8>
    let maxDepth: Int
    var position = 0

    init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    mutating func skipSpace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    func peek() throws(JSONError) -> UInt8 {
        guard position < bytes.count else { throw .unexpectedEnd }
        return bytes[position]
    }

    mutating func expect(_ literal: StaticString) throws(JSONError) {
        let count = literal.utf8CodeUnitCount
        guard position + count <= bytes.count else { throw .unexpectedEnd }
        let start = literal.utf8Start
        for i in 0..<count where bytes[position + i] != start[i] {
            throw .unexpectedByte(bytes[position + i], offset: position + i)
        }
        position += count
    }

    mutating func parseValue(depth: Int) throws(JSONError) -> JSON {
        let byte = try peek()
        switch byte {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expect("true"); return .bool(true)
        case UInt8(ascii: "f"): try expect("false"); return .bool(false)
        case UInt8(ascii: "n"): try expect("null"); return .null
        case UInt8(ascii: "N"): try expect("NaN"); return .double(.nan)
        case UInt8(ascii: "I"): try expect("Infinity"); return .double(.infinity)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw .unexpectedByte(byte, offset: position)
        }
    }

    mutating func parseObject(depth: Int) throws(JSONError) -> JSON {
        if depth > maxDepth { throw .tooDeep(limit: maxDepth, offset: position) }
        position += 1
        var object = JSONObject()
        skipSpace()
        if try peek() == UInt8(ascii: "}") { position += 1; return .object(object) }
        while true {
            skipSpace()
            let b = try peek()
            guard b == UInt8(ascii: "\"") else { throw .unexpectedByte(b, offset: position) }
            let key = try parseString()
            skipSpace()
            let colon = try peek()
            guard colon == UInt8(ascii: ":") else { throw .unexpectedByte(colon, offset: position) }
            position += 1
            skipSpace()
            object[key] = try parseValue(depth: depth)
            skipSpace()
            let next = try peek()
            position += 1
            if next == UInt8(ascii: "}") { return .object(object) }
            guard next == UInt8(ascii: ",") else { throw .unexpectedByte(next, offset: position - 1) }
        }
    }

    mutating func parseArray(depth: Int) throws(JSONError) -> JSON {
        if depth > maxDepth { throw .tooDeep(limit: maxDepth, offset: position) }
        position += 1
        var array: [JSON] = []
        skipSpace()
        if try peek() == UInt8(ascii: "]") { position += 1; return .array(array) }
        while true {
            skipSpace()
            array.append(try parseValue(depth: depth))
            skipSpace()
            let next = try peek()
            position += 1
            if next == UInt8(ascii: "]") { return .array(array) }
            guard next == UInt8(ascii: ",") else { throw .unexpectedByte(next, offset: position - 1) }
        }
    }

    mutating func parseNumber() throws(JSONError) -> JSON {
        let start = position
        var isInteger = true
        if bytes[position] == UInt8(ascii: "-") {
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "I") {
                try expect("Infinity")
                return .double(-.infinity)
            }
        }
        func digits(_ p: inout Parser) -> Int {
            let s = p.position
            while p.position < p.bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(p.bytes[p.position]) { p.position += 1 }
            return p.position - s
        }
        let intDigits = digits(&self)
        guard intDigits > 0 else { throw .invalidNumber(offset: start) }
        // RFC 8259: no leading zeros ("01" is not a number).
        let firstDigit = bytes[position - intDigits]
        if intDigits > 1 && firstDigit == UInt8(ascii: "0") { throw .invalidNumber(offset: start) }
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            isInteger = false
            position += 1
            guard digits(&self) > 0 else { throw .invalidNumber(offset: start) }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            isInteger = false
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
            guard digits(&self) > 0 else { throw .invalidNumber(offset: start) }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        if isInteger, let value = Int64(text) { return .int(value) }
        guard let value = Double(text) else { throw .invalidNumber(offset: start) }
        return .double(value)
    }

    mutating func parseString() throws(JSONError) -> String {
        let start = position
        position += 1  // opening quote
        var scratch: [UInt8] = []
        var runStart = position
        while true {
            guard position < bytes.count else { throw .unexpectedEnd }
            let b = bytes[position]
            if b == UInt8(ascii: "\"") {
                scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<position]))
                position += 1
                break
            }
            if b < 0x20 { throw .invalidString(offset: position) }  // raw control characters are not allowed
            if b == UInt8(ascii: "\\") {
                scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<position]))
                position += 1
                guard position < bytes.count else { throw .unexpectedEnd }
                let e = bytes[position]
                position += 1
                switch e {
                case UInt8(ascii: "\""): scratch.append(0x22)
                case UInt8(ascii: "\\"): scratch.append(0x5C)
                case UInt8(ascii: "/"): scratch.append(0x2F)
                case UInt8(ascii: "b"): scratch.append(0x08)
                case UInt8(ascii: "f"): scratch.append(0x0C)
                case UInt8(ascii: "n"): scratch.append(0x0A)
                case UInt8(ascii: "r"): scratch.append(0x0D)
                case UInt8(ascii: "t"): scratch.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        // A high surrogate: combine with a following low surrogate when present.
                        if position + 6 <= bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") {
                            let save = position
                            position += 2
                            let low = try hex4()
                            if (0xDC00..<0xE000).contains(low) {
                                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                            } else {
                                position = save
                                scalar = 0xFFFD
                            }
                        } else {
                            scalar = 0xFFFD
                        }
                    } else if (0xDC00..<0xE000).contains(scalar) {
                        scalar = 0xFFFD  // a lone low surrogate has no Unicode scalar
                    }
                    let s = Unicode.Scalar(scalar) ?? "\u{FFFD}"
                    scratch.append(contentsOf: Array(String(Character(s)).utf8))
                default: throw .invalidString(offset: position - 1)
                }
                runStart = position
                continue
            }
            position += 1
        }
        guard let s = String(validating: scratch, as: UTF8.self) else { throw .invalidString(offset: start) }
        return s
    }

    mutating func hex4() throws(JSONError) -> UInt32 {
        guard position + 4 <= bytes.count else { throw .unexpectedEnd }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[position]
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw .invalidString(offset: position)
            }
            v = v << 4 | d
            position += 1
        }
        return v
    }
}
