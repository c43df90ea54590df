import Foundation
import OrderedJSON
import Testing
@testable import LTNodes

@Suite struct WorkflowConversionTests {
    @Test(arguments: [
        ("workflows/workflow_weight_visualization.json", "workflows/workflow_weight_visualization_api.json"),
        ("workflows/workflow_weight_visualization_demo.json", "workflows/workflow_weight_visualization_demo_api.json"),
        ("workflows/visualize_attention_query_demo.json", "workflows/visualize_attention_query_demo_api.json"),
        ("workflows/weight_nmf_demo.json", "workflows/weight_nmf_demo_api.json"),
        ("workflows/weight_stats_demo.json", "workflows/weight_stats_demo_api.json"),
        ("workflows/model_overview_demo.json", "workflows/model_overview_demo_api.json"),
        ("workflows/expanded_weights_demo.json", "workflows/expanded_weights_demo_api.json"),
        ("workflows/top_inputs_demo.json", "workflows/top_inputs_demo_api.json"),
    ])
    func uiWorkflow_convertsToItsAPITwin(ui: String, api: String) throws {
        let workflow = try Repo.json(ui)
        #expect(WorkflowConversion.isUIWorkflow(workflow))
        let converted = try WorkflowConversion.apiPrompt(fromUIWorkflow: workflow, catalog: catalog())
        let twin = try Repo.json(api)
        #expect(!WorkflowConversion.isUIWorkflow(twin))
        #expect(converted == twin, "\(converted.serialized(pretty: true))")
    }

    /// The original file loads as it was published and runs up to the checkpoint it names.
    @Test func originalWorkflow_isUnchangedAndOnlyMissesItsCheckpoint() throws {
        let converted = try WorkflowConversion.apiPrompt(fromUIWorkflow: Repo.json("workflows/workflow_weight_visualization.json"),
                                                         catalog: catalog())
        switch PromptValidation.validate(prompt: converted, catalog: try catalog(), models: try TestCheckpoints.models()) {
        case .success: Issue.record("sd_xl_base_1.0.safetensors is not in the test folder")
        case .failure(let f):
            #expect(f.body["node_errors"]?.objectValue?.keys == ["1"])
            #expect(f.body["node_errors"]?["1"]?["errors"]?[0]?["type"] == "value_not_in_list")
        }
    }

    @Test func everyDemoWorkflow_convertsAndValidates() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Repo.root.appendingPathComponent("workflows").path)
            .filter { $0.hasSuffix("_demo.json") }
        #expect(names.count >= 4)
        for name in names {
            let prompt = try WorkflowConversion.apiPrompt(fromUIWorkflow: Repo.json("workflows/" + name), catalog: catalog())
            let result = PromptValidation.validate(prompt: prompt, catalog: try catalog(), models: try TestCheckpoints.models())
            if case .failure(let f) = result { Issue.record("\(name): \(f.body.serialized())") }
        }
    }

    /// workflows/gguf_visualize.json: UnetLoaderGGUF feeds LTVisualizeWeights (a Flux layer) and
    /// LTListLayers (block D00) → ShowText; it validates once its file is a listed GGUF
    /// (Tests/browser runs it with a file written by gguf-py).
    @Test func ggufWorkflow_convertsAndValidatesWithItsFileListed() throws {
        let prompt = try WorkflowConversion.apiPrompt(fromUIWorkflow: Repo.json("workflows/gguf_visualize.json"), catalog: catalog())
        let loader: JSON = ["1", 0]
        #expect(prompt["1"]?["class_type"] == "UnetLoaderGGUF")
        #expect(prompt["2"]?["class_type"] == "LTVisualizeWeights" && prompt["2"]?["inputs"]?["model"] == loader)
        #expect(prompt["2"]?["inputs"]?["layer_name"] == "double_blocks.0.img_mlp.0")
        #expect(prompt["3"]?["class_type"] == "LTListLayers" && prompt["3"]?["inputs"]?["model"] == loader)
        #expect(prompt["3"]?["inputs"]?["filter"] == "D00" && prompt["4"]?["class_type"] == "ShowText|pysssss")
        let file = try #require(prompt["1"]?["inputs"]?["unet_name"]?.stringValue)
        let models = ListedModels(models: try TestCheckpoints.models(), extra: ["unet_gguf": [file]])
        if case .failure(let f) = PromptValidation.validate(prompt: prompt, catalog: try catalog(), models: models) {
            Issue.record("\(f.body.serialized())")
        }
    }

    @Test func reroutesPrimitivesMutedAndBypassedNodes_followTheFrontendRules() throws {
        let workflow = try JSON.text(#"""
            {"nodes": [
              {"id": 1, "type": "CheckpointLoaderSimple", "order": 0, "mode": 0, "widgets_values": ["a.safetensors"],
               "outputs": [{"name": "MODEL", "type": "MODEL", "links": [1]}]},
              {"id": 5, "type": "Reroute", "order": 1, "mode": 0, "inputs": [{"name": "", "type": "*", "link": 1}],
               "outputs": [{"name": "", "type": "MODEL", "links": [2]}]},
              {"id": 6, "type": "PrimitiveNode", "order": 2, "mode": 0, "widgets_values": ["IN04", "fixed"],
               "outputs": [{"name": "STRING", "type": "STRING", "links": [3]}]},
              {"id": 3, "type": "LTListLayers", "order": 3, "mode": 0, "title": "My list",
               "inputs": [{"name": "model", "type": "MODEL", "link": 2}, {"name": "filter", "type": "STRING", "widget": {"name": "filter"}, "link": 3}],
               "widgets_values": ["ignored"], "outputs": [{"name": "layer_names", "type": "STRING", "links": [4]}]},
              {"id": 7, "type": "ShowText|pysssss", "order": 4, "mode": 4, "inputs": [{"name": "text", "type": "STRING", "link": 4}],
               "outputs": [{"name": "STRING", "type": "STRING", "links": [5]}]},
              {"id": 4, "type": "ShowText|pysssss", "order": 5, "mode": 0, "inputs": [{"name": "text", "type": "STRING", "link": 5}]},
              {"id": 8, "type": "ShowText|pysssss", "order": 6, "mode": 2, "inputs": [{"name": "text", "type": "STRING", "link": null}]},
              {"id": 9, "type": "Note", "order": 7, "mode": 0, "widgets_values": ["a note"]}
            ],
            "links": [[1, 1, 0, 5, 0, "MODEL"], [2, 5, 0, 3, 0, "MODEL"], {"id": 3, "origin_id": 6, "origin_slot": 0, "target_id": 3, "target_slot": 1, "type": "STRING"},
                      [4, 3, 0, 7, 0, "STRING"], [5, 7, 0, 4, 0, "STRING"]]}
            """#)
        let prompt = try WorkflowConversion.apiPrompt(fromUIWorkflow: workflow, catalog: catalog())
        let expected = try JSON.text(#"""
            {"1": {"inputs": {"ckpt_name": "a.safetensors"}, "class_type": "CheckpointLoaderSimple", "_meta": {"title": "Load Checkpoint"}},
             "3": {"inputs": {"filter": "IN04", "model": ["1", 0]}, "class_type": "LTListLayers", "_meta": {"title": "My list"}},
             "4": {"inputs": {"text": ["3", 0]}, "class_type": "ShowText|pysssss", "_meta": {"title": "Show Text 🐍"}}}
            """#)
        #expect(prompt == expected, "\(prompt.serialized(pretty: true))")
    }

    @Test func controlWidgetsAreSkipped_andListsWrapped() throws {
        let nodesJSON = #"""
            {"Seeded": {"input": {"required": {"seed": ["INT", {"default": 0}], "mode": [["a", "b"], {"control_after_generate": true}],
                                               "tags": ["STRING", {"default": ""}], "scale": ["FLOAT", {"default": 1.5}]}},
                        "input_order": {"required": ["seed", "mode", "tags", "scale"]},
                        "output": [], "output_is_list": [], "output_name": [], "name": "Seeded", "display_name": "Seeded",
                        "description": "", "python_module": "test", "category": "test", "output_node": true}}
            """#
        let custom = try NodeCatalog.load(nodesJSON: Array(nodesJSON.utf8))
        let workflow = try JSON.text(#"{"nodes": [{"id": "12:5", "type": "Seeded", "widgets_values": [42, "randomize", "b", "fixed", "", ["x", "y"]]}], "links": []}"#)
        let prompt = try WorkflowConversion.apiPrompt(fromUIWorkflow: workflow, catalog: custom)
        #expect(prompt["12:5"]?["inputs"] == (try JSON.text(#"{"seed": 42, "mode": "b", "tags": {"__value__": ["x", "y"]}, "scale": 1.5}"#)))
    }

    @Test(arguments: [
        (#"{"nodes": 5}"#, WorkflowConversionError.notAWorkflow(reason: "no \"nodes\" array")),
        (#"{"nodes": [7]}"#, WorkflowConversionError.malformedNode(index: 0, reason: "not an object")),
        (#"{"nodes": [{"id": 1}]}"#, WorkflowConversionError.malformedNode(index: 0, reason: "\"type\" must be a string")),
        (#"{"nodes": [{"id": 1, "type": "A"}, {"id": 1, "type": "B"}]}"#, WorkflowConversionError.malformedNode(index: 1, reason: "duplicate node id 1")),
        (#"{"nodes": [], "links": [[1, 2]]}"#, WorkflowConversionError.malformedLink(index: 0, reason: "needs [id, origin, origin_slot, target, target_slot, type]")),
        (#"{"nodes": [], "links": [[1, 2, -1, 3, 0, "X"]]}"#, WorkflowConversionError.malformedLink(index: 0, reason: "the origin slot must be a small non-negative number")),
    ])
    func malformedWorkflows_areRejectedWithTheReason(text: String, expected: WorkflowConversionError) throws {
        #expect(throws: expected) { try WorkflowConversion.apiPrompt(fromUIWorkflow: try JSON.text(text), catalog: try catalog()) }
        #expect(expected.responseBody["error"]?["type"] == "invalid_prompt")
    }

    @Test func rerouteLoops_endInADroppedInput() throws {
        let workflow = try JSON.text(#"""
            {"nodes": [{"id": 1, "type": "Reroute", "inputs": [{"name": "", "type": "*", "link": 2}]},
                       {"id": 2, "type": "Reroute", "inputs": [{"name": "", "type": "*", "link": 1}]},
                       {"id": 3, "type": "ShowText|pysssss", "inputs": [{"name": "text", "type": "STRING", "link": 1}]}],
             "links": [[1, 1, 0, 2, 0, "*"], [2, 2, 0, 1, 0, "*"]]}
            """#)
        let prompt = try WorkflowConversion.apiPrompt(fromUIWorkflow: workflow, catalog: catalog())
        #expect(prompt["3"]?["inputs"] == .object(JSONObject()))
    }

    @Test func unknownNodeTypes_passThroughForValidationToReport() throws {
        let workflow = try JSON.text(#"{"nodes": [{"id": 9, "type": "NoSuchNode", "widgets_values": [1]}], "links": []}"#)
        let prompt = try WorkflowConversion.apiPrompt(fromUIWorkflow: workflow, catalog: catalog())
        #expect(prompt["9"]?["class_type"] == "NoSuchNode")
        if case .failure(let f) = PromptValidation.validate(prompt: prompt, catalog: try catalog(), models: DirectoryModels(directory: "/nonexistent")) {
            #expect(f.body["error"]?["message"] == "Cannot execute because node NoSuchNode does not exist.")
        } else {
            Issue.record("expected invalid_prompt")
        }
    }

    @Test func subgraphs_areExpandedWithPrefixedIds() throws {
        // Top: loader 1 → instance 10 of subgraph A → ShowText 4. A wraps an instance 7 of B, and B
        // holds the LTListLayers node 5: the emitted id is "10:7:5".
        let workflow = try JSON.text(#"""
            {"nodes": [
               {"id": 1, "type": "CheckpointLoaderSimple", "order": 0, "widgets_values": ["a.safetensors"]},
               {"id": 10, "type": "aaaaaaaa-0000-4000-8000-000000000001", "order": 1,
                "inputs": [{"name": "model", "type": "MODEL", "link": 1}], "outputs": [{"name": "names", "type": "STRING", "links": [2]}]},
               {"id": 4, "type": "ShowText|pysssss", "order": 2, "inputs": [{"name": "text", "type": "STRING", "link": 2}]}],
             "links": [[1, 1, 0, 10, 0, "MODEL"], [2, 10, 0, 4, 0, "STRING"]],
             "definitions": {"subgraphs": [
               {"id": "aaaaaaaa-0000-4000-8000-000000000001", "name": "A",
                "inputNode": {"id": -10}, "outputNode": {"id": -20},
                "inputs": [{"name": "model", "type": "MODEL", "linkIds": [1]}],
                "outputs": [{"name": "names", "type": "STRING", "linkIds": [2]}],
                "nodes": [{"id": 7, "type": "bbbbbbbb-0000-4000-8000-000000000002",
                           "inputs": [{"name": "model", "type": "MODEL", "link": 1}], "outputs": [{"name": "names", "type": "STRING", "links": [2]}]}],
                "links": [{"id": 1, "origin_id": -10, "origin_slot": 0, "target_id": 7, "target_slot": 0, "type": "MODEL"},
                          {"id": 2, "origin_id": 7, "origin_slot": 0, "target_id": -20, "target_slot": 0, "type": "STRING"}]},
               {"id": "bbbbbbbb-0000-4000-8000-000000000002", "name": "B",
                "inputNode": {"id": -10}, "outputNode": {"id": -20},
                "inputs": [{"name": "model", "type": "MODEL", "linkIds": [3]}],
                "outputs": [{"name": "names", "type": "STRING", "linkIds": [4]}],
                "nodes": [{"id": 5, "type": "LTListLayers", "inputs": [{"name": "model", "type": "MODEL", "link": 3}], "widgets_values": ["IN04"]}],
                "links": [{"id": 3, "origin_id": -10, "origin_slot": 0, "target_id": 5, "target_slot": 0, "type": "MODEL"},
                          {"id": 4, "origin_id": 5, "origin_slot": 0, "target_id": -20, "target_slot": 0, "type": "STRING"}]}]}}
            """#)
        let prompt = try WorkflowConversion.apiPrompt(fromUIWorkflow: workflow, catalog: catalog())
        let expected = try JSON.text(#"""
            {"1": {"inputs": {"ckpt_name": "a.safetensors"}, "class_type": "CheckpointLoaderSimple", "_meta": {"title": "Load Checkpoint"}},
             "10:7:5": {"inputs": {"filter": "IN04", "model": ["1", 0]}, "class_type": "LTListLayers", "_meta": {"title": "LTListLayers"}},
             "4": {"inputs": {"text": ["10:7:5", 0]}, "class_type": "ShowText|pysssss", "_meta": {"title": "Show Text 🐍"}}}
            """#)
        #expect(prompt == expected, "\(prompt.serialized(pretty: true))")
    }

    @Test func selfContainingSubgraph_isRefused() throws {
        let workflow = try JSON.text(#"""
            {"nodes": [{"id": 1, "type": "loop"}], "links": [],
             "definitions": {"subgraphs": [{"id": "loop", "nodes": [{"id": 1, "type": "loop"}], "links": []}]}}
            """#)
        #expect(throws: WorkflowConversionError.tooLarge(reason: "subgraphs nested deeper than 16 levels")) {
            try WorkflowConversion.apiPrompt(fromUIWorkflow: workflow, catalog: try catalog())
        }
    }
}
