#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Analysis
import Checkpoint
import ModelCatalog
import OrderedJSON
import Synchronization
import TensorCore

/// What `LTCompareModels` and `weightlens diff` report for two models A and B: per layer
/// ‖B − A‖/‖A‖, the cosine similarity of A and B, ‖B − A‖ and σ₁(B − A) (docs/ENGINE.md,
/// "Comparing two models"). Layers present in one model only, or with different shapes, are
/// entries too, with null metrics and a `status` saying why.
package enum ModelComparisonReport {
    package enum Metric: String, Sendable, CaseIterable {
        case relativeChange = "relative_change", cosine, deltaL2 = "delta_l2", deltaSpectralNorm = "delta_spectral_norm"

        /// The most changed layers have the largest value, except for the cosine (the smallest).
        var largerIsMoreChanged: Bool { self != .cosine }
    }

    package enum Status: String, Sendable {
        case compared, onlyInA = "only_in_a", onlyInB = "only_in_b", shapeMismatch = "shape_mismatch"
    }

    package struct Entry: Sendable {
        package let name: String
        package let block: String
        package let status: Status
        package let shapeA: [Int]?
        package let shapeB: [Int]?
        package let moments: PairMoments?
        /// σ₁(B − A); nil unless the spectral metric was asked for, or for a 1-D weight.
        package let spectralNorm: Double?

        package func value(_ metric: Metric) -> Double? {
            guard let moments else { return nil }
            switch metric {
            case .relativeChange: return moments.relativeChange
            case .cosine: return moments.cosine
            case .deltaL2: return moments.deltaNorm
            case .deltaSpectralNorm: return spectralNorm
            }
        }

        package var json: JSON {
            func number(_ v: Double?) -> JSON { v.map { ReportNumber.json($0) } ?? .null }
            return .object(JSONObject([
                ("name", .string(name)),
                ("block", .string(block)),
                ("relative_change", number(value(.relativeChange))),
                ("cosine", number(value(.cosine))),
                ("delta_l2", number(value(.deltaL2))),
                ("delta_spectral_norm", number(value(.deltaSpectralNorm))),
                ("status", .string(status.rawValue)),
                ("shape_a", shapeA.map(ReportNumber.shape) ?? .null),
                ("shape_b", shapeB.map(ReportNumber.shape) ?? .null),
            ]))
        }
    }

    /// One model's side of a comparison: its file and catalogue.
    package struct Side: Sendable {
        package let file: CheckpointFile
        package let catalog: LayerCatalog
        package init(file: CheckpointFile, catalog: LayerCatalog) {
            self.file = file
            self.catalog = catalog
        }
    }

    /// Elements converted per step of the streaming pass: two Float chunks stay in L1.
    static let chunk = 4096

    /// Compares every layer matching `filter` in A or B (layer names as listed, any weight rank),
    /// several layers at a time. Each layer pair streams through in small chunks (the sums are
    /// taken while the elements are converted) and its file pages are released when it is done,
    /// so neither model is ever held in memory; only `delta_spectral_norm` keeps B − A of the
    /// layer in flight for the Lanczos passes (σ₁ is computed only for that metric, so the other
    /// metrics are one pass over the two files). `progress(done, total)` after each layer, in order,
    /// from any thread; `cancelled` is polled between chunks.
    package static func compute(_ a: Side, _ b: Side, filter: String, metric: Metric,
                                cancelled: @escaping @Sendable () -> Bool = { false },
                                progress: @escaping @Sendable (Int, Int) -> Void = { _, _ in }) throws(NodeFailure) -> [Entry] {
        let layersA: [Layer], layersB: [Layer]
        do {
            layersA = try a.catalog.filter(filter)
            layersB = try b.catalog.filter(filter)
        } catch { throw .failed(type: "ValueError", message: error.description) }
        guard !layersA.isEmpty || !layersB.isEmpty else {
            throw .failed(type: "ValueError", message: "No layer of either model matches the filter '\(filter)'.")
        }
        let plan = pair(layersA, layersB)
        let jobs = plan.indices.filter { plan[$0].status == .compared }
        guard !jobs.isEmpty else {
            throw .failed(type: "ValueError", message: "The models have no layer in common"
                          + (filter.isEmpty ? "" : " matching '\(filter)'")
                          + ": A is \(a.catalog.family.displayName) with \(layersA.count) layers, B is \(b.catalog.family.displayName) with \(layersB.count).")
        }
        let cancellation = Cancellation(cancelled)
        let state = Mutex<(next: Int, done: Int, entries: [Entry?], failure: NodeFailure?)>((0, 0, Array(repeating: nil, count: plan.count), nil))
        let workers = max(1, min(jobs.count, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), 8))
        runLayerWorkers(workers) {
            let buffers = ChunkBuffers()
            while true {
                let job: Int? = state.withLock { s in
                    guard s.failure == nil, s.next < jobs.count else { return nil }
                    s.next += 1
                    return jobs[s.next - 1]
                }
                guard let job else { return }
                let p = plan[job]
                let result = Result { () throws(NodeFailure) -> Entry in
                    if cancelled() { throw .interrupted }
                    return try compare(p, a, b, spectral: metric == .deltaSpectralNorm, buffers: buffers, cancellation: cancellation)
                }
                // Reported under the lock so the counts reach the client in order.
                state.withLock { s in
                    switch result {
                    case .success(let e):
                        s.entries[job] = e
                        s.done += 1
                        progress(s.done, jobs.count)
                    case .failure(let f):
                        if s.failure == nil { s.failure = f }
                    }
                }
            }
        }
        let final = state.withLock { $0 }
        if let failure = final.failure { throw failure }
        return plan.indices.map { final.entries[$0] ?? plan[$0] }
    }

    /// A's layers in A's order, then B's layers A lacks; same name with different shapes (other than
    /// trailing 1s, a linear against a 1×1 conv) is a mismatch.
    static func pair(_ layersA: [Layer], _ layersB: [Layer]) -> [Entry] {
        var byName: [String: Layer] = [:]
        for l in layersB where byName[l.name] == nil { byName[l.name] = l }
        var seen = Set<String>()
        var plan: [Entry] = []
        for la in layersA where !seen.contains(la.name) {
            seen.insert(la.name)
            let block = ModelOverviewReport.block(of: la)
            guard let lb = byName[la.name] else {
                plan.append(Entry(name: la.name, block: block, status: .onlyInA, shapeA: la.shape, shapeB: nil, moments: nil, spectralNorm: nil))
                continue
            }
            let same = trimmed(la.shape) == trimmed(lb.shape)
            plan.append(Entry(name: la.name, block: block, status: same ? .compared : .shapeMismatch, shapeA: la.shape, shapeB: lb.shape,
                              moments: nil, spectralNorm: nil))
        }
        for lb in layersB where !seen.contains(lb.name) {
            seen.insert(lb.name)
            plan.append(Entry(name: lb.name, block: ModelOverviewReport.block(of: lb), status: .onlyInB, shapeA: nil, shapeB: lb.shape,
                              moments: nil, spectralNorm: nil))
        }
        return plan
    }

    private static func trimmed(_ shape: [Int]) -> [Int] {
        var s = shape
        while s.count > 1, s.last == 1 { s.removeLast() }
        return s
    }

    /// Per-thread scratch: one chunk of A (B goes straight into its destination).
    final class ChunkBuffers: @unchecked Sendable {
        let a = UnsafeMutablePointer<Float>.allocate(capacity: chunk)
        let b = UnsafeMutablePointer<Float>.allocate(capacity: chunk)
        deinit {
            a.deallocate()
            b.deallocate()
        }
    }

    /// One layer pair: a single streaming pass for the sums (and B − A when σ₁ is wanted).
    static func compare(_ p: Entry, _ a: Side, _ b: Side, spectral: Bool, buffers: ChunkBuffers,
                        cancellation: Cancellation) throws(NodeFailure) -> Entry {
        let la: Layer, lb: Layer
        do {
            la = try a.catalog.layer(named: p.name)
            lb = try b.catalog.layer(named: p.name)
        } catch { throw .failed(type: "ValueError", message: error.description) }
        let readerA = try WeightReader(la, a)
        let readerB = try WeightReader(lb, b)
        defer {
            readerA.finish()
            readerB.finish()
        }
        let count = la.parameters
        let shape = la.shape
        let rows = shape.first ?? 1
        let wantsSpectral = spectral && shape.count >= 2 && count > 0
        var delta: UnsafeMutablePointer<Float>? = nil
        if wantsSpectral { delta = UnsafeMutablePointer<Float>.allocate(capacity: count) }
        defer { delta?.deallocate() }
        var moments = PairMoments()
        var start = 0
        var steps = 0
        while start < count {
            let n = min(chunk, count - start)
            let bDst = delta.map { $0 + start } ?? buffers.b
            try readerA.read(start, n, into: buffers.a)
            try readerB.read(start, n, into: bDst)
            moments.add(buffers.a, bDst, count: n)
            if delta != nil { PairMoments.subtract(buffers.a, from: bDst, count: n) }
            start += n
            steps += 1
            if steps & 255 == 0, cancellationFired(cancellation) { throw .interrupted }
        }
        var sigma: Double? = nil
        if let delta {
            readerA.finish()
            readerB.finish()
            do {
                sigma = try spectralNormLanczos(delta, rows: rows, cols: count / max(rows, 1), frobenius: moments.deltaNorm,
                                                cancellation: cancellation).value
            } catch {
                throw AnalysisNode.failure(error)
            }
        }
        return Entry(name: p.name, block: p.block, status: .compared, shapeA: p.shapeA, shapeB: p.shapeB, moments: moments, spectralNorm: sigma)
    }

    private static func cancellationFired(_ c: Cancellation) -> Bool {
        do { try c.check() } catch { return true }
        return false
    }

    /// Reads one layer's weight in element ranges: straight from the file (converted chunk by
    /// chunk) when the weight is stored as is, else (LoRA-patched, scaled fp8, GGUF
    /// block-quantized) from the weight loaded once through the catalogue.
    struct WeightReader {
        let layer: Layer
        let file: CheckpointFile
        let loaded: Tensor?

        init(_ layer: Layer, _ side: Side) throws(NodeFailure) {
            self.layer = layer
            self.file = side.file
            // A LoRA-patched MODEL's patched layers are W + strength x dW, computed for the layer.
            if layer.scaleKey != nil || side.catalog.isPatched(layer) || !side.file.canReadElements(layer.weightKey) {
                do { loaded = try side.catalog.loadWeight(layer) } catch {
                    throw .failed(type: "CheckpointError", message: error.description)
                }
            } else {
                loaded = nil
                side.file.willRead(layer.weightKey)
            }
        }

        func read(_ start: Int, _ n: Int, into dst: UnsafeMutablePointer<Float>) throws(NodeFailure) {
            if let loaded {
                loaded.values.withUnsafeBufferPointer { dst.update(from: $0.baseAddress! + start, count: n) }
                return
            }
            do { try file.readElements(layer.weightKey, start: start, count: n, into: dst) } catch {
                throw .failed(type: "CheckpointError", message: error.description)
            }
        }

        func finish() { if loaded == nil { file.releasePages(layer.weightKey) } }
    }

    /// Indices of the compared entries, most changed first by `metric` (non-finite values last).
    package static func mostChanged(_ entries: [Entry], metric: Metric) -> [Int] {
        let scored = entries.indices.compactMap { i -> (Int, Double)? in
            guard let v = entries[i].value(metric), v.isFinite else { return nil }
            return (i, v)
        }
        return scored.sorted { metric.largerIsMoreChanged ? $0.1 > $1.1 : $0.1 < $1.1 }.map(\.0)
    }

    package static func report(_ entries: [Entry]) -> JSON { .array(entries.map(\.json)) }

    /// Lines naming the layers that could not be compared, at most `limit` of them.
    package static func unmatchedLines(_ entries: [Entry], limit: Int = 12) -> [String] {
        let odd = entries.filter { $0.status != .compared }
        guard !odd.isEmpty else { return [] }
        func shape(_ s: [Int]?) -> String { s.map { "[" + $0.map(String.init).joined(separator: ", ") + "]" } ?? "-" }
        var lines = ["not compared: \(odd.count) layer\(odd.count == 1 ? "" : "s")"
                     + " (\(odd.filter { $0.status == .onlyInA }.count) only in A, \(odd.filter { $0.status == .onlyInB }.count) only in B, "
                     + "\(odd.filter { $0.status == .shapeMismatch }.count) with different shapes)"]
        for e in odd.prefix(limit) {
            switch e.status {
            case .onlyInA: lines.append("only in A: \(e.name) \(shape(e.shapeA))")
            case .onlyInB: lines.append("only in B: \(e.name) \(shape(e.shapeB))")
            case .shapeMismatch: lines.append("different shapes: \(e.name) A \(shape(e.shapeA)), B \(shape(e.shapeB))")
            case .compared: break
            }
        }
        if odd.count > limit { lines.append("... and \(odd.count - limit) more (the report lists them all)") }
        return lines
    }
}
