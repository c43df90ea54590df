import Foundation
import Checkpoint
import ModelCatalog
import OrderedJSON
import Synchronization
import Render
import Testing
@testable import LTNodes

private func visualizePrompt(layer: String, mode: String = "both", filters: Int = 16, extra: String = "") -> String {
    #"""
    {"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sdxl_synthetic_fp16.safetensors"}},
     "2": {"class_type": "LTVisualizeWeights", "inputs": {"model": ["1", 0], "layer_name": "\#(layer)", "num_filters": \#(filters), "visualization_mode": "\#(mode)"\#(extra)}}}
    """#
}

private struct Run {
    let record: ExecutionRecord
    let log: MessageLog
    let temp: TempDirectory
}

private func execute(_ promptText: String, executor: GraphExecutor? = nil, temp: TempDirectory = TempDirectory("ltnodes-vis")) throws -> Run {
    let models = try TestCheckpoints.models()
    let executor = try executor ?? GraphExecutor(catalog: catalog(),
                                                 environment: ExecutionEnvironment(models: models, tempDirectory: temp.path, outputDirectory: temp.path))
    let validated = try PromptValidation.validate(prompt: try JSON.text(promptText), catalog: executor.catalog, models: models).get()
    let log = MessageLog()
    let record = executor.execute(validated, promptID: "v", extraData: [:], send: log.send, isInterrupted: { false })
    return Run(record: record, log: log, temp: temp)
}

private func pngSize(_ path: String) throws -> (Int, Int) {
    let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    #expect(Array(bytes.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
    func be32(_ o: Int) -> Int { bytes[o..<o + 4].reduce(0) { $0 << 8 | Int($1) } }
    return (be32(16), be32(20))
}

@Suite struct LTVisualizeWeightsTests {
    /// On the node one compact preview (512 px wide); the full pages as `pages`, with a viewer link.
    @Test(arguments: [("weights", 1), ("expanded", 1), ("both", 2)])
    func modes_writeTempPNGsAndDescribeTheLayer(mode: String, pages: Int) throws {
        let layerName = "input_blocks.4.1.transformer_blocks.0.attn1.to_q"
        let run = try execute(visualizePrompt(layer: layerName, mode: mode))
        defer { run.temp.cleanup() }
        #expect(run.record.statusString == "success")
        let ui = try #require(run.record.outputs["2"]?.objectValue)
        #expect(ui.keys == ["images", "text", "pages", "viewer", "html"])
        let refs = try #require(ui["images"]?.arrayValue)
        #expect(refs.count == 1)
        let full = try #require(ui["pages"]?.arrayValue)
        #expect(full.count == pages)
        for ref in refs + full {
            #expect(ref["type"] == "temp" && ref["subfolder"] == "")
            let name = try #require(ref["filename"]?.stringValue)
            #expect(name.hasSuffix("_.png") && name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." })
            let (w, h) = try pngSize(run.temp.path + "/" + name)
            #expect(w > 0 && h > 0 && max(w, h) <= 2048)
        }
        #expect(try pngSize(run.temp.path + "/" + refs[0]["filename"]!.stringValue!).0 == CompactPreview.width)
        #expect(ui["viewer"] == .array([.string("/viewer?ckpt=sdxl_synthetic_fp16.safetensors&layer=\(layerName)&view=\(mode)")]))
        let layer = try #require(try TestCheckpoints.models().checkpointPath(named: "sdxl_synthetic_fp16.safetensors")
            .map { try LayerCatalog(checkpoint: CheckpointFile.open(path: $0)).layer(named: layerName) })
        let shape = "[" + layer.shape.map(String.init).joined(separator: ", ") + "]"
        let text = try #require(ui["text"]?[0]?.stringValue)
        #expect(text.hasPrefix("Layer: \(layerName)\nShape: \(shape) | \(LTVisualizeWeightsNode.groupedThousands(layer.parameters)) parameters | float16\n"))
        #expect(text.contains("Synthetic checkpoint"))
        #expect(ui["html"]?[0]?.stringValue?.contains("api/view?filename=\(full[0]["filename"]!.stringValue!)") == true)
        // The executed message carries the same UI output.
        #expect(run.log.all.first { $0.0 == "executed" }?.1["output"] == .object(ui))
    }

    /// No picture of names: the text list (searchable and clickable in the extension) is enough.
    /// More filters than a page holds: more pages, each naming its channels; the text says so.
    @Test func manyFilters_goOnMorePagesNeverACut() throws {
        let run = try execute(visualizePrompt(layer: "input_blocks.4.0.in_layers.2", mode: "weights", filters: 64,
                                              extra: #", "max_side": 256"#))
        defer { run.temp.cleanup() }
        let ui = try #require(run.record.outputs["2"])
        let pages = try #require(ui["pages"]?.arrayValue)
        #expect(pages.count > 1)
        #expect(pages.map { $0["title"]?.stringValue } == (1...pages.count).map { "Weights \($0)" })
        let text = try #require(ui["text"]?[0]?.stringValue)
        #expect(text.contains("weights: 64 filters on \(pages.count) full pages"), "\(text)")
    }

    @Test func emptyLayerName_listsTheLayersAsTextOnly() throws {
        let run = try execute(visualizePrompt(layer: ""))
        defer { run.temp.cleanup() }
        let ui = try #require(run.record.outputs["2"])
        #expect(ui["images"] == nil)
        let text = try #require(ui["text"]?[0]?.stringValue)
        #expect(text.contains("\ninput_blocks.4.1.transformer_blocks.0.attn1.to_q\n"))
        #expect(text.hasPrefix("1050 layers;") || text.contains(" layers; set layer_name"))
    }

    @Test func unknownLayer_isAnExecutionErrorNamingTheClosestLayers() throws {
        let run = try execute(visualizePrompt(layer: "input_blocks.4.1.transformer_blocks.0.attn1.to_qq"))
        defer { run.temp.cleanup() }
        #expect(run.record.statusString == "error" && run.record.outputs.isEmpty)
        let error = try #require(run.log.all.last)
        #expect(error.0 == "execution_error")
        #expect(error.1["node_id"] == "2" && error.1["node_type"] == "LTVisualizeWeights" && error.1["executed"] == ["1"])
        let message = try #require(error.1["exception_message"]?.stringValue)
        #expect(message.contains("input_blocks.4.1.transformer_blocks.0.attn1.to_q"), "\(message)")
        #expect(error.1["current_inputs"]?["layer_name"] == ["input_blocks.4.1.transformer_blocks.0.attn1.to_qq"])
        #expect(error.1["current_inputs"]?["num_filters"] == [16])
    }

    @Test func containerModule_isAnExecutionErrorSayingItHasNoWeights() throws {
        let run = try execute(visualizePrompt(layer: "input_blocks.1.0.in_layers"))
        defer { run.temp.cleanup() }
        let error = try #require(run.log.all.last)
        #expect(error.0 == "execution_error")
        #expect(error.1["exception_message"]?.stringValue?.contains("does not have weights") == true)
    }

    /// The layers the original's transcripts exercise: a 1-D GroupNorm weight and a conv with
    /// fewer output channels (4) than num_filters (16).
    @Test(arguments: ["input_blocks.1.0.in_layers.0", "out.2", "input_blocks.1.0.in_layers.2", "middle_block.1.proj_in"])
    func unusualLayers_render(layer: String) throws {
        let run = try execute(visualizePrompt(layer: layer))
        defer { run.temp.cleanup() }
        #expect(run.record.statusString == "success", "\(run.log.all.last.map { $0.1.serialized() } ?? "")")
        #expect((run.record.outputs["2"]?["images"]?.arrayValue?.count ?? 0) >= 1)
    }

    @Test func optionalInputs_changeThePicture() throws {
        func render(_ extra: String) throws -> (bytes: [UInt8], size: (Int, Int)) {
            let run = try execute(visualizePrompt(layer: "middle_block.1.proj_in", mode: "weights", extra: extra))
            defer { run.temp.cleanup() }
            let name = try #require(run.record.outputs["2"]?["images"]?[0]?["filename"]?.stringValue)
            let path = run.temp.path + "/" + name
            return (Array(try Data(contentsOf: URL(fileURLWithPath: path))), try pngSize(path))
        }
        let diverging = try render(#", "colormap": "diverging", "max_side": 8192"#)
        let viridis = try render(#", "colormap": "viridis", "max_side": 8192"#)
        let small = try render(#", "colormap": "viridis", "max_side": 256"#)
        #expect(diverging.bytes != viridis.bytes)
        #expect(max(small.size.0, small.size.1) <= max(viridis.size.0, viridis.size.1))
    }

    /// Same prompt as the recorded run (loader cached by an earlier prompt, as it was there):
    /// the same messages in the same order, status broadcasts aside.
    @Test func recordedPrompt_sendsTheRecordedSequence() throws {
        let temp = TempDirectory("ltnodes-vis")
        defer { temp.cleanup() }
        let models = try TestCheckpoints.models()
        let executor = GraphExecutor(catalog: try catalog(),
                                     environment: ExecutionEnvironment(models: models, tempDirectory: temp.path, outputDirectory: temp.path))
        _ = try execute(#"""
            {"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sdxl_synthetic_fp16.safetensors"}},
             "9": {"class_type": "LTListLayers", "inputs": {"model": ["1", 0], "filter": "prime"}},
             "8": {"class_type": "ShowText|pysssss", "inputs": {"text": ["9", 0]}}}
            """#, executor: executor, temp: temp)
        let prompt = try Repo.json("Tests/Fixtures/comfyui/post_prompt_success.json")["request"]?["body"]?["prompt"]
        let run = try execute(try #require(prompt).serialized(), executor: executor, temp: temp)
        func shape(_ m: (String, JSON)) -> String {
            var s = m.0
            if let node = m.1["node"]?.stringValue { s += " node=\(node)" }
            if case .array(let ids)? = m.1["nodes"] { s += " nodes=\(ids.compactMap(\.stringValue))" }
            if case .object(let board)? = m.1["nodes"] { s += " " + board.members.map { "\($0.key):\($0.value["state"]?.stringValue ?? "")" }.joined(separator: ",") }
            return s
        }
        let messages = try #require(try Repo.transcript("ws_messages_success.json")["messages"]?.arrayValue)
        let recorded = messages.compactMap { m -> (String, JSON)? in
            guard let t = m["message"]?["type"]?.stringValue, let d = m["message"]?["data"], t != "status",
                  !(t == "executing" && d["node"] == .null) else { return nil }
            return (t, d)
        }
        #expect(run.log.all.map(shape) == recorded.map(shape))
        #expect(run.record.outputs.keys == ["2", "4"])
        #expect(run.record.outputs["4"] == (try JSON.text(#"{"text": ["output_blocks.2.2.conv\noutput_blocks.5.2.conv"]}"#)))
    }

    /// The SVD's progress callbacks become ComfyUI `progress` messages, each after a `progress_state`.
    @Test func svdProgress_becomesProgressMessages() throws {
        let run = try execute(visualizePrompt(layer: "middle_block.1.proj_in", mode: "expanded"))
        defer { run.temp.cleanup() }
        let all = run.log.all
        let indices = all.indices.filter { all[$0].0 == "progress" }
        #expect(!indices.isEmpty)
        var last = 0.0
        for i in indices {
            let data = all[i].1
            #expect(data.objectValue?.keys == ["value", "max", "prompt_id", "node"])
            #expect(data["node"] == "2" && data["prompt_id"] == "v")
            let value = try #require(data["value"]?.doubleValue)
            #expect(value > last)
            last = value
            #expect(all[i - 1].0 == "progress_state")
            #expect(all[i - 1].1["nodes"]?["2"]?["state"] == "running")
            #expect(all[i - 1].1["nodes"]?["2"]?["value"]?.doubleValue == value)
        }
        let finished = try #require(all.last { $0.0 == "progress_state" }?.1["nodes"]?["2"])
        #expect(finished["state"] == "finished" && finished["value"] == finished["max"])
    }

    /// An interrupt that arrives while the renderer works reaches it through `Cancellation`.
    @Test func interruptDuringRendering_stopsTheNode() throws {
        let models = try TestCheckpoints.models()
        let temp = TempDirectory("ltnodes-vis")
        defer { temp.cleanup() }
        let path = try #require(models.checkpointPath(named: "sdxl_synthetic_fp16.safetensors"))
        let handle = LoadedCheckpoint(name: "sdxl_synthetic_fp16.safetensors", file: try CheckpointFile.open(path: path))
        let polls = Counter()
        let context = NodeContext(environment: ExecutionEnvironment(models: models, tempDirectory: temp.path, outputDirectory: temp.path),
                                  promptID: "p", nodeID: "2", reportProgress: { _, _ in },
                                  interrupted: { polls.next() > 1 })   // false for the node's own check, then true
        let call = NodeCall(nodeID: "2", inputs: [
            "model": [.checkpoint(handle, part: .model)], "layer_name": [.string("middle_block.1.proj_in")],
            "num_filters": [.int(16)], "visualization_mode": [.string("expanded")],
        ], context: context)
        do {
            _ = try LTVisualizeWeightsNode.run(call)
            Issue.record("the node finished although the prompt was interrupted")
        } catch {
            guard case .interrupted = error else { Issue.record("expected .interrupted, got \(error)"); return }
        }
        // The first poll was the node's own (answered false): the stop came from inside the renderer.
        #expect(polls.value > 1)
    }
}

/// A thread-safe counter for closures the renderer may call from worker threads.
final class Counter: Sendable {
    private let count = Synchronization.Atomic<Int>(0)
    func next() -> Int { count.add(1, ordering: .relaxed).newValue }
    var value: Int { count.load(ordering: .relaxed) }
}
