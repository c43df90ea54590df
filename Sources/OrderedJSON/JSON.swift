// OrderedJSON: JSON values that keep object key order, a bounded parser and a serializer. No I/O.
//
// Why not Foundation's JSONSerialization: it returns unordered dictionaries, and ComfyUI clients
// depend on key order (object_info input order maps widget values; history and queue listings).

/// A JSON value. Integers that fit in Int64 stay exact (`int`); other numbers are `double`.
public enum JSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSON])
    case object(JSONObject)

    // MARK: Accessors (nil when the value has another type)

    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    public var boolValue: Bool? { if case .bool(let b) = self { return b }; return nil }
    public var arrayValue: [JSON]? { if case .array(let a) = self { return a }; return nil }
    public var objectValue: JSONObject? { if case .object(let o) = self { return o }; return nil }
    public var isNull: Bool { if case .null = self { return true }; return false }

    /// The value as an integer: an `int`, or a `double` with no fractional part that fits.
    public var intValue: Int64? {
        switch self {
        case .int(let i): return i
        case .double(let d) where d.rounded() == d && abs(d) < 9.2e18: return Int64(d)
        default: return nil
        }
    }

    /// The value as a floating-point number (`int` or `double`).
    public var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }

    /// Member `key` of an object, or nil (also for non-objects).
    public subscript(key: String) -> JSON? { objectValue?[key] }

    /// Element `index` of an array, or nil when out of range or not an array.
    public subscript(index: Int) -> JSON? {
        guard case .array(let a) = self, a.indices.contains(index) else { return nil }
        return a[index]
    }

    /// A short name of the value's type, for error messages (`"object"`, `"string"`…).
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .int, .double: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }
}

extension JSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSON...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSON)...) { self = .object(JSONObject(elements)) }
    public init(nilLiteral: ()) { self = .null }
}

extension JSON {
    /// An integer value from a Swift `Int`.
    public static func number(_ value: Int) -> JSON { .int(Int64(value)) }
    /// A number from a `Double`, kept as `int` when it is integral and exact, so `1.0` prints as `1.0`
    /// only when asked: use `.double` directly to force a fraction.
    public static func number(_ value: Double) -> JSON { .double(value) }
}

/// A JSON object whose members keep their insertion order.
///
/// Lookup is O(1) through an index; setting an existing key replaces its value in place.
public struct JSONObject: Sendable, Equatable, Sequence {
    public private(set) var members: [(key: String, value: JSON)] = []
    private var index: [String: Int] = [:]

    public init() {}

    public init(_ pairs: [(String, JSON)]) {
        members.reserveCapacity(pairs.count)
        for (k, v) in pairs { self[k] = v }
    }

    public var count: Int { members.count }
    public var isEmpty: Bool { members.isEmpty }
    public var keys: [String] { members.map(\.key) }
    public var values: [JSON] { members.map(\.value) }

    /// Value of `key`; setting nil removes the member (O(n), rare).
    public subscript(key: String) -> JSON? {
        get { index[key].map { members[$0].value } }
        set {
            if let newValue {
                if let i = index[key] {
                    members[i].value = newValue
                } else {
                    index[key] = members.count
                    members.append((key: key, value: newValue))
                }
            } else if let i = index[key] {
                members.remove(at: i)
                index.removeValue(forKey: key)
                for j in i..<members.count { index[members[j].key] = j }
            }
        }
    }

    /// Appends or replaces `key` (same as the subscript setter; reads better in builders).
    public mutating func set(_ key: String, _ value: JSON) { self[key] = value }

    public func contains(_ key: String) -> Bool { index[key] != nil }

    public func makeIterator() -> IndexingIterator<[(key: String, value: JSON)]> { members.makeIterator() }

    public static func == (a: JSONObject, b: JSONObject) -> Bool {
        a.members.count == b.members.count
            && zip(a.members, b.members).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }
}
