import Analysis
import Checkpoint
import ModelCatalog
import TensorCore

/// What LTLoraInspect and `weightlens lora` report about a LoRA: per layer it changes, ΔW at
/// strength 1 (alpha / rank applied): rank, alpha, scale, ‖ΔW‖, max |ΔW|, the top 4 singular values
/// and, with a base model, ‖ΔW‖ / ‖W‖.
public struct LoraInspection: Sendable {
    public struct LayerEntry: Sendable {
        public let name: String
        /// Block label (IN04, D07…), `TE` / `TE2` for text-encoder layers, nil elsewhere.
        public let block: String?
        public let part: String
        public let rank: Int?
        public let alpha: Float?
        public let scale: Float
        public let deltaL2: Double
        public let deltaMaxAbs: Float
        public let singularValues: [Float]
        public let relativeChange: Double?
    }
    public let format: String
    /// The model the LoRA was matched against (base model, or the bundled layout it fits best).
    public let family: String
    public let metadata: [(key: String, value: String)]
    public let layers: [LayerEntry]
    public let unmatchedKeys: [String]

    /// Inspects `lora`; with `base` (a model's catalogue) names and relative changes come from it,
    /// without it from the bundled layout the LoRA fits (module names when none fits). Layers are
    /// measured in parallel (`DeltaMeasure`); `cancelled` is polled before each, and a cancelled
    /// run returns the layers measured so far.
    public static func run(_ lora: LoraFile, base: LayerCatalog?, modelName: String = "model",
                           cancelled: @Sendable () -> Bool = { false }) throws(LoraError) -> LoraInspection {
        let identity: ModelIdentity?
        let binding: LoraBinding?
        if let base {
            binding = try LoraBinding.bind(lora, identity: base.identity, layers: base.allLayers, modelName: modelName)
            identity = base.identity
        } else if let fit = LoraFamilies.bestFit(lora) {
            binding = try? LoraBinding.bind(lora, identity: fit.identity, layers: fit.layers, map: fit.map, modelName: fit.identity.variant)
            identity = binding == nil ? nil : fit.identity
        } else {
            binding = nil
            identity = nil
        }
        let entries: [LayerEntry]
        let buffers = FactorBuffers()
        if let binding {
            // Group modules by layer, layers in model order.
            var groups: [String: [LoraBinding.Match]] = [:]
            var order: [Layer] = []
            for m in binding.matches {
                if groups[m.target.layer.weightKey] == nil { order.append(m.target.layer) }
                groups[m.target.layer.weightKey, default: []].append(m)
            }
            let rank = Dictionary(uniqueKeysWithValues: (base?.allLayers ?? []).enumerated().map { ($1.weightKey, $0) })
            if !rank.isEmpty { order.sort { (rank[$0.weightKey] ?? Int.max) < (rank[$1.weightKey] ?? Int.max) } }
            let byKey = groups
            entries = try DeltaMeasure.concurrentMap(order, cancelled: cancelled) { layer throws(LoraError) -> LayerEntry in
                let matches = byKey[layer.weightKey]!
                let rows = layer.shape.first ?? 1
                let cols = max(1, layer.parameters / max(rows, 1))
                let measure = try DeltaMeasure.of(matches.map { ($0.module, $0.target.rowOffset) }, rows: rows, cols: cols, in: lora,
                                                  buffers: buffers)
                var relative: Double?
                if let base, rank[layer.weightKey] != nil, let norm = DeltaMeasure.baseNorm(layer, in: base) {
                    relative = measure.l2 / max(norm, 1e-30)
                }
                return entry(name: layer.name, block: layer.block ?? teBlock(layer.part), part: layer.part, module: matches[0].module,
                             measure: measure, relative: relative)
            }
        } else {
            entries = try DeltaMeasure.concurrentMap(lora.modules, cancelled: cancelled) { m throws(LoraError) -> LayerEntry in
                let rows = m.deltaShape.first ?? 1
                let measure = try DeltaMeasure.of([(m, 0)], rows: rows, cols: max(1, m.deltaCount / max(rows, 1)), in: lora,
                                                  buffers: buffers)
                return entry(name: m.name, block: nil, part: "other", module: m, measure: measure, relative: nil)
            }
        }
        return LoraInspection(format: lora.format, family: identity?.variant ?? "unknown", metadata: lora.metadata, layers: entries,
                              unmatchedKeys: binding?.unmatchedKeys ?? lora.unusedKeys)
    }

    static func teBlock(_ part: String) -> String? {
        switch part {
        case "text_encoder": return "TE"
        case "text_encoder_2": return "TE2"
        case "text_encoder_3": return "TE3"
        default: return nil
        }
    }

    static func entry(name: String, block: String?, part: String, module: LoraModule, measure: DeltaMeasure,
                      relative: Double?) -> LayerEntry {
        LayerEntry(name: name, block: block, part: part, rank: module.rank, alpha: module.alpha, scale: module.scale,
                   deltaL2: measure.l2, deltaMaxAbs: measure.maxAbs, singularValues: measure.singularValues, relativeChange: relative)
    }
}
