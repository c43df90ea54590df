import Foundation
import Testing
@testable import Checkpoint
@testable import LoRA
import ModelCatalog

/// Every stored input of the LoRAKeyMapFuzz target (fuzz/corpus/ and fuzz/regressions/) opened as
/// a user's LoRA download would be: it reads as a LoRA whose every module computes its ΔW and
/// whose keys each land once (in a module or among the unused keys), or it fails with a typed
/// `LoraError`. Seeds named `bad-*` must be refused.
@Suite struct LoraFuzzCorpusReplayTests {
    static let fuzzFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("fuzz")

    static func inputs() -> [(String, Data)] {
        var out: [(String, Data)] = []
        for kind in ["corpus", "regressions"] {
            let dir = fuzzFolder.appendingPathComponent(kind).appendingPathComponent("LoRAKeyMapFuzz")
            for n in ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).sorted() {
                if let d = FileManager.default.contents(atPath: dir.appendingPathComponent(n).path) { out.append(("\(kind)/\(n)", d)) }
            }
        }
        return out
    }

    @Test func storedInputs_readOrFailTyped() throws {
        let all = Self.inputs()
        #expect(all.count >= 10, "no stored inputs for LoRAKeyMapFuzz")
        let unet = LayerCatalog(checkpoint: try CheckpointFile.open(path: toolFixture("diffusers_unet/unet")))
        let dir = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var opened = 0, bound = 0
        for (name, data) in all {
            let path = dir + "/input.safetensors"
            #expect(FileManager.default.createFile(atPath: path, contents: data))
            let lora: LoraFile
            do {
                lora = try LoraFile.open(path: path)
            } catch {
                #expect(error.description.hasPrefix(path), "\(name): \(error)")
                continue
            }
            opened += 1
            #expect(!name.split(separator: "/").last!.hasPrefix("bad-"), "\(name) was accepted")
            var keys = lora.unusedKeys
            for m in lora.modules {
                keys += m.keys.values
                guard m.deltaCount <= 1 << 22 else { continue }
                let delta = try LoraDelta.compute(m, in: lora)
                #expect(delta.values.count == m.deltaCount, "\(name) \(m.name)")
            }
            #expect(keys.sorted() == lora.checkpoint.entries.map(\.name).sorted(), "\(name): keys lost or repeated")
            if let b = try? LoraBinding.bind(lora, identity: unet.identity, layers: unet.allLayers, modelName: "tiny_unet") {
                bound += 1
                for m in b.matches { #expect(m.target.count == m.module.deltaCount) }
            }
        }
        #expect(opened >= 8 && bound >= 3, "opened \(opened), bound \(bound)")
    }
}
