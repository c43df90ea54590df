import Foundation
import Testing
@testable import Checkpoint
@testable import LTNodes
@testable import ModelCatalog
@testable import OrderedJSON

/// LoraLoader / LoraLoaderModelOnly / LTLoraInspect on the tiny U-Net and its LyCORIS LoRA
/// (Tests/Fixtures/tools, written by diffusers and LyCORIS).
@Suite struct LoraNodesTests {
    struct Models: ModelLocator {
        let loras: String
        func checkpointNames() -> [String] { [] }
        func checkpointPath(named: String) -> String? { nil }
        func modelNames(in folder: String) -> [String] {
            folder == "loras" ? ((try? FileManager.default.contentsOfDirectory(atPath: loras)) ?? []).filter { $0.hasSuffix(".safetensors") }.sorted() : []
        }
        func modelPath(named name: String, in folder: String) -> String? {
            folder == "loras" && modelNames(in: "loras").contains(name) ? loras + "/" + name : nil
        }
    }

    static let tools = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/tools").path

    func call(_ inputs: [String: [NodeValue]], temp: String) -> NodeCall {
        let env = ExecutionEnvironment(models: Models(loras: Self.tools + "/lora"), tempDirectory: temp, outputDirectory: temp)
        let context = NodeContext(environment: env, promptID: "p", nodeID: "2", reportProgress: { _, _ in }, interrupted: { false })
        return NodeCall(nodeID: "2", inputs: inputs, context: context)
    }

    @Test func loaderPatchesModelLazilyAndInspectReports() throws {
        let temp = TempDirectory("ltnodes-lora")
        defer { temp.cleanup() }
        let base = LoadedCheckpoint(name: "tiny_unet", file: try CheckpointFile.open(path: Self.tools + "/diffusers_unet/unet"))
        let out = try LoraLoaderNode.run(call(["model": [.checkpoint(base, part: .model)], "clip": [.checkpoint(base, part: .clip)],
                                               "lora_name": [.string("lycoris_lora.safetensors")],
                                               "strength_model": [.float(0.5)], "strength_clip": [.float(1)]], temp: temp.path))
        guard case .checkpoint(let model, .model)? = out.outputs[0].first, case .checkpoint(let clip, .clip)? = out.outputs[1].first else {
            Issue.record("no MODEL/CLIP out"); return
        }
        #expect(model.loras == [AppliedLora(loraName: "lycoris_lora.safetensors", strength: 0.5, layers: 121)])
        #expect(clip === base)  // the LoRA has no text-encoder modules
        let layer = try base.catalog.layer(named: "conv_in")
        let expected = try CheckpointFile.open(path: Self.tools + "/lora/lycoris_lora.expected.safetensors").loadTensor("conv_in").values
        let w0 = try base.catalog.loadWeight(layer).values, w1 = try model.catalog.loadWeight(layer).values
        for i in w0.indices { #expect(abs(w1[i] - w0[i] - 0.5 * expected[i]) < 1e-5) }

        let only = try LoraLoaderModelOnlyNode.run(call(["model": [.checkpoint(base, part: .model)], "lora_name": [.string("lycoris_lora.safetensors")],
                                                         "strength_model": [.float(0)]], temp: temp.path))
        guard case .checkpoint(let same, _)? = only.outputs[0].first else { Issue.record("no MODEL"); return }
        #expect(same === base)

        let inspect = try LTLoraInspectNode.run(call(["lora_name": [.string("lycoris_lora.safetensors")], "model": [.checkpoint(base, part: .model)]],
                                                    temp: temp.path))
        guard case .string(let text)? = inspect.outputs[1].first else { Issue.record("no report"); return }
        let report = try JSON.parse(Array(text.utf8))
        #expect(report.objectValue?.keys == ["format", "family", "metadata", "layers", "unmatched_keys"])
        #expect(report["format"]?.stringValue == "kohya LoCon")
        #expect(report["metadata"]?["ss_network_module"]?.stringValue == "lycoris.kohya")
        let layers = try #require(report["layers"]?.arrayValue)
        #expect(layers.count == 121)
        let convIn = try #require(layers.first { $0["name"]?.stringValue == "conv_in" })
        #expect(convIn["rank"]?.doubleValue == 2 && convIn["alpha"]?.doubleValue == 1 && convIn["scale"]?.doubleValue == 0.5)
        var l2 = 0.0, mx: Float = 0
        for v in expected { l2 += Double(v) * Double(v); mx = max(mx, abs(v)) }
        #expect(abs((convIn["delta_l2"]?.doubleValue ?? 0) - l2.squareRoot()) < 1e-4 * l2.squareRoot())
        #expect(abs((convIn["delta_max_abs"]?.doubleValue ?? 0) - Double(mx)) < 1e-6)
        #expect(convIn["singular_values"]?.arrayValue?.count == 2 || convIn["singular_values"]?.arrayValue?.count == 4)
        #expect(convIn["relative_change"]?.doubleValue ?? 0 > 0)
        #expect(inspect.outputs[0].count == 1)

        // Without a base: names and family from the bundled layouts, or the module names; relative_change null.
        let alone = try LTLoraInspectNode.run(call(["lora_name": [.string("lycoris_lora.safetensors")]], temp: temp.path))
        guard case .string(let t2)? = alone.outputs[1].first else { Issue.record("no report"); return }
        let r2 = try JSON.parse(Array(t2.utf8))
        #expect(r2["layers"]?.arrayValue?.allSatisfy { $0["relative_change"] == .null } == true)
    }

    @Test func missingLoraAndNonLora() throws {
        let temp = TempDirectory("ltnodes-lora")
        defer { temp.cleanup() }
        do {
            _ = try LTLoraInspectNode.run(call(["lora_name": [.string("nope.safetensors")]], temp: temp.path))
            Issue.record("opened a missing LoRA")
        } catch {
            guard case .failed(let type, let message) = error else { Issue.record("\(error)"); return }
            #expect(type == "FileNotFoundError" && message.contains("models/loras"))
        }
        do {
            _ = try LTLoraInspectNode.run(call(["lora_name": [.string("peft_unet.expected.safetensors")]], temp: temp.path))
            Issue.record("inspected a file of plain weights as a LoRA")
        } catch {
            guard case .failed("LoraError", let message) = error else { Issue.record("\(error)"); return }
            #expect(message.contains("is not a LoRA"))
        }
    }
}
