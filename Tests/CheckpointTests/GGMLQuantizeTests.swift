import Foundation
import Testing
import TensorCore
@testable import Checkpoint

/// The GGUF writer's quantizer: byte for byte gguf-py's `gguf.quants.quantize` on the values it
/// quantized for the fixtures, and K-quants within half a quantisation step.
@Suite struct GGMLQuantizeTests {
    struct Source: Decodable { let name: String; let type: String; let source_offset: Int?; let count: Int }
    struct Index: Decodable { let tensors: [Source] }

    @Test func matchesGGUFPyQuantizeByteForByte() throws {
        let index = try JSONDecoder().decode(Index.self, from: FileManager.default.contents(atPath: GGUFFixtures.folder + "/types.expected.json")!)
        let sources = [UInt8](FileManager.default.contents(atPath: GGUFFixtures.folder + "/types.source.f32")!)
        let file = try MappedFile(path: GGUFFixtures.types)
        let header = try GGUFReader.parse(file.bytes, path: GGUFFixtures.types)
        var checked: [String] = []
        for t in index.tensors {
            guard let offset = t.source_offset else { continue }
            let info = try #require(header.tensors.first { $0.name == t.name })
            let values = (0..<t.count).map { i in
                Float(bitPattern: UInt32(sources[4 * (offset + i)]) | UInt32(sources[4 * (offset + i) + 1]) << 8
                      | UInt32(sources[4 * (offset + i) + 2]) << 16 | UInt32(sources[4 * (offset + i) + 3]) << 24)
            }
            var ours = [UInt8](repeating: 0xAA, count: info.byteCount)
            values.withUnsafeBufferPointer { src in
                ours.withUnsafeMutableBytes { quantizeGGML(src.baseAddress!, count: t.count, type: info.type, into: $0.baseAddress!) }
            }
            let theirs = [UInt8](file.bytes[info.fileOffset..<(info.fileOffset + info.byteCount)])
            let differing = zip(ours, theirs).enumerated().filter { $0.element.0 != $0.element.1 }.map(\.offset)
            #expect(differing.isEmpty, "\(t.name): \(differing.count) bytes differ, first at \(differing.first ?? -1)")
            checked.append(info.type.name)
        }
        #expect(checked.sorted() == ["BF16", "F16", "F32", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0"])
    }

    /// Blocks of varied shapes: Gaussian at several scales, all positive, all negative, constant,
    /// zero, one outlier, sub-blocks of very different ranges.
    static func testValues(count: Int) -> [Float] {
        var rng = SplitMix64(seed: 5)
        var v = [Float](repeating: 0, count: count)
        for b in 0..<(count / 256) {
            let kind = b % 8
            for i in 0..<256 {
                let g = rng.nextSigned()
                let e = b * 256 + i
                switch kind {
                case 0: v[e] = g * 0.02
                case 1: v[e] = abs(g) * 3 + 0.5
                case 2: v[e] = -abs(g) * 0.001 - 0.002
                case 3: v[e] = 0.75
                case 4: v[e] = 0
                case 5: v[e] = i == 77 ? 40 : g * 0.01
                case 6: v[e] = g * Float(1 << (i / 32)) * 0.001
                default: v[e] = g * 100
                }
            }
        }
        return v
    }

    @Test(arguments: [GGMLType.q2_K, .q3_K, .q4_K, .q5_K, .q6_K])
    func kQuantsWithinHalfAStep(type: GGMLType) {
        let values = Self.testValues(count: 256 * 32)
        let size = type.blockGeometry.bytes
        var bytes = [UInt8](repeating: 0, count: values.count / 256 * size)
        values.withUnsafeBufferPointer { src in
            bytes.withUnsafeMutableBytes { quantizeGGML(src.baseAddress!, count: values.count, type: type, into: $0.baseAddress!) }
        }
        let back = bytes.withUnsafeBytes { dequantizeGGML($0.baseAddress!, type: type, count: values.count) }
        var worst: Float = 0
        bytes.withUnsafeBytes { raw in
            for b in 0..<(values.count / 256) {
                let steps = ggmlKQuantSteps(raw.baseAddress! + b * size, type: type)!
                for i in 0..<256 {
                    let e = b * 256 + i
                    let error = abs(back[e] - values[e])
                    let bound = 0.5 * steps[i] * 1.0001 + 1e-6 * abs(values[e])
                    #expect(error <= bound, "\(type.name) block \(b) value \(i): \(values[e]) -> \(back[e]), step \(steps[i])")
                    if steps[i] > 0 { worst = max(worst, error / steps[i]) }
                }
            }
        }
        #expect(worst > 0.3, "the bound is not exercised (worst \(worst) steps)")
    }

    @Test func writerHeaderReadsBack() throws {
        let tensors = [GGUFWriter.Tensor(name: "a.weight", shape: [2, 64], type: .q8_0),
                       GGUFWriter.Tensor(name: "b", shape: [3], type: .f32),
                       GGUFWriter.Tensor(name: "s", shape: [], type: .f32)]
        let (header, offsets) = GGUFWriter.header(metadata: [("general.architecture", .string("flux")), ("n", .uint32(7)),
                                                             ("comfy.gguf.orig_shape.b", .int32Array([1, 3]))], tensors: tensors)
        #expect(header.count % 32 == 0 && offsets == [0, 160, 192])  // 4 Q8_0 blocks of 34 bytes, padded
        let a = (0..<128).map { Float($0) / 64 - 1 }
        var data = [UInt8](repeating: 0, count: 224)
        a.withUnsafeBufferPointer { src in data.withUnsafeMutableBytes { quantizeGGML(src.baseAddress!, count: 128, type: .q8_0, into: $0.baseAddress!) } }
        data.replaceSubrange(160..<172, with: floatBytes([1, 2, 3]))
        data.replaceSubrange(192..<196, with: floatBytes([9]))
        let f = try CheckpointFile.open(path: writeTemporary(header + data, name: "w.gguf"))
        #expect(f.entries.map(\.name) == ["a.weight", "b", "s"])
        #expect(f.entry(named: "b")?.shape == [1, 3] && f.entry(named: "s")?.shape == [])
        #expect(try f.loadTensor("b").values == [1, 2, 3] && f.loadTensor("s").values == [9])
        let back = try f.loadTensor("a.weight").values
        #expect(zip(back, a).allSatisfy { abs($0 - $1) <= 1.0 / 127 })
        #expect(f.metadata.map(\.value) == ["flux", "7", "[1, 3]"])
    }
}
