// libFuzzer target: UI-workflow → API-prompt conversion (virtual nodes, bypass, widget order,
// links, subgraph expansion), followed by prompt validation of whatever it produced, as
// POST /prompt does with a saved workflow file.
// modules: LTNodes
// max_len: 16384
import LTNodes
import OrderedJSON

let catalog = try! NodeCatalog.bundled()

struct FuzzModels: ModelLocator {
    func checkpointNames() -> [String] { ["sdxl_synthetic_fp16.safetensors", "sub/model.ckpt"] }
    func checkpointPath(named: String) -> String? { nil }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWorkflowConversion(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let json = try? JSON.parse(bytes, limits: JSONLimits(maxDepth: 64, maxBytes: 1 << 20)) else { return 0 }
    _ = WorkflowConversion.isUIWorkflow(json)
    guard let prompt = try? WorkflowConversion.apiPrompt(fromUIWorkflow: json, catalog: catalog) else { return 0 }
    precondition(prompt.objectValue != nil, "a conversion that is not an object of nodes")
    _ = PromptValidation.validate(prompt: prompt, catalog: catalog, models: FuzzModels())
    return 0
}
