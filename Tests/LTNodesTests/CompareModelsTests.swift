import Foundation
import Analysis
import Checkpoint
import ModelCatalog
import OrderedJSON
import Render
import TensorCore
import Testing
@testable import LTNodes

/// The comparison fixtures: A written by safetensors, B by torch.save (strided views, another
/// dtype), and the metrics numpy computed for them (Tests/Fixtures/tools/make_compare_fixtures.py).
enum CompareFixtures {
    static func path(_ name: String) -> String { Repo.root.appendingPathComponent("Tests/Fixtures/tools/" + name).path }

    static func side(_ name: String) throws -> ModelComparisonReport.Side {
        let file = try CheckpointFile.open(path: path(name))
        return ModelComparisonReport.Side(file: file, catalog: LayerCatalog(checkpoint: file))
    }

    static func expected() throws -> JSONObject {
        try #require(try Repo.json("Tests/Fixtures/tools/compare.expected.json").objectValue)
    }
}

@Suite struct ModelComparisonReportTests {
    @Test func everyMetric_matchesNumpy_onFilesWrittenByTorchAndSafetensors() throws {
        let entries = try ModelComparisonReport.compute(try CompareFixtures.side("compare_a.safetensors"),
                                                        try CompareFixtures.side("compare_b.pt"), filter: "", metric: .deltaSpectralNorm)
        let expected = try CompareFixtures.expected()
        #expect(Set(entries.map(\.name)) == Set(expected.keys))
        for entry in entries {
            let want = try #require(expected[entry.name]?.objectValue, "\(entry.name)")
            #expect(entry.status.rawValue == want["status"]?.stringValue, "\(entry.name)")
            guard entry.status == .compared else {
                #expect(entry.moments == nil && entry.value(.relativeChange) == nil)
                continue
            }
            for metric in ModelComparisonReport.Metric.allCases {
                let key = metric.rawValue
                guard let reference = want[key]?.doubleValue else {
                    #expect(entry.value(metric) == nil, "\(entry.name) \(key) should be null")
                    continue
                }
                let value = try #require(entry.value(metric), "\(entry.name) \(key)")
                #expect(abs(value - reference) <= 1e-6 * max(1, abs(reference)), "\(entry.name) \(key): \(value) vs numpy \(reference)")
            }
        }
        // Unchanged layers, including the linear stored as a 1x1 conv in B, compare as identical.
        let linear = try #require(entries.first { $0.name == "linear_as_conv" })
        #expect(linear.status == .compared && linear.value(.deltaL2) == 0 && linear.value(.cosine) == 1)
    }

    @Test func spectralNorm_isComputedOnlyForItsMetric_andTheReportHasTheDocumentedKeys() throws {
        let entries = try ModelComparisonReport.compute(try CompareFixtures.side("compare_a.safetensors"),
                                                        try CompareFixtures.side("compare_b.pt"), filter: "transformer_blocks", metric: .relativeChange)
        #expect(entries.count == 4 && entries.allSatisfy { $0.status == .compared && $0.spectralNorm == nil && $0.moments != nil })
        let report = try #require(ModelComparisonReport.report(entries).arrayValue)
        #expect(report[0].objectValue?.keys == ["name", "block", "relative_change", "cosine", "delta_l2", "delta_spectral_norm",
                                                "status", "shape_a", "shape_b"])
        #expect(report.allSatisfy { $0["delta_spectral_norm"] == .null })
        // Most changed first: to_k (B = -A) has relative change 2 and cosine -1.
        let order = ModelComparisonReport.mostChanged(entries, metric: .relativeChange)
        #expect(entries[order[0]].name.hasSuffix("attn1.to_k"))
        #expect(entries[ModelComparisonReport.mostChanged(entries, metric: .cosine)[0]].name.hasSuffix("attn1.to_k"))
    }

    @Test func modelsWithoutACommonLayer_failWithAClearMessage() throws {
        let a = try CompareFixtures.side("compare_a.safetensors")
        let onet = try CheckpointFile.open(path: Repo.root.appendingPathComponent("Tests/Fixtures/real/facenet_onet.safetensors").path)
        do {
            _ = try ModelComparisonReport.compute(a, .init(file: onet, catalog: LayerCatalog(checkpoint: onet)), filter: "", metric: .cosine)
            Issue.record("expected a failure")
        } catch {
            #expect(error.description.contains("no layer in common"), "\(error)")
        }
    }
}

@Suite struct LTCompareModelsTests {
    /// Two synthetic SDXL files of the same layout and different seeds, through the executor.
    @Test func node_comparesTwoCheckpoints_withProgressPerLayer_andAChart() throws {
        let run = try AnalysisRun(#"""
            "3": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "weightlens_demo_sdxl_synthetic.safetensors"}},
            "2": {"class_type": "LTCompareModels", "inputs": {"model_a": ["1", 0], "model_b": ["3", 0], "filter": "IN04", "metric": "delta_spectral_norm"}}
            """#)
        defer { run.temp.cleanup() }
        #expect(run.record.statusString == "success", "\(run.lastMessage)")
        let report = try #require(try run.report("2").arrayValue)
        let models = try TestCheckpoints.models()
        let fileA = try CheckpointFile.open(path: try #require(models.checkpointPath(named: "sdxl_synthetic_fp16.safetensors")))
        let fileB = try CheckpointFile.open(path: try #require(models.checkpointPath(named: "weightlens_demo_sdxl_synthetic.safetensors")))
        let layers = try LayerCatalog(checkpoint: fileA).filter("IN04")
        #expect(report.count == layers.count && !layers.isEmpty)
        let catalogB = LayerCatalog(checkpoint: fileB)
        for (entry, layer) in zip(report, layers) where layer.shape.count >= 2 {
            #expect(entry["name"] == .string(layer.name) && entry["block"] == "IN04" && entry["status"] == "compared")
            let a = try fileA.loadTensor(layer.weightKey).values
            let b = try fileB.loadTensor(try catalogB.layer(named: layer.name).weightKey).values
            let d = zip(b, a).map { Double($0) - Double($1) }
            let dl2 = d.reduce(0) { $0 + $1 * $1 }.squareRoot()
            let al2 = a.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
            #expect(abs((entry["delta_l2"]?.doubleValue ?? -1) - dl2) <= 1e-9 * max(1, dl2))
            #expect(abs((entry["relative_change"]?.doubleValue ?? -1) - dl2 / al2) <= 1e-9 * max(1, dl2 / al2))
            // σ₁(B − A) against the engine's truncated SVD of the delta.
            let rows = layer.shape[0]
            let delta = Matrix(rows: rows, cols: d.count / rows, values: d.map(Float.init))
            let sigma = Double(try truncatedSVD(delta, rank: 1).singularValues[0])
            #expect(abs((entry["delta_spectral_norm"]?.doubleValue ?? -1) - sigma) <= 1e-4 * sigma, "\(layer.name)")
        }
        let progress = run.log.all.filter { $0.0 == "progress" && $0.1["node"] == "2" }.compactMap { $0.1["value"]?.intValue }
        #expect(progress.count == layers.count && progress.last == Int64(layers.count))
        let picture = try #require(try run.pictures("2").first)
        #expect(picture.width >= 720 && picture.height > 500)
    }

    @Test func interrupt_stopsTheComparison() throws {
        let models = try TestCheckpoints.models()
        let temp = TempDirectory("ltnodes-compare")
        defer { temp.cleanup() }
        let a = LoadedCheckpoint(name: "a", file: try CheckpointFile.open(path: try #require(models.checkpointPath(named: "sdxl_synthetic_fp16.safetensors"))))
        let b = LoadedCheckpoint(name: "b", file: try CheckpointFile.open(path: try #require(models.checkpointPath(named: "weightlens_demo_sdxl_synthetic.safetensors"))))
        let polls = Counter()
        let context = NodeContext(environment: ExecutionEnvironment(models: models, tempDirectory: temp.path, outputDirectory: temp.path),
                                  promptID: "p", nodeID: "2", reportProgress: { _, _ in }, interrupted: { polls.next() > 20 })
        let call = NodeCall(nodeID: "2", inputs: ["model_a": [.checkpoint(a, part: .model)], "model_b": [.checkpoint(b, part: .model)],
                                                  "filter": [.string("")], "metric": [.string("delta_spectral_norm")]], context: context)
        do {
            _ = try LTCompareModelsNode.run(call)
            Issue.record("the comparison finished although the prompt was interrupted")
        } catch {
            guard case .interrupted = error else { Issue.record("expected .interrupted, got \(error)"); return }
        }
    }

    @Test func modelAgainstItself_isUnchangedEverywhere() throws {
        let run = try AnalysisRun(#""2": {"class_type": "LTCompareModels", "inputs": {"model_a": ["1", 0], "model_b": ["1", 0], "filter": "", "metric": "cosine"}}"#)
        defer { run.temp.cleanup() }
        // A model against itself: every layer unchanged, cosine 1 where the weight is not zero.
        #expect(run.record.statusString == "success", "\(run.lastMessage)")
        let report = try #require(try run.report("2").arrayValue)
        #expect(report.allSatisfy { $0["delta_l2"]?.doubleValue == 0 && $0["status"] == "compared" })
    }
}

@Suite struct LoraWorkflowTests {
    /// workflows/lora_compare.json (UI format) converts to Load Checkpoint → LoraLoaderModelOnly →
    /// LTLoraInspect (model = the base) and LTVisualizeDelta (A = base, B = patched), one LoRA name
    /// in both LoRA inputs, and validates once that name is a listed LoRA.
    @Test func loraCompareWorkflow_convertsToTheLoraGraphAndValidates() throws {
        let prompt = try WorkflowConversion.apiPrompt(fromUIWorkflow: Repo.json("workflows/lora_compare.json"), catalog: catalog())
        #expect(prompt.objectValue?.keys.sorted() == ["1", "2", "3", "4"])
        #expect(prompt["1"]?["class_type"] == "CheckpointLoaderSimple" && prompt["2"]?["class_type"] == "LoraLoaderModelOnly")
        #expect(prompt["3"]?["class_type"] == "LTLoraInspect" && prompt["4"]?["class_type"] == "LTVisualizeDelta")
        let base: JSON = ["1", 0], patched: JSON = ["2", 0]
        #expect(prompt["2"]?["inputs"]?["model"] == base && prompt["3"]?["inputs"]?["model"] == base)
        #expect(prompt["4"]?["inputs"]?["model_a"] == base && prompt["4"]?["inputs"]?["model_b"] == patched)
        let lora = try #require(prompt["2"]?["inputs"]?["lora_name"]?.stringValue)
        #expect(prompt["3"]?["inputs"]?["lora_name"]?.stringValue == lora)
        #expect(prompt["2"]?["inputs"]?["strength_model"]?.doubleValue == 1)
        // The layer drawn is one SDXL LoRAs adapt, present in the demo checkpoint.
        let layer = try #require(prompt["4"]?["inputs"]?["layer_name"]?.stringValue)
        let demo = try TestCheckpoints.models().checkpointPath(named: "weightlens_demo_sdxl_synthetic.safetensors")
        #expect(prompt["1"]?["inputs"]?["ckpt_name"] == "weightlens_demo_sdxl_synthetic.safetensors")
        let catalogue = LayerCatalog(checkpoint: try CheckpointFile.open(path: try #require(demo)))
        #expect((try? catalogue.layer(named: layer)) != nil, "\(layer)")
        let models = ListedModels(models: try TestCheckpoints.models(), extra: ["loras": [lora]])
        if case .failure(let f) = PromptValidation.validate(prompt: prompt, catalog: try catalog(), models: models) {
            Issue.record("\(f.body.serialized())")
        }
        // Without that LoRA in the folder, ComfyUI's "value not in list" names the input.
        let missing = ListedModels(models: try TestCheckpoints.models(), extra: ["loras": ["other.safetensors"]])
        guard case .failure(let f) = PromptValidation.validate(prompt: prompt, catalog: try catalog(), models: missing) else {
            Issue.record("validated with the LoRA missing"); return
        }
        #expect(f.body.serialized().contains("lora_name"))
    }
}

/// Adds `value` to every element of one weight: a stand-in for a LoRA on a patched catalogue.
struct AddConstant: WeightPatch {
    let weightKey: String
    let value: Float
    var identity: String { "add \(value) to \(weightKey)" }
    func touches(weightKey key: String) -> Bool { key == weightKey }
    func apply(to weight: Tensor, layer: Layer) throws(CheckpointError) -> Tensor {
        Tensor(shape: weight.shape, values: weight.values.map { $0 + value })
    }
}

@Suite struct PatchedModelComparisonTests {
    /// A model against itself with a patch: the patched layer changes by exactly the patch, every
    /// other layer is unchanged (the patched weight is read through the catalogue, not the file).
    @Test func patchedCatalogue_showsExactlyThePatch() throws {
        let a = try CompareFixtures.side("compare_a.safetensors")
        let layer = try a.catalog.layer(named: "middle_block.1.proj_out")
        let b = ModelComparisonReport.Side(file: a.file, catalog: a.catalog.patched(with: AddConstant(weightKey: layer.weightKey, value: 0.5)))
        let entries = try ModelComparisonReport.compute(a, b, filter: "", metric: .deltaSpectralNorm)
        for e in entries where e.status == .compared {
            if e.name == layer.name {
                #expect(abs((e.value(.deltaL2) ?? 0) - 0.5 * Double(layer.parameters).squareRoot()) < 1e-9)
                // B - A = 0.5 everywhere: rank one, sigma1 = 0.5 sqrt(rows cols) = delta_l2.
                #expect(abs((e.value(.deltaSpectralNorm) ?? 0) - (e.value(.deltaL2) ?? -1)) < 1e-6)
            } else {
                #expect(e.value(.deltaL2) == 0, "\(e.name)")
            }
        }
    }
}
