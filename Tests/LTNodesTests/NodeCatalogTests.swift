import Foundation
import OrderedJSON
import Testing
@testable import LTNodes

@Suite struct NodeCatalogTests {
    @Test func embeddedCopy_isByteIdenticalToRootNodesJSON() throws {
        let root = try Repo.bytes("nodes.json")
        #expect(Array(embeddedNodesJSON.utf8) == root,
                "Sources/LTNodes/EmbeddedNodesJSON.swift is stale: regenerate it from nodes.json (docs/NODES.md, \"Changing nodes.json\")")
    }

    @Test func bundledCatalog_matchesTheImplementedNodes() throws {
        let catalog = try NodeCatalog.bundled()
        try catalog.verifyImplementations()
        // The original four first, in their order; nodes added later follow them.
        #expect(Array(catalog.classNames.prefix(4)) == ["CheckpointLoaderSimple", "LTListLayers", "LTVisualizeWeights", "ShowText|pysssss"])
        #expect(Set(catalog.classNames).isSuperset(of: ["PreviewImage", "SaveImage"]))
    }

    /// The original nodes' definitions are kept field for field (optional additions aside), so
    /// saved workflows map their widgets_values the same way.
    @Test(arguments: ["CheckpointLoaderSimple", "LTListLayers", "LTVisualizeWeights", "ShowText|pysssss", "PreviewImage", "SaveImage"])
    func definitions_keepTheOriginalFields(className: String) throws {
        let recorded = try #require(try Repo.transcript("object_info_nodes.json")[className]?["body"]?[className]?.objectValue)
        let catalog = try NodeCatalog.bundled()
        let models = DirectoryModels(directory: "/nonexistent")
        let ours = try #require(catalog.objectInfo(className: className, models: models)?[className]?.objectValue)
        #expect(ours.keys == recorded.keys)
        for key in recorded.keys where key != "input" && key != "input_order" {
            #expect(ours[key] == recorded[key], "\(className).\(key)")
        }
        #expect(ours["input"]?["required"]?.objectValue?.keys == recorded["input"]?["required"]?.objectValue?.keys)
        #expect(ours["input_order"]?["required"] == recorded["input_order"]?["required"])
        #expect(ours["input"]?["hidden"] == recorded["input"]?["hidden"])
        for name in recorded["input"]?["required"]?.objectValue?.keys ?? [] where name != "ckpt_name" {
            #expect(ours["input"]?["required"]?[name] == recorded["input"]?["required"]?[name], "\(className).\(name)")
        }
    }

    @Test func objectInfo_fillsTheCheckpointListAtRequestTime() throws {
        let dir = TempDirectory()
        defer { dir.cleanup() }
        let catalog = try NodeCatalog.bundled()
        let models = DirectoryModels(directory: dir.path)
        #expect(catalog.objectInfo(models: models)["CheckpointLoaderSimple"]?["input"]?["required"]?["ckpt_name"]?[0] == .array([]))
        _ = FileManager.default.createFile(atPath: dir.path + "/b.safetensors", contents: Data())
        _ = FileManager.default.createFile(atPath: dir.path + "/a.safetensors", contents: Data())
        let spec = catalog.objectInfo(className: "CheckpointLoaderSimple", models: models)?["CheckpointLoaderSimple"]?["input"]?["required"]?["ckpt_name"]
        #expect(spec == .array([.array(["a.safetensors", "b.safetensors"]),
                                .object(JSONObject([("tooltip", "The name of the checkpoint (model) to load.")]))]))
    }

    @Test func objectInfo_keepsFileOrderAndAnswersNilForUnknownClasses() throws {
        let catalog = try NodeCatalog.bundled()
        let models = DirectoryModels(directory: "/nonexistent")
        #expect(catalog.objectInfo(models: models).objectValue?.keys == catalog.classNames)
        #expect(catalog.objectInfo(className: "PrimitiveNode", models: models) == nil)
        let order = catalog.objectInfo(className: "LTVisualizeWeights", models: models)?["LTVisualizeWeights"]?["input_order"]
        #expect(order == (try JSON.text(#"{"required":["model","layer_name","num_filters","visualization_mode"],"optional":["colormap","components","max_side"]}"#)))
    }

    @Test func verify_reportsADefinitionThatDisagreesWithTheImplementation() throws {
        var root = try Repo.json("nodes.json").objectValue!
        var def = root["LTListLayers"]!.objectValue!
        def["output"] = ["INT"]
        root["LTListLayers"] = .object(def)
        let catalog = try NodeCatalog.load(nodesJSON: JSON.object(root).serializedBytes())
        #expect(throws: NodeCatalogError.signatureMismatch(className: "LTListLayers",
                                                         reason: "outputs are [\"INT\"] in nodes.json but [\"STRING\"] in the implementation")) {
            try catalog.verifyImplementations()
        }
    }

    @Test func verify_reportsMissingAndExtraNodes() throws {
        var root = try Repo.json("nodes.json").objectValue!
        let show = root["ShowText|pysssss"]!
        root["ShowText|pysssss"] = nil
        #expect(throws: NodeCatalogError.missingDefinition(className: "ShowText|pysssss")) {
            try NodeCatalog.load(nodesJSON: JSON.object(root).serializedBytes()).verifyImplementations()
        }
        var renamed = show.objectValue!
        renamed["name"] = "Extra"
        root["Extra"] = .object(renamed)
        root["ShowText|pysssss"] = show
        #expect(throws: NodeCatalogError.missingImplementation(className: "Extra")) {
            try NodeCatalog.load(nodesJSON: JSON.object(root).serializedBytes()).verifyImplementations()
        }
    }

    @Test(arguments: [
        (#"[1]"#, NodeCatalogError.notAnObject),
        (#"{"A": {"name": "B"}}"#, NodeCatalogError.invalidDefinition(className: "A", reason: "\"name\" must equal the class name")),
        (#"{"#, NodeCatalogError.malformedJSON(reason: "the JSON text ends in the middle of a value")),
    ])
    func load_rejectsMalformedCatalogs(text: String, expected: NodeCatalogError) {
        #expect(throws: expected) { try NodeCatalog.load(nodesJSON: Array(text.utf8)) }
    }

    @Test func load_rejectsInputOrderThatDisagreesWithInputs() throws {
        var root = try Repo.json("nodes.json").objectValue!
        var def = root["LTListLayers"]!.objectValue!
        def["input_order"] = try JSON.text(#"{"required": ["filter", "model"]}"#)
        root["LTListLayers"] = .object(def)
        #expect(throws: NodeCatalogError.invalidDefinition(className: "LTListLayers",
                                                         reason: "input_order.required must list input.required's names in the same order")) {
            try NodeCatalog.load(nodesJSON: JSON.object(root).serializedBytes())
        }
    }
}
