import TensorCore

// Block quantization of Float32 values into GGML types, for writing GGUF files (make-checkpoint
// --format gguf). F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1 and Q8_0 give exactly the bytes of
// gguf-py's `gguf.quants.quantize` (same Float32 operations in the same order, half and bfloat16
// rounding to nearest even). gguf-py cannot quantize the K-quants; ours pick each sub-block's
// scale (and min) to cover its values, round the 4/6-bit sub-scales up on a half-precision
// super-scale, then round every value to the nearest level, so each dequantized value lies within
// half a quantisation step (its sub-block's `d × scale`) of the input.

public extension GGMLType {
    /// Types `quantizeGGML` writes.
    static let quantizable: [GGMLType] = [.f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0,
                                          .q2_K, .q3_K, .q4_K, .q5_K, .q6_K]
}

@inline(__always) private func store16(_ p: UnsafeMutableRawPointer, _ offset: Int, _ v: UInt16) {
    p.storeBytes(of: v.littleEndian, toByteOffset: offset, as: UInt16.self)
}

/// IEEE half bits, round to nearest even (numpy's `astype(np.float16)`).
@inline(__always) private func halfBits(_ x: Float) -> UInt16 { Float16(x).bitPattern }

/// The smallest half ≥ x (x ≥ 0, finite), as bits and value: a super-scale that never shrinks the range.
private func halfAtLeast(_ x: Float) -> (bits: UInt16, value: Float) {
    var h = halfBits(x)
    var v = halfBitsToFloat(h)
    if v < x && h < 0x7BFF { h += 1; v = halfBitsToFloat(h) }
    return (h, v)
}

/// gguf-py's `np_roundf`: round half away from zero, in Float32.
@inline(__always) private func roundAway(_ n: Float) -> Float {
    let a = abs(n)
    let floored = a.rounded(.down)
    let b = floored + (2 * (a - floored)).rounded(.down)
    return n < 0 ? -b : (n > 0 ? b : 0)
}

/// `np.trunc(v).astype(np.uint8).clip(0, hi)` for the values these quantizers produce (≥ 0).
@inline(__always) private func truncClip(_ v: Float, _ hi: Int) -> UInt8 {
    let t = v.rounded(.towardZero)
    return UInt8(t <= 0 ? 0 : min(Int(t), hi))
}

/// Quantizes `count` values (a multiple of the type's block size) into `dst` (count / block × bytes).
public func quantizeGGML(_ src: UnsafePointer<Float>, count: Int, type: GGMLType, into dst: UnsafeMutableRawPointer) {
    let (n, size) = type.blockGeometry
    switch type {
    case .f32:
        dst.copyMemory(from: src, byteCount: count * 4)
        return
    case .f16:
        for i in 0..<count { store16(dst, 2 * i, halfBits(src[i])) }
        return
    case .bf16:
        // gguf-py: NaN made quiet, then round to nearest even on the top 16 bits.
        for i in 0..<count {
            var x = UInt64(src[i].bitPattern)
            if x & 0x7FFF_FFFF > 0x7F80_0000 { x = (x & 0xFFFF_0000) | (64 << 16) }
            store16(dst, 2 * i, UInt16(truncatingIfNeeded: (x + (0x7FFF + ((x >> 16) & 1))) >> 16))
        }
        return
    default:
        break
    }
    precondition(GGMLType.quantizable.contains(type), "\(type.name) cannot be quantized")
    for b in 0..<(count / n) {
        quantizeBlock(src + b * n, type: type, into: dst + b * size)
    }
}

private func quantizeBlock(_ x: UnsafePointer<Float>, type: GGMLType, into p: UnsafeMutableRawPointer) {
    switch type {
    case .q4_0, .q5_0:
        // d = (the value of largest magnitude) / -8 (-16); q = trunc(x / d + 8.5 (16.5)).
        var imax = 0
        for j in 1..<32 where abs(x[j]) > abs(x[imax]) { imax = j }
        let five = type == .q5_0
        let d = x[imax] / (five ? -16 : -8)
        let id: Float = d == 0 ? 0 : 1 / d
        var q = [UInt8](repeating: 0, count: 32)
        for j in 0..<32 { q[j] = truncClip(x[j] * id + (five ? 16.5 : 8.5), five ? 31 : 15) }
        store16(p, 0, halfBits(d))
        packNibbles(q, into: p, qs: five ? 6 : 2, qh: five ? 2 : nil)
    case .q4_1, .q5_1:
        var lo = x[0], hi = x[0]
        for j in 1..<32 { lo = min(lo, x[j]); hi = max(hi, x[j]) }
        let five = type == .q5_1
        let d = (hi - lo) / (five ? 31 : 15)
        let id: Float = d == 0 ? 0 : 1 / d
        var q = [UInt8](repeating: 0, count: 32)
        for j in 0..<32 { q[j] = truncClip((x[j] - lo) * id + 0.5, five ? 31 : 15) }
        store16(p, 0, halfBits(d))
        store16(p, 2, halfBits(lo))
        packNibbles(q, into: p, qs: five ? 8 : 4, qh: five ? 4 : nil)
    case .q8_0:
        var amax: Float = 0
        for j in 0..<32 { amax = max(amax, abs(x[j])) }
        let d = amax / 127
        let id: Float = d == 0 ? 0 : 1 / d
        store16(p, 0, halfBits(d))
        for j in 0..<32 { p.storeBytes(of: Int8(roundAway(x[j] * id)), toByteOffset: 2 + j, as: Int8.self) }
    case .q2_K:
        quantizeAsymmetricK(x, into: p, subBlock: 16, levels: 3, scaleMax: 15, type: type)
    case .q4_K:
        quantizeAsymmetricK(x, into: p, subBlock: 32, levels: 15, scaleMax: 63, type: type)
    case .q5_K:
        quantizeAsymmetricK(x, into: p, subBlock: 32, levels: 31, scaleMax: 63, type: type)
    case .q3_K:
        quantizeSymmetricK(x, into: p, positive: 3, negative: 4, scaleMax: 31, type: type)
    case .q6_K:
        quantizeSymmetricK(x, into: p, positive: 31, negative: 32, scaleMax: 127, type: type)
    default:
        preconditionFailure("\(type.name) cannot be quantized")
    }
}

/// Q4/Q5 packing: byte j holds value j (low nibble) and value j + 16 (high nibble) at `qs`; the
/// fifth bits of Q5 go to the little-endian u32 at `qh` (bit i for value i).
private func packNibbles(_ q: [UInt8], into p: UnsafeMutableRawPointer, qs: Int, qh: Int?) {
    var high: UInt32 = 0
    for j in 0..<16 {
        p.storeBytes(of: (q[j] & 0x0F) | (q[j + 16] & 0x0F) << 4, toByteOffset: qs + j, as: UInt8.self)
    }
    if let qh {
        for j in 0..<32 { high |= UInt32(q[j] >> 4) << UInt32(j) }
        p.storeBytes(of: high.littleEndian, toByteOffset: qh, as: UInt32.self)
    }
}

/// Q2_K, Q4_K, Q5_K: x ≈ (d × scale) × q − (dmin × min) with q in 0...levels per sub-block.
private func quantizeAsymmetricK(_ x: UnsafePointer<Float>, into p: UnsafeMutableRawPointer, subBlock: Int, levels: Int,
                                 scaleMax: Int, type: GGMLType) {
    let count = 256 / subBlock
    var offsets = [Float](repeating: 0, count: count)  // what − min must add to make the sub-block ≥ 0
    var tops = [Float](repeating: 0, count: count)
    for s in 0..<count {
        var lo = x[s * subBlock], hi = lo
        for i in 1..<subBlock { lo = min(lo, x[s * subBlock + i]); hi = max(hi, x[s * subBlock + i]) }
        offsets[s] = max(0, -lo)
        tops[s] = hi
    }
    let dmin = halfAtLeast((offsets.max() ?? 0) / Float(scaleMax))
    var mins = [Int](repeating: 0, count: count)
    var needed = [Float](repeating: 0, count: count)
    for s in 0..<count {
        mins[s] = dmin.value > 0 ? min(scaleMax, Int((offsets[s] / dmin.value).rounded(.up))) : 0
        needed[s] = max(0, tops[s] + dmin.value * Float(mins[s])) / Float(levels)
    }
    let d = halfAtLeast((needed.max() ?? 0) / Float(scaleMax))
    var scales = [Int](repeating: 0, count: count)
    for s in 0..<count { scales[s] = d.value > 0 ? min(scaleMax, Int((needed[s] / d.value).rounded(.up))) : 0 }
    var q = [UInt8](repeating: 0, count: 256)
    for s in 0..<count {
        let dl = d.value * Float(scales[s]), ml = dmin.value * Float(mins[s])
        for i in 0..<subBlock {
            let e = s * subBlock + i
            let v = dl > 0 ? ((x[e] + ml) / dl).rounded() : 0
            q[e] = UInt8(max(0, min(Float(levels), v)))
        }
    }
    p.initializeMemory(as: UInt8.self, repeating: 0, count: type.blockGeometry.bytes)
    switch type {
    case .q2_K:
        for s in 0..<16 { p.storeBytes(of: UInt8(scales[s] | mins[s] << 4), toByteOffset: s, as: UInt8.self) }
        for e in 0..<256 { orByte(p, 16 + (e >> 7) * 32 + (e & 31), q[e] << UInt8(((e >> 5) & 3) * 2)) }
        store16(p, 80, d.bits)
        store16(p, 82, dmin.bits)
    default:
        store16(p, 0, d.bits)
        store16(p, 2, dmin.bits)
        for j in 0..<8 {
            let sc = UInt8(scales[j]), mn = UInt8(mins[j])
            if j < 4 {
                orByte(p, 4 + j, sc)
                orByte(p, 8 + j, mn)
            } else {
                orByte(p, 4 + j + 4, (sc & 0x0F) | (mn & 0x0F) << 4)
                orByte(p, 4 + j - 4, (sc >> 4) << 6)
                orByte(p, 4 + j, (mn >> 4) << 6)
            }
        }
        let qs = type == .q4_K ? 16 : 48
        for e in 0..<256 {
            let j = e >> 5, l = e & 31
            orByte(p, qs + (j >> 1) * 32 + l, (q[e] & 0x0F) << UInt8((j & 1) * 4))
            if type == .q5_K { orByte(p, 16 + l, (q[e] >> 4) << UInt8(j)) }
        }
    }
}

/// Q3_K, Q6_K: x ≈ (d × scale) × q with q in −negative...positive per 16-value sub-block.
private func quantizeSymmetricK(_ x: UnsafePointer<Float>, into p: UnsafeMutableRawPointer, positive: Int, negative: Int,
                                scaleMax: Int, type: GGMLType) {
    var needed = [Float](repeating: 0, count: 16)
    for s in 0..<16 {
        var amax: Float = 0
        for i in 0..<16 { amax = max(amax, abs(x[s * 16 + i])) }
        needed[s] = amax / Float(positive)
    }
    let d = halfAtLeast((needed.max() ?? 0) / Float(scaleMax))
    var scales = [Int](repeating: 0, count: 16)
    for s in 0..<16 { scales[s] = d.value > 0 ? min(scaleMax, Int((needed[s] / d.value).rounded(.up))) : 0 }
    var q = [Int](repeating: 0, count: 256)
    for s in 0..<16 {
        let dl = d.value * Float(scales[s])
        for i in 0..<16 {
            let v = dl > 0 ? (x[s * 16 + i] / dl).rounded() : 0
            q[s * 16 + i] = Int(max(Float(-negative), min(Float(positive), v)))
        }
    }
    p.initializeMemory(as: UInt8.self, repeating: 0, count: type.blockGeometry.bytes)
    if type == .q3_K {
        for g in 0..<16 {
            let u = UInt8(scales[g] + 32)
            orByte(p, 96 + (g < 8 ? g : g - 8), g < 8 ? u & 0x0F : (u & 0x0F) << 4)
            orByte(p, 104 + g % 4, (u >> 4) << UInt8(2 * (g / 4)))
        }
        for e in 0..<256 {
            let u = UInt8(q[e] + 4)
            orByte(p, 32 + (e >> 7) * 32 + (e & 31), (u & 3) << UInt8(((e >> 5) & 3) * 2))
            orByte(p, e & 31, (u >> 2) << UInt8(e >> 5))
        }
        store16(p, 108, d.bits)
    } else {
        for e in 0..<256 {
            let u = UInt8(q[e] + 32)
            let half = e >> 7, r = e & 127
            orByte(p, half * 64 + (r & 63), (u & 0x0F) << UInt8((r >> 6) * 4))
            orByte(p, 128 + half * 32 + (r & 31), (u >> 4) << UInt8((r >> 5) * 2))
        }
        for g in 0..<16 { p.storeBytes(of: Int8(scales[g]), toByteOffset: 192 + g, as: Int8.self) }
        store16(p, 208, d.bits)
    }
}

@inline(__always) private func orByte(_ p: UnsafeMutableRawPointer, _ i: Int, _ v: UInt8) {
    p.storeBytes(of: p.load(fromByteOffset: i, as: UInt8.self) | v, toByteOffset: i, as: UInt8.self)
}

/// The quantisation step of each value of one K-quant block (its sub-block's `d × |scale|`), to
/// check the half-step bound; nil for other types.
func ggmlKQuantSteps(_ p: UnsafeRawPointer, type: GGMLType) -> [Float]? {
    func byte(_ i: Int) -> UInt8 { p.load(fromByteOffset: i, as: UInt8.self) }
    func half(_ i: Int) -> Float { halfBitsToFloat(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: i, as: UInt16.self))) }
    switch type {
    case .q2_K:
        return (0..<256).map { e in half(80) * Float(byte(e >> 4) & 0x0F) }
    case .q3_K:
        return (0..<256).map { e in
            let g = e >> 4
            let lo = g < 8 ? byte(96 + g) & 0x0F : byte(96 + g - 8) >> 4
            let hi = (byte(104 + g % 4) >> UInt8(2 * (g / 4))) & 3
            return half(108) * abs(Float(Int(lo | hi << 4) - 32))
        }
    case .q4_K, .q5_K:
        return (0..<256).map { e in
            let j = e >> 5
            let sc = j < 4 ? byte(4 + j) & 0x3F : (byte(8 + j) & 0x0F) | ((byte(j) >> 2) & 0x30)
            return half(0) * Float(sc)
        }
    case .q6_K:
        return (0..<256).map { e in half(208) * abs(Float(Int8(bitPattern: byte(192 + (e >> 4))))) }
    default:
        return nil
    }
}
