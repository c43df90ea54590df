import Foundation
import Testing
import TensorCore
@testable import Checkpoint
@testable import ModelCatalog

/// Synthetic checkpoints are generated once per process at a small scale (never committed).
enum Synthetic {
    static let folder = temporaryFolder()
    static let sdxl: String = {
        let p = folder + "/sdxl_s16.safetensors"
        try! SyntheticCheckpoint.write(layout: .sdxl, scale: 16, dtype: .f16, parts: .all, seed: 0, to: p)
        return p
    }()
    static let sd15: String = {
        let p = folder + "/sd15_s16.safetensors"
        try! SyntheticCheckpoint.write(layout: .sd15, scale: 16, dtype: .bf16, parts: .all, seed: 0, to: p)
        return p
    }()
}

@Suite struct CatalogTests {
    @Test func sdxlSynthetic_listsExactlyTheLatentToolsNamesInOrder() throws {
        let expected = try String(contentsOfFile: fixture("lt_list_layers_sdxl.txt"), encoding: .utf8)
            .split(separator: "\n").map(String.init)
        #expect(expected.count == 1050)
        let catalog = LayerCatalog(checkpoint: try CheckpointFile.open(path: Synthetic.sdxl))
        #expect(catalog.family == .sdxl)
        #expect(catalog.layers.map(\.name) == expected)
        #expect(catalog.layers.allSatisfy { $0.part == "unet" })
        #expect(catalog.allLayers.contains { $0.part == "text_encoder_2" })
        #expect(catalog.allLayers.contains { $0.part == "vae" })
    }

    @Test func sdxlBlocks_followInputMiddleOutputNumbering() throws {
        let catalog = LayerCatalog(checkpoint: try CheckpointFile.open(path: Synthetic.sdxl))
        let byName = Dictionary(catalog.layers.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        #expect(byName["time_embed.0"]?.block == nil)
        #expect(byName["input_blocks.0.0"]?.block == "IN00")
        #expect(byName["input_blocks.4.1.transformer_blocks.0.attn1.to_q"]?.block == "IN04")
        #expect(byName["middle_block.1.proj_in"]?.block == "M00")
        #expect(byName["output_blocks.8.0.skip_connection"]?.block == "OUT08")
        #expect(byName["out.2"]?.block == nil)
        #expect(Set(catalog.layers.compactMap(\.block)).count == 19)
    }

    @Test func sd15Synthetic_isDetectedWithTwelveBlocks() throws {
        let file = try CheckpointFile.open(path: Synthetic.sd15)
        #expect(file.entries.contains { $0.dtype == .bf16 })
        let catalog = LayerCatalog(checkpoint: file)
        #expect(catalog.family == .sd1)
        #expect(catalog.layers.first?.name == "time_embed.0")
        #expect(catalog.layers.last?.name == "out.2")
        let blocks = catalog.layers.compactMap(\.block)
        #expect(Set(blocks).count == 25)
        #expect(blocks.first == "IN00")
        #expect(blocks.last == "OUT11")
        #expect(try catalog.filter("IN11").allSatisfy { $0.name.hasPrefix("input_blocks.11.") })
        #expect(throws: CatalogError.self) { try catalog.filter("IN12") }
    }

    @Test func blockGrammar_resolvesRangesStepsAndLists() throws {
        let catalog = LayerCatalog(checkpoint: try CheckpointFile.open(path: Synthetic.sdxl))
        func blocks(_ text: String) throws -> [String] {
            var seen: [String] = []
            for l in try catalog.filter(text) where !seen.contains(l.block!) { seen.append(l.block!) }
            return seen
        }
        #expect(try blocks("IN04") == ["IN04"])
        #expect(try blocks("IN07-OUT01") == ["IN07", "IN08", "M00", "OUT00", "OUT01"])
        #expect(try blocks("IN00-OUT08(+2)") == ["IN00", "IN02", "IN04", "IN06", "IN08", "OUT00", "OUT02", "OUT04", "OUT06", "OUT08"])
        #expect(try blocks("IN00-OUT08(+2)").count == 10)
        #expect(try blocks("M00, OUT03,IN01") == ["IN01", "M00", "OUT03"])
        #expect(try blocks("in4") == ["IN04"])
        #expect(try catalog.filter("IN00-OUT08").count == catalog.layers.filter { $0.block != nil }.count)
        for bad in ["IN09", "OUT02-IN01", "IN00-OUT08(+0)", "IN01,", "IN01-IN02-IN03", "IN01(+2)"] {
            #expect(throws: CatalogError.self, "\(bad)") { try catalog.filter(bad) }
        }
    }

    @Test func filter_substringAndGlob() throws {
        let catalog = LayerCatalog(checkpoint: try CheckpointFile.open(path: Synthetic.sdxl))
        #expect(try catalog.filter("").count == 1050)
        let q = try catalog.filter("attn1.to_q")
        #expect(q.count == 70)
        #expect(try catalog.filter("*.attn?.to_q") .count == 140)
        #expect(try catalog.filter("output_blocks.*.skip_connection").count == 9)
        #expect(try catalog.filter("no_such_thing").isEmpty)
    }

    @Test func layerLookup_byNameKeyAndErrors() throws {
        let catalog = LayerCatalog(checkpoint: try CheckpointFile.open(path: Synthetic.sdxl))
        let byName = try catalog.layer(named: "input_blocks.4.1.proj_in")
        let byKey = try catalog.layer(named: "model.diffusion_model.input_blocks.4.1.proj_in.weight")
        #expect(byName == byKey)
        #expect(byName.weightKey == "model.diffusion_model.input_blocks.4.1.proj_in.weight")
        #expect(byName.parameters == byName.shape.reduce(1, *))
        #expect(throws: CatalogError.moduleWithoutWeight(name: "input_blocks.1.0.in_layers")) {
            try catalog.layer(named: "input_blocks.1.0.in_layers")
        }
        do {
            _ = try catalog.layer(named: "input_blocks.4.1.proj_inn")
            Issue.record("expected an error")
        } catch {
            guard case .unknownLayer(_, let suggestions) = error else { Issue.record("\(error)"); return }
            #expect(suggestions.first == "input_blocks.4.1.proj_in")
            #expect(error.description.contains("closest"))
        }
        let te = try catalog.layer(named: "conditioner.embedders.1.model.ln_final")
        #expect(te.part == "text_encoder_2")
    }

    @Test func nonDiffusionFile_listsEveryModuleInFileOrder() throws {
        let catalog = LayerCatalog(checkpoint: try CheckpointFile.open(path: fixture("facenet_onet.pt")))
        #expect(catalog.family == .unknown)
        #expect(catalog.layers.first?.name == "conv1")
        #expect(catalog.layers.contains { $0.name == "prelu1" && $0.shape == [32] })
        #expect(catalog.layers.allSatisfy { $0.block == nil && $0.part == "other" })
        #expect(throws: CatalogError.noBlocks(family: .unknown)) { try catalog.filter("IN01") }
    }

    @Test func unetOnlyFileWithoutPrefix_getsBlocksAndModelOrder() throws {
        var header = "{"
        var offset = 0
        let modules = ["output_blocks.11.0.in_layers.0", "input_blocks.11.0.in_layers.0", "middle_block.0.in_layers.0",
                       "input_blocks.0.0", "input_blocks.2.0.in_layers.0", "time_embed.0", "out.2"]
        for (i, m) in modules.enumerated() {
            header += (i == 0 ? "" : ",") + #""\#(m).weight":{"dtype":"F32","shape":[1],"data_offsets":[\#(offset),\#(offset + 4)]}"#
            offset += 4
        }
        header += "}"
        let path = writeTemporary(safetensorsBytes(header: header, data: floatBytes(modules.map { _ in 1 })), name: "unet.safetensors")
        let catalog = LayerCatalog(checkpoint: try CheckpointFile.open(path: path))
        #expect(catalog.family == .sd1)
        #expect(catalog.diffusionPrefix == "")
        #expect(catalog.layers.map(\.name) == ["time_embed.0", "input_blocks.0.0", "input_blocks.2.0.in_layers.0",
                                               "input_blocks.11.0.in_layers.0", "middle_block.0.in_layers.0",
                                               "output_blocks.11.0.in_layers.0", "out.2"])
        #expect(catalog.layers.map(\.block) == [nil, "IN00", "IN02", "IN11", "M00", "OUT11", nil])
        #expect(try catalog.filter("IN11-OUT11(+13)").map(\.name) == ["input_blocks.11.0.in_layers.0", "output_blocks.11.0.in_layers.0"])
    }

    @Test func synthetic_isDeterministicAndStructured() throws {
        let a = folder(); let b = folder()
        try SyntheticCheckpoint.write(layout: .sd15, scale: 16, dtype: .f32, parts: .unet, seed: 7, to: a)
        try SyntheticCheckpoint.write(layout: .sd15, scale: 16, dtype: .f32, parts: .unet, seed: 7, to: b)
        #expect(FileManager.default.contentsEqual(atPath: a, andPath: b))
        let file = try CheckpointFile.open(path: a)
        #expect(file.entries.allSatisfy { $0.name.hasPrefix("model.diffusion_model.") })
        let w = try file.loadTensor("model.diffusion_model.input_blocks.1.0.in_layers.2.weight")
        #expect(w.rank == 4 && w.shape[2] == 3)
        let rms = (w.values.reduce(0) { $0 + $1 * $1 } / Float(w.count)).squareRoot()
        #expect(rms > 0.01 && rms < 1, "RMS \(rms) should be about 1/sqrt(fan_in)")
        let norm = try file.loadTensor("model.diffusion_model.input_blocks.1.0.in_layers.0.weight").values
        #expect(norm.allSatisfy { abs($0 - 1) < 0.2 })
        let c = folder()
        try SyntheticCheckpoint.write(layout: .sd15, scale: 16, dtype: .f32, parts: .unet, seed: 8, to: c)
        #expect(!FileManager.default.contentsEqual(atPath: a, andPath: c))
        func folder() -> String { temporaryFolder() + "/x.safetensors" }
    }

    @Test func halfEncoding_roundTripsThroughTheReader() {
        for v: Float in [0, -0, 1, -2.5, 65504, 65520, 1e-8, 6.1e-5, 3.14159, .infinity, -.infinity] {
            let h = floatToHalfBits(v)
            #expect(Float(Float16(bitPattern: h)) == Float(Float16(v)), "\(v)")
            #expect(halfBitsToFloatForTest(h) == Float(Float16(bitPattern: h)))
        }
        #expect(floatToHalfBits(.nan) & 0x7C00 == 0x7C00)
        #expect(floatToBFloat16Bits(1.00390625) == 0x3F80)  // tie rounds to even
    }
}

/// The reader's half conversion, reached through a one-element safetensors file.
func halfBitsToFloatForTest(_ h: UInt16) -> Float {
    let path = writeTemporary(safetensorsBytes(header: #"{"x":{"dtype":"F16","shape":[],"data_offsets":[0,2]}}"#,
                                               data: [UInt8(h & 0xFF), UInt8(h >> 8)]))
    return (try? CheckpointFile.open(path: path).loadTensor("x").values[0]) ?? .nan
}
