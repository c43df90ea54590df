import Checkpoint
import LoRA
import ModelCatalog
import OrderedJSON

/// ComfyUI's `LoraLoader` ("Load LoRA"): a LoRA from models/loras applied to MODEL at
/// `strength_model` and to CLIP at `strength_clip` → MODEL, CLIP. Nothing is merged: the outputs
/// are handles whose catalogue computes W + strength·ΔW for one layer when a node reads it.
enum LoraLoaderNode: NodeImplementation {
    static let className = "LoraLoader"
    static let signature = NodeSignature(
        inputs: [.init(.required, "model", "MODEL"), .init(.required, "clip", "CLIP"), .init(.required, "lora_name", "COMBO"),
                 .init(.required, "strength_model", "FLOAT"), .init(.required, "strength_clip", "FLOAT")],
        outputs: ["MODEL", "CLIP"], outputIsList: [false, false], isOutputNode: false)
    static var dynamicOptions: [String: DynamicOptions] { ["lora_name": .loras] }

    static func fingerprint(constants: JSONObject, environment: ExecutionEnvironment) -> String? {
        LoraLoading.fingerprint(constants, environment: environment)
    }

    static func run(_ call: NodeCall) throws(NodeFailure) -> NodeResult {
        guard let model = call.checkpoint("model") else {
            throw .failed(type: "TypeError", message: "model must be a MODEL from a checkpoint loader")
        }
        guard let clip = call.checkpoint("clip") else {
            throw .failed(type: "TypeError", message: "clip must be a CLIP from a checkpoint loader")
        }
        let strengthModel = LoraLoading.strength(call, "strength_model")
        let strengthClip = LoraLoading.strength(call, "strength_clip")
        // ComfyUI hands both inputs back untouched when both strengths are 0.
        if strengthModel == 0 && strengthClip == 0 {
            return NodeResult(outputs: [[.checkpoint(model, part: .model)], [.checkpoint(clip, part: .clip)]])
        }
        let (name, lora, stamp) = try LoraLoading.open(call)
        let modelBinding = try LoraLoading.bind(lora, name: name, to: model)
        let clipBinding = try clip === model ? modelBinding : LoraLoading.bind(lora, name: name, to: clip)
        // ComfyUI matches the keys against MODEL and CLIP together: a key is "not loaded" when neither takes it.
        let notLoaded = Set(LoraLoading.keysNotLoaded(modelBinding, parts: LoraLoading.modelParts))
            .intersection(LoraLoading.keysNotLoaded(clipBinding, parts: LoraLoading.clipParts))
        LoraLoading.log(notLoaded, call.context.environment)
        let patchedModel = LoraLoading.apply(modelBinding, name: name, stamp: stamp, to: model, strength: strengthModel, parts: LoraLoading.modelParts)
        let patchedClip = LoraLoading.apply(clipBinding, name: name, stamp: stamp, to: clip, strength: strengthClip, parts: LoraLoading.clipParts)
        return NodeResult(outputs: [[.checkpoint(patchedModel, part: .model)], [.checkpoint(patchedClip, part: .clip)]])
    }
}

/// ComfyUI's `LoraLoaderModelOnly`: the LoRA on MODEL only → MODEL.
enum LoraLoaderModelOnlyNode: NodeImplementation {
    static let className = "LoraLoaderModelOnly"
    static let signature = NodeSignature(
        inputs: [.init(.required, "model", "MODEL"), .init(.required, "lora_name", "COMBO"), .init(.required, "strength_model", "FLOAT")],
        outputs: ["MODEL"], outputIsList: [false], isOutputNode: false)
    static var dynamicOptions: [String: DynamicOptions] { ["lora_name": .loras] }

    static func fingerprint(constants: JSONObject, environment: ExecutionEnvironment) -> String? {
        LoraLoading.fingerprint(constants, environment: environment)
    }

    static func run(_ call: NodeCall) throws(NodeFailure) -> NodeResult {
        guard let model = call.checkpoint("model") else {
            throw .failed(type: "TypeError", message: "model must be a MODEL from a checkpoint loader")
        }
        let strength = LoraLoading.strength(call, "strength_model")
        if strength == 0 { return NodeResult(outputs: [[.checkpoint(model, part: .model)]]) }
        let (name, lora, stamp) = try LoraLoading.open(call)
        let binding = try LoraLoading.bind(lora, name: name, to: model)
        // Without a CLIP, ComfyUI does not load the text-encoder keys either: they are logged too.
        LoraLoading.log(LoraLoading.keysNotLoaded(binding, parts: LoraLoading.modelParts), call.context.environment)
        let patched = LoraLoading.apply(binding, name: name, stamp: stamp, to: model, strength: strength, parts: LoraLoading.modelParts)
        return NodeResult(outputs: [[.checkpoint(patched, part: .model)]])
    }
}

/// What the LoRA nodes share: the file by name, its change stamp, binding it to a handle.
package enum LoraLoading {
    static let modelParts: Set<String> = ["unet"]
    static let clipParts: Set<String> = ["text_encoder", "text_encoder_2", "text_encoder_3"]

    static func strength(_ call: NodeCall, _ name: String) -> Double {
        switch call.value(name) {
        case .float(let d)?: return d.isFinite ? d : 1
        case .int(let i)?: return Double(i)
        default: return 1
        }
    }

    /// Size and modification time of the LoRA file: a file replaced under the same name is reloaded.
    static func fingerprint(_ constants: JSONObject, environment: ExecutionEnvironment) -> String? {
        DiffusionModelFile.fingerprint(constants["lora_name"]?.stringValue, folder: "loras", environment: environment)
    }

    static func path(_ name: String, environment: ExecutionEnvironment) throws(NodeFailure) -> String {
        guard let path = environment.models.modelPath(named: name, in: "loras") else {
            throw .failed(type: "FileNotFoundError", message: "LoRA '\(name)' is not in models/loras (or its name leaves the folder).")
        }
        return path
    }

    /// The `lora_name` input opened and checked, with its stamp.
    static func open(_ call: NodeCall, input: String = "lora_name") throws(NodeFailure) -> (String, LoraFile, String) {
        guard let name = call.string(input) else { throw .failed(type: "ValueError", message: "\(input) must be a string") }
        let path = try path(name, environment: call.context.environment)
        do {
            let lora = try LoraFile.open(path: path)
            let stamp = DiffusionModelFile.fingerprint(name, folder: "loras", environment: call.context.environment) ?? "?"
            return (name, lora, stamp)
        } catch {
            throw .failed(type: "LoraError", message: "Cannot load LoRA '\(name)': \(error.description)")
        }
    }

    /// The LoRA file at `path` (the CLI's `--lora FILE[:STRENGTH]`) applied at `strength` to every
    /// part of `handle` it changes, diffusion model and text encoders; errors worded as the loader
    /// nodes word them.
    package static func apply(path: String, strength: Double, to handle: LoadedCheckpoint) throws(NodeFailure) -> LoadedCheckpoint {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        let lora: LoraFile
        do { lora = try LoraFile.open(path: path) } catch {
            throw .failed(type: "LoraError", message: "Cannot load LoRA '\(name)': \(error.description)")
        }
        if strength == 0 { return handle }
        return apply(try bind(lora, name: name, to: handle), name: name, stamp: "cli", to: handle, strength: strength,
                     parts: modelParts.union(clipParts))
    }

    /// The LoRA's modules matched against the layers of `handle`'s model.
    static func bind(_ lora: LoraFile, name: String, to handle: LoadedCheckpoint) throws(NodeFailure) -> LoraBinding {
        do {
            return try LoraBinding.bind(lora, identity: handle.catalog.identity, layers: handle.catalog.allLayers, modelName: handle.name)
        } catch {
            throw .failed(type: "LoraError", message: "Cannot apply LoRA '\(name)': \(error.description)")
        }
    }

    /// Keys of the file that change no layer of `parts`: those matching no layer of the model at
    /// all, and those of modules for other parts.
    static func keysNotLoaded(_ binding: LoraBinding, parts: Set<String>) -> [String] {
        var keys = binding.unmatchedKeys
        for m in binding.matches where !parts.contains(m.target.layer.part) { keys += m.module.keys.values }
        return keys
    }

    /// ComfyUI's warning, one line per key, in key order.
    static func log<S: Sequence<String>>(_ keys: S, _ environment: ExecutionEnvironment) {
        for key in Set(keys).sorted() { environment.log("lora key not loaded: \(key)") }
    }

    /// `handle` with the LoRA's modules for `parts` applied at `strength`.
    static func apply(_ binding: LoraBinding, name: String, stamp: String, to handle: LoadedCheckpoint, strength: Double,
                      parts: Set<String>) -> LoadedCheckpoint {
        if strength == 0 { return handle }
        let patch = LoraPatch(binding: binding, strength: Float(strength), parts: parts, name: name, stamp: stamp)
        if patch.layerCount == 0 { return handle }
        return handle.patched(with: patch, record: AppliedLora(loraName: name, strength: strength, layers: patch.layerCount))
    }
}
