import Foundation
import Checkpoint
import ModelCatalog
import OrderedJSON
import Render
import TensorCore
import Testing
@testable import LTNodes

@Suite struct LTVisualizeDeltaTests {
    static let conv = "input_blocks.1.0.in_layers.2"

    static func prompt(_ layer: String, mode: String = "both", b: String = "weightlens_demo_sdxl_synthetic.safetensors") -> String {
        #"""
        "3": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "\#(b)"}},
        "2": {"class_type": "LTVisualizeDelta", "inputs": {"model_a": ["1", 0], "model_b": ["3", 0], "layer_name": "\#(layer)", "num_filters": 16, "visualization_mode": "\#(mode)"}}
        """#
    }

    static func weight(_ file: String, _ layer: String) throws -> Tensor {
        let path = try #require(try TestCheckpoints.models().checkpointPath(named: file))
        let f = try CheckpointFile.open(path: path)
        return try f.loadTensor(try LayerCatalog(checkpoint: f).layer(named: layer).weightKey)
    }

    /// The full pages are LTVisualizeWeights' pictures of B − A, byte for byte; the node shows a
    /// compact preview and says how large the change is.
    @Test func pages_areTheWeightsPicturesOfTheDelta() throws {
        let run = try AnalysisRun(Self.prompt(Self.conv, mode: "both"))
        defer { run.temp.cleanup() }
        #expect(run.record.statusString == "success", "\(run.lastMessage)")
        let ui = try #require(run.record.outputs["2"]?.objectValue)
        #expect(ui.keys == ["images", "text", "pages"])
        #expect(ui["images"]?.arrayValue?.count == 1)
        let pages = try #require(ui["pages"]?.arrayValue)
        #expect(pages.map { $0["title"]?.stringValue } == ["Weights", "Expanded weights (SVD)"])

        let a = try Self.weight("sdxl_synthetic_fp16.safetensors", Self.conv)
        let b = try Self.weight("weightlens_demo_sdxl_synthetic.safetensors", Self.conv)
        let delta = Tensor(shape: a.shape, values: zip(b.values, a.values).map { $0 - $1 })
        let info = LayerInfo(name: "\(Self.conv) · B - A", shape: a.shape, dtype: "float32 delta", parameters: a.count)
        let expected = try LayerRenderer.weightPages(weight: delta, layer: info)
        let name = try #require(pages[0]["filename"]?.stringValue)
        let written = Array(try Data(contentsOf: URL(fileURLWithPath: run.temp.path + "/temp/" + name)))
        #expect(written == expected[0].png, "the weights page is LTVisualizeWeights' picture of B - A")

        let l2 = zip(b.values, a.values).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }.squareRoot()
        let text = try #require(ui["text"]?[0]?.stringValue)
        #expect(text.hasPrefix("Delta of \(Self.conv): weightlens_demo_sdxl_synthetic.safetensors - sdxl_synthetic_fp16.safetensors\n"))
        #expect(text.contains("|B-A| = \(Float(l2).description)"), "\(text)")
    }

    @Test func sameLayerInBothModels_saysSo_withoutPictures() throws {
        let run = try AnalysisRun(Self.prompt(Self.conv, b: "sdxl_synthetic_fp16.safetensors"))
        defer { run.temp.cleanup() }
        #expect(run.record.statusString == "success", "\(run.lastMessage)")
        let ui = try #require(run.record.outputs["2"]?.objectValue)
        #expect(ui.keys == ["text"])
        #expect(ui["text"]?[0]?.stringValue?.contains("same in both models") == true)
    }

    @Test func emptyLayerName_listsTheCommonLayers_andAnUnknownOneNamesTheClosest() throws {
        let list = try AnalysisRun(Self.prompt(""))
        defer { list.temp.cleanup() }
        let text = try #require(list.record.outputs["2"]?["text"]?[0]?.stringValue)
        #expect(text.contains("layers in both models; set layer_name") && text.contains("\n" + Self.conv + "\n"))
        let typo = try AnalysisRun(Self.prompt("input_blocks.1.0.in_layers.9"))
        defer { typo.temp.cleanup() }
        #expect(typo.record.statusString == "error")
        #expect(typo.log.all.last?.1["exception_message"]?.stringValue?.contains(Self.conv) == true)
    }

    /// A model against itself through a LoRA loader: only the layers the patch changes are
    /// listed (the others cannot differ), named with the LoRA.
    @Test func emptyLayerName_withAPatchedModel_listsOnlyThePatchedLayers() throws {
        let path = try #require(try TestCheckpoints.models().checkpointPath(named: "weightlens_demo_sdxl_synthetic.safetensors"))
        let base = LoadedCheckpoint(name: "demo", file: try CheckpointFile.open(path: path))
        let layer = try base.catalog.layer(named: Self.conv)
        let patched = base.patched(with: AddConstant(weightKey: layer.weightKey, value: 0.5),
                                   record: AppliedLora(loraName: "my_lora.safetensors", strength: 1, layers: 1))
        let temp = TempDirectory("ltnodes-delta-list")
        defer { temp.cleanup() }
        let env = ExecutionEnvironment(models: try TestCheckpoints.models(), tempDirectory: temp.path, outputDirectory: temp.path)
        let context = NodeContext(environment: env, promptID: "p", nodeID: "2", reportProgress: { _, _ in }, interrupted: { false })
        let out = try LTVisualizeDeltaNode.run(NodeCall(nodeID: "2", inputs: [
            "model_a": [.checkpoint(base, part: .model)], "model_b": [.checkpoint(patched, part: .model)],
            "layer_name": [.string("")], "num_filters": [.int(16)], "visualization_mode": [.string("both")]], context: context))
        #expect(out.ui?["text"]?[0]?.stringValue == "1 layers changed by my_lora.safetensors (the others are the same in both models); "
                + "set layer_name to one of them:\n" + Self.conv)
        // The model against itself unpatched: every common layer, as before.
        let same = try LTVisualizeDeltaNode.run(NodeCall(nodeID: "2", inputs: [
            "model_a": [.checkpoint(base, part: .model)], "model_b": [.checkpoint(base, part: .model)],
            "layer_name": [.string("")], "num_filters": [.int(16)], "visualization_mode": [.string("both")]], context: context))
        #expect(same.ui?["text"]?[0]?.stringValue?.hasPrefix("\(base.catalog.layers.count) layers in both models") == true)
    }
}
