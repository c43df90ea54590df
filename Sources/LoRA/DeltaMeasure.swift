import Analysis
import Checkpoint
import Dispatch
import ModelCatalog
import Synchronization
import TensorCore

/// What the LoRA report says of one layer's ΔW at strength 1 (the sum of its modules' scale·ΔW,
/// each on its band of rows): ‖ΔW‖_F, max |ΔW| and the top singular values.
///
/// Plain LoRA modules (up·down, the bulk of every file) are measured from their factors: the
/// singular values and the norm from r×r Gram matrices (`productSpectrum`), the largest entry by an
/// integer screen of every entry with exact recomputation of the few tiles that can hold it
/// (`productMaxAbs`). ΔW is never formed: a full-size SDXL rank-128 LoRA costs one pass of 16-bit
/// integer products instead of a 13 M-element ΔW and a Lanczos run per layer.
/// LoHa, LoKr and full diffs, and ranks too large to gain from the factors, materialise ΔW.
struct DeltaMeasure: Sendable {
    let l2: Double
    let maxAbs: Float
    let singularValues: [Float]

    /// - Parameters:
    ///   - parts: the modules of the layer with the first row each one's ΔW covers.
    ///   - rows, cols: the layer as a matrix (conv kernels flattened into the columns).
    ///   - buffers: spare arrays for the factors, shared by the layers measured side by side.
    static func of(_ parts: [(module: LoraModule, rowOffset: Int)], rows: Int, cols: Int, in lora: LoraFile,
                   buffers: FactorBuffers? = nil) throws(LoraError) -> DeltaMeasure {
        let top = min(4, rows, cols)
        let rank = parts.reduce(0) { $0 + ($1.module.rank ?? 0) }
        // Factors pay while the r-wide factors are smaller than ΔW itself.
        if parts.allSatisfy({ $0.module.kind == .lora }), 2 * rank < min(rows, cols) {
            var used: [[Float]] = []
            let m = try factored(parts, rows: rows, cols: cols, top: top, in: lora, buffers: buffers, used: &used)
            // Handed back once `factored` has returned: nothing else holds the arrays now.
            buffers?.give(&used)
            if let m { return m }
        }
        return try materialised(parts, rows: rows, cols: cols, top: top, in: lora)
    }

    /// `factored` with freshly loaded factors.
    static func factored(_ parts: [(module: LoraModule, rowOffset: Int)], rows: Int, cols: Int, top: Int,
                         in lora: LoraFile) throws(LoraError) -> DeltaMeasure? {
        var used: [[Float]] = []
        return try factored(parts, rows: rows, cols: cols, top: top, in: lora, buffers: nil, used: &used)
    }

    /// From the factors; nil when they do not fit the layer as expected (then ΔW is materialised).
    /// Factors read into arrays taken from `buffers` are appended to `used`.
    static func factored(_ parts: [(module: LoraModule, rowOffset: Int)], rows: Int, cols: Int, top: Int,
                         in lora: LoraFile, buffers: FactorBuffers?, used: inout [[Float]]) throws(LoraError) -> DeltaMeasure? {
        var pieces: [(up: Matrix, down: Matrix, offset: Int)] = []
        for p in parts {
            var f: (up: Matrix, down: Matrix)
            do {
                if let buffers, p.module.keys[.mid] == nil {
                    f = (try buffers.matrix(p.module, .up, in: lora, scale: p.module.scale, used: &used),
                         try buffers.matrix(p.module, .down, in: lora, scale: 1, used: &used))
                } else {
                    f = try LoraDelta.factors(p.module, in: lora)
                    let s = p.module.scale
                    if s != 1 { for i in f.up.values.indices { f.up.values[i] *= s } }
                }
            } catch { throw .unreadable(error) }
            guard f.down.cols == cols, f.up.cols == f.down.rows, p.rowOffset >= 0, p.rowOffset + f.up.rows <= rows else { return nil }
            pieces.append((f.up, f.down, p.rowOffset))
        }
        // The whole layer as one product L·R: the ups side by side, each on its rows; the downs stacked.
        let left: Matrix, right: Matrix
        if pieces.count == 1, pieces[0].offset == 0, pieces[0].up.rows == rows {
            (left, right) = (pieces[0].up, pieces[0].down)
        } else {
            let inner = pieces.reduce(0) { $0 + $1.up.cols }
            var l = Matrix(zeros: rows, inner), r = [Float]()
            r.reserveCapacity(inner * cols)
            var column = 0
            for p in pieces {
                for i in 0..<p.up.rows {
                    for j in 0..<p.up.cols { l.values[(p.offset + i) * inner + column + j] = p.up.values[i * p.up.cols + j] }
                }
                column += p.up.cols
                r += p.down.values
            }
            (left, right) = (l, Matrix(rows: inner, cols: cols, values: r))
        }
        // Modules on disjoint bands of rows are multiplied band by band (a fused qkv's three
        // modules cost one product's flops, not three); overlapping ones through the sum.
        let bands = pieces.map { $0.offset..<($0.offset + $0.up.rows) }.sorted { $0.lowerBound < $1.lowerBound }
        let disjoint = zip(bands, bands.dropFirst()).allSatisfy { $0.upperBound <= $1.lowerBound }
        // ‖ΔW‖ from the Gram matrices of the spectrum, the largest entry by the integer screen.
        // Factors whose Gram matrices are not finite take every entry through the Float GEMM
        // (a NaN entry never wins the maximum; the norm is then NaN or infinite).
        do {
            if let spectrum = try? productSpectrum(left, right, top: top, parallel: false) {
                var maxAbs: Float = 0
                if disjoint {
                    for p in pieces { maxAbs = max(maxAbs, try productMaxAbs(p.up, p.down)) }
                } else {
                    maxAbs = try productMaxAbs(left, right)
                }
                return DeltaMeasure(l2: spectrum.sumOfSquares.squareRoot(), maxAbs: maxAbs, singularValues: spectrum.singularValues)
            }
            var moments = ProductEntryMoments(sumOfSquares: 0, maxAbs: 0)
            if disjoint {
                for p in pieces { moments = moments.merged(with: try productEntryMoments(p.up, p.down, parallel: false)) }
            } else {
                moments = try productEntryMoments(left, right, parallel: false)
            }
            return DeltaMeasure(l2: moments.sumOfSquares.squareRoot(), maxAbs: moments.maxAbs, singularValues: [])
        } catch {
            return nil
        }
    }

    /// ΔW summed into a rows×cols matrix, then measured (LoHa, LoKr, diffs, very large ranks).
    static func materialised(_ parts: [(module: LoraModule, rowOffset: Int)], rows: Int, cols: Int, top: Int,
                                     in lora: LoraFile) throws(LoraError) -> DeltaMeasure {
        var values = [Float](repeating: 0, count: rows * cols)
        for p in parts {
            let d: Tensor
            do { d = try LoraDelta.compute(p.module, in: lora) } catch { throw .unreadable(error) }
            let start = p.rowOffset * cols, s = p.module.scale
            for i in 0..<max(0, min(d.count, values.count - start)) { values[start + i] += s * d.values[i] }
        }
        let moments = weightMoments(values, rows: 1)
        var sv: [Float] = []
        if top > 0, let r = try? topSingularValues(Matrix(rows: rows, cols: cols, values: values), rank: top, tolerance: 1e-4) {
            sv = r
        }
        return DeltaMeasure(l2: moments.l2Norm, maxAbs: moments.rowMaxAbs.first ?? 0, singularValues: sv)
    }

    /// ‖W‖_F of `layer` as stored in `base`'s file (a LoRA already applied to `base` not counted):
    /// streamed in L1-sized chunks converted in place when the weight is stored as is (its pages
    /// released afterwards), else loaded whole (scaled fp8, GGUF blocks). Nil when unreadable.
    static func baseNorm(_ layer: Layer, in base: LayerCatalog) -> Double? {
        let file = base.checkpoint
        guard layer.scaleKey == nil, file.canReadElements(layer.weightKey) else {
            return (try? LayerCatalog.loadWeight(layer, from: file)).map { weightMoments($0.values, rows: 1).l2Norm }
        }
        file.willRead(layer.weightKey)
        defer { file.releasePages(layer.weightKey) }
        let chunk = 4096
        var buffer = [Float](repeating: 0, count: chunk)
        var sums = PairMoments()
        var start = 0
        while start < layer.parameters {
            let n = min(chunk, layer.parameters - start)
            let ok = buffer.withUnsafeMutableBufferPointer { p -> Bool in
                do { try file.readElements(layer.weightKey, start: start, count: n, into: p.baseAddress!) } catch { return false }
                sums.add(p.baseAddress!, p.baseAddress!, count: n)
                return true
            }
            guard ok else { return nil }
            start += n
        }
        return sums.normA
    }

    /// `body` over `items` on every core, results in item order. Items not started when `cancelled`
    /// turns true are skipped (the result is then shorter); the first failure in item order is thrown.
    static func concurrentMap<T: Sendable, R: Sendable>(_ items: [T], cancelled: @Sendable () -> Bool,
                                                        _ body: @Sendable (T) throws(LoraError) -> R) throws(LoraError) -> [R] {
        let results = Mutex<[Result<R, LoraError>?]>(Array(repeating: nil, count: items.count))
        DispatchQueue.concurrentPerform(iterations: items.count) { i in
            if cancelled() { return }
            let r = Result { () throws(LoraError) -> R in try body(items[i]) }
            results.withLock { $0[i] = r }
        }
        var out: [R] = []
        for r in results.withLock({ $0 }) {
            switch r {
            case .success(let v)?: out.append(v)
            case .failure(let e)?: throw e
            case nil: continue
            }
        }
        return out
    }
}

/// Spare Float arrays for LoRA factors, reused by the layers of one report. A full-size SDXL
/// rank-128 LoRA has about 80 factors of 4-12 MB; the server's allocator policy (glibc's mmap
/// threshold fixed at 4 MiB, NodeServer/AllocatorPolicy.swift) maps and unmaps each of them on its
/// own, and the page faults and TLB shootdowns of that churn made `LTLoraInspect` in the server
/// 0.5 s slower than `weightlens lora` (docs/BENCHMARKS.md, "LoRA inspection", session 9). The
/// pool keeps at most `limit` arrays, for the length of one report.
final class FactorBuffers: Sendable {
    private let spare = Mutex<[[Float]]>([])

    /// How many arrays are spare now.
    var spareCount: Int { spare.withLock { $0.count } }

    /// Spare arrays kept at most (the largest): two factors for each of a few layers in flight.
    static let limit = 8

    /// Hands arrays back (emptying `arrays`); call once nothing else refers to them.
    func give(_ arrays: inout [[Float]]) {
        guard !arrays.isEmpty else { return }
        let handed = arrays
        arrays = []
        spare.withLock { s in
            s.append(contentsOf: handed)
            if s.count > Self.limit {
                s.sort { $0.capacity > $1.capacity }
                s.removeLast(s.count - Self.limit)
            }
        }
    }

    /// Factor `role` of `module` as a matrix (rows = its first dimension), read into a spare array
    /// and multiplied by `scale`; the array is also appended to `used`. Falls back to a fresh load
    /// for tensors that are not stored element by element (GGUF blocks).
    func matrix(_ module: LoraModule, _ role: LoraRole, in lora: LoraFile, scale: Float,
                used: inout [[Float]]) throws(CheckpointError) -> Matrix {
        let key = module.keys[role]!
        let file = lora.checkpoint
        var values: [Float], shape: [Int]
        if file.canReadElements(key), let entry = file.entry(named: key) {
            let count = entry.parameterCount
            // The smallest spare array that holds the factor; none: a new one, never zero-filled.
            values = spare.withLock { arrays -> [Float] in
                let fitting = arrays.indices.filter { arrays[$0].capacity >= count }
                guard let best = fitting.min(by: { arrays[$0].capacity < arrays[$1].capacity }) else { return [] }
                return arrays.remove(at: best)
            }
            var failure: CheckpointError?
            func fill(_ p: UnsafeMutablePointer<Float>) {
                do throws(CheckpointError) { try file.readElements(key, start: 0, count: count, into: p) } catch { failure = error }
            }
            if values.capacity < count {
                values = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                    if count > 0 { fill(buffer.baseAddress!) }
                    initialized = failure == nil ? count : 0
                }
            } else {
                if values.count > count { values.removeLast(values.count - count) }
                if values.count < count { values.append(contentsOf: repeatElement(0, count: count - values.count)) }
                if count > 0 { values.withUnsafeMutableBufferPointer { fill($0.baseAddress!) } }
            }
            if let failure { throw failure }
            shape = entry.shape
        } else {
            let t = try file.loadTensor(key)
            (values, shape) = (t.values, t.shape)
        }
        if scale != 1 { for i in values.indices { values[i] *= scale } }
        used.append(values)
        let rows = shape.first ?? 1
        return Matrix(rows: rows, cols: values.count / max(rows, 1), values: values)
    }
}

