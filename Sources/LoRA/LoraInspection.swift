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
    /// without it from the bundled layout the LoRA fits (module names when none fits).
    public static func run(_ lora: LoraFile, base: LayerCatalog?, modelName: String = "model",
                           cancelled: () -> Bool = { false }) throws(LoraError) -> LoraInspection {
        let identity: ModelIdentity?
        let binding: LoraBinding?
        if let base {
            binding = try LoraBinding.bind(lora, identity: base.identity, layers: base.allLayers, modelName: modelName)
            identity = base.identity
        } else if let fit = LoraFamilies.bestFit(lora) {
            binding = try? LoraBinding.bind(lora, identity: fit.identity, layers: fit.layers, modelName: fit.identity.variant)
            identity = binding == nil ? nil : fit.identity
        } else {
            binding = nil
            identity = nil
        }
        var entries: [LayerEntry] = []
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
            for layer in order {
                if cancelled() { break }
                let matches = groups[layer.weightKey]!
                let rows = layer.shape.first ?? 1
                let cols = max(1, layer.parameters / max(rows, 1))
                var values = [Float](repeating: 0, count: rows * cols)
                for m in matches {
                    let d: Tensor
                    do { d = try LoraDelta.compute(m.module, in: lora) } catch { throw .unreadable(error) }
                    let start = m.target.rowOffset * cols
                    for i in 0..<min(d.count, values.count - start) { values[start + i] += m.module.scale * d.values[i] }
                }
                var relative: Double?
                if let base, base.allLayers.contains(where: { $0.weightKey == layer.weightKey }) {
                    if let w = try? LayerCatalog.loadWeight(layer, from: base.checkpoint) { relative = norm(values) / max(norm(w.values), 1e-30) }
                }
                let first = matches[0].module
                entries.append(entry(name: layer.name, block: layer.block ?? teBlock(layer.part), part: layer.part, module: first,
                                     values: values, rows: rows, cols: cols, relative: relative))
            }
        } else {
            for m in lora.modules {
                if cancelled() { break }
                let d: Tensor
                do { d = try LoraDelta.compute(m, in: lora) } catch { throw .unreadable(error) }
                let rows = m.deltaShape.first ?? 1
                entries.append(entry(name: m.name, block: nil, part: "other", module: m, values: d.values.map { $0 * m.scale },
                                     rows: rows, cols: max(1, d.count / max(rows, 1)), relative: nil))
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

    static func norm(_ v: [Float]) -> Double {
        var s = 0.0
        for x in v { s += Double(x) * Double(x) }
        return s.squareRoot()
    }

    static func entry(name: String, block: String?, part: String, module: LoraModule, values: [Float], rows: Int, cols: Int,
                      relative: Double?) -> LayerEntry {
        var maxAbs: Float = 0
        for x in values { maxAbs = max(maxAbs, abs(x)) }
        let k = min(4, rows, cols)
        var sv: [Float] = []
        if k > 0, let r = try? truncatedSVD(Matrix(rows: rows, cols: cols, values: values), rank: k, tolerance: 1e-4) {
            sv = r.singularValues
        }
        return LayerEntry(name: name, block: block, part: part, rank: module.rank, alpha: module.alpha, scale: module.scale,
                          deltaL2: norm(values), deltaMaxAbs: maxAbs, singularValues: sv, relativeChange: relative)
    }
}
