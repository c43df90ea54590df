// libFuzzer target: the WebSocket frame parser and message assembler must never crash or hang,
// and every accepted frame must respect the payload limit and the control-frame rules.
// modules: HTTPWire
// max_len: 8192
import HTTPWire

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWebSocketFrames(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let first = bytes.first else { return 0 }
    let step = Int(first % 13) + 1
    var parser = WebSocketFrameParser(maxPayloadBytes: 1024, expectMasked: first & 0x80 == 0)
    var assembler = WebSocketMessageAssembler(maxMessageBytes: 2048)
    var offset = 1
    while offset < bytes.count {
        let end = min(bytes.count, offset + step)
        parser.append(contentsOf: bytes[offset..<end])
        offset = end
        do {
            while let frame = try parser.next() {
                precondition(frame.payload.count <= 1024)
                if frame.opcode.isControl { precondition(frame.fin && frame.payload.count <= 125) }
                if let message = try assembler.add(frame), case .binary(let b) = message { precondition(b.count <= 2048) }
                // Re-encoding an accepted frame and parsing it again gives the same frame.
                var again = WebSocketFrameParser(maxPayloadBytes: 1024, expectMasked: true)
                again.append(contentsOf: frame.encoded(maskKey: (9, 8, 7, 6)))
                let reparsed = try? again.next()
                precondition(reparsed == frame)
            }
        } catch {
            precondition([1002, 1007, 1009].contains(error.closeCode))
            return 0
        }
    }
    return 0
}
