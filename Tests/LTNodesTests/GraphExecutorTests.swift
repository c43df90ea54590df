import Foundation
import ModelCatalog
import OrderedJSON
import Testing
@testable import LTNodes

/// An executor over the synthetic checkpoint folder, with its own temp folder.
private struct Harness {
    let executor: GraphExecutor
    let models: DirectoryModels
    let temp: TempDirectory

    init() throws {
        models = try TestCheckpoints.models()
        temp = TempDirectory("ltnodes-temp")
        executor = GraphExecutor(catalog: try catalog(),
                                 environment: ExecutionEnvironment(models: models, tempDirectory: temp.path, outputDirectory: temp.path))
    }

    func run(_ prompt: JSON, id: String = UUID().uuidString.lowercased(), interrupted: Flag = Flag(),
             interruptWhen: @escaping @Sendable (String, JSON) -> Bool = { _, _ in false }) throws -> (ExecutionRecord, MessageLog) {
        let validated = try PromptValidation.validate(prompt: prompt, catalog: executor.catalog, models: models).get()
        let log = MessageLog()
        let collect = log.send
        let record = executor.execute(validated, promptID: id, extraData: .object(JSONObject()),
                                      send: { type, data in
                                          collect(type, data)
                                          if interruptWhen(type, data) { interrupted.set() }
                                      },
                                      isInterrupted: { interrupted.isSet })
        return (record, log)
    }
}

/// The recorded messages without the queue `status` broadcasts (the server's, not the executor's)
/// and without the final `executing {node: null}` (sent by the server after storing history).
private func recordedSequence(_ transcript: String) throws -> [(String, JSON)] {
    let messages = try #require(try Repo.transcript(transcript)["messages"]?.arrayValue)
    var out: [(String, JSON)] = []
    for m in messages {
        guard let type = m["message"]?["type"]?.stringValue, let data = m["message"]?["data"] else { continue }
        if type == "status" { continue }
        if type == "executing", data["node"] == .null { continue }
        out.append((type, data))
    }
    return out
}

/// A message reduced to what must match: type and node-level fields, without ids, times and payloads.
private func skeleton(_ type: String, _ data: JSON) -> String {
    var parts = [type]
    if let node = data["node"]?.stringValue { parts.append("node=\(node)") }
    if let nodes = data["nodes"] {
        if case .array(let ids) = nodes { parts.append("nodes=\(ids.compactMap(\.stringValue))") }
        if case .object(let board) = nodes {
            parts.append("board=" + board.members.map { "\($0.key):\($0.value["state"]?.stringValue ?? "")" }.joined(separator: ","))
        }
    }
    if let output = data["output"]?.objectValue { parts.append("output=\(output.keys)") }
    return parts.joined(separator: " ")
}

private let listPrompt = #"""
    {"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sdxl_synthetic_fp16.safetensors"}},
     "3": {"class_type": "LTListLayers", "inputs": {"model": ["1", 0], "filter": "conv"}},
     "4": {"class_type": "ShowText|pysssss", "inputs": {"text": ["3", 0]}}}
    """#

@Suite(.serialized) struct GraphExecutorTests {
    @Test func listLayers_producesTheOriginalNamesInDependencyOrder() throws {
        let h = try Harness()
        defer { h.temp.cleanup() }
        let (record, log) = try h.run(try JSON.text(listPrompt), id: "p1")
        #expect(record.statusString == "success" && record.completed && !record.interrupted)
        // The original node listed exactly these for "conv" on the SDXL U-Net (ws_messages_success.json).
        #expect(record.outputs["4"] == (try JSON.text(#"{"text": ["output_blocks.2.2.conv\noutput_blocks.5.2.conv"]}"#)))
        #expect(record.meta["4"] == (try JSON.text(#"{"node_id": "4", "display_node": "4", "parent_node": null, "real_node_id": "4"}"#)))
        #expect(log.all.map { skeleton($0.0, $0.1) } == [
            "execution_start", "execution_cached nodes=[]",
            "progress_state board=1:running", "executing node=1", "progress_state board=1:finished",
            "progress_state board=1:finished,3:running", "executing node=3", "progress_state board=1:finished,3:finished",
            "progress_state board=1:finished,3:finished,4:running", "executing node=4", "executed node=4 output=[\"text\"]",
            "progress_state board=1:finished,3:finished,4:finished", "execution_success",
        ])
        #expect(record.messages.map(\.0) == ["execution_start", "execution_cached", "execution_success"])
        for (_, data) in log.all { #expect(data["prompt_id"] == "p1") }
        #expect(log.all[0].1["timestamp"]?.intValue ?? 0 > 1_700_000_000_000)
    }

    @Test func resubmittedPrompt_isServedFromTheCache_likeTheTranscript() throws {
        let h = try Harness()
        defer { h.temp.cleanup() }
        let prompt = try #require(try Repo.transcript("post_prompt_errors.json")["unknown_class_type"]?["request_body"]?["prompt"]?.objectValue)
        var valid = prompt
        valid["9"] = nil        // the recorded prompt without the unknown node = CheckpointLoader → LTListLayers → ShowText
        _ = try h.run(.object(valid))
        let (record, log) = try h.run(.object(valid), id: "p2")
        #expect(log.all.map { skeleton($0.0, $0.1) } == [
            "execution_start", "execution_cached nodes=[\"1\", \"3\", \"4\"]",
            "executed node=4 output=[\"text\"]", "progress_state board=4:finished", "execution_success",
        ])
        // Cached output nodes report integer progress, as recorded.
        let recorded = try recordedSequence("ws_messages_success_cached_resubmit.json")
        let recordedBoard = try #require(recorded.first { $0.0 == "progress_state" }?.1["nodes"]?["4"]?.objectValue)
        var ours = try #require(log.all.first { $0.0 == "progress_state" }?.1["nodes"]?["4"]?.objectValue)
        ours["prompt_id"] = recordedBoard["prompt_id"]
        #expect(JSON.object(ours) == .object(recordedBoard))
        #expect(record.outputs["4"] != nil)
        #expect(h.executor.cachedNodeCount == 3)
    }

    @Test func editedWidget_rerunsThatNodeAndItsDescendantsOnly() throws {
        let h = try Harness()
        defer { h.temp.cleanup() }
        _ = try h.run(try JSON.text(listPrompt))
        let edited = try JSON.text(listPrompt.replacingOccurrences(of: "\"conv\"", with: "\"IN04\""))
        let (record, log) = try h.run(edited)
        #expect(log.all[1].1["nodes"] == ["1"])
        #expect(log.all.filter { $0.0 == "executing" }.compactMap { $0.1["node"]?.stringValue } == ["3", "4"])
        let names = try #require(record.outputs["4"]?["text"]?[0]?.stringValue)
        #expect(names.hasPrefix("input_blocks.4.0.in_layers.0\n"))
        #expect(names.split(separator: "\n").allSatisfy { $0.hasPrefix("input_blocks.4.") })
        // Entries not used by the latest prompt were dropped (classic cache).
        #expect(h.executor.cachedNodeCount == 3)
    }

    @Test func checkpointChangedInPlace_isReloaded() throws {
        let dir = TempDirectory("ltnodes-inplace")
        defer { dir.cleanup() }
        let source = try TestCheckpoints.folder.get() + "/sdxl_synthetic_fp16.safetensors"
        try FileManager.default.copyItem(atPath: source, toPath: dir.path + "/m.safetensors")
        let models = DirectoryModels(directory: dir.path)
        let executor = GraphExecutor(catalog: try catalog(),
                                     environment: ExecutionEnvironment(models: models, tempDirectory: dir.path + "/temp", outputDirectory: dir.path))
        let prompt = try JSON.text(listPrompt.replacingOccurrences(of: "sdxl_synthetic_fp16.safetensors", with: "m.safetensors"))
        let validated = try PromptValidation.validate(prompt: prompt, catalog: executor.catalog, models: models).get()
        _ = executor.execute(validated, promptID: "a", extraData: [:], send: { _, _ in }, isInterrupted: { false })
        let again = MessageLog()
        _ = executor.execute(validated, promptID: "b", extraData: [:], send: again.send, isInterrupted: { false })
        #expect(again.all[1].1["nodes"] == ["1", "3", "4"])
        // Same name, new modification time and size.
        try FileManager.default.removeItem(atPath: dir.path + "/m.safetensors")
        try SyntheticCheckpoint_writeSmaller(to: dir.path + "/m.safetensors")
        let third = MessageLog()
        let record = executor.execute(validated, promptID: "c", extraData: [:], send: third.send, isInterrupted: { false })
        #expect(third.all[1].1["nodes"] == [])
        #expect(third.all.filter { $0.0 == "executing" }.compactMap { $0.1["node"]?.stringValue } == ["1", "3", "4"])
        #expect(record.statusString == "success")
    }

    @Test func interruptBeforeTheFirstNode_endsWithExecutionInterrupted() throws {
        let h = try Harness()
        defer { h.temp.cleanup() }
        let flag = Flag()
        flag.set()
        let (record, log) = try h.run(try JSON.text(listPrompt), id: "p3", interrupted: flag)
        #expect(record.interrupted && !record.completed && record.statusString == "error")
        #expect(log.types == ["execution_start", "execution_cached", "execution_interrupted"])
        let data = log.all[2].1
        #expect(data.objectValue?.keys == ["prompt_id", "node_id", "node_type", "executed", "timestamp"])
        #expect(data["node_id"] == "1" && data["node_type"] == "CheckpointLoaderSimple" && data["executed"] == [])
        #expect(record.messages.map(\.0) == ["execution_start", "execution_cached", "execution_interrupted"])
    }

    @Test func interruptBetweenNodes_keepsWhatRan() throws {
        let h = try Harness()
        defer { h.temp.cleanup() }
        let flag = Flag()
        // Interrupt as soon as the loader has finished.
        let (record, log) = try h.run(try JSON.text(listPrompt), interrupted: flag, interruptWhen: { type, data in
            type == "progress_state" && data["nodes"]?["1"]?["state"] == "finished"
        })
        #expect(record.interrupted)
        let last = try #require(log.all.last)
        #expect(last.0 == "execution_interrupted")
        #expect(last.1["node_id"] == "3" && last.1["executed"] == ["1"])
    }

    @Test func failingLoader_isAnExecutionErrorShapedLikeComfyUI() throws {
        let dir = TempDirectory("ltnodes-bad")
        defer { dir.cleanup() }
        _ = FileManager.default.createFile(atPath: dir.path + "/sdxl_tiny.safetensors", contents: Data("not a checkpoint at all".utf8))
        let models = DirectoryModels(directory: dir.path)
        let executor = GraphExecutor(catalog: try catalog(),
                                     environment: ExecutionEnvironment(models: models, tempDirectory: dir.path, outputDirectory: dir.path))
        let recorded = try #require(try Repo.transcript("ws_messages_execution_error.json")["request_body"]?["prompt"])
        let validated = try PromptValidation.validate(prompt: recorded, catalog: executor.catalog, models: models).get()
        let log = MessageLog()
        let record = executor.execute(validated, promptID: "e1", extraData: [:], send: log.send, isInterrupted: { false })
        #expect(record.statusString == "error" && !record.completed && record.outputs.isEmpty)
        let ours = try #require(log.all.last)
        let theirs = try #require(try recordedSequence("ws_messages_execution_error.json").last)
        #expect(ours.0 == "execution_error" && theirs.0 == "execution_error")
        #expect(ours.1.objectValue?.keys == theirs.1.objectValue?.keys)
        #expect(ours.1["node_id"] == "1" && ours.1["node_type"] == "CheckpointLoaderSimple")
        #expect(ours.1["current_inputs"] == theirs.1["current_inputs"])
        #expect(ours.1["traceback"]?.arrayValue?.isEmpty == false)
        #expect(Set((ours.1["current_outputs"]?.arrayValue ?? []).compactMap(\.stringValue)) == Set((theirs.1["current_outputs"]?.arrayValue ?? []).compactMap(\.stringValue)))
        #expect(log.all.map { skeleton($0.0, $0.1) } == (try recordedSequence("ws_messages_execution_error.json")).map { skeleton($0.0, $0.1) })
        #expect(record.messages.map(\.0) == ["execution_start", "execution_cached", "execution_error"])
    }

    @Test func clearCache_makesTheNextRunExecuteEverything() throws {
        let h = try Harness()
        defer { h.temp.cleanup() }
        _ = try h.run(try JSON.text(listPrompt))
        h.executor.clearCache()
        #expect(h.executor.cachedNodeCount == 0)
        let (_, log) = try h.run(try JSON.text(listPrompt))
        #expect(log.all[1].1["nodes"] == [])
    }

    @Test func tenThousandNodeChain_executesIteratively() throws {
        let h = try Harness()
        defer { h.temp.cleanup() }
        var nodes = JSONObject()
        for i in (1..<10_000).reversed() {
            nodes[String(i)] = .object(JSONObject([("class_type", "ShowText|pysssss"),
                                                   ("inputs", .object(JSONObject([("text", .array([.string(String(i - 1)), 0]))])))]))
        }
        nodes["0"] = try JSON.text(#"{"class_type": "ShowText|pysssss", "inputs": {"text": "start"}}"#)
        let (record, log) = try h.run(.object(nodes))
        #expect(record.statusString == "success")
        // The progress board stays bounded instead of growing with every node.
        #expect(log.all.allSatisfy { $0.0 != "progress_state" || ($0.1["nodes"]?.objectValue?.count ?? 0) <= 256 })
        #expect(record.outputs.count == 10_000)
        #expect(record.outputs["9999"] == (try JSON.text(#"{"text": ["start"]}"#)))
    }

    /// ShowText's list output feeding a plain node: one call per element, as ComfyUI maps lists.
    @Test func listOutputs_feedPlainNodesElementByElement() throws {
        let h = try Harness()
        defer { h.temp.cleanup() }
        let (record, _) = try h.run(try JSON.text(#"""
            {"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sdxl_synthetic_fp16.safetensors"}},
             "5": {"class_type": "ShowText|pysssss", "inputs": {"text": "conv"}},
             "3": {"class_type": "LTListLayers", "inputs": {"model": ["1", 0], "filter": ["5", 0]}},
             "4": {"class_type": "ShowText|pysssss", "inputs": {"text": ["3", 0]}}}
            """#))
        #expect(record.outputs["5"] == (try JSON.text(#"{"text": ["conv"]}"#)))
        #expect(record.outputs["4"] == (try JSON.text(#"{"text": ["output_blocks.2.2.conv\noutput_blocks.5.2.conv"]}"#)))
    }

    /// Keys a node does not declare are ignored by validation, and so by execution.
    @Test func undeclaredLinkInputs_areIgnored() throws {
        let h = try Harness()
        defer { h.temp.cleanup() }
        let (record, _) = try h.run(try JSON.text(#"{"4": {"class_type": "ShowText|pysssss", "inputs": {"text": "hi", "bogus": ["99", 0]}}}"#))
        #expect(record.statusString == "success")
        #expect(record.outputs["4"] == (try JSON.text(#"{"text": ["hi"]}"#)))
    }

    @Test func unvalidatedPromptWithACycle_failsCleanly() throws {
        let h = try Harness()
        defer { h.temp.cleanup() }
        let cyclic = try JSON.text(#"{"1": {"class_type": "ShowText|pysssss", "inputs": {"text": ["2", 0]}}, "2": {"class_type": "ShowText|pysssss", "inputs": {"text": ["1", 0]}}}"#)
        let log = MessageLog()
        let record = h.executor.execute(ValidatedPrompt(prompt: cyclic, outputNodeIDs: ["1"]), promptID: "x", extraData: [:],
                                        send: log.send, isInterrupted: { false })
        #expect(record.statusString == "error")
        #expect(log.types == ["execution_start", "execution_cached", "execution_error"])
    }
}

/// A different synthetic checkpoint (another seed and width) under the same name.
private func SyntheticCheckpoint_writeSmaller(to path: String) throws {
    try SyntheticCheckpoint.write(layout: .sdxl, scale: 32, dtype: .f16, parts: .unet, seed: 9, to: path)
}
