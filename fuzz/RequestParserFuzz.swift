// libFuzzer target: the HTTP/1.1 request parser must never crash, hang or exceed its limits on
// any input. The input is fed in pieces whose sizes come from the first byte, so split points vary.
// modules: HTTPWire
// max_len: 8192
import HTTPWire

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequestParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let first = bytes.first else { return 0 }
    let step = Int(first % 17) + 1
    var parser = RequestParser(limits: HTTPLimits(headerBytes: 2048, bodyBytes: 4096, chunkLineBytes: 64))
    var offset = 1
    var completed = 0
    while offset < bytes.count {
        let end = min(bytes.count, offset + step)
        parser.append(contentsOf: bytes[offset..<end])
        offset = end
        do {
            while let event = try parser.next() {
                if case .complete(let head, let body) = event {
                    precondition(body.count <= 4096, "body over the limit")
                    _ = head.request(body: body).query
                    completed += 1
                }
            }
        } catch {
            precondition(!error.description.isEmpty)
            precondition([400, 413, 431, 501, 505].contains(error.status))
            return 0
        }
        precondition(parser.bufferedByteCount <= bytes.count, "parser kept more bytes than it was given")
    }
    _ = PercentDecoding.pathSegments(String(decoding: bytes, as: UTF8.self))
    _ = try? MultipartFormData.parse(body: bytes, contentType: "multipart/form-data; boundary=b")
    return 0
}
