// libFuzzer target: LoRA / LyCORIS files and the key mapper. The input is opened as a checkpoint
// (safetensors, torch or GGUF, sniffed from its bytes) and read as a LoRA (LoraFile: key suffixes
// to modules, kinds, factor shapes, ranks, alpha); its modules are bound (LoraBinding) to three
// small real models (the diffusers U-Net, Flux and SD3 fixtures) and looked up in the key maps of
// the bundled SD 1.5 / SDXL / Flux / SD3.5 layouts and of the input itself read as a model
// (LoraKeyMap over fuzzed layer names and shapes); then ΔW of every module is computed and
// patched onto its layer. Each key lands in exactly one module or in the unused keys, a match has
// its layer's size, ΔW has the size the header promised.
// modules: LoRA
// max_len: 65536
// flags: -detect_leaks=0
// (An input that computes a ΔW leaves a few 64-byte blocks reachable: libdispatch's per-thread
// cache of continuations from concurrentPerform, which fills to its limit and stops growing
// (docs/SECURITY.md, finding 4). Until it is full, leak detection would re-run and heap-scan such
// inputs: 4x slower.)
@testable import Checkpoint
@testable import LoRA
import ModelCatalog
import TensorCore

/// ΔW and patches are computed up to this many elements per module (16 MB as Float32): the file
/// limit is 2^28, which a 64 KB input reaches with a rank-1 LoKr, and allocating 1 GiB per input
/// would measure the allocator, not the code. Sizes are still checked above the cap.
let computeCap = 1 << 22

/// The small real models of the test fixtures (the fuzz binary runs from the repository root).
let models: [LayerCatalog] = ["diffusers_unet/unet", "diffusers_flux/transformer", "diffusers_sd3/transformer"].map {
    guard let c = try? CheckpointFile.open(path: "Tests/Fixtures/tools/" + $0) else {
        fatalError("LoRAKeyMapFuzz runs from the repository root (Tests/Fixtures/tools/\($0) is missing)")
    }
    return LayerCatalog(checkpoint: c)
}

/// Loads the fixture models and builds the bundled layouts' key maps before fuzzing starts: done
/// lazily by the first input, that takes seconds and counted against libFuzzer's -timeout.
@_cdecl("LLVMFuzzerInitialize")
public func fuzzLoRAInitialize(_ argc: UnsafeMutablePointer<Int32>,
                               _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> Int32 {
    precondition(!models.isEmpty && !LoraFamilies.references.isEmpty, "the bundled layouts did not load")
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLoRA(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let buffer = UnsafeRawBufferPointer(start: data, count: size)
    guard let checkpoint = try? CheckpointFile.open(path: "fuzz.safetensors", file: MappedFile(borrowing: buffer)) else { return 0 }
    // The file read as a model: the key map of its own layers, whatever their names and shapes.
    let asModel = LayerCatalog(checkpoint: checkpoint)
    let ownMap = LoraKeyMap(identity: asModel.identity, layers: asModel.allLayers)
    let lora: LoraFile
    do {
        lora = try LoraFile(checkpoint: checkpoint)
    } catch {
        precondition(error.description.hasPrefix("fuzz.safetensors: "), "\(error)")
        return 0
    }
    checkModules(lora, checkpoint)
    for m in lora.modules {
        if let t = ownMap.target(m.name) { checkTarget(t) }
        for (_, map) in LoraFamilies.references { if let t = map.target(m.name) { checkTarget(t) } }
    }
    _ = lora.format
    for model in models {
        guard let binding = try? LoraBinding.bind(lora, identity: model.identity, layers: model.allLayers, modelName: "fuzz") else { continue }
        for match in binding.matches {
            checkTarget(match.target)
            precondition(match.target.count == match.module.deltaCount, "a match of another size")
        }
        let patch = LoraPatch(binding: binding, strength: 0.5, parts: ["unet"], name: "fuzz", stamp: "0")
        for layer in model.allLayers where patch.touches(weightKey: layer.weightKey) && layer.parameters <= computeCap {
            guard let patched = try? patch.apply(to: Tensor(zeros: layer.shape), layer: layer) else {
                preconditionFailure("a bound module does not apply to \(layer.name)")
            }
            precondition(patched.values.count == layer.parameters)
        }
    }
    // LTLoraInspect's report against the small U-Net (spectra of each ΔW): small files only.
    if lora.modules.reduce(0, { $0 + $1.deltaCount }) <= 1 << 16 {
        _ = try? LoraInspection.run(lora, base: models[0], modelName: "fuzz")
    }
    for m in lora.modules where m.deltaCount <= computeCap {
        guard let delta = try? LoraDelta.compute(m, in: lora) else { preconditionFailure("validated module \(m.name) does not compute") }
        precondition(delta.values.count == m.deltaCount && delta.shape == m.deltaShape)
    }
    return 0
}

/// Every key of the file is one module's or unused, once; module sizes are consistent.
func checkModules(_ lora: LoraFile, _ checkpoint: CheckpointFile) {
    var seen = Set(lora.unusedKeys)
    precondition(seen.count == lora.unusedKeys.count, "an unused key listed twice")
    for m in lora.modules {
        precondition(!m.keys.isEmpty && m.deltaCount > 0 && m.deltaCount <= LoraFile.maxDeltaElements)
        precondition(m.deltaShape.reduce(1, *) == m.deltaCount)
        precondition(m.scale.isFinite && (m.rank ?? 1) > 0)
        for key in m.keys.values {
            precondition(checkpoint.entry(named: key) != nil)
            precondition(seen.insert(key).inserted, "key \(key) in two places")
        }
    }
    precondition(seen == Set(checkpoint.entries.map(\.name)), "a key is neither in a module nor unused")
}

/// A band of rows lies inside its layer.
func checkTarget(_ t: LoraTarget) {
    guard let rows = t.rows else { return }
    let first = t.layer.shape.first ?? 1
    precondition(t.rowOffset >= 0 && rows > 0 && t.rowOffset + rows <= first, "band outside its layer")
}
