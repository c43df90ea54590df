import OrderedJSON

/// Python's `str()` / `repr()` and conversions of JSON values, because ComfyUI's error messages are
/// built with them (`'v' not in ['a', 'b']`, `invalid literal for int() with base 10: 'abc'`) and
/// clients show those texts. Recursion follows the value's nesting, which the JSON parser bounds.
enum PythonFormat {
    /// `repr(s)` for a Python str: single quotes unless the text has `'` and no `"`.
    static func repr(_ s: String) -> String {
        let useDouble = s.contains("'") && !s.contains("\"")
        let quote: Character = useDouble ? "\"" : "'"
        var out = String(quote)
        out.reserveCapacity(s.utf8.count + 2)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if Character(scalar) == quote {
                    out += "\\" + String(quote)
                } else if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\x" + hex2(scalar.value)
                } else if (0x80..<0xA0).contains(scalar.value) {
                    out += "\\x" + hex2(scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out.append(quote)
        return out
    }

    private static func hex2(_ v: UInt32) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(v >> 4) & 0xF], digits[Int(v) & 0xF]])
    }

    /// `repr(float)`: shortest round-trip text with `.0` for integral values, `inf`, `nan`.
    static func float(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        let text = d.description
        if text.contains(".") || text.contains("e") { return text }
        return text + ".0"
    }

    /// `str(value)` of the Python object json.loads would give.
    static func str(_ value: JSON) -> String {
        if case .string(let s) = value { return s }
        return repr(value)
    }

    /// `repr(value)` of the Python object json.loads would give.
    static func repr(_ value: JSON) -> String {
        switch value {
        case .null: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .double(let d): return float(d)
        case .string(let s): return repr(s)
        case .array(let items): return "[" + items.map { repr($0) }.joined(separator: ", ") + "]"
        case .object(let o): return "{" + o.members.map { repr($0.key) + ": " + repr($0.value) }.joined(separator: ", ") + "}"
        }
    }

    /// `json.dumps(value)` with Python's defaults: `", "` and `": "` separators, every character
    /// outside printable ASCII escaped (`ensure_ascii`), floats as `repr`, `NaN` / `Infinity`.
    /// ComfyUI writes the prompt and workflow into saved PNGs this way.
    static func jsonDumps(_ value: JSON) -> String {
        var out = ""
        writeJSON(value, into: &out)
        return out
    }

    private static func writeJSON(_ value: JSON, into out: inout String) {
        switch value {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d):
            if d.isNaN { out += "NaN" } else if d.isInfinite { out += d < 0 ? "-Infinity" : "Infinity" } else { out += float(d) }
        case .string(let s): writeJSONString(s, into: &out)
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += ", " }
                writeJSON(item, into: &out)
            }
            out += "]"
        case .object(let o):
            out += "{"
            for (i, member) in o.members.enumerated() {
                if i > 0 { out += ", " }
                writeJSONString(member.key, into: &out)
                out += ": "
                writeJSON(member.value, into: &out)
            }
            out += "}"
        }
    }

    private static func writeJSONString(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value >= 0x20 && scalar.value < 0x7F {
                    out.unicodeScalars.append(scalar)
                } else {
                    for unit in String(scalar).utf16 { out += "\\u" + hex4(UInt32(unit)) }
                }
            }
        }
        out += "\""
    }

    private static func hex4(_ v: UInt32) -> String { hex2(v >> 8) + hex2(v & 0xFF) }

    /// The Python type name of the decoded value (`'NoneType'`, `'dict'`…), for TypeError messages.
    static func typeName(_ value: JSON) -> String {
        switch value {
        case .null: return "NoneType"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "float"
        case .string: return "str"
        case .array: return "list"
        case .object: return "dict"
        }
    }

    /// Python truthiness (`bool(x)`).
    static func truthy(_ value: JSON) -> Bool {
        switch value {
        case .null: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .double(let d): return d != 0
        case .string(let s): return !s.isEmpty
        case .array(let a): return !a.isEmpty
        case .object(let o): return !o.isEmpty
        }
    }

    /// Result of Python's `int(x)`.
    enum IntResult: Equatable {
        case value(Int64)
        /// Python would give an integer outside Int64; the value as a double, for range checks.
        case huge(Double)
        /// Python raises: `type` and message, e.g. `ValueError`, `invalid literal for int() with base 10: 'abc'`.
        case failure(type: String, message: String)
    }

    static func int(_ value: JSON) -> IntResult {
        switch value {
        case .int(let i): return .value(i)
        case .bool(let b): return .value(b ? 1 : 0)
        case .double(let d):
            if d.isNaN { return .failure(type: "ValueError", message: "cannot convert float NaN to integer") }
            if d.isInfinite { return .failure(type: "OverflowError", message: "cannot convert float infinity to integer") }
            let t = d.rounded(.towardZero)
            if t >= -9.223372036854775e18 && t <= 9.223372036854775e18 { return .value(Int64(t)) }
            return .huge(t)
        case .string(let s):
            let invalid = IntResult.failure(type: "ValueError", message: "invalid literal for int() with base 10: \(repr(s))")
            guard let digits = pythonDigits(s) else { return invalid }
            if let i = Int64(digits) { return .value(i) }
            if let d = Double(digits) { return .huge(d) }
            return invalid
        case .null, .array, .object:
            return .failure(type: "TypeError",
                            message: "int() argument must be a string, a bytes-like object or a real number, not '\(typeName(value))'")
        }
    }

    /// Result of Python's `float(x)`: the value, or the exception message.
    static func float(_ value: JSON) -> Result<Double, PythonError> {
        switch value {
        case .int(let i): return .success(Double(i))
        case .double(let d): return .success(d)
        case .bool(let b): return .success(b ? 1 : 0)
        case .string(let s):
            let t = trimmed(s)
            let lower = t.lowercased()
            let unsigned = lower.hasPrefix("+") || lower.hasPrefix("-") ? String(lower.dropFirst()) : lower
            if unsigned == "inf" || unsigned == "infinity" { return .success(lower.hasPrefix("-") ? -.infinity : .infinity) }
            if unsigned == "nan" { return .success(.nan) }
            let plain = t.replacingUnderscoresBetweenDigits()
            if let plain, !plain.isEmpty, plain.allSatisfy({ "0123456789+-.eE".contains($0) }), let d = Double(plain) {
                return .success(d)
            }
            return .failure(PythonError(type: "ValueError", message: "could not convert string to float: \(repr(s))"))
        case .null, .array, .object:
            return .failure(PythonError(type: "TypeError",
                                        message: "float() argument must be a string or a real number, not '\(typeName(value))'"))
        }
    }

    struct PythonError: Error, Equatable {
        let type: String
        let message: String
    }

    /// Python's `int(str)` grammar: optional whitespace and sign, digits with single `_` between
    /// them. Returns the digits (with sign) or nil.
    private static func pythonDigits(_ s: String) -> String? {
        let t = trimmed(s)
        var out = ""
        var rest = Substring(t)
        if let f = rest.first, f == "+" || f == "-" {
            if f == "-" { out.append("-") }
            rest = rest.dropFirst()
        }
        guard let body = String(rest).replacingUnderscoresBetweenDigits(), !body.isEmpty,
              body.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        out += body
        return out
    }

    private static func trimmed(_ s: String) -> String {
        let scalars = s.unicodeScalars
        guard let start = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let end = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(scalars[start...end])
    }
}

private extension String {
    /// Removes `_` that sits between two digits (Python numeric literals); nil when an underscore
    /// is misplaced (leading, trailing, doubled, or next to a non-digit).
    func replacingUnderscoresBetweenDigits() -> String? {
        guard contains("_") else { return self }
        let chars = Array(self)
        var out = ""
        for (i, c) in chars.enumerated() {
            if c == "_" {
                guard i > 0, i + 1 < chars.count, chars[i - 1].isASCII, chars[i - 1].isNumber,
                      chars[i + 1].isASCII, chars[i + 1].isNumber else { return nil }
                continue
            }
            out.append(c)
        }
        return out
    }
}
