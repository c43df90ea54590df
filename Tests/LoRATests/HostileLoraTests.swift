import Foundation
import Testing
@testable import Checkpoint
@testable import LoRA
@testable import ModelCatalog

/// Files that are not LoRAs or are broken ones: each gives a typed error naming the module and what is wrong.
@Suite struct HostileLoraTests {
    func openError(_ tensors: [(String, [Int], [Float])], dtype: String = "F32") -> LoraError? {
        do { _ = try LoraFile.open(path: writeSafetensors(tensors, dtype: dtype)); return nil } catch { return error }
    }

    @Test func aCheckpointIsNotALora() {
        let e = openError([("model.diffusion_model.input_blocks.0.0.weight", [2, 2], ramp(4))])
        guard case .notALora(_, let found)? = e else { Issue.record("got \(String(describing: e))"); return }
        #expect(found.contains("model checkpoint"))
    }

    @Test func missingHalves() {
        let e = openError([("lora_unet_a.lora_up.weight", [4, 2], ramp(8))])
        #expect(e == .missingPart(path: e?.pathForTest ?? "", module: "lora_unet_a", present: "up", missing: "down"))
        let h = openError([("x.hada_w1_a", [4, 2], ramp(8)), ("x.hada_w1_b", [2, 4], ramp(8))])
        guard case .missingPart(_, "x", _, _)? = h else { Issue.record("got \(String(describing: h))"); return }
    }

    @Test func shapesThatDoNotFit() {
        let e = openError([("m.lora_up.weight", [8, 4], ramp(32)), ("m.lora_down.weight", [3, 8], ramp(24))])
        guard case .shapeMismatch(_, "m", let reason)? = e else { Issue.record("got \(String(describing: e))"); return }
        #expect(reason.contains("rank 3"))
    }

    @Test func rankZeroAndHugeRanks() {
        let zero = openError([("m.lora_up.weight", [8, 0], []), ("m.lora_down.weight", [0, 8], [])])
        guard case .zeroRank(_, "m")? = zero else { Issue.record("got \(String(describing: zero))"); return }
        let huge = openError([("m.lora_up.weight", [2, 100], ramp(200)), ("m.lora_down.weight", [100, 2], ramp(200))])
        guard case .rankTooLarge(_, "m", 100, 2)? = huge else { Issue.record("got \(String(describing: huge))"); return }
    }

    @Test func nanAndVectorAlpha() {
        let nan = openError([("m.lora_up.weight", [4, 2], ramp(8)), ("m.lora_down.weight", [2, 4], ramp(8)), ("m.alpha", [], [.nan])])
        guard case .invalidAlpha(_, "m", _)? = nan else { Issue.record("got \(String(describing: nan))"); return }
        let vec = openError([("m.lora_up.weight", [4, 2], ramp(8)), ("m.lora_down.weight", [2, 4], ramp(8)), ("m.alpha", [2], [1, 2])])
        guard case .invalidAlpha(_, "m", let reason)? = vec else { Issue.record("got \(String(describing: vec))"); return }
        #expect(reason.contains("2 values"))
    }

    /// The LoKr Kronecker product of two tall factors declares more rows than any Int can hold
    /// (found by fuzzing in an earlier attempt); its size is checked before anything is allocated.
    @Test func lokrProductTooLarge() {
        let n = 70_000
        let e = openError([("m.lokr_w1", [n, 1], [Float](repeating: 0.5, count: n)), ("m.lokr_w2", [n, 1], [Float](repeating: 0.5, count: n))])
        guard case .tooLarge(_, "m", _)? = e else { Issue.record("got \(String(describing: e))"); return }
    }

    @Test func integerFactors() {
        let e = openError([("m.lora_up.weight", [4, 2], ramp(8)), ("m.lora_down.weight", [2, 4], ramp(8))], dtype: "I32")
        guard case .notFloatingPoint? = e else { Issue.record("got \(String(describing: e))"); return }
    }

    @Test func truncatedFileIsAContainerError() throws {
        let path = writeSafetensors([("m.lora_up.weight", [4, 2], ramp(8)), ("m.lora_down.weight", [2, 4], ramp(8))])
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        try bytes.prefix(bytes.count - 5).write(to: URL(fileURLWithPath: path))
        do { _ = try LoraFile.open(path: path); Issue.record("opened a truncated file") } catch {
            guard case .unreadable(let c) = error else { Issue.record("got \(error)"); return }
            #expect(c.description.contains("truncated") || c.description.contains("data section"))
        }
    }

    /// A `.pt` LoRA goes through the restricted unpickler: a pickle that names a code global
    /// (legacy torch layout: magic, protocol, sys info, then the state dict's pickle) is refused.
    @Test func aPickledLoraNamingCodeIsRefused() throws {
        var bytes: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E]
        bytes += [0x80, 0x02, 0x4D, 0xE9, 0x03, 0x2E, 0x80, 0x02, 0x7D, 0x2E]
        bytes += [0x80, 0x02, 0x63] + Array("os\nsystem\n".utf8) + [0x2E]
        let path = temporaryFolder() + "/evil_lora.pt"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        do { _ = try LoraFile.open(path: path); Issue.record("opened a pickle that names os.system") } catch {
            guard case .unreadable(let c) = error else { Issue.record("got \(error)"); return }
            #expect(c.description.contains("os.system"), "\(c)")
        }
    }

    @Test func aLoraForAnotherModelSaysWhichModel() throws {
        let base = LayerCatalog(checkpoint: try CheckpointFile.open(path: toolFixture("diffusers_unet/unet")))
        let flux = try LoraFile.open(path: toolFixture("lora/peft_flux.safetensors"))
        do {
            _ = try LoraBinding.bind(flux, identity: base.identity, layers: base.allLayers, modelName: "tiny_unet")
            Issue.record("bound a Flux LoRA to a U-Net")
        } catch {
            guard case .wrongModel(_, let fam, let model) = error else { Issue.record("got \(error)"); return }
            #expect(fam.contains("Flux") && model.contains("tiny_unet"))
        }
    }

    @Test func aDeltaOfTheWrongSizeForItsLayer() throws {
        let base = LayerCatalog(checkpoint: try CheckpointFile.open(path: toolFixture("diffusers_unet/unet")))
        let path = writeSafetensors([("lora_unet_conv_in.lora_up.weight", [8, 2], ramp(16)), ("lora_unet_conv_in.lora_down.weight", [2, 5], ramp(10))])
        let lora = try LoraFile.open(path: path)
        do {
            _ = try LoraBinding.bind(lora, identity: base.identity, layers: base.allLayers, modelName: "tiny_unet")
            Issue.record("bound a mis-sized module")
        } catch {
            guard case .targetMismatch(_, "lora_unet_conv_in", "conv_in", [8, 5], [8, 4, 3, 3]) = error else { Issue.record("got \(error)"); return }
        }
    }
}

extension LoraError {
    var pathForTest: String {
        switch self {
        case .missingPart(let p, _, _, _), .notALora(let p, _), .shapeMismatch(let p, _, _), .zeroRank(let p, _): return p
        default: return ""
        }
    }
}
