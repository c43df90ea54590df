import Analysis
import Checkpoint
import ModelCatalog
import OrderedJSON
import Render
import Synchronization
import TensorCore

/// The metrics of `LTModelOverview` and `weightlens overview` for every matching 2-D/4-D weight,
/// on W reshaped to (out, in·kh·kw): `{name, block, shape, l2_norm, std, spectral_norm,
/// stable_rank, alpha, alpha_weighted, dead_fraction}` (docs/ENGINE.md defines them).
package enum ModelOverviewReport {
    package enum Metric: String, Sendable, CaseIterable {
        case alpha, alphaWeighted = "alpha_weighted", stableRank = "stable_rank", spectralNorm = "spectral_norm"
        case l2Norm = "l2_norm", std, deadFraction = "dead_fraction"

        /// Metrics that need the whole spectrum (the eigenvalues of WᵀW / N).
        var needsSpectrum: Bool { [.alpha, .alphaWeighted, .stableRank, .spectralNorm].contains(self) }
    }

    package struct Entry: Sendable {
        package let layer: Layer
        package let block: String
        package let l2Norm: Double
        package let std: Double
        package let deadFraction: Double
        package let spectrum: SpectralHealth?

        package func value(_ metric: Metric) -> Double? {
            switch metric {
            case .l2Norm: return l2Norm
            case .std: return std
            case .deadFraction: return deadFraction
            case .spectralNorm: return spectrum?.spectralNorm
            case .stableRank: return spectrum?.stableRank
            case .alpha: return spectrum?.alpha
            case .alphaWeighted: return spectrum?.alphaWeighted
            }
        }

        package var json: JSON {
            func number(_ v: Double?) -> JSON { v.map { ReportNumber.json($0) } ?? .null }
            return .object(JSONObject([
                ("name", .string(layer.name)),
                ("block", .string(block)),
                ("shape", ReportNumber.shape(layer.shape)),
                ("l2_norm", number(l2Norm)),
                ("std", number(std)),
                ("spectral_norm", number(spectrum?.spectralNorm)),
                ("stable_rank", number(spectrum?.stableRank)),
                ("alpha", number(spectrum?.alpha)),
                ("alpha_weighted", number(spectrum?.alphaWeighted)),
                ("dead_fraction", number(deadFraction)),
            ]))
        }
    }

    /// The block a layer belongs to: the U-Net label (IN00…OUT08, M00), the DiT block
    /// (`double_blocks.3` → DB03, `single_blocks.12` → SB12, `joint_blocks.5` → JB05,
    /// `transformer_blocks.7` → TB07), else the first part of the name.
    package static func block(of layer: Layer) -> String {
        if let b = layer.block { return b }
        let parts = layer.name.split(separator: ".")
        let tags: [(String, String)] = [("double_blocks", "DB"), ("single_blocks", "SB"), ("joint_blocks", "JB"),
                                        ("transformer_blocks", "TB"), ("layers", "L"), ("blocks", "B")]
        for (i, part) in parts.enumerated() where i + 1 < parts.count {
            if let tag = tags.first(where: { $0.0 == part }), let n = Int(parts[i + 1]) {
                return tag.1 + (n < 10 ? "0" : "") + String(n)
            }
        }
        return parts.first.map(String.init) ?? ""
    }

    /// Computes every entry, two layers at a time (the eigensolver and the moments are
    /// single-threaded; the Gram product inside fans out by itself). With a spectral `metric` all metrics are computed; with
    /// `l2_norm`, `std` or `dead_fraction` the spectral fields stay null, so that overview is a
    /// single pass over the weights. `progress(done, total)` is called after each layer, from any
    /// thread but never two at once, with done = 1, 2, … in order; `cancelled` is polled before
    /// each layer and inside the kernels.
    package static func compute(_ checkpoint: CheckpointFile, catalog: LayerCatalog, filter: String, metric: Metric,
                                cancelled: @escaping @Sendable () -> Bool = { false },
                                progress: @escaping @Sendable (Int, Int) -> Void = { _, _ in }) throws(NodeFailure) -> [Entry] {
        let matched: [Layer]
        do { matched = try catalog.filter(filter) } catch { throw .failed(type: "ValueError", message: error.description) }
        let layers = matched.filter { $0.shape.count == 2 || $0.shape.count == 4 }
        guard !layers.isEmpty else {
            throw .failed(type: "ValueError", message: matched.isEmpty ? "No layer matches the filter '\(filter)'."
                          : "None of the \(matched.count) layers matching '\(filter)' has a 2-D or 4-D weight.")
        }
        let cancellation = Cancellation(cancelled)
        let state = Mutex<(next: Int, done: Int, entries: [Entry?], failure: NodeFailure?)>((0, 0, Array(repeating: nil, count: layers.count), nil))
        // The last count reported. Two workers finishing together can reach the report in either
        // order; each reports, in order, every count the other has not, so the client sees
        // 1, 2, …, n and ends on n (reported outside `state`'s lock, which the workers contend for).
        let reported = Mutex(0)
        @Sendable func work() {
            while true {
                let index: Int? = state.withLock { s in
                    guard s.failure == nil, s.next < layers.count else { return nil }
                    s.next += 1
                    return s.next - 1
                }
                guard let index else { return }
                let result = Result { () throws(NodeFailure) -> Entry in
                    if cancelled() { throw .interrupted }
                    return try entry(layers[index], catalog: catalog, spectrum: metric.needsSpectrum, cancellation: cancellation,
                                     alone: layers.count == 1)
                }
                let done: Int? = state.withLock { s in
                    switch result {
                    case .success(let e):
                        s.entries[index] = e
                        s.done += 1
                        return s.done
                    case .failure(let f):
                        if s.failure == nil { s.failure = f }
                        return nil
                    }
                }
                if let done {
                    reported.withLock { last in
                        while last < done {
                            last += 1
                            progress(last, layers.count)
                        }
                    }
                }
            }
        }
        // Two layers at a time, one per core; a lone layer gets both cores for its kernels.
        runLayerWorkers(min(2, layers.count), work)
        let final = state.withLock { $0 }
        if let failure = final.failure { throw failure }
        return final.entries.compactMap { $0 }
    }

    /// One layer's entry. `alone`: no other layer is analysed beside it, so its eigenvalue
    /// reduction may use both cores.
    static func entry(_ layer: Layer, catalog: LayerCatalog, spectrum: Bool, cancellation: Cancellation,
                      alone: Bool = false) throws(NodeFailure) -> Entry {
        let tensor: Tensor
        do { tensor = try catalog.loadWeight(layer) } catch {
            throw .failed(type: "CheckpointError", message: error.description)
        }
        let channels = tensor.rank >= 1 ? max(tensor.shape[0], 1) : 1
        let m = weightMoments(tensor.values, rows: channels)
        let (l2, std) = (m.l2Norm, m.std)
        let threshold = (m.rowMaxAbs.max() ?? 0) * 1e-3
        let dead = Double(m.rowMaxAbs.filter { $0 < threshold }.count) / Double(channels)
        var health: SpectralHealth?
        if spectrum {
            let matrix = Matrix(tensor)
            do {
                let eigenvalues = try gramEigenvalues(matrix, cancellation: cancellation, parallel: alone)
                health = SpectralHealth(eigenvalues: eigenvalues, longSide: max(matrix.rows, matrix.cols))
            } catch {
                throw AnalysisNode.failure(error)
            }
        }
        return Entry(layer: layer, block: block(of: layer), l2Norm: l2, std: std, deadFraction: dead, spectrum: health)
    }

    package static func report(_ entries: [Entry]) -> JSON { .array(entries.map(\.json)) }
}
