import CKernels
import Dispatch
import TensorCore

/// A histogram over a robust value range; values outside it are counted separately.
public struct Histogram: Sendable, Codable, Equatable {
    /// `counts.count + 1` bin edges, ascending.
    public let edges: [Float]
    /// Values per bin; the last bin includes its upper edge.
    public let counts: [Int]
    /// Values below `edges.first` (outliers left of the robust range).
    public let below: Int
    /// Values above `edges.last`.
    public let above: Int
}

/// Summary statistics of one weight tensor, computed in one pass over the values.
public struct WeightStatistics: Sendable, Codable, Equatable {
    public let count: Int
    public let mean: Double
    /// Population standard deviation (divides by `count`, like numpy's default).
    public let std: Double
    public let min: Float
    public let max: Float
    /// Fraction of values with |w| < `nearZeroThreshold`.
    public let nearZeroFraction: Double
    public let nearZeroThreshold: Float
    /// Frobenius / L2 norm of all values.
    public let l2Norm: Double
    /// Histogram over the 0.1 %–99.9 % quantile range (estimated from a strided sample).
    public let histogram: Histogram
    /// L2 norm of each output channel (row of the matrix view); empty for rank < 2.
    public let perOutputChannelNorms: [Float]
    /// Output channels whose norm is below `deadThreshold`.
    public let deadFilters: [Int]
    /// 1e-3 × the median channel norm (0 when all channels are zero): a filter that small
    /// contributes nothing next to its siblings.
    public let deadThreshold: Float
}

/// Statistics of `t` (any rank, any size): moments, extremes, near-zero fraction, L2, histogram,
/// per-output-channel norms and dead filters. NaN values are skipped by min/max/histogram and
/// make the moments NaN, which is what a person inspecting a broken checkpoint wants to see.
///
/// With `histogram: false` the histogram is left empty (no edges, no counts) and neither the
/// quantile sample nor the per-value binning pass runs: for callers that print the other numbers
/// only (`weightlens inspect`), where binning was most of the statistics' time.
public func weightStatistics(_ t: Tensor, bins: Int = 64, nearZeroThreshold: Float = 1e-3,
                             histogram: Bool = true) -> WeightStatistics {
    let bins = histogram ? Swift.max(1, bins) : 0
    let n = t.count
    let (rows, rowLength) = t.rank >= 2 ? (t.shape[0], t.matrixShape.cols) : (1, n)
    let range: ClosedRange<Float> = histogram ? robustRange(t.values) : 0...0
    let lo = range.lowerBound, hi = range.upperBound
    let scale = hi > lo ? Double(bins) / Double(hi - lo) : 0

    // Jobs cover whole rows so per-row norms need no merging.
    let jobs = Swift.max(1, Swift.min(rows, 4 * 16, Swift.max(1, n / 65_536)))
    struct Partial {
        var count = 0, nearZero = 0, below = 0, above = 0
        var shift: Double = 0, sum: Double = 0, sumSquares: Double = 0, l2: Double = 0
        var min = Float.infinity, max = -Float.infinity
        var counts: [Int]
    }
    var partials = [Partial](repeating: Partial(counts: [Int](repeating: 0, count: bins)), count: jobs)
    var rowNorms = [Float](repeating: 0, count: t.rank >= 2 ? rows : 0)
    let kernels = KernelTable.current
    t.values.withUnsafeBufferPointer { vb in
        partials.withUnsafeMutableBufferPointer { pb in
            rowNorms.withUnsafeMutableBufferPointer { rb in
                let v = UncheckedPointer(base: vb.baseAddress), p = UncheckedPointer(base: pb.baseAddress), r = UncheckedPointer(base: rb.baseAddress)
                DispatchQueue.concurrentPerform(iterations: jobs) { job in
                    let row0 = job * rows / jobs, row1 = (job + 1) * rows / jobs
                    guard let values = v.base, row1 > row0 else { return }
                    var part = Partial(counts: [Int](repeating: 0, count: bins))
                    part.shift = Double(values[row0 * rowLength])
                    // One kernel call per row (moments about the chunk's shift, extremes,
                    // near-zero count, histogram); the row's Σx² gives its norm.
                    var hist = wl_hist(lo: lo, hi: hi, near_zero: nearZeroThreshold, shift: part.shift, scale: scale, bins: bins)
                    var acc = wl_stats(sum: 0, sum_squares: 0, squares: 0, min: .infinity, max: -.infinity,
                                       near_zero: 0, below: 0, above: 0)
                    part.counts.withUnsafeMutableBufferPointer { counts in
                        for row in row0..<row1 {
                            kernels.raw.pointee.stats_row(values + row * rowLength, rowLength, &hist, &acc, counts.baseAddress!)
                            part.l2 += acc.squares
                            if let rows = r.base { rows[row] = Float(acc.squares.squareRoot()) }
                        }
                    }
                    part.sum = acc.sum; part.sumSquares = acc.sum_squares
                    part.min = acc.min; part.max = acc.max
                    part.nearZero = acc.near_zero; part.below = acc.below; part.above = acc.above
                    part.count = (row1 - row0) * rowLength
                    p.base![job] = part
                }
            }
        }
    }
    // Combine chunk moments (each taken about its own shift) exactly.
    var total = 0
    var sum = 0.0
    for part in partials where part.count > 0 { total += part.count; sum += part.sum + part.shift * Double(part.count) }
    let mean = total > 0 ? sum / Double(total) : 0
    var m2 = 0.0
    var nearZero = 0, below = 0, above = 0, l2 = 0.0
    var mn = Float.infinity, mx = -Float.infinity
    var counts = [Int](repeating: 0, count: bins)
    for part in partials where part.count > 0 {
        let c = Double(part.count)
        let offset = part.shift - mean
        // Σ(x−mean)² = Σ(d + offset)² with d = x − shift.
        m2 += part.sumSquares + 2 * offset * part.sum + c * offset * offset
        nearZero += part.nearZero; below += part.below; above += part.above; l2 += part.l2
        mn = Swift.min(mn, part.min); mx = Swift.max(mx, part.max)
        for b in 0..<bins { counts[b] += part.counts[b] }
    }
    let edges = bins > 0 ? (0...bins).map { lo + (hi - lo) * Float($0) / Float(bins) } : []
    let sortedNorms = rowNorms.sorted()
    let median = sortedNorms.isEmpty ? 0 : sortedNorms[sortedNorms.count / 2]
    let deadThreshold = median * 1e-3
    let dead = rowNorms.indices.filter { rowNorms[$0] <= deadThreshold }
    return WeightStatistics(
        count: n, mean: mean, std: total > 0 ? Swift.max(0, m2 / Double(total)).squareRoot() : 0,
        min: n > 0 ? mn : 0, max: n > 0 ? mx : 0,
        nearZeroFraction: n > 0 ? Double(nearZero) / Double(n) : 0, nearZeroThreshold: nearZeroThreshold,
        l2Norm: l2.squareRoot(),
        histogram: Histogram(edges: edges, counts: counts, below: below, above: above),
        perOutputChannelNorms: rowNorms, deadFilters: dead, deadThreshold: deadThreshold)
}

/// 0.1 % and 99.9 % quantiles of a strided sample of at most 65 536 finite values; widened to a
/// unit interval around the value when all samples are equal.
func robustRange(_ values: [Float]) -> ClosedRange<Float> {
    let n = values.count
    if n == 0 { return -0.5...0.5 }
    let step = Swift.max(1, n / 65_536)
    var sample = [Float]()
    sample.reserveCapacity(n / step + 1)
    var i = 0
    while i < n { let x = values[i]; if x.isFinite { sample.append(x) }; i += step }
    if sample.isEmpty { return -0.5...0.5 }
    sample.sort()
    let lo = sample[Int(Double(sample.count - 1) * 0.001)]
    let hi = sample[Int((Double(sample.count - 1) * 0.999).rounded(.up))]
    if hi > lo { return lo...hi }
    return (lo - 0.5)...(lo + 0.5)
}

/// An optional raw pointer that may cross into `concurrentPerform` workers writing disjoint parts.
struct UncheckedPointer<T>: @unchecked Sendable { let base: UnsafeMutablePointer<T>? }
extension UncheckedPointer {
    init(base: UnsafePointer<T>?) { self.base = base.map { UnsafeMutablePointer(mutating: $0) } }
}

/// What the model overview needs from a weight, in one vectorised pass (CKernels' `moments_row`):
/// ‖w‖₂, the population standard deviation (moments about the first value, in Double), and the
/// largest |w| of each of `rows` equal rows (the output channels, for the dead fraction).
public struct WeightMoments: Sendable, Equatable {
    public let l2Norm: Double
    public let std: Double
    public let rowMaxAbs: [Float]
}

/// `values` as `rows` equal rows (the first dimension of the weight); see `WeightMoments`.
public func weightMoments(_ values: [Float], rows: Int) -> WeightMoments {
    guard let first = values.first, rows > 0 else { return WeightMoments(l2Norm: 0, std: 0, rowMaxAbs: []) }
    let kernels = KernelTable.current.raw
    let per = values.count / rows
    var acc = [Double](repeating: 0, count: 3)
    var rowMax = [Float](repeating: 0, count: rows)
    values.withUnsafeBufferPointer { v in
        acc.withUnsafeMutableBufferPointer { a in
            for r in 0..<rows {
                rowMax[r] = kernels.pointee.moments_row(v.baseAddress! + r * per, per, Double(first), a.baseAddress!)
            }
            let done = rows * per
            if done < values.count {
                _ = kernels.pointee.moments_row(v.baseAddress! + done, values.count - done, Double(first), a.baseAddress!)
            }
        }
    }
    let n = Double(values.count)
    let mean = acc[0] / n
    return WeightMoments(l2Norm: acc[2].squareRoot(), std: max(0, acc[1] / n - mean * mean).squareRoot(), rowMaxAbs: rowMax)
}
