import CKernels
import Foundation

/// How values become colour-map positions (the sd-webui U-Net feature-map tool's transforms).
public enum ValueTransform: Sendable, Equatable {
    /// Symmetric for signed maps (`[-m, m]`), `[min, max]` for sequential ones, `[0, max|v|]` for magnitude.
    case auto
    /// `[min, max]` of the data → `[0, 1]`.
    case autoUnit
    /// `[-max|v|, max|v|]` → `[0, 1]`, so zero sits at the centre of the map.
    case autoSigned
    /// Fixed `[min, max]`, values outside are clamped.
    case linear(min: Float, max: Float)
    /// `1 / (1 + exp(-gain · (v - offset)))`: compresses large values, stretches those near `offset`.
    case sigmoid(gain: Float, offset: Float)
}

/// Whether tiles of a grid share one colour scale or each gets its own.
public enum Normalization: String, Sendable, CaseIterable {
    /// One scale for the whole image: tiles are comparable, the colour bar is exact.
    case shared
    /// Each tile stretched to its own range: shows the pattern of weak kernels, not their size.
    case perTile = "per-tile"
}

/// A resolved mapping from values to `[0, 1]`, plus what the colour bar needs to say.
struct ValueScale: Sendable {
    enum Curve: Sendable { case linear, sigmoid(gain: Float, offset: Float) }
    /// Values mapped to 0 and 1 (for sigmoid: the ends drawn on the colour bar).
    var lo: Float
    var hi: Float
    var curve: Curve
    /// Magnitude map: colour by |v|.
    var usesMagnitude: Bool
    /// Set when percentile clipping moved an end; stated on the image.
    var clipNote: String?

    @inline(__always) func position(_ v: Float) -> Float {
        let x = usesMagnitude ? abs(v) : v
        switch curve {
        case .linear:
            let span = hi - lo
            return span > 0 ? (x - lo) / span : 0.5
        case .sigmoid(let gain, let offset):
            return 1 / (1 + _expf(-gain * (x - offset)))
        }
    }

    /// Colours for many values at once: the linear, signed case (the common one) is a single
    /// multiply-add and table lookup per value instead of the general `position` + `color`.
    func colors(_ values: [Float], map: ColorMap) -> [RGBA] {
        var out = [RGBA](repeating: map.table[128], count: values.count)
        guard case .linear = curve, !usesMagnitude, hi > lo else {
            for i in values.indices { out[i] = map.color(position(values[i])) }
            return out
        }
        let k = 255 / (hi - lo), base = -lo * k + 0.5
        // NaN fails both comparisons in the kernel and lands on the centre colour.
        map.table.withUnsafeBufferPointer { lut in
            values.withUnsafeBufferPointer { v in
                out.withUnsafeMutableBufferPointer { o in
                    guard let vb = v.baseAddress, let ob = o.baseAddress, let lb = lut.baseAddress else { return }
                    // RGBA is four UInt8 (r, g, b, a in memory order), so a pixel is one UInt32.
                    UnsafeRawPointer(lb).withMemoryRebound(to: UInt32.self, capacity: lut.count) { lut32 in
                        UnsafeMutableRawPointer(ob).withMemoryRebound(to: UInt32.self, capacity: o.count) { out32 in
                            wl_current().pointee.colorize(vb, v.count, k, base, lut32, out32)
                        }
                    }
                }
            }
        }
        return out
    }

    /// `[-m, m]` for a picture drawn on its own symmetric scale (`[0, m]` of |v| for the
    /// magnitude map), so every colour map reads the same way on every view.
    static func symmetric(_ m: Float, map: ColorMapName) -> ValueScale {
        map == .magnitude ? ValueScale(lo: 0, hi: m, curve: .linear, usesMagnitude: true, clipNote: nil)
                          : ValueScale(lo: -m, hi: m, curve: .linear, usesMagnitude: false, clipNote: nil)
    }

    /// End labels of a colour bar for pictures each on its own symmetric scale.
    static func ownScaleEndLabels(_ map: ColorMapName) -> (String, String) {
        map == .magnitude ? ("0", "max|v|") : ("-max", "+max")
    }

    /// Builds the scale for `values` (a sample is enough) under a transform and colour map.
    static func make(values: UnsafeBufferPointer<Float>, transform: ValueTransform, map: ColorMapName,
                     clipPercentile: Float?) -> ValueScale {
        let magnitude = map == .magnitude
        var effective = transform
        if case .auto = transform { effective = map.isSigned ? .autoSigned : .autoUnit }
        var needs = RangeStats.Needs.absolute
        if case .autoUnit = effective, !magnitude { needs = .signed }
        let stats = RangeStats(values, clipPercentile: clipPercentile, needs: needs)
        var note: String? = nil
        if let p = clipPercentile, stats.clipped {
            note = "clipped at the \(formatNumber(Double(p)))th percentile of |v|"
        }
        switch effective {
        case .auto, .autoSigned:
            let m = max(stats.absMax, Float.leastNormalMagnitude)
            return magnitude ? ValueScale(lo: 0, hi: m, curve: .linear, usesMagnitude: true, clipNote: note)
                             : ValueScale(lo: -m, hi: m, curve: .linear, usesMagnitude: false, clipNote: note)
        case .autoUnit:
            if magnitude {
                return ValueScale(lo: 0, hi: max(stats.absMax, Float.leastNormalMagnitude), curve: .linear, usesMagnitude: true, clipNote: note)
            }
            var lo = stats.lo, hi = stats.hi
            if !(hi > lo) { lo -= 1; hi += 1 }
            return ValueScale(lo: lo, hi: hi, curve: .linear, usesMagnitude: false, clipNote: note)
        case .linear(let a, let b):
            return ValueScale(lo: min(a, b), hi: a == b ? a + 1 : max(a, b), curve: .linear, usesMagnitude: magnitude, clipNote: nil)
        case .sigmoid(let gain, let offset):
            let g = gain == 0 ? 1 : gain
            // ±4/gain covers 2%..98% of the sigmoid: the colour bar labels those values.
            let w = 4 / abs(g)
            return ValueScale(lo: offset - w, hi: offset + w, curve: .sigmoid(gain: g, offset: offset), usesMagnitude: magnitude, clipNote: nil)
        }
    }

    /// The same scale computed per tile (per-tile normalization keeps the transform kind).
    static func make(values: [Float], transform: ValueTransform, map: ColorMapName, clipPercentile: Float?) -> ValueScale {
        values.withUnsafeBufferPointer { make(values: $0, transform: transform, map: map, clipPercentile: clipPercentile) }
    }

    /// Human-readable description for the caption under the colour bar.
    var transformLabel: String {
        switch curve {
        case .linear: return usesMagnitude ? "colour = |v|, linear" : "linear"
        case .sigmoid(let g, let o): return "sigmoid, gain \(formatNumber(Double(g))), offset \(formatNumber(Double(o)))"
        }
    }
}

/// Min, max and max |v| of some values, optionally with percentile clipping of outliers.
/// Non-finite values are ignored; percentiles come from a strided sample of about 100k values.
struct RangeStats {
    var lo: Float = 0
    var hi: Float = 0
    var absMax: Float = 0
    var clipped = false

    /// Which clipped ends to compute (each costs a sort of the sample).
    enum Needs { case absolute, signed }

    init(_ values: UnsafeBufferPointer<Float>, clipPercentile: Float?, needs: Needs = .absolute) {
        var lo = Float.infinity, hi = -Float.infinity
        for v in values where v.isFinite { lo = Swift.min(lo, v); hi = Swift.max(hi, v) }
        if lo > hi { lo = 0; hi = 0 }
        self.lo = lo; self.hi = hi
        self.absMax = Swift.max(abs(lo), abs(hi))
        guard let p = clipPercentile, p > 0, p < 100, values.count > 1 else { return }
        let step = Swift.max(1, values.count / 100_000)
        var sample: [Float] = []
        // q reads `sample` after it is sorted below.
        sample.reserveCapacity(values.count / step + 1)
        var i = 0
        while i < values.count { let v = values[i]; if v.isFinite { sample.append(v) }; i += step }
        guard sample.count > 1 else { return }
        func q(_ f: Float) -> Float {
            let idx = Int((Float(sample.count - 1) * f / 100).rounded())
            return sample[Swift.min(Swift.max(idx, 0), sample.count - 1)]
        }
        switch needs {
        case .signed:
            sample.sort()
            let cLo = q(100 - p), cHi = q(p)
            if cHi < hi || cLo > lo { clipped = true }
            self.lo = cLo; self.hi = Swift.max(cHi, cLo)
            self.absMax = Swift.max(abs(self.lo), abs(self.hi))
        case .absolute:
            for i in sample.indices { sample[i] = abs(sample[i]) }
            sample.sort()
            let cAbs = q(p)
            if cAbs < absMax { clipped = true }
            self.absMax = cAbs
            self.lo = Swift.max(lo, -cAbs); self.hi = Swift.min(hi, cAbs)
        }
    }
}

@inline(__always) func _expf(_ x: Float) -> Float {
    // Clamp so exp never overflows to inf for extreme gains.
    Float(exp(Double(min(max(x, -80), 80))))
}
