// libFuzzer target: POST /prompt validation (classes, links, types, cycles, constants and their
// coercion, combo lists, partial execution targets). A failure body always has ComfyUI's shape;
// a success names at least one output node that exists in the prompt.
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
public func fuzzPromptValidation(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let json = try? JSON.parse(bytes, limits: JSONLimits(maxDepth: 64, maxBytes: 1 << 20)) else { return 0 }
    // `{"prompt": …, "partial_execution_targets": […]}` as the request body, or a bare prompt.
    let prompt = json["prompt"] ?? json
    let targets = json["partial_execution_targets"]?.arrayValue?.compactMap(\.stringValue)
    switch PromptValidation.validate(prompt: prompt, catalog: catalog, models: FuzzModels(), targets: targets) {
    case .success(let validated):
        precondition(!validated.outputNodeIDs.isEmpty)
        for id in validated.outputNodeIDs { precondition(prompt[id] != nil, "an output that is not in the prompt") }
    case .failure(let failure):
        precondition(failure.body["error"]?["type"]?.stringValue != nil, "a failure without an error type")
    }
    return 0
}
