// libFuzzer target: multipart/form-data bodies (uploads). The first line of the input is the
// Content-Type value (boundary and all), the rest is the body. Every part must be a slice of the body.
// modules: HTTPWire
// max_len: 8192
import HTTPWire

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMultipart(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let newline = bytes.firstIndex(of: 10) ?? bytes.count
    let contentType = String(decoding: bytes[..<newline], as: UTF8.self)
    let body = Array(bytes[min(bytes.count, newline + 1)...])
    _ = MultipartFormData.parseParameters(contentType)
    do {
        let parts = try MultipartFormData.parse(body: body, contentType: contentType, maxParts: 50)
        precondition(parts.count <= 50)
        var total = 0
        for part in parts {
            total += part.body.count
        }
        precondition(total <= body.count, "parts hold more bytes than the body")
    } catch {
        precondition(!error.description.isEmpty)
    }
    return 0
}
