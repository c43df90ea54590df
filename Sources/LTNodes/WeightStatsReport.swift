import Analysis
import Checkpoint
import ModelCatalog
import OrderedJSON
import Render
import TensorCore

/// The statistics of `LTWeightStats` and `weightlens stats`: one entry per matching layer,
/// `{name, shape, dtype, parameters, mean, std, min, max, near_zero_fraction, l2_norm, dead_filters}`.
package enum WeightStatsReport {
    /// Layers drawn on the pictures; the report lists every matching layer.
    package static let maxDrawn = 64

    package struct Output: Sendable {
        /// The JSON array of entries.
        package let report: JSON
        /// Rows of the first `maxDrawn` layers, for the pictures.
        package let drawn: [LayerStatistics]
        package let total: Int
    }

    /// Computes the statistics of every layer matching `filter`, one weight in memory at a time.
    /// `progress(done, total)` is called after each layer; `cancelled` is polled between layers.
    package static func compute(_ checkpoint: CheckpointFile, catalog: LayerCatalog, filter: String, bins: Int,
                                cancelled: () -> Bool = { false },
                                progress: (Int, Int) -> Void = { _, _ in }) throws(NodeFailure) -> Output {
        let layers: [Layer]
        do { layers = try catalog.filter(filter) } catch { throw .failed(type: "ValueError", message: error.description) }
        guard !layers.isEmpty else {
            throw .failed(type: "ValueError", message: "No layer matches the filter '\(filter)'.")
        }
        var entries: [JSON] = []
        var drawn: [LayerStatistics] = []
        for (i, layer) in layers.enumerated() {
            if cancelled() { throw .interrupted }
            let tensor: Tensor
            do { tensor = try catalog.loadWeight(layer) } catch {
                throw .failed(type: "CheckpointError", message: error.description)
            }
            let statistics = weightStatistics(tensor, bins: bins)
            let dead = deadFilters(tensor)
            entries.append(entry(layer, statistics: statistics, dead: dead))
            if drawn.count < maxDrawn {
                drawn.append(LayerStatistics(info: LayerInfo(name: layer.name, shape: layer.shape, dtype: layer.typeName,
                                                             parameters: layer.parameters),
                                             statistics: statistics, deadFilters: dead, outputChannels: tensor.shape.first ?? 1))
            }
            progress(i + 1, layers.count)
        }
        return Output(report: .array(entries), drawn: drawn, total: layers.count)
    }

    /// Output channels (indices along the first dimension) whose weights all have
    /// |w| < 1e-3 × the layer's max |w|. A scalar has none.
    package static func deadFilters(_ t: Tensor) -> [Int] {
        guard t.rank >= 1, let channels = t.shape.first, channels > 0, t.count > 0 else { return [] }
        let per = t.count / channels
        var channelMax = [Float](repeating: 0, count: channels)
        var overall: Float = 0
        t.values.withUnsafeBufferPointer { v in
            for c in 0..<channels {
                var m: Float = 0
                for i in (c * per)..<((c + 1) * per) { m = max(m, abs(v[i])) }
                channelMax[c] = m
                overall = max(overall, m)
            }
        }
        let threshold = overall * 1e-3
        return channelMax.indices.filter { channelMax[$0] < threshold }
    }

    static func entry(_ layer: Layer, statistics s: WeightStatistics, dead: [Int]) -> JSON {
        .object(JSONObject([
            ("name", .string(layer.name)),
            ("shape", ReportNumber.shape(layer.shape)),
            ("dtype", .string(layer.typeName)),
            ("parameters", .int(Int64(layer.parameters))),
            ("mean", ReportNumber.json(s.mean)),
            ("std", ReportNumber.json(s.std)),
            ("min", ReportNumber.json(s.min)),
            ("max", ReportNumber.json(s.max)),
            ("near_zero_fraction", ReportNumber.json(s.nearZeroFraction)),
            ("l2_norm", ReportNumber.json(s.l2Norm)),
            ("dead_filters", .array(dead.map { .int(Int64($0)) })),
        ]))
    }
}
