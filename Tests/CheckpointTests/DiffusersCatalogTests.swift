import Foundation
import Testing
import TensorCore
import OrderedJSON
@testable import Checkpoint
@testable import ModelCatalog

/// Files written by the real diffusers / safetensors / torch packages
/// (Tests/Fixtures/tools/make_fixtures.py; versions in versions.txt).
func generatedFixture(_ name: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/tools/" + name).path
}

@Suite struct DiffusersCatalogTests {
    func expectedLayers(_ name: String) throws -> [String] {
        try String(contentsOfFile: generatedFixture(name + ".layers.txt"), encoding: .utf8).split(separator: "\n").map(String.init)
    }

    func blocks(_ layers: [Layer]) -> [String] {
        var seen: [String] = []
        for l in layers { if let b = l.block, !seen.contains(b) { seen.append(b) } }
        return seen
    }

    @Test func diffusersFluxFolder_opensItsShardsAndListsLikeNamedModules() throws {
        // The pipeline-style folder: the transformer/ subfolder holds five shards and their index.
        let file = try CheckpointFile.open(path: generatedFixture("diffusers_flux"))
        #expect(file.path.hasSuffix("transformer/diffusion_pytorch_model.safetensors.index.json"))
        let catalog = LayerCatalog(checkpoint: file)
        #expect(catalog.family == .flux)
        #expect(catalog.identity.naming == .diffusers)
        #expect(catalog.identity.blocks == .flux(double: 2, single: 3))
        #expect(catalog.identity.variant.hasPrefix("Flux.1-dev"))  // guidance_embedder present
        #expect(catalog.diffusionPrefix == "")
        #expect(catalog.layers.map(\.name) == (try expectedLayers("diffusers_flux")))
        #expect(blocks(catalog.layers) == ["D00", "D01", "S00", "S01", "S02"])
        let byName = Dictionary(catalog.layers.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        #expect(byName["transformer_blocks.1.attn.add_q_proj"]?.block == "D01")
        #expect(byName["single_transformer_blocks.2.proj_mlp"]?.block == "S02")
        #expect(byName["time_text_embed.guidance_embedder.linear_1"]?.block == nil)
        #expect(blocks(try catalog.filter("D01-S00")) == ["D01", "S00"])
        #expect(try catalog.filter("attn.to_q").count == 5)
        #expect(try catalog.filter("single_transformer_blocks.*.proj_out").count == 3)
    }

    @Test func diffusersSD3File_isJointBlocks() throws {
        let catalog = LayerCatalog(checkpoint: try CheckpointFile.open(
            path: generatedFixture("diffusers_sd3/transformer/diffusion_pytorch_model.safetensors")))
        #expect(catalog.family == .sd3)
        #expect(catalog.identity.naming == .diffusers)
        #expect(catalog.identity.blocks == .mmdit(joint: 3))
        #expect(catalog.layers.map(\.name) == (try expectedLayers("diffusers_sd3")))
        #expect(blocks(catalog.layers) == ["J00", "J01", "J02"])
        #expect(try catalog.filter("J02").allSatisfy { $0.name.hasPrefix("transformer_blocks.2.") })
        #expect(try catalog.filter("J02").count == catalog.layers.filter { $0.name.hasPrefix("transformer_blocks.2.") }.count)
        #expect(throws: CatalogError.self) { try catalog.filter("J03") }
    }

    @Test func diffusersUNetFolder_getsLDMBlockLabels() throws {
        let catalog = LayerCatalog(checkpoint: try CheckpointFile.open(path: generatedFixture("diffusers_unet")))
        #expect(catalog.identity.naming == .diffusers)
        // Two down blocks of two layers: conv_in, 2 + downsampler, 2 → IN00-IN05; up blocks of 3 → OUT00-OUT05.
        #expect(catalog.identity.blocks == .unet(count: 6))
        #expect(catalog.layers.map(\.name) == (try expectedLayers("diffusers_unet")))
        let byName = Dictionary(catalog.layers.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let expected: [(String, String?)] = [
            ("conv_in", "IN00"), ("time_embedding.linear_1", nil), ("down_blocks.0.resnets.0.conv1", "IN01"),
            ("down_blocks.0.attentions.1.proj_in", "IN02"), ("down_blocks.0.downsamplers.0.conv", "IN03"),
            ("down_blocks.1.resnets.0.conv_shortcut", "IN04"), ("down_blocks.1.resnets.1.conv2", "IN05"),
            ("mid_block.attentions.0.transformer_blocks.0.attn2.to_k", "M00"), ("mid_block.resnets.1.conv1", "M00"),
            ("up_blocks.0.resnets.0.conv1", "OUT00"), ("up_blocks.0.resnets.2.conv2", "OUT02"),
            ("up_blocks.0.upsamplers.0.conv", "OUT02"), ("up_blocks.1.attentions.0.proj_out", "OUT03"),
            ("up_blocks.1.resnets.2.conv1", "OUT05"), ("conv_out", nil),
        ]
        for (name, label) in expected { #expect(byName[name]?.block == label, "\(name)") }
        // diffusers registers up_blocks before mid_block, so the list shows OUT00 before M00.
        #expect(blocks(try catalog.filter("IN05-OUT00")) == ["IN05", "OUT00", "M00"])
        #expect(try catalog.filter("IN00-OUT05").count == catalog.layers.filter { $0.block != nil }.count)
    }

    @Test func scaledFP8_isAnalysedAsValueTimesScale() throws {
        let catalog = LayerCatalog(checkpoint: try CheckpointFile.open(path: generatedFixture("scaled_fp8.safetensors")))
        let expected = try JSON.parse(Array(try Data(contentsOf: URL(fileURLWithPath: generatedFixture("scaled_fp8.expected.json")))))
        func values(_ name: String) -> [Float] { expected[name]?.arrayValue?.compactMap { $0.doubleValue.map(Float.init) } ?? [] }

        let scalar = try catalog.layer(named: "img_in")
        #expect(scalar.dtype == .f8e4m3)
        #expect(scalar.scaleKey == "model.diffusion_model.img_in.scale_weight")
        #expect(try catalog.loadWeight(scalar).values == values("img_in"))

        let perChannel = try catalog.layer(named: "txt_in")
        #expect(perChannel.dtype == .f8e5m2)
        #expect(perChannel.scaleKey == "model.diffusion_model.txt_in.weight_scale")
        #expect(try catalog.loadWeight(perChannel).values == values("txt_in"))

        let plain = try catalog.layer(named: "plain")
        #expect(plain.scaleKey == nil)
        #expect(try catalog.loadWeight(plain).values == values("plain"))
        // The scales and the marker are tensors of the file, not layers.
        #expect(!catalog.layers.contains { $0.name.contains("scale") || $0.name.contains("scaled_fp8") })
    }
}
