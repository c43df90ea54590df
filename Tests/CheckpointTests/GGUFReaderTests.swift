import Foundation
import Testing
import TensorCore
@testable import Checkpoint
@testable import ModelCatalog

/// GGUF files written by llama.cpp's gguf-py (Tests/Fixtures/tools/make_gguf_fixtures.py; versions
/// in versions.txt), compared bit for bit with gguf-py's own dequantization.
enum GGUFFixtures {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/tools/gguf").path
    static let types = folder + "/types.gguf"
    static let v2 = folder + "/v2_align64.gguf"

    struct Expected: Decodable {
        struct Tensor: Decodable { let name: String; let type: String; let shape: [Int]; let offset: Int; let count: Int }
        let tensors: [Tensor]
    }

    static let expected: Expected = {
        let data = FileManager.default.contents(atPath: folder + "/types.expected.json")!
        return try! JSONDecoder().decode(Expected.self, from: data)
    }()

    /// gguf-py's float32 values of every tensor, as bit patterns.
    static let expectedBits: [UInt32] = {
        let data = FileManager.default.contents(atPath: folder + "/types.expected.f32")!
        return data.withUnsafeBytes { raw in
            (0..<(raw.count / 4)).map { UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)) }
        }
    }()
}

@Suite struct GGUFReaderTests {
    @Test func everyTypeMatchesGGUFPyBitForBit() throws {
        let f = try CheckpointFile.open(path: GGUFFixtures.types)
        #expect(f.format == .gguf)
        let names = Set(GGUFFixtures.expected.tensors.map(\.type))
        #expect(names.isSuperset(of: ["F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0",
                                      "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"]))
        for t in GGUFFixtures.expected.tensors {
            let entry = try #require(f.entry(named: t.name))
            #expect(entry.shape == t.shape, "\(t.name)")
            #expect(entry.storedType == t.type, "\(t.name)")
            let values = try f.loadTensor(t.name)
            #expect(values.shape == t.shape)
            let want = GGUFFixtures.expectedBits[t.offset..<(t.offset + t.count)]
            let mismatches = zip(values.values, want).enumerated().filter { $0.element.0.bitPattern != $0.element.1 }
            #expect(mismatches.isEmpty, "\(t.name): \(mismatches.count) values differ, first at \(mismatches.first?.offset ?? -1)")
        }
    }

    @Test func shapesArePyTorchOrderAndComfyOrigShapeIsApplied() throws {
        let f = try CheckpointFile.open(path: GGUFFixtures.types)
        #expect(f.entry(named: "conv.weight")?.shape == [8, 4, 3, 3])
        #expect(f.entry(named: "conv.weight")?.dtype == .f16)
        #expect(f.entry(named: "conv.weight")?.quantization == nil)
        #expect(f.entry(named: "five.weight")?.shape == [32, 4, 2, 2, 2])
        #expect(f.entry(named: "five.weight")?.storedType == "Q8_0")
        let header = try MappedFile(path: GGUFFixtures.types)
        let parsed = try GGUFReader.parse(header.bytes, path: GGUFFixtures.types)
        #expect(parsed.version == 3 && parsed.alignment == 32)
        #expect(parsed.tensors.first { $0.name == "five.weight" }?.storedDimensions == [32, 32])
        #expect(parsed.tensors.first { $0.name == "w.Q4_K" }?.storedDimensions == [512, 4])
    }

    @Test func metadataOfEveryValueType() throws {
        let f = try CheckpointFile.open(path: GGUFFixtures.types)
        let m = Dictionary(f.metadata.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        #expect(m["general.architecture"] == "flux")
        #expect(m["test.uint8"] == "200" && m["test.int8"] == "-100")
        #expect(m["test.uint16"] == "60000" && m["test.int16"] == "-30000")
        #expect(m["test.uint32"] == "4000000000" && m["test.int32"] == "-2000000000")
        #expect(m["test.uint64"] == "18000000000000000000" && m["test.int64"] == "-9000000000000000000")
        #expect(m["test.float32"] == "0.25" && m["test.float64"] == "-1.5")
        #expect(m["test.bool"] == "true")
        #expect(m["test.string"] == "Grüße, GGUF")
        #expect(m["test.array_int"] == "[1, -2, 3]")
        #expect(m["test.array_string"] == #"["a", "bc"]"#)
        #expect(m["test.array_nested"] == "[[1, 2], [3]]")
        #expect(m["test.array_long"] == "[100 INT32 values]")
        #expect(m["comfy.gguf.orig_shape.five.weight"] == "[32, 4, 2, 2, 2]")
    }

    @Test func typeWithoutDequantizationNamesTheType() throws {
        let f = try CheckpointFile.open(path: GGUFFixtures.types)
        #expect(f.entry(named: "iq.weight")?.storedType == "IQ4_NL")
        #expect(f.entry(named: "iq.weight")?.shape == [2, 64])
        do {
            _ = try f.loadTensor("iq.weight")
            Issue.record("IQ4_NL loaded")
        } catch {
            #expect(error == .unsupportedGGMLType(path: f.path, tensor: "iq.weight", type: "IQ4_NL"))
            #expect(error.description.contains("IQ4_NL"))
        }
    }

    @Test func version2WithAlignment64() throws {
        let f = try CheckpointFile.open(path: GGUFFixtures.v2)
        let file = try MappedFile(path: GGUFFixtures.v2)
        let header = try GGUFReader.parse(file.bytes, path: GGUFFixtures.v2)
        #expect(header.version == 2 && header.alignment == 64 && header.dataStart % 64 == 0)
        #expect(try f.loadTensor("b.bias").values == [0, 1, 2])
        #expect(f.entry(named: "a.weight")?.shape == [2, 64])
        #expect(f.entry(named: "a.weight")?.storedType == "Q8_0")
    }

    @Test func catalogListsGGUFLayersWithTheirStoredType() throws {
        let catalog = LayerCatalog(checkpoint: try CheckpointFile.open(path: GGUFFixtures.types))
        let layer = try catalog.layer(named: "w.Q4_K")
        #expect(layer.storedType == "Q4_K" && layer.shape == [4, 512])
        #expect(try catalog.loadWeight(layer).count == 2048)
    }

    @Test func truncatedFixtureFailsCleanlyAtManyLengths() throws {
        let bytes = [UInt8](FileManager.default.contents(atPath: GGUFFixtures.types)!)
        var n = 0
        while n < bytes.count {
            let path = writeTemporary(Array(bytes.prefix(n)), name: "t.gguf")
            #expect(openError(path) != nil, "prefix \(n) opened")
            n += n < 600 ? 1 : 997
        }
    }
}
