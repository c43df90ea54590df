// libFuzzer target: the order-preserving JSON parser (depth and size limits) and serializer.
// Whatever parses must serialize to text that parses back to the same value.
// modules: OrderedJSON
// max_len: 8192
import OrderedJSON

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOrderedJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let limits = JSONLimits(maxDepth: 64, maxBytes: 8192)
    guard let value = try? JSON.parse(bytes, limits: limits) else { return 0 }
    let text = value.serialized()
    guard let again = try? JSON.parse(text, limits: JSONLimits(maxDepth: 64, maxBytes: 1 << 20)) else {
        preconditionFailure("serialized JSON does not parse: \(text)")
    }
    precondition(again.serialized() == text, "serialization is not stable")
    return 0
}
