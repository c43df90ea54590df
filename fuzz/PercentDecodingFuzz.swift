// libFuzzer target: percent-decoding of request paths (strict, per segment) and query strings
// (lenient, `+` as space). Encoding then decoding a segment must give it back, and a decoded path
// segment can never be a separator-made `..` climb: `%2F` stays inside its segment.
// modules: HTTPWire
// max_len: 4096
import HTTPWire

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPercentDecoding(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let text = String(decoding: bytes, as: UTF8.self)
    if let decoded = PercentDecoding.decodeSegment(bytes) {
        precondition(PercentDecoding.decodeSegment(Array(PercentDecoding.encode(decoded).utf8)) == decoded,
                     "encode/decode round trip failed")
    }
    _ = PercentDecoding.decodeQueryComponent(bytes)
    if let segments = PercentDecoding.pathSegments(text) {
        // Counted on bytes, as pathSegments splits: a `/` followed by a combining mark is one
        // Character, so splitting the String undercounted (the harness's first finding).
        let rawCount = Array(text.utf8).split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).count
        precondition(segments.count <= rawCount, "decoding made new segments")
    }
    for (name, value) in PercentDecoding.query(text) { precondition(name.utf8.count + value.utf8.count <= 3 * bytes.count + 8) }
    return 0
}
