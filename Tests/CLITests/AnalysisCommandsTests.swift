import Foundation
import OrderedJSON
import Testing
@testable import WeightLensCLI

/// `weightlens inspect`, `nmf` and `expand`, called in-process on the real MTCNN O-Net weights.
@Suite struct AnalysisCommandsTests {
    static let onet = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/real/facenet_onet.safetensors").path

    static func parse(_ text: String) throws -> JSON { try JSON.parse(Array(text.utf8)) }

    @Test func inspectJSON_hasTheDocumentedKeysAndValues() throws {
        let text = try InspectCommand.output(file: Self.onet, layer: "conv2", topK: 5, json: true)
        let object = try #require(try Self.parse(text).objectValue)
        #expect(object.keys == ["layer", "key", "shape", "dtype", "parameters", "stats", "singular_values", "spectral"])
        #expect(object["layer"]?.stringValue == "conv2")
        #expect(object["key"]?.stringValue == "conv2.weight")
        #expect(object["shape"]?.arrayValue?.compactMap(\.intValue) == [64, 32, 3, 3])
        #expect(object["parameters"]?.intValue == 18432)
        let stats = try #require(object["stats"]?.objectValue)
        #expect(stats.keys == ["mean", "std", "min", "max", "near_zero_fraction", "l2_norm"])
        let valueArray = try #require(object["singular_values"]?.arrayValue)
        let values = valueArray.compactMap { $0.doubleValue }
        #expect(values.count == 5)
        #expect(zip(values, values.dropFirst()).allSatisfy { $0 >= $1 })
        let spectral = try #require(object["spectral"]?.objectValue)
        #expect(spectral.keys == ["spectral_norm", "stable_rank", "effective_rank"])
        #expect(spectral["spectral_norm"]?.doubleValue == values[0])
        // ‖W‖F² / σ₁² from the stats' own L2 norm.
        let l2 = try #require(stats["l2_norm"]?.doubleValue)
        let stableRank = try #require(spectral["stable_rank"]?.doubleValue)
        #expect(abs(stableRank - l2 * l2 / (values[0] * values[0])) < 1e-3)
        // The effective rank needs the whole spectrum: only computed when asked.
        #expect(spectral["effective_rank"] == .null)
        let full = try #require(try Self.parse(InspectCommand.output(file: Self.onet, layer: "conv2", topK: 5, json: true,
                                                                     effectiveRank: true)).objectValue)
        let rank = try #require(full["spectral"]?.objectValue?["effective_rank"]?.doubleValue)
        #expect(rank > 1 && rank <= 64)
    }

    @Test func inspectText_listsTopKValues() throws {
        let text = try InspectCommand.output(file: Self.onet, layer: "dense5", topK: 3, json: false)
        #expect(text.contains("singular values (top 3):"))
        #expect(text.contains("shape       [256, 1152]"))
    }

    @Test func unknownLayer_failsWithSuggestions() {
        #expect(throws: (any Error).self) { try InspectCommand.output(file: Self.onet, layer: "conv9", topK: 4, json: false) }
    }

    @Test func nmfJSON_hasNonNegativeFactorsAndImageLoadings() throws {
        let text = try NMFCommand.output(file: Self.onet, layer: "conv2", rank: 3, channels: "0,1,2", json: true)
        let object = try #require(try Self.parse(text).objectValue)
        #expect(object["loadings_shape"]?.arrayValue?.compactMap(\.intValue) == [3, 3, 3, 3])
        let factors = try #require(object["factors"]?.arrayValue)
        #expect(factors.count == 3)
        #expect(factors.allSatisfy { ($0.arrayValue ?? []).count == 32 && ($0.arrayValue ?? []).allSatisfy { ($0.doubleValue ?? -1) >= 0 } })
        let error = try #require(object["relative_error"]?.doubleValue)
        #expect(error > 0 && error < 1)
    }

    @Test func expandChain_composesConvolutions() throws {
        let text = try ExpandCommand.output(file: Self.onet, layers: "conv2,conv3", attention: nil, heads: nil, topK: 4, json: true)
        let object = try #require(try Self.parse(text).objectValue)
        #expect(object["shape"]?.arrayValue?.compactMap(\.intValue) == [64, 32, 5, 5])
        #expect(throws: (any Error).self) {
            try ExpandCommand.output(file: Self.onet, layers: "conv3,conv2", attention: nil, heads: nil, topK: 4, json: false)
        }
        #expect(throws: (any Error).self) {
            try ExpandCommand.output(file: Self.onet, layers: "conv2", attention: nil, heads: nil, topK: 4, json: false)
        }
    }
}

/// `inspect` on scaled fp8 weights and on tensors that are not a `.weight`.
@Suite struct InspectKeysTests {
    static let generated = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/tools").path

    @Test func inspect_showsStoredDTypeAndScaleOfScaledFP8() throws {
        let file = Self.generated + "/scaled_fp8.safetensors"
        let text = try InspectCommand.output(file: file, layer: "img_in", topK: 2, json: false)
        #expect(text.contains("F8_E4M3"))
        #expect(text.contains("scale       0.05 from model.diffusion_model.img_in.scale_weight"))
        let json = try JSON.parse(Array(try InspectCommand.output(file: file, layer: "txt_in", topK: 2, json: true).utf8))
        #expect(json["dtype"]?.stringValue == "F8_E5M2")
        #expect(json["scale"]?["key"]?.stringValue == "model.diffusion_model.txt_in.weight_scale")
        #expect(json["scale"]?["values"]?.arrayValue?.compactMap(\.doubleValue) == [0.5, 2.0, 0.125])
    }

    @Test func inspect_acceptsAnyTensorKey() throws {
        let file = Self.generated + "/diffusers_sd3/transformer/diffusion_pytorch_model.safetensors"
        let text = try InspectCommand.output(file: file, layer: "transformer_blocks.0.attn.to_q.bias", topK: 1, json: false)
        #expect(text.contains("key         transformer_blocks.0.attn.to_q.bias"))
        #expect(text.contains("shape       [8] F32"))
    }
}
