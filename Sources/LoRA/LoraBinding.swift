import Checkpoint
import Dispatch
import ModelCatalog
import Synchronization
import TensorCore

/// A LoRA file matched against a model's layers: which module changes which layer (or band of rows).
public struct LoraBinding: Sendable {
    public struct Match: Sendable {
        public let module: LoraModule
        public let target: LoraTarget
    }
    public let lora: LoraFile
    /// The model the modules were matched against (its family and variant).
    public let identity: ModelIdentity
    /// Matched modules in file order.
    public let matches: [Match]
    /// Keys that change nothing in this model: modules with no layer of that name, and keys that
    /// belong to no module (ComfyUI logs each as "lora key not loaded").
    public let unmatchedKeys: [String]

    /// Matches `lora` against `layers` (a catalogue's `allLayers`, or a reference layout's).
    ///
    /// - Throws: `.targetMismatch` when a module's ΔW does not have its layer's size, `.wrongModel`
    ///   when no module matches (naming the family the LoRA fits when one of the bundled layouts does).
    /// - Parameter map: the key map of `layers` when the caller has it already (`LoraFamilies`).
    public static func bind(_ lora: LoraFile, identity: ModelIdentity, layers: [Layer], map prebuilt: LoraKeyMap? = nil,
                            modelName: String) throws(LoraError) -> LoraBinding {
        let map = prebuilt ?? LoraKeyMap(identity: identity, layers: layers)
        var matches: [Match] = []
        var unmatched: [String] = []
        var mismatch: LoraError?
        for m in lora.modules {
            guard let t = map.target(m.name) else {
                unmatched.append(contentsOf: m.keys.values.sorted())
                continue
            }
            if t.count != m.deltaCount {
                if mismatch == nil {
                    let band = t.rows.map { [$0] + t.layer.shape.dropFirst() } ?? t.layer.shape
                    mismatch = .targetMismatch(path: lora.path, module: m.name, layer: t.layer.name, delta: m.deltaShape, target: band)
                }
                continue
            }
            matches.append(Match(module: m, target: t))
        }
        if matches.isEmpty || mismatch != nil {
            // Say which model the LoRA is for when that is not this one.
            if let fit = LoraFamilies.bestFit(lora), fit.identity.family != identity.family {
                throw .wrongModel(path: lora.path, loraFamily: fit.identity.variant, model: "\(modelName) (\(identity.variant))")
            }
            if let mismatch { throw mismatch }
            throw .wrongModel(path: lora.path, loraFamily: "no model WeightLens knows (SD 1.x, SDXL, Flux.1, SD3.5)",
                              model: "\(modelName) (\(identity.variant))")
        }
        return LoraBinding(lora: lora, identity: identity, matches: matches, unmatchedKeys: unmatched + lora.unusedKeys)
    }

    /// The matches whose layer belongs to `parts` (`unet` for MODEL, the text encoders for CLIP).
    public func restricted(to parts: Set<String>) -> [Match] { matches.filter { parts.contains($0.target.layer.part) } }
}

/// Which bundled model layout a LoRA fits best (for LTLoraInspect without a base model and for errors).
public enum LoraFamilies {
    /// SD 1.5, SDXL, Flux.1-dev and SD3.5 large layer lists and their key maps, built once: a map
    /// of SDXL's ~2,500 layers holds ~30,000 names, and every failed bind asks which layout fits.
    /// The four are built side by side (about 70 ms of one core together; a LoRA's report waits for them).
    static let references: [(ref: ReferenceLayers, map: LoraKeyMap)] = {
        let layouts: [SyntheticCheckpoint.Layout] = [.sd15, .sdxl, .flux, .sd35]
        let built = Mutex<[(ref: ReferenceLayers, map: LoraKeyMap)?]>(Array(repeating: nil, count: layouts.count))
        DispatchQueue.concurrentPerform(iterations: layouts.count) { i in
            guard let ref = try? ReferenceLayers.load(layouts[i]) else { return }
            let map = LoraKeyMap(identity: ref.identity, layers: ref.allLayers)
            built.withLock { $0[i] = (ref, map) }
        }
        return built.withLock { $0 }.compactMap { $0 }
    }()

    /// The layout whose layer names the most modules match (ties: the most with the right size);
    /// nil when no module name matches any.
    public static func bestFit(_ lora: LoraFile) -> (identity: ModelIdentity, layers: [Layer], map: LoraKeyMap)? {
        var best: (ref: ReferenceLayers, map: LoraKeyMap, names: Int, sizes: Int)?
        for (ref, map) in references {
            var names = 0, sizes = 0
            for m in lora.modules {
                guard let t = map.target(m.name) else { continue }
                names += 1
                if t.count == m.deltaCount { sizes += 1 }
            }
            guard names > 0 else { continue }
            if let b = best, (b.names, b.sizes) >= (names, sizes) { continue }
            best = (ref, map, names, sizes)
        }
        return best.map { ($0.ref.identity, $0.ref.allLayers, $0.map) }
    }
}

/// A LoRA applied at a strength to the layers of some parts: the `WeightPatch` a patched MODEL (or
/// CLIP) catalogue carries. Each layer's W + strength·scale·ΔW is computed when that layer is read.
public struct LoraPatch: WeightPatch {
    public let binding: LoraBinding
    public let strength: Float
    /// The matches applied, by the weight key of their layer.
    private let byWeightKey: [String: [LoraBinding.Match]]
    /// `lora_name`, file stamp and strength (cache keys, headers).
    public let identity: String

    /// - Parameters:
    ///   - parts: layer parts to patch (`["unet"]` for MODEL; the text encoders for CLIP).
    ///   - stamp: what identifies the file's content (size and modification time).
    public init(binding: LoraBinding, strength: Float, parts: Set<String>, name: String, stamp: String) {
        self.binding = binding
        self.strength = strength
        var map: [String: [LoraBinding.Match]] = [:]
        for m in binding.restricted(to: parts) { map[m.target.layer.weightKey, default: []].append(m) }
        self.byWeightKey = map
        self.identity = "\(name)@\(stamp)x\(strength)"
    }

    /// Number of layers this patch changes.
    public var layerCount: Int { byWeightKey.count }

    public func touches(weightKey: String) -> Bool { strength != 0 && byWeightKey[weightKey] != nil }

    public func apply(to weight: Tensor, layer: Layer) throws(CheckpointError) -> Tensor {
        guard let matches = byWeightKey[layer.weightKey], strength != 0 else { return weight }
        var values = weight.values
        let rowLength = weight.shape.count > 1 ? weight.shape.dropFirst().reduce(1, *) : 1
        for m in matches {
            let delta = try LoraDelta.compute(m.module, in: binding.lora)
            let f = strength * m.module.scale
            let start = m.target.rowOffset * rowLength
            guard start + delta.count <= values.count else {
                throw .invalidEntry(path: binding.lora.path, tensor: m.module.name,
                                    reason: "delta of \(delta.count) values does not fit layer \(layer.name) at row \(m.target.rowOffset)")
            }
            values.withUnsafeMutableBufferPointer { w in
                delta.values.withUnsafeBufferPointer { d in
                    for i in 0..<d.count { w[start + i] += f * d[i] }
                }
            }
        }
        return Tensor(shape: weight.shape, values: values)
    }
}
