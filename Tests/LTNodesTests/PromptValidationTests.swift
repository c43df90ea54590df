import Foundation
import OrderedJSON
import Testing
@testable import LTNodes

/// Checkpoint names of the recorded server, as empty files (validation only lists names).
private func recordedModels() -> (DirectoryModels, TempDirectory) {
    let dir = TempDirectory("ltnodes-names")
    for name in ["sdxl_synthetic_fp16.safetensors", "sdxl_tiny.safetensors"] {
        _ = FileManager.default.createFile(atPath: dir.path + "/" + name, contents: Data())
    }
    return (DirectoryModels(directory: dir.path), dir)
}

private func validate(_ prompt: JSON, models: DirectoryModels? = nil) throws -> Result<ValidatedPrompt, PromptValidationFailure> {
    let (recorded, dir) = recordedModels()
    defer { dir.cleanup() }
    return PromptValidation.validate(prompt: prompt, catalog: try catalog(), models: models ?? recorded)
}

private func failureBody(_ prompt: JSON) throws -> JSON {
    switch try validate(prompt) {
    case .success: Issue.record("expected a validation failure"); return .null
    case .failure(let f): return f.body
    }
}

@Suite struct PromptValidationTests {
    /// Cases of post_prompt_errors.json that our nodes can reproduce (the cycle case uses a core
    /// node we do not have; malformed bodies are the server's business).
    static let recordedCases = [
        "unknown_class_type", "missing_required_input", "missing_required_link_input", "value_not_in_list_ckpt_name",
        "value_not_in_list_visualization_mode", "int_below_min_num_filters_0", "int_above_max_num_filters_1000",
        "int_given_as_non_numeric_string", "link_to_nonexistent_node", "link_to_nonexistent_output_slot",
        "link_type_mismatch_clip_into_model", "no_output_node", "empty_prompt", "node_without_class_type",
        "unknown_class_type_only_node", "unknown_class_type_linked_into_output",
    ]

    @Test(arguments: recordedCases)
    func rejectedPrompt_matchesComfyUIBody(name: String) throws {
        let recorded = try #require(try Repo.transcript("post_prompt_errors.json")[name])
        #expect(recorded["status"] == 400)
        let body = try failureBody(try #require(recorded["request_body"]?["prompt"]))
        // Python tracebacks cannot match; everything else must, field for field and in order.
        #expect(body.withoutTracebacks == recorded["body"]!.withoutTracebacks)
        #expect(body.serialized().contains("\"traceback\"") == recorded["body"]!.serialized().contains("\"traceback\""))
    }

    @Test(arguments: [("int_given_as_string", Int64(16)), ("int_given_as_float", Int64(16))])
    func acceptedPrompt_isCoercedLikeComfyUI(name: String, expected: Int64) throws {
        let recorded = try #require(try Repo.transcript("post_prompt_errors.json")[name])
        #expect(recorded["status"] == 200)
        let validated = try validate(try #require(recorded["request_body"]?["prompt"])).get()
        #expect(validated.prompt["2"]?["inputs"]?["num_filters"] == .int(expected))
        #expect(validated.outputNodeIDs == ["2"])
    }

    @Test func outputs_areListedInPromptOrder() throws {
        let prompt = try Repo.json("workflows/workflow_weight_visualization_demo_api.json")
        let models = try TestCheckpoints.models()
        let validated = try PromptValidation.validate(prompt: prompt, catalog: catalog(), models: models).get()
        #expect(validated.outputNodeIDs == ["2", "4"])
        #expect(validated.prompt.objectValue?.keys == prompt.objectValue?.keys)
    }

    @Test func partialExecutionTargets_limitTheOutputs() throws {
        let prompt = try Repo.json("workflows/workflow_weight_visualization_demo_api.json")
        let validated = try PromptValidation.validate(prompt: prompt, catalog: catalog(), models: TestCheckpoints.models(),
                                                      targets: ["4"]).get()
        #expect(validated.outputNodeIDs == ["4"])
    }

    // MARK: Bad input

    @Test func cycle_isReportedOnEveryNodeOfTheLoop() throws {
        let body = try failureBody(try JSON.text(#"""
            {"10": {"class_type": "ShowText|pysssss", "inputs": {"text": ["11", 0]}},
             "11": {"class_type": "ShowText|pysssss", "inputs": {"text": ["10", 0]}}}
            """#))
        #expect(body["error"]?["type"] == "prompt_outputs_failed_validation")
        let errors = try #require(body["node_errors"]?["10"]?["errors"]?[0])
        #expect(errors["type"] == "dependency_cycle")
        #expect(errors["details"] == "10 (ShowText|pysssss) -> 11 (ShowText|pysssss) -> 10 (ShowText|pysssss)")
        #expect(errors["extra_info"]?["cycle_nodes"] == ["10", "11"])
        #expect(body["node_errors"]?["11"]?["errors"]?[0]?["type"] == "dependency_cycle")
        #expect(body["error"]?["details"]?.stringValue?.hasPrefix("Dependency cycle detected: 10 (ShowText|pysssss)") == true)
    }

    @Test func selfLink_isACycleOfOne() throws {
        let body = try failureBody(try JSON.text(#"{"4": {"class_type": "ShowText|pysssss", "inputs": {"text": ["4", 0]}}}"#))
        #expect(body["node_errors"]?["4"]?["errors"]?[0]?["details"] == "4 (ShowText|pysssss) -> 4 (ShowText|pysssss)")
    }

    /// A 10,000-node loop of output nodes: answered with a bounded body, not one naming the loop per node.
    @Test func tenThousandNodeCycle_isReportedCompactly() throws {
        var nodes = JSONObject()
        for i in 0..<10_000 {
            nodes[String(i)] = .object(JSONObject([("class_type", "ShowText|pysssss"),
                                                   ("inputs", .object(JSONObject([("text", .array([.string(String((i + 1) % 10_000)), 0]))])))]))
        }
        let body = try failureBody(.object(nodes))
        #expect(body["error"]?["type"] == "prompt_outputs_failed_validation")
        #expect(body["node_errors"]?["0"]?["errors"]?[0]?["extra_info"]?["cycle_nodes"]?.arrayValue?.count == 10_000)
        #expect(body.serializedBytes().count < 64 << 20)
    }

    /// 10,000 linked nodes: an explicit stack, no recursion, so no stack overflow on any thread.
    @Test func tenThousandNodeChain_validatesWithoutRecursion() throws {
        // Listed last-first, so validating the first output walks the whole chain in one go.
        var nodes = JSONObject()
        for i in (1..<10_000).reversed() {
            nodes[String(i)] = .object(JSONObject([("class_type", "ShowText|pysssss"),
                                                   ("inputs", .object(JSONObject([("text", .array([.string(String(i - 1)), 0]))])))]))
        }
        nodes["0"] = try JSON.text(#"{"class_type": "ShowText|pysssss", "inputs": {"text": "start"}}"#)
        let good = try validate(.object(nodes)).get()
        #expect(good.outputNodeIDs.count == 10_000)

        // Break the root: every output fails; the root's dependent_outputs list is capped.
        nodes["0"] = try JSON.text(#"{"class_type": "ShowText|pysssss", "inputs": {}}"#)
        let body = try failureBody(.object(nodes))
        #expect(body["node_errors"]?.objectValue?.keys == ["0"])
        #expect(body["node_errors"]?["0"]?["dependent_outputs"]?.arrayValue?.count == PromptValidation.maxDependentOutputs)
        #expect(body["node_errors"]?["0"]?["dependent_outputs"]?[0] == "9999")
        // The summary lists only errors of output nodes themselves: here the root's.
        #expect(body["error"]?["details"] == "Required input is missing: text")
    }

    @Test func tenMegabyteStrings_areHandled() throws {
        let big = String(repeating: "x", count: 10 << 20)
        var prompt = try Repo.json("workflows/workflow_weight_visualization_demo_api.json").objectValue!
        var node = prompt["1"]!.objectValue!
        node["inputs"] = .object(JSONObject([("ckpt_name", .string(big))]))
        prompt["1"] = .object(node)
        let body = try failureBody(.object(prompt))
        #expect(body["node_errors"]?["1"]?["errors"]?[0]?["type"] == "value_not_in_list")
        // A long filter string is a valid STRING.
        var list = try Repo.json("workflows/workflow_weight_visualization_demo_api.json").objectValue!
        var three = list["3"]!.objectValue!
        three["inputs"] = .object(JSONObject([("filter", .string(big)), ("model", ["1", 0])]))
        list["3"] = .object(three)
        _ = try PromptValidation.validate(prompt: .object(list), catalog: catalog(), models: TestCheckpoints.models()).get()
    }

    @Test(arguments: [
        (#"{}"#, "invalid_input_type", "num_filters, {}, int() argument must be a string, a bytes-like object or a real number, not 'dict'"),
        (#"null"#, "invalid_input_type", "num_filters, None, int() argument must be a string, a bytes-like object or a real number, not 'NoneType'"),
        (#"NaN"#, "invalid_input_type", "num_filters, nan, cannot convert float NaN to integer"),
        (#"Infinity"#, "invalid_input_type", "num_filters, inf, cannot convert float infinity to integer"),
        (#"1e300"#, "value_bigger_than_max", "num_filters"),
        (#"-5"#, "value_smaller_than_min", "num_filters"),
        (#"-9223372036854775808"#, "value_smaller_than_min", "num_filters"),
        (#""3.5""#, "invalid_input_type", "num_filters, 3.5, invalid literal for int() with base 10: '3.5'"),
        (#"{"__value__": [1, 2]}"#, "invalid_input_type", "num_filters, [1, 2], int() argument must be a string, a bytes-like object or a real number, not 'list'"),
        (#"[1, 2, 3]"#, "bad_linked_input", "num_filters"),
    ])
    func wrongNumbers_getComfyUIErrors(value: String, type: String, details: String) throws {
        let prompt = try JSON.text(#"""
            {"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sdxl_tiny.safetensors"}},
             "2": {"class_type": "LTVisualizeWeights", "inputs": {"model": ["1", 0], "layer_name": "x", "num_filters": \#(value), "visualization_mode": "both"}}}
            """#)
        let error = try #require(try failureBody(prompt)["node_errors"]?["2"]?["errors"]?[0])
        #expect(error["type"]?.stringValue == type)
        #expect(error["details"]?.stringValue == details)
    }

    @Test func pythonIntSpellings_areAccepted() throws {
        for (text, expected) in [(#"" 42 ""#, Int64(42)), (#""+7""#, 7), (#""1_6""#, 16), ("true", 1), ("16.9", 16)] {
            let prompt = try JSON.text(#"""
                {"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sdxl_tiny.safetensors"}},
                 "2": {"class_type": "LTVisualizeWeights", "inputs": {"model": ["1", 0], "layer_name": "x", "num_filters": \#(text), "visualization_mode": "both"}}}
                """#)
            let validated = try validate(prompt).get()
            #expect(validated.prompt["2"]?["inputs"]?["num_filters"] == .int(expected), "\(text)")
        }
    }

    @Test func constantForALinkOnlyInput_isRefused() throws {
        let body = try failureBody(try JSON.text(#"""
            {"2": {"class_type": "LTVisualizeWeights", "inputs": {"model": "sdxl", "layer_name": "x", "num_filters": 4, "visualization_mode": "both"}}}
            """#))
        #expect(body["node_errors"]?["2"]?["errors"]?[0]?["type"] == "invalid_input_type")
        #expect(body["node_errors"]?["2"]?["errors"]?[0]?["message"] == "Failed to convert an input value to a MODEL value")
    }

    @Test(arguments: ["../../etc/passwd", "/etc/passwd", "..", "sdxl_tiny.safetensors/../../x", "a\u{0}b.safetensors"])
    func traversalInCheckpointName_isNotInTheList(name: String) throws {
        let prompt = JSON.object(JSONObject([
            ("1", .object(JSONObject([("class_type", "CheckpointLoaderSimple"), ("inputs", .object(JSONObject([("ckpt_name", .string(name))])))]))),
            ("3", try JSON.text(#"{"class_type": "LTListLayers", "inputs": {"model": ["1", 0], "filter": ""}}"#)),
            ("4", try JSON.text(#"{"class_type": "ShowText|pysssss", "inputs": {"text": ["3", 0]}}"#)),
        ]))
        let body = try failureBody(prompt)
        #expect(body["node_errors"]?["1"]?["errors"]?[0]?["type"] == "value_not_in_list")
        #expect(body["node_errors"]?["1"]?["dependent_outputs"] == ["4"])
    }

    @Test func controlCharactersInIdsAndClassNames_areReportedNotTrusted() throws {
        let body = try failureBody(try JSON.text(#"{"\u0000\n": {"class_type": "Show\u0000Text", "inputs": {}}}"#))
        #expect(body["error"]?["type"] == "invalid_prompt")
        #expect(body["error"]?["details"] == .string("Node ID '#\u{0}\n'"))
        #expect(body["error"]?["message"] == .string("Cannot execute because node Show\u{0}Text does not exist."))
    }

    @Test(arguments: [#"[1, 2]"#, #""text""#, #"7"#, #"{"1": 5}"#, #"{"1": {"class_type": "ShowText|pysssss", "inputs": [1]}}"#,
                      #"{"1": {"class_type": ["ShowText|pysssss"], "inputs": {}}}"#])
    func malformedPrompts_getInvalidPrompt(text: String) throws {
        let body = try failureBody(try JSON.text(text))
        #expect(body["error"]?["type"] == "invalid_prompt")
        #expect(body["node_errors"] == .object(JSONObject()))
    }

    @Test func linkFromInsideTheGraph_isAnInnerValidationError() throws {
        let body = try failureBody(try JSON.text(#"""
            {"3": {"class_type": "LTListLayers", "inputs": {"model": ["99", 0], "filter": ""}},
             "4": {"class_type": "ShowText|pysssss", "inputs": {"text": ["3", 0]}}}
            """#))
        let error = try #require(body["node_errors"]?["3"]?["errors"]?[0])
        #expect(error["type"] == "exception_during_inner_validation")
        #expect(error["details"] == "'99'")
        #expect(error["extra_info"]?["input_name"] == "text")
        #expect(error["extra_info"]?["linked_node"] == ["3", 0])
        #expect(body["error"]?["details"] == "")
    }

    @Test func oneGoodOutput_isEnough_andTheOthersAreListed() throws {
        let validated = try validate(try JSON.text(#"""
            {"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sdxl_tiny.safetensors"}},
             "2": {"class_type": "LTVisualizeWeights", "inputs": {"model": ["1", 0], "layer_name": "x", "num_filters": 0, "visualization_mode": "both"}},
             "5": {"class_type": "ShowText|pysssss", "inputs": {"text": "hello"}}}
            """#)).get()
        #expect(validated.outputNodeIDs == ["5"])
        #expect(validated.nodeErrors["2"]?["errors"]?[0]?["type"] == "value_smaller_than_min")
    }
}
