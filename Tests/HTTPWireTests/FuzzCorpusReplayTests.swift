import Foundation
import Testing
import HTTPWire

/// Every stored input of the HTTPWire fuzz targets (fuzz/corpus and fuzz/regressions) fed to the
/// real parsers: each gives values or a typed error. `bad-*` seeds must fail.
@Suite struct FuzzCorpusReplayTests {
    static func inputs(_ target: String) -> [(String, [UInt8])] {
        let fuzz = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fuzz")
        var out: [(String, [UInt8])] = []
        for kind in ["corpus", "regressions"] {
            let dir = fuzz.appendingPathComponent(kind).appendingPathComponent(target)
            for name in ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).sorted() {
                if let d = FileManager.default.contents(atPath: dir.appendingPathComponent(name).path) { out.append((name, Array(d))) }
            }
        }
        return out
    }

    @Test func multipartInputs_parseOrFailTyped() {
        let all = Self.inputs("MultipartFuzz")
        #expect(all.count >= 4)
        for (name, bytes) in all {
            let newline = bytes.firstIndex(of: 10) ?? bytes.count
            let contentType = String(decoding: bytes[..<newline], as: UTF8.self)
            let body = Array(bytes[min(bytes.count, newline + 1)...])
            switch Result(catching: { () throws(MultipartError) -> [MultipartPart] in
                try MultipartFormData.parse(body: body, contentType: contentType) }) {
            case .success(let parts):
                #expect(!name.hasPrefix("bad-"), "\(name) was accepted")
                #expect(parts.reduce(0) { $0 + $1.body.count } <= body.count)
            case .failure(let error):
                #expect(!error.description.isEmpty)
            }
        }
    }

    @Test func percentDecodingInputs_decodeOrRefuse() {
        let all = Self.inputs("PercentDecodingFuzz")
        #expect(all.count >= 4)
        for (_, bytes) in all {
            if let s = PercentDecoding.decodeSegment(bytes) {
                #expect(PercentDecoding.decodeSegment(Array(PercentDecoding.encode(s).utf8)) == s)
            }
            _ = PercentDecoding.pathSegments(String(decoding: bytes, as: UTF8.self))
            _ = PercentDecoding.query(String(decoding: bytes, as: UTF8.self))
        }
    }

    @Test func requestAndFrameInputs_parseOrFailTyped() {
        for (_, bytes) in Self.inputs("RequestParserFuzz") {
            var parser = RequestParser(limits: HTTPLimits(headerBytes: 2048, bodyBytes: 4096, chunkLineBytes: 64))
            parser.append(contentsOf: bytes)
            do { while try parser.next() != nil {} } catch { #expect([400, 413, 431, 501, 505].contains(error.status)) }
        }
        for (_, bytes) in Self.inputs("WebSocketFrameFuzz") {
            var parser = WebSocketFrameParser(maxPayloadBytes: 1024, expectMasked: true)
            parser.append(contentsOf: bytes)
            do { while try parser.next() != nil {} } catch { #expect([1002, 1007, 1009].contains(error.closeCode)) }
        }
    }
}
