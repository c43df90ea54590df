import Foundation
import Testing
import OrderedJSON

/// Every stored input of the OrderedJSON fuzz target (fuzz/corpus and fuzz/regressions) parses
/// and round-trips through the serializer, or fails with a `JSONError`; `bad-*` seeds must fail.
@Suite struct FuzzCorpusReplayTests {
    @Test func orderedJSONInputs_roundTripOrFailTyped() {
        let fuzz = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fuzz")
        var count = 0
        for kind in ["corpus", "regressions"] {
            let dir = fuzz.appendingPathComponent(kind).appendingPathComponent("OrderedJSONFuzz")
            for name in ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).sorted() {
                guard let data = FileManager.default.contents(atPath: dir.appendingPathComponent(name).path) else { continue }
                count += 1
                let limits = JSONLimits(maxDepth: 64, maxBytes: 1 << 20)
                switch Result(catching: { () throws(JSONError) -> JSON in try JSON.parse(Array(data), limits: limits) }) {
                case .success(let value):
                    #expect(!name.hasPrefix("bad-"), "\(name) was accepted")
                    let text = value.serialized()
                    #expect((try? JSON.parse(text, limits: limits))?.serialized() == text, "\(name) does not round-trip")
                case .failure(let error):
                    #expect(!error.description.isEmpty)
                }
            }
        }
        #expect(count >= 5)
    }
}
