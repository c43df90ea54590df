import Foundation
import Testing
@testable import Render
import TensorCore

/// Views of real trained weights (Tests/Fixtures/real, see its README for origin and licence).
@Suite struct RealFixtureTests {
    /// Reads one F32 tensor from a safetensors file with a minimal parser: enough for a test,
    /// and keeps RenderTests independent of the Checkpoint module.
    static func loadF32(_ file: String, _ key: String) throws -> Tensor {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../Fixtures/real/\(file)").standardized
        let data = [UInt8](try Data(contentsOf: url))
        let n = data[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = String(decoding: data[8..<(8 + n)], as: UTF8.self)
        let entry = try #require(header.range(of: "\"\(key)\":{"))
        let body = header[entry.upperBound...].prefix { $0 != "}" }
        func numbers(after label: String) throws -> [Int] {
            let r = try #require(body.range(of: "\"\(label)\":["))
            return body[r.upperBound...].prefix { $0 != "]" }.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        }
        #expect(body.contains("\"F32\""))
        let shape = try numbers(after: "shape"), offsets = try numbers(after: "data_offsets")
        let start = 8 + n + offsets[0], count = (offsets[1] - offsets[0]) / 4
        var values = [Float](repeating: 0, count: count)
        for i in 0..<count {
            let b = start + 4 * i
            values[i] = Float(bitPattern: UInt32(data[b]) | UInt32(data[b + 1]) << 8 | UInt32(data[b + 2]) << 16 | UInt32(data[b + 3]) << 24)
        }
        return Tensor(shape: shape, values: values)
    }

    @Test(arguments: [("facenet_onet.safetensors", "conv1.weight"), ("facenet_rnet.safetensors", "conv1.weight")])
    func firstRGBConv_showsColourFilters(file: String, key: String) throws {
        let t = try Self.loadF32(file, key)
        #expect(t.shape.count == 4 && t.shape[0] >= 16 && t.shape[1] == 3)
        let pic = try Picture(LayerRenderer.render(.weights, weight: t, layer: info(key, t))[0])
        #expect(pic.contains(text: "RGB", scale: 1, color: .mutedInk))
        // Trained first-layer filters are colour-selective: the RGB column holds strongly
        // saturated pixels (channel spread > 80), not just greys.
        var saturated = 0
        for y in 0..<pic.height { for x in 0..<min(pic.width, 200) {
            let c = pic.rgba(x, y)
            let hi = max(c.r, c.g, c.b), lo = min(c.r, c.g, c.b)
            if hi - lo > 80 { saturated += 1 }
        } }
        #expect(saturated > 2000)
        #expect(pic.contains(text: "out 15", scale: 2, color: .ink))
        #expect(pic.marginsAreClear())
    }

    @Test func realConv_expandedAndNMF_render() throws {
        let t = try Self.loadF32("facenet_onet.safetensors", "conv2.weight")
        for view in [ViewKind.expanded, .nmf, .histogram] {
            let pic = try Picture(LayerRenderer.render(view, weight: t, layer: info("conv2", t))[0])
            #expect(max(pic.width, pic.height) <= 2048)
            #expect(pic.distinctColors() > 20)
            #expect(pic.marginsAreClear())
        }
    }
}
