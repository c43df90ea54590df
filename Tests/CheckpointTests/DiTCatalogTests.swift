import Foundation
import Testing
import TensorCore
@testable import Checkpoint
@testable import ModelCatalog

/// Small synthetic DiT files (scale 64: head dimension 2), written once per process.
enum SyntheticDiT {
    static let folder = temporaryFolder()
    /// Flux.1-dev as an all-in-one checkpoint names it (`model.diffusion_model.` prefix).
    static let fluxAllInOne: String = write(.flux, .all, "flux_dev_s64.safetensors")
    /// Flux.1-schnell as a diffusion-model-only file (no prefix, no guidance_in).
    static let schnellOnly: String = write(.fluxSchnell, .diffusionModel, "flux_schnell_s64.safetensors")
    /// SD3.5 large as a diffusion-model-only file.
    static let sd35Only: String = write(.sd35, .diffusionModel, "sd35_s64.safetensors")

    static func write(_ layout: SyntheticCheckpoint.Layout, _ parts: SyntheticCheckpoint.Parts, _ name: String) -> String {
        let p = folder + "/" + name
        try! SyntheticCheckpoint.write(layout: layout, scale: 64, dtype: .bf16, parts: parts, seed: 0, to: p)
        return p
    }
}

@Suite struct DiTCatalogTests {
    func blocks(_ layers: [Layer]) -> [String] {
        var seen: [String] = []
        for l in layers { if let b = l.block, !seen.contains(b) { seen.append(b) } }
        return seen
    }

    @Test func fluxAllInOne_isFluxDevWithDoubleAndSingleBlocksInModelOrder() throws {
        let catalog = LayerCatalog(checkpoint: try CheckpointFile.open(path: SyntheticDiT.fluxAllInOne))
        #expect(catalog.family == .flux)
        #expect(catalog.identity.variant == "Flux.1-dev")
        #expect(catalog.identity.blocks == .flux(double: 19, single: 38))
        #expect(catalog.identity.naming == .original)
        #expect(catalog.diffusionPrefix == "model.diffusion_model.")
        // Registration order of Black Forest Labs' Flux class, not the file's alphabetical order.
        #expect(Array(catalog.layers.prefix(9).map(\.name)) == [
            "img_in", "time_in.in_layer", "time_in.out_layer", "vector_in.in_layer", "vector_in.out_layer",
            "guidance_in.in_layer", "guidance_in.out_layer", "txt_in", "double_blocks.0.img_mod.lin"])
        #expect(Array(catalog.layers.suffix(2).map(\.name)) == ["final_layer.linear", "final_layer.adaLN_modulation.1"])
        #expect(catalog.layers.count == 8 + 19 * 10 + 38 * 3 + 2)
        let labels = blocks(catalog.layers)
        #expect(labels == (0..<19).map { BlockScheme.label("D", $0) } + (0..<38).map { BlockScheme.label("S", $0) })
        let byName = Dictionary(catalog.layers.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        #expect(byName["double_blocks.7.txt_attn.qkv"]?.block == "D07")
        #expect(byName["single_blocks.12.linear1"]?.block == "S12")
        #expect(byName["txt_in"]?.block == nil)
        #expect(byName["double_blocks.0.img_attn.qkv"]?.shape == [3 * 48, 48])  // hidden 24 heads × 2
    }

    @Test func fluxBlockGrammar_rangesCrossFromDoubleToSingle() throws {
        let catalog = LayerCatalog(checkpoint: try CheckpointFile.open(path: SyntheticDiT.fluxAllInOne))
        #expect(blocks(try catalog.filter("D18-S00")) == ["D18", "S00"])
        #expect(blocks(try catalog.filter("D17-S01")) == ["D17", "D18", "S00", "S01"])
        #expect(blocks(try catalog.filter("D00-S37(+4)")) == ["D00", "D04", "D08", "D12", "D16", "S01", "S05", "S09", "S13",
                                                              "S17", "S21", "S25", "S29", "S33", "S37"])
        #expect(blocks(try catalog.filter("s3, d2 ,S37")) == ["D02", "S03", "S37"])
        #expect(try catalog.filter("D00-S37").count == 19 * 10 + 38 * 3)
        for bad in ["D19", "S38", "S00-D18", "IN00", "J00", "D00-S37(+0)", "D01,"] {
            #expect(throws: CatalogError.self, "\(bad)") { try catalog.filter(bad) }
        }
        do {
            _ = try catalog.filter("S38")
        } catch {
            #expect(error.description.contains("Flux.1-dev has no block S38 (it has D00-D18, S00-S37)"))
        }
    }

    @Test func fluxSubstringAndGlobFilters_keepWorking() throws {
        let catalog = LayerCatalog(checkpoint: try CheckpointFile.open(path: SyntheticDiT.fluxAllInOne))
        #expect(try catalog.filter("img_attn.qkv").count == 19)
        #expect(try catalog.filter("double_blocks.1.").count == 10)
        #expect(try catalog.filter("single_blocks.*.linear?").count == 76)
        #expect(try catalog.filter("modulation").count == 38 + 1)  // single blocks' modulation.lin, final adaLN_modulation
    }

    @Test func diffusionModelOnlyFlux_hasNoPrefixAndSchnellHasNoGuidance() throws {
        let file = try CheckpointFile.open(path: SyntheticDiT.schnellOnly)
        #expect(file.entries.allSatisfy { !$0.name.hasPrefix("model.") })
        let catalog = LayerCatalog(checkpoint: file)
        #expect(catalog.family == .flux)
        #expect(catalog.identity.variant == "Flux.1-schnell")
        #expect(catalog.diffusionPrefix == "")
        #expect(!catalog.layers.contains { $0.name.hasPrefix("guidance_in") })
        let qkv = try catalog.layer(named: "double_blocks.3.img_attn.qkv")
        #expect(qkv.weightKey == "double_blocks.3.img_attn.qkv.weight")
        #expect(qkv.block == "D03")
        #expect(try catalog.layer(named: "double_blocks.3.img_attn.qkv.weight") == qkv)
    }

    @Test func sd35_isDetectedWithJointBlocksAndPreOnlyLastContextBlock() throws {
        let catalog = LayerCatalog(checkpoint: try CheckpointFile.open(path: SyntheticDiT.sd35Only))
        #expect(catalog.family == .sd3)
        #expect(catalog.identity.blocks == .mmdit(joint: 38))
        #expect(catalog.identity.variant.hasPrefix("SD3.5 large"))
        #expect(Array(catalog.layers.prefix(7).map(\.name)) == [
            "x_embedder.proj", "t_embedder.mlp.0", "t_embedder.mlp.2", "y_embedder.mlp.0", "y_embedder.mlp.2",
            "context_embedder", "joint_blocks.0.context_block.attn.qkv"])
        #expect(Array(catalog.layers.suffix(2).map(\.name)) == ["final_layer.linear", "final_layer.adaLN_modulation.1"])
        #expect(blocks(catalog.layers) == (0..<38).map { BlockScheme.label("J", $0) })
        let last = try catalog.filter("J37").map(\.name)
        #expect(!last.contains("joint_blocks.37.context_block.attn.proj"))
        #expect(last.contains("joint_blocks.37.x_block.attn.proj"))
        #expect(blocks(try catalog.filter("J00-J37(+10)")) == ["J00", "J10", "J20", "J30"])
        #expect(try catalog.filter("x_block.mlp.fc1").count == 38)
        #expect(throws: CatalogError.self) { try catalog.filter("J38") }
        #expect(throws: CatalogError.self) { try catalog.filter("D00") }
    }

    @Test func sd3Variants_followBlockCountWidthAndSecondAttention() {
        #expect(DiffusionLayout.sd3Variant(blocks: 38, width: 2432, attn2: false) == "SD3.5 large")
        #expect(DiffusionLayout.sd3Variant(blocks: 24, width: 1536, attn2: true) == "SD3.5 medium")
        #expect(DiffusionLayout.sd3Variant(blocks: 24, width: 1536, attn2: false) == "SD3 medium")
        #expect(DiffusionLayout.sd3Variant(blocks: 12, width: 768, attn2: false) == "SD3 type (12 joint blocks, width 768)")
    }

    @Test func blockGrammar_isPureAndTellsLabelsFromSubstrings() throws {
        #expect(BlockGrammar.looksLikeBlocks("D00-S37(+4)"))
        #expect(BlockGrammar.looksLikeBlocks("j12"))
        #expect(BlockGrammar.looksLikeBlocks("IN04, M00"))
        for text in ["double_blocks.1", "single_blocks.0.linear1", "mlp0", "s", "joint_blocks.3", "D", "x_block"] {
            #expect(!BlockGrammar.looksLikeBlocks(text), "\(text)")
        }
        #expect(try BlockGrammar.resolve("D18-S00", scheme: .flux(double: 19, single: 38), modelName: "Flux") == ["D18", "S00"])
        #expect(try BlockGrammar.resolve("j1-J3", scheme: .mmdit(joint: 24), modelName: "SD3") == ["J01", "J02", "J03"])
        #expect(try BlockGrammar.resolve("IN08-OUT00", family: .sdxl) == ["IN08", "M00", "OUT00"])
        #expect(BlockScheme.flux(double: 19, single: 38).summary == "D00-D18, S00-S37")
    }

    @Test func anyTensorKey_isInspectableByItsKey() throws {
        // The defect: keys that are not a `.weight` answered "No layer named …".
        let header = #"{"encoder.layernorm.weight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"#
            + #""encoder.layernorm.bias":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},"#
            + #""embeddings.position_ids":{"dtype":"I64","shape":[1,3],"data_offsets":[16,40]}}"#
        var data = floatBytes([1, 2, 0.5, -0.5])
        for i in 0..<3 { var v = Int64(i).littleEndian; withUnsafeBytes(of: &v) { data.append(contentsOf: $0) } }
        let path = writeTemporary(safetensorsBytes(header: header, data: data), name: "keys.safetensors")
        let catalog = LayerCatalog(checkpoint: try CheckpointFile.open(path: path))
        let bias = try catalog.layer(named: "encoder.layernorm.bias")
        #expect(bias.weightKey == "encoder.layernorm.bias" && bias.shape == [2])
        #expect(try catalog.loadWeight(bias).values == [0.5, -0.5])
        let ids = try catalog.layer(named: "embeddings.position_ids")
        #expect(ids.dtype == .i64 && ids.shape == [1, 3])
        #expect(try catalog.loadWeight(ids).values == [0, 1, 2])
        #expect(try catalog.layer(named: "encoder.layernorm").weightKey == "encoder.layernorm.weight")
        #expect(throws: CatalogError.self) { try catalog.layer(named: "encoder.layernorm.gamma") }
        // Inside a diffusion model the key names the tensor too, prefix or not.
        let flux = LayerCatalog(checkpoint: try CheckpointFile.open(path: SyntheticDiT.fluxAllInOne))
        let norm = try flux.layer(named: "model.diffusion_model.double_blocks.2.img_attn.norm.key_norm.scale")
        #expect(norm.name == "double_blocks.2.img_attn.norm.key_norm.scale" && norm.block == "D02" && norm.part == "unet")
        #expect(try flux.layer(named: "model.diffusion_model.img_in.bias").shape == [48])
    }
}
