import Foundation
import Testing
@testable import Checkpoint
@testable import LoRA
@testable import ModelCatalog

/// LoRA files written by peft + diffusers and by LyCORIS (Tests/Fixtures/tools/make_lora_fixtures.py),
/// applied through a patched catalogue and compared with ΔW as those tools merged it.
@Suite struct RealToolFixtureTests {
    static let cases: [(lora: String, base: String, format: String)] = [
        ("peft_unet", "diffusers_unet/unet", "diffusers/PEFT LoCon"),
        ("peft_flux", "diffusers_flux/transformer", "diffusers/PEFT LoRA"),
        ("lycoris_lora", "diffusers_unet/unet", "kohya LoCon"),
        ("lycoris_loha", "diffusers_unet/unet", "LyCORIS LoHa"),
        ("lycoris_lokr", "diffusers_unet/unet", "LyCORIS LoKr"),
    ]

    @Test(arguments: cases.indices)
    func deltaMatchesTheToolsMerge(_ index: Int) throws {
        let c = Self.cases[index]
        let base = LayerCatalog(checkpoint: try CheckpointFile.open(path: toolFixture(c.base)))
        let lora = try LoraFile.open(path: toolFixture("lora/\(c.lora).safetensors"))
        #expect(lora.format == c.format)
        let binding = try LoraBinding.bind(lora, identity: base.identity, layers: base.allLayers, modelName: c.base)
        #expect(binding.unmatchedKeys.isEmpty, "\(binding.unmatchedKeys.prefix(5))")
        let patched = base.patched(with: LoraPatch(binding: binding, strength: 1, parts: ["unet"], name: c.lora, stamp: "t"))
        let expected = try CheckpointFile.open(path: toolFixture("lora/\(c.lora).expected.safetensors"))
        #expect(expected.entries.count == Set(binding.matches.map(\.target.layer.name)).count)
        for e in expected.entries {
            let layer = try base.layer(named: e.name)
            #expect(patched.isPatched(layer), "\(e.name)")
            let w0 = try base.loadWeight(layer).values
            let w1 = try patched.loadWeight(layer).values
            let want = try expected.loadTensor(e.name).values
            #expect(want.count == w0.count)
            var worst: Float = 0, scale: Float = 1e-6
            for i in want.indices {
                worst = max(worst, abs((w1[i] - w0[i]) - want[i]))
                scale = max(scale, abs(want[i]))
            }
            #expect(worst <= 2e-5 * max(1, scale), "\(c.lora) \(e.name): max error \(worst) (max |dW| \(scale))")
        }
    }

    @Test func strengthScalesTheDelta() throws {
        let base = LayerCatalog(checkpoint: try CheckpointFile.open(path: toolFixture("diffusers_unet/unet")))
        let lora = try LoraFile.open(path: toolFixture("lora/lycoris_lora.safetensors"))
        let binding = try LoraBinding.bind(lora, identity: base.identity, layers: base.allLayers, modelName: "unet")
        let one = base.patched(with: LoraPatch(binding: binding, strength: 1, parts: ["unet"], name: "a", stamp: "t"))
        let minusHalf = base.patched(with: LoraPatch(binding: binding, strength: -0.5, parts: ["unet"], name: "a", stamp: "t"))
        let zero = base.patched(with: LoraPatch(binding: binding, strength: 0, parts: ["unet"], name: "a", stamp: "t"))
        let layer = try base.layer(named: "conv_in")
        let w0 = try base.loadWeight(layer).values, w1 = try one.loadWeight(layer).values, wh = try minusHalf.loadWeight(layer).values
        #expect(try zero.loadWeight(layer).values == w0)
        for i in w0.indices { #expect(abs((wh[i] - w0[i]) + 0.5 * (w1[i] - w0[i])) < 1e-5) }
        // The text-encoder part is untouched by a MODEL patch, and vice versa.
        let clipOnly = base.patched(with: LoraPatch(binding: binding, strength: 1, parts: ["text_encoder"], name: "a", stamp: "t"))
        #expect(!clipOnly.isPatched(layer))
    }

    @Test func kohyaModuleMetadataAndScale() throws {
        let lora = try LoraFile.open(path: toolFixture("lora/lycoris_lora.safetensors"))
        #expect(lora.metadata.contains { $0.key == "ss_network_module" && $0.value == "lycoris.kohya" })
        let convIn = try #require(lora.modules.first { $0.name == "lora_unet_conv_in" })
        #expect(convIn.kind == .lora && convIn.rank == 2 && convIn.alpha == 1 && convIn.scale == 0.5)
        #expect(convIn.deltaShape == [8, 4, 3, 3] && convIn.isConvolution)
    }
}
