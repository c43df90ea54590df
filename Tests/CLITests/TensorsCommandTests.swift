import Foundation
import OrderedJSON
import Testing
@testable import WeightLensCLI

/// `weightlens tensors`: every tensor with the FNV-1a checksum of its float32 values.
@Suite struct TensorsCommandTests {
    @Test func fnv1a64_matchesTheReferenceVectors() {
        // FNV-1a 64 of no bytes is the offset basis; of the bytes 00 00 80 3F (1.0f) computed by hand.
        #expect(TensorsCommand.fnv1a64([]) == 0xCBF2_9CE4_8422_2325)
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b: UInt8 in [0x00, 0x00, 0x80, 0x3F] { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        #expect(TensorsCommand.fnv1a64([1]) == h)
        #expect(TensorsCommand.fnv1a64([Float.nan]) == TensorsCommand.fnv1a64([-Float.nan]))
    }

    @Test func tensorsJSON_listsEveryTensorOfTheTorchTwinAndSafetensors() throws {
        let st = try JSON.parse(Array(try TensorsCommand.output(file: LayersCommandTests.fixtures + "/facenet_pnet.safetensors", json: true).utf8))
        let pt = try JSON.parse(Array(try TensorsCommand.output(file: LayersCommandTests.fixtures + "/facenet_pnet.pt", json: true).utf8))
        let a = try #require(st.arrayValue), b = try #require(pt.arrayValue)
        #expect(a.count == b.count && !a.isEmpty)
        // Same keys and the same values through both containers (the torch views are strided).
        var byKey: [String: String] = [:]
        for row in b { byKey[row["key"]!.stringValue!] = row["fnv1a64"]!.stringValue! }
        for row in a { #expect(byKey[row["key"]!.stringValue!] == row["fnv1a64"]!.stringValue!, "\(row)") }
        #expect(a[0]["fnv1a64"]?.stringValue?.count == 16)
    }
}
