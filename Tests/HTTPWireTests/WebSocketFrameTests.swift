import Testing
@testable import HTTPWire

@Suite struct WebSocketFrameTests {
    let key: (UInt8, UInt8, UInt8, UInt8) = (0x37, 0xFA, 0x21, 0x3D)

    func parse(_ pieces: [[UInt8]], max: Int = 1 << 20) -> ([WebSocketFrame], WebSocketError?) {
        var parser = WebSocketFrameParser(maxPayloadBytes: max)
        var frames: [WebSocketFrame] = []
        for p in pieces {
            parser.append(contentsOf: p)
            do { while let f = try parser.next() { frames.append(f) } } catch { return (frames, error) }
        }
        return (frames, nil)
    }

    @Test func maskedFrames_ofEveryLengthClass_parseHoweverSplit() {
        let payloads: [[UInt8]] = [Array("Hello".utf8), [UInt8](repeating: 7, count: 200), (0..<70_000).map { UInt8($0 & 0xFF) }]
        for payload in payloads {
            let encoded = WebSocketFrame(opcode: .binary, payload: payload).encoded(maskKey: key)
            var cases: [[[UInt8]]] = [[encoded]]
            let cuts = payload.count < 300 ? Array(1..<encoded.count) : [1, 2, 3, 5, 9, 10, 13, 14, 100, encoded.count - 1]
            for i in cuts { cases.append([Array(encoded[..<i]), Array(encoded[i...])]) }
            if payload.count < 300 { cases.append(encoded.map { [$0] }) }
            for pieces in cases {
                let (frames, error) = parse(pieces)
                #expect(error == nil)
                #expect(frames == [WebSocketFrame(opcode: .binary, payload: payload)])
            }
        }
    }

    @Test func rfcExample_maskedHello() {
        // RFC 6455 §5.7: a masked text frame "Hello".
        let bytes: [UInt8] = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]
        #expect(parse([bytes]).0 == [WebSocketFrame(opcode: .text, payload: Array("Hello".utf8))])
        #expect(WebSocketFrame.text("Hello") == [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f])
    }

    @Test func protocolViolations_areErrorsWithCloseCodes() {
        let unmasked = WebSocketFrame(opcode: .text, payload: [65]).encoded()
        #expect(parse([unmasked]).1 == .maskingViolation)
        var rsv = WebSocketFrame(opcode: .text, payload: [65]).encoded(maskKey: key); rsv[0] |= 0x40
        #expect(parse([rsv]).1 == .reservedBitsSet)
        var op = WebSocketFrame(opcode: .text, payload: [65]).encoded(maskKey: key); op[0] = 0x83
        #expect(parse([op]).1 == .unknownOpcode(3))
        let longPing = WebSocketFrame(opcode: .ping, payload: [UInt8](repeating: 0, count: 126)).encoded(maskKey: key)
        #expect(parse([longPing]).1 == .invalidControlFrame)
        let fragmentedPing = WebSocketFrame(fin: false, opcode: .ping, payload: []).encoded(maskKey: key)
        #expect(parse([fragmentedPing]).1 == .invalidControlFrame)
        let big = WebSocketFrame(opcode: .binary, payload: [UInt8](repeating: 0, count: 101)).encoded(maskKey: key)
        #expect(parse([big], max: 100).1 == .messageTooLarge(limit: 100))
        #expect(parse([[0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]]).1 == .invalidLength)
        #expect(WebSocketError.messageTooLarge(limit: 1).closeCode == 1009)
        #expect(WebSocketError.invalidUTF8.closeCode == 1007)
        #expect(WebSocketError.maskingViolation.closeCode == 1002)
    }

    @Test func fragments_areReassembled_withControlFramesInBetween() throws {
        var assembler = WebSocketMessageAssembler(maxMessageBytes: 10)
        #expect(try assembler.add(WebSocketFrame(fin: false, opcode: .text, payload: Array("Hel".utf8))) == nil)
        #expect(try assembler.add(WebSocketFrame(opcode: .ping, payload: [1])) == .ping([1]))
        #expect(try assembler.add(WebSocketFrame(fin: true, opcode: .continuation, payload: Array("lo".utf8))) == .text("Hello"))
        #expect(throws: WebSocketError.unexpectedContinuation) { try assembler.add(WebSocketFrame(opcode: .continuation, payload: [])) }
        var a2 = WebSocketMessageAssembler(maxMessageBytes: 10)
        _ = try a2.add(WebSocketFrame(fin: false, opcode: .binary, payload: [1]))
        #expect(throws: WebSocketError.expectedContinuation) { try a2.add(WebSocketFrame(opcode: .text, payload: [])) }
        var a3 = WebSocketMessageAssembler(maxMessageBytes: 4)
        _ = try a3.add(WebSocketFrame(fin: false, opcode: .binary, payload: [1, 2, 3]))
        #expect(throws: WebSocketError.messageTooLarge(limit: 4)) { try a3.add(WebSocketFrame(opcode: .continuation, payload: [4, 5])) }
        var a4 = WebSocketMessageAssembler(maxMessageBytes: 10)
        #expect(throws: WebSocketError.invalidUTF8) { try a4.add(WebSocketFrame(opcode: .text, payload: [0xC3])) }
    }

    @Test func closeFrames_carryCodeAndReason() throws {
        var a = WebSocketMessageAssembler(maxMessageBytes: 10)
        #expect(try a.add(WebSocketFrame(opcode: .close, payload: [])) == .close(code: 1005, reason: ""))
        #expect(try a.add(WebSocketFrame(opcode: .close, payload: [0x03, 0xE8, 0x62, 0x79, 0x65])) == .close(code: 1000, reason: "bye"))
        #expect(throws: WebSocketError.invalidClosePayload) { try a.add(WebSocketFrame(opcode: .close, payload: [3])) }
        #expect(throws: WebSocketError.invalidClosePayload) { try a.add(WebSocketFrame(opcode: .close, payload: [0x03, 0xED])) }  // 1005 may not be sent
        #expect(WebSocketFrame.close(code: 1001) == [0x88, 0x02, 0x03, 0xE9])
    }

    @Test func handshake_validatesTheKey() throws {
        let headers: HTTPHeaders = ["Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13"]
        #expect(try WebSocketHandshake.acceptKeyInput(method: "GET", headers: headers) == "dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
        #expect(throws: WebSocketHandshake.Problem.notGet("POST")) { try WebSocketHandshake.acceptKeyInput(method: "POST", headers: headers) }
        #expect(throws: WebSocketHandshake.Problem.badKey("abc")) {
            try WebSocketHandshake.acceptKeyInput(method: "GET", headers: ["Sec-WebSocket-Key": "abc", "Sec-WebSocket-Version": "13"])
        }
        #expect(throws: WebSocketHandshake.Problem.unsupportedVersion("8")) {
            try WebSocketHandshake.acceptKeyInput(method: "GET", headers: ["Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "8"])
        }
    }
}
