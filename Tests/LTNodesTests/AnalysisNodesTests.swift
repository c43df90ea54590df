import Foundation
import Analysis
import Checkpoint
import ModelCatalog
import OrderedJSON
import Render
import TensorCore
import Testing
@testable import LTNodes

/// Runs an API prompt whose node "1" is the synthetic SDXL loader; output to `temp/output`.
struct AnalysisRun {
    let record: ExecutionRecord
    let log: MessageLog
    let temp: TempDirectory
    var output: String { temp.path + "/output" }

    init(_ nodes: String, extraData: JSON = [:]) throws {
        temp = TempDirectory("ltnodes-analysis")
        let models = try TestCheckpoints.models()
        let executor = GraphExecutor(catalog: try catalog(),
                                     environment: ExecutionEnvironment(models: models, tempDirectory: temp.path + "/temp",
                                                                       outputDirectory: temp.path + "/output"))
        let text = #"{"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sdxl_synthetic_fp16.safetensors"}}, "#
            + nodes + "}"
        let validated = try PromptValidation.validate(prompt: try JSON.text(text), catalog: executor.catalog, models: models).get()
        log = MessageLog()
        record = executor.execute(validated, promptID: "a", extraData: extraData, send: log.send, isInterrupted: { false })
    }

    var lastMessage: String { log.all.last.map { $0.0 + " " + $0.1.serialized() } ?? "" }

    /// The report of node `id` (its ui.text), parsed.
    func report(_ id: String) throws -> JSON {
        try JSON.text(try #require(record.outputs[id]?["text"]?[0]?.stringValue))
    }

    /// The temp pictures of node `id`, decoded.
    func pictures(_ id: String) throws -> [DecodedPNG] {
        try (record.outputs[id]?["images"]?.arrayValue ?? []).map { ref in
            #expect(ref["type"] == "temp")
            let name = try #require(ref["filename"]?.stringValue)
            return try PNGDecoder.decode(Array(try Data(contentsOf: URL(fileURLWithPath: temp.path + "/temp/" + name))))
        }
    }
}

func syntheticWeight(_ layer: String) throws -> Tensor {
    let path = try #require(try TestCheckpoints.models().checkpointPath(named: "sdxl_synthetic_fp16.safetensors"))
    let file = try CheckpointFile.open(path: path)
    return try file.loadTensor(try LayerCatalog(checkpoint: file).layer(named: layer).weightKey)
}

@Suite struct LTWeightNMFTests {
    @Test func report_matchesTheEngineAndThePictureDecodes() throws {
        let layer = "input_blocks.1.0.in_layers.2"
        let run = try AnalysisRun(#""2": {"class_type": "LTWeightNMF", "inputs": {"model": ["1", 0], "layer_name": "\#(layer)", "num_filters": 8, "rank": 4}}"#)
        defer { run.temp.cleanup() }
        #expect(run.record.statusString == "success", "\(run.lastMessage)")
        let report = try run.report("2")
        #expect(report.objectValue?.keys == ["layer", "shape", "rank", "relative_error", "factors", "output_channels"])
        let weight = try syntheticWeight(layer)
        let direct = try oneSidedNMF(convWeight: weight, rank: 4, outputChannels: Array(0..<8))
        #expect(report["layer"] == .string(layer) && report["shape"] == ReportNumber.shape(weight.shape) && report["rank"] == 4)
        #expect(report["output_channels"] == .array((0..<8).map { .int(Int64($0)) }))
        #expect(report["relative_error"] == ReportNumber.json(direct.relativeError))
        let factors = try #require(report["factors"]?.arrayValue)
        #expect(factors.count == 4 && factors.allSatisfy { $0.arrayValue?.count == weight.shape[1] })
        #expect(factors.allSatisfy { $0.arrayValue?.allSatisfy { ($0.doubleValue ?? -1) >= 0 } == true })
        let pictures = try run.pictures("2")
        #expect(pictures.count == 1 && pictures[0].width > 200 && pictures[0].height > 200)
        // Kernel tiles are coloured (not only page white and ink).
        #expect(distinctColours(pictures[0]) > 20)
    }


    @Test func wiredToSaveImage_writesTheSamePictureWithPromptAndWorkflow() throws {
        let run = try AnalysisRun(#"""
            "2": {"class_type": "LTWeightNMF", "inputs": {"model": ["1", 0], "layer_name": "input_blocks.1.0.in_layers.2", "num_filters": 16, "rank": 3}},
            "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "nmf/conv"}}
            """#, extraData: try JSON.text(#"{"extra_pnginfo": {"workflow": {"nodes": [{"id": 2, "type": "LTWeightNMF"}]}}}"#))
        defer { run.temp.cleanup() }
        #expect(run.record.statusString == "success", "\(run.lastMessage)")
        #expect(run.record.outputs["3"]?["images"] == .array([.object(JSONObject([("filename", "conv_00001_.png"), ("subfolder", "nmf"), ("type", "output")]))]))
        let saved = Array(try Data(contentsOf: URL(fileURLWithPath: run.output + "/nmf/conv_00001_.png")))
        let preview = try run.pictures("2")[0]
        let decoded = try PNGDecoder.decode(saved)
        #expect(decoded.width == preview.width && decoded.height == preview.height && decoded.rgba == preview.rgba)
        let prompt = try JSON.text(try #require(try PNGDecoder.text(saved, keyword: "prompt")))
        #expect(prompt["2"]?["class_type"] == "LTWeightNMF" && prompt["3"]?["inputs"]?["images"] == ["2", 0])
        #expect(try PNGDecoder.text(saved, keyword: "workflow") == #"{"nodes": [{"id": 2, "type": "LTWeightNMF"}]}"#)
    }

    @Test(arguments: [("", "layer_name is empty"), ("input_blocks.1.0.in_layers.22", "input_blocks.1.0.in_layers.2"),
                      ("input_blocks.1.0.in_layers.0", "nmf")])
    func badLayers_areExecutionErrors(layer: String, mentions: String) throws {
        let run = try AnalysisRun(#""2": {"class_type": "LTWeightNMF", "inputs": {"model": ["1", 0], "layer_name": "\#(layer)", "num_filters": 16, "rank": 3}}"#)
        defer { run.temp.cleanup() }
        let error = try #require(run.log.all.last)
        #expect(error.0 == "execution_error" && error.1["node_type"] == "LTWeightNMF")
        #expect(error.1["exception_message"]?.stringValue?.contains(mentions) == true, "\(run.lastMessage)")
    }
}

/// Number of distinct RGB colours of a picture.
func distinctColours(_ picture: DecodedPNG) -> Int {
    var seen = Set<UInt32>()
    let px = picture.rgba
    var i = 0
    while i + 3 < px.count {
        let r = UInt32(px[i]), g = UInt32(px[i + 1]), b = UInt32(px[i + 2])
        seen.insert(r << 16 | g << 8 | b)
        i += 4
    }
    return seen.count
}

@Suite struct LTWeightStatsTests {
    @Test func everyMatchingLayerIsInTheReport_andTwoPicturesAreDrawn() throws {
        let run = try AnalysisRun(#""2": {"class_type": "LTWeightStats", "inputs": {"model": ["1", 0], "filter": "IN04-IN08", "bins": 32}}"#)
        defer { run.temp.cleanup() }
        #expect(run.record.statusString == "success", "\(run.lastMessage)")
        let report = try #require(try run.report("2").arrayValue)
        let path = try #require(try TestCheckpoints.models().checkpointPath(named: "sdxl_synthetic_fp16.safetensors"))
        let file = try CheckpointFile.open(path: path)
        let layers = try LayerCatalog(checkpoint: file).filter("IN04-IN08")
        #expect(report.count == layers.count && report.count > 64)   // more than are drawn
        #expect(report[0].objectValue?.keys == ["name", "shape", "dtype", "parameters", "mean", "std", "min", "max",
                                                "near_zero_fraction", "l2_norm", "dead_filters"])
        for (entry, layer) in zip(report, layers) {
            #expect(entry["name"] == .string(layer.name) && entry["dtype"] == "float16")
            let t = try file.loadTensor(layer.weightKey)
            let mean = t.values.reduce(0.0) { $0 + Double($1) } / Double(t.count)
            #expect(abs((entry["mean"]?.doubleValue ?? .nan) - mean) <= 1e-6 * max(1, abs(mean)))
            #expect(entry["max"]?.doubleValue.map(Float.init) == t.values.max() && entry["min"]?.doubleValue.map(Float.init) == t.values.min())
        }
        let pictures = try run.pictures("2")
        #expect(pictures.count == 2 && pictures.allSatisfy { $0.width >= 480 && $0.height > 100 })
        // The IMAGE output is a batch of both, padded to one size (checked through ui.text = STRING output).
        let progress = run.log.all.filter { $0.0 == "progress" && $0.1["node"] == "2" }
        #expect(progress.last?.1["value"] == .int(Int64(layers.count)) && progress.last?.1["max"] == .int(Int64(layers.count)))
    }

    @Test func deadFilters_areChannelsBelowAThousandthOfTheLayersMax() {
        // Channel 1 peaks at 0.0009 (< 1e-3 × 1.0): dead; channel 2 at 0.0011: alive.
        let t = Tensor(shape: [3, 2], values: [1.0, -0.5, 0.0009, -0.0002, 0.0011, 0])
        #expect(WeightStatsReport.deadFilters(t) == [1])
        #expect(WeightStatsReport.deadFilters(Tensor(shape: [2], values: [0, 0])) == [])
    }

    @Test func unknownFilter_isAnExecutionError() throws {
        let run = try AnalysisRun(#""2": {"class_type": "LTWeightStats", "inputs": {"model": ["1", 0], "filter": "no_such_layer_xyz", "bins": 64}}"#)
        defer { run.temp.cleanup() }
        #expect(run.log.all.last?.0 == "execution_error")
        #expect(run.log.all.last?.1["exception_message"]?.stringValue?.contains("no_such_layer_xyz") == true)
    }
}

@Suite struct LTModelOverviewTests {
    @Test func everyMetric_forEvery2Dand4DWeight_withProgressPerLayer() throws {
        let run = try AnalysisRun(#""2": {"class_type": "LTModelOverview", "inputs": {"model": ["1", 0], "filter": "IN04", "metric": "alpha"}}"#)
        defer { run.temp.cleanup() }
        #expect(run.record.statusString == "success", "\(run.lastMessage)")
        let report = try #require(try run.report("2").arrayValue)
        let path = try #require(try TestCheckpoints.models().checkpointPath(named: "sdxl_synthetic_fp16.safetensors"))
        let file = try CheckpointFile.open(path: path)
        let layers = try LayerCatalog(checkpoint: file).filter("IN04").filter { $0.shape.count == 2 || $0.shape.count == 4 }
        #expect(report.count == layers.count && !layers.isEmpty)
        #expect(report[0].objectValue?.keys == ["name", "block", "shape", "l2_norm", "std", "spectral_norm", "stable_rank",
                                                "alpha", "alpha_weighted", "dead_fraction"])
        for (entry, layer) in zip(report, layers).prefix(6) {
            #expect(entry["name"] == .string(layer.name) && entry["block"] == "IN04")
            let m = Matrix(try file.loadTensor(layer.weightKey))
            let sigma = Double(try truncatedSVD(m, rank: 1).singularValues[0])
            let spectral = try #require(entry["spectral_norm"]?.doubleValue)
            #expect(abs(spectral - sigma) <= 1e-3 * sigma)
            let frobenius = Double(m.frobeniusNorm)
            #expect(abs((entry["stable_rank"]?.doubleValue ?? 0) - frobenius * frobenius / (sigma * sigma)) <= 1e-2)
            #expect(abs((entry["l2_norm"]?.doubleValue ?? 0) - frobenius) <= 1e-4 * frobenius)
            let alpha = try #require(entry["alpha"]?.doubleValue)
            let lambdaMax = sigma * sigma / Double(max(m.rows, m.cols))
            #expect(abs((entry["alpha_weighted"]?.doubleValue ?? 0) - alpha * log10(lambdaMax)) <= 1e-3 * max(1, abs(alpha)))
        }
        let progress = run.log.all.filter { $0.0 == "progress" && $0.1["node"] == "2" }.compactMap { $0.1["value"]?.intValue }
        #expect(progress.count >= min(layers.count, 50) && progress.last == Int64(layers.count))
        let picture = try #require(try run.pictures("2").first)
        #expect(picture.width >= 720 && picture.height > 500)
    }

    @Test func cheapMetric_leavesTheSpectralFieldsNull() throws {
        let run = try AnalysisRun(#""2": {"class_type": "LTModelOverview", "inputs": {"model": ["1", 0], "filter": "OUT0", "metric": "l2_norm"}}"#)
        defer { run.temp.cleanup() }
        #expect(run.record.statusString == "success", "\(run.lastMessage)")
        let report = try #require(try run.report("2").arrayValue)
        #expect(!report.isEmpty && report.allSatisfy { $0["alpha"] == .null && $0["spectral_norm"] == .null && $0["l2_norm"]?.doubleValue != nil })
    }

    @Test func interrupt_stopsTheOverview() throws {
        let models = try TestCheckpoints.models()
        let temp = TempDirectory("ltnodes-overview")
        defer { temp.cleanup() }
        let path = try #require(models.checkpointPath(named: "sdxl_synthetic_fp16.safetensors"))
        let handle = LoadedCheckpoint(name: "x", file: try CheckpointFile.open(path: path))
        let polls = Counter()
        let context = NodeContext(environment: ExecutionEnvironment(models: models, tempDirectory: temp.path, outputDirectory: temp.path),
                                  promptID: "p", nodeID: "2", reportProgress: { _, _ in }, interrupted: { polls.next() > 20 })
        let call = NodeCall(nodeID: "2", inputs: ["model": [.checkpoint(handle, part: .model)], "filter": [.string("")],
                                                  "metric": [.string("alpha")]], context: context)
        do {
            _ = try LTModelOverviewNode.run(call)
            Issue.record("the overview finished although the prompt was interrupted")
        } catch {
            guard case .interrupted = error else { Issue.record("expected .interrupted, got \(error)"); return }
        }
    }

    @Test func blockLabels_forUNetAndDiTNames() {
        func layer(_ name: String, block: String? = nil) -> Layer {
            Layer(name: name, weightKey: name + ".weight", shape: [2, 2], dtype: .f16, parameters: 4, block: block, part: "unet")
        }
        #expect(ModelOverviewReport.block(of: layer("input_blocks.4.1.proj_in", block: "IN04")) == "IN04")
        #expect(ModelOverviewReport.block(of: layer("double_blocks.3.img_attn.qkv")) == "DB03")
        #expect(ModelOverviewReport.block(of: layer("single_blocks.12.linear1")) == "SB12")
        #expect(ModelOverviewReport.block(of: layer("joint_blocks.5.x_block.attn.qkv")) == "JB05")
        #expect(ModelOverviewReport.block(of: layer("final_layer.linear")) == "final_layer")
    }
}

@Suite struct LTExpandedWeightsAndTopInputsTests {
    @Test func convChain_composesTheKernels() throws {
        let chain = "input_blocks.1.0.in_layers.2, input_blocks.1.0.out_layers.3"
        let run = try AnalysisRun(#""2": {"class_type": "LTExpandedWeights", "inputs": {"model": ["1", 0], "layer_name": "\#(chain)", "mode": "conv_chain", "head": -1}}"#)
        defer { run.temp.cleanup() }
        #expect(run.record.statusString == "success", "\(run.lastMessage)")
        let report = try run.report("2")
        #expect(report.objectValue?.keys == ["layers", "mode", "heads", "head_dim", "shape", "singular_values"])
        let a = try syntheticWeight("input_blocks.1.0.in_layers.2"), b = try syntheticWeight("input_blocks.1.0.out_layers.3")
        let composed = try expandChain([a, b])
        #expect(report["shape"] == ReportNumber.shape(composed.shape) && composed.shape[2] == 5)
        let top = try truncatedSVD(Matrix(composed), rank: 1).singularValues[0]
        #expect(abs((report["singular_values"]?[0]?.doubleValue ?? 0) - Double(top)) <= 1e-3 * Double(top))
        #expect(try run.pictures("2").count == 2)
    }

    @Test(arguments: ["attention_qk", "attention_ov"])
    func attention_perHeadSpectraMatchTheFormedCircuits(mode: String) throws {
        let module = "input_blocks.4.1.transformer_blocks.0.attn2"
        let run = try AnalysisRun(#""2": {"class_type": "LTExpandedWeights", "inputs": {"model": ["1", 0], "layer_name": "\#(module)", "mode": "\#(mode)", "head": -1}}"#)
        defer { run.temp.cleanup() }
        #expect(run.record.statusString == "success", "\(run.lastMessage)")
        let report = try run.report("2")
        let q = try syntheticWeight(module + ".to_q"), k = try syntheticWeight(module + ".to_k")
        let v = try syntheticWeight(module + ".to_v"), o = try syntheticWeight(module + ".to_out.0")
        let heads = try #require(report["heads"]?.intValue.map(Int.init))
        let circuits = try attentionCircuits(query: q, key: k, value: v, output: o, heads: heads)
        let spectra = try #require(report["singular_values"]?.arrayValue)
        #expect(spectra.count == heads)
        for (c, s) in zip(circuits, spectra) {
            let m = mode == "attention_qk" ? c.qk : c.ov
            #expect(report["shape"] == ReportNumber.shape(m.shape))
            let top = Double(try truncatedSVD(m, rank: 1).singularValues[0])
            #expect(abs((s[0]?.doubleValue ?? 0) - top) <= 1e-3 * top)
        }
        #expect(try run.pictures("2").count == 2)
    }

    @Test func topInputs_areTheStrongestChannelsByNorm() throws {
        let layer = "input_blocks.1.0.in_layers.2"
        let run = try AnalysisRun(#""2": {"class_type": "LTTopInputs", "inputs": {"model": ["1", 0], "layer_name": "\#(layer)", "output_channel": 3, "top_k": 5}}"#)
        defer { run.temp.cleanup() }
        #expect(run.record.statusString == "success", "\(run.lastMessage)")
        let report = try run.report("2")
        #expect(report.objectValue?.keys == ["layer", "output_channel", "inputs"])
        let expected = try topInputChannels(of: try syntheticWeight(layer), outputChannel: 3, k: 5)
        #expect(report["inputs"] == .array(expected.map { .object(JSONObject([("input_channel", .int(Int64($0.channel))), ("l2_norm", ReportNumber.json($0.norm))])) }))
        #expect(try run.pictures("2").count == 1)
        let bad = try AnalysisRun(#""2": {"class_type": "LTTopInputs", "inputs": {"model": ["1", 0], "layer_name": "\#(layer)", "output_channel": 100000, "top_k": 5}}"#)
        defer { bad.temp.cleanup() }
        #expect(bad.log.all.last?.0 == "execution_error")
    }
}
