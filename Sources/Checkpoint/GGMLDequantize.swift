import Dispatch
import TensorCore

/// The tensor types of GGML (the `ggml_type` numbers a GGUF tensor info stores), with the block
/// geometry every reader needs to size a tensor, whether or not it can dequantize the type.
///
/// Numbers, block sizes and bytes per block are those of gguf-py's `GGMLQuantizationType` and
/// `GGML_QUANT_SIZES` (llama.cpp's `gguf` package, 0.19). Numbers it retired (4, 5, 31-33, 36-38)
/// are unknown types here, as they are there.
public enum GGMLType: UInt32, Sendable, CaseIterable {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q8_1 = 9
    case q2_K = 10, q3_K = 11, q4_K = 12, q5_K = 13, q6_K = 14, q8_K = 15
    case iq2_XXS = 16, iq2_XS = 17, iq3_XXS = 18, iq1_S = 19, iq4_NL = 20, iq3_S = 21, iq2_S = 22, iq4_XS = 23
    case i8 = 24, i16 = 25, i32 = 26, i64 = 27, f64 = 28, iq1_M = 29, bf16 = 30
    case tq1_0 = 34, tq2_0 = 35, mxfp4 = 39, nvfp4 = 40, q1_0 = 41

    /// The name as GGML and gguf-py spell it (`Q4_K`, `BF16`, `IQ2_XXS`).
    public var name: String {
        switch self {
        case .f32: return "F32"
        case .f16: return "F16"
        case .bf16: return "BF16"
        case .f64: return "F64"
        case .i8: return "I8"
        case .i16: return "I16"
        case .i32: return "I32"
        case .i64: return "I64"
        case .q4_0: return "Q4_0"
        case .q4_1: return "Q4_1"
        case .q5_0: return "Q5_0"
        case .q5_1: return "Q5_1"
        case .q8_0: return "Q8_0"
        case .q8_1: return "Q8_1"
        case .q2_K: return "Q2_K"
        case .q3_K: return "Q3_K"
        case .q4_K: return "Q4_K"
        case .q5_K: return "Q5_K"
        case .q6_K: return "Q6_K"
        case .q8_K: return "Q8_K"
        case .iq2_XXS: return "IQ2_XXS"
        case .iq2_XS: return "IQ2_XS"
        case .iq3_XXS: return "IQ3_XXS"
        case .iq1_S: return "IQ1_S"
        case .iq4_NL: return "IQ4_NL"
        case .iq3_S: return "IQ3_S"
        case .iq2_S: return "IQ2_S"
        case .iq4_XS: return "IQ4_XS"
        case .iq1_M: return "IQ1_M"
        case .tq1_0: return "TQ1_0"
        case .tq2_0: return "TQ2_0"
        case .mxfp4: return "MXFP4"
        case .nvfp4: return "NVFP4"
        case .q1_0: return "Q1_0"
        }
    }

    /// The type with this name (`Q4_K`, case-insensitive), nil for an unknown name.
    public init?(name: String) {
        let upper = name.uppercased()
        guard let t = GGMLType.allCases.first(where: { $0.name == upper }) else { return nil }
        self = t
    }

    /// Elements per block and bytes per block.
    public var blockGeometry: (elements: Int, bytes: Int) {
        let qk = 256
        switch self {
        case .f32, .i32: return (1, 4)
        case .f16, .bf16, .i16: return (1, 2)
        case .f64, .i64: return (1, 8)
        case .i8: return (1, 1)
        case .q4_0, .iq4_NL: return (32, 18)
        case .q4_1: return (32, 20)
        case .q5_0: return (32, 22)
        case .q5_1: return (32, 24)
        case .q8_0: return (32, 34)
        case .q8_1: return (32, 40)
        case .q2_K: return (qk, 4 + qk / 16 + qk / 4)
        case .q3_K: return (qk, 2 + qk / 4 + qk / 8 + 12)
        case .q4_K: return (qk, 4 + qk / 2 + 12)
        case .q5_K: return (qk, 4 + qk / 2 + qk / 8 + 12)
        case .q6_K: return (qk, 2 + qk / 2 + qk / 4 + qk / 16)
        case .q8_K: return (qk, 4 + qk + qk / 8)
        case .iq2_XXS: return (qk, 2 + qk / 4)
        case .iq2_XS: return (qk, 2 + qk / 4 + qk / 32)
        case .iq3_XXS: return (qk, 2 + qk / 4 + qk / 8)
        case .iq1_S: return (qk, 2 + qk / 8 + qk / 16)
        case .iq3_S: return (qk, 2 + qk / 4 + qk / 8 + qk / 32 + 4)
        case .iq2_S: return (qk, 2 + qk / 4 + qk / 16)
        case .iq4_XS: return (qk, 4 + qk / 2 + qk / 64)
        case .iq1_M: return (qk, qk / 8 + qk / 16 + qk / 32)
        case .tq1_0: return (qk, 2 + 4 * 13)
        case .tq2_0: return (qk, 2 + 64)
        case .mxfp4: return (32, 17)
        case .nvfp4: return (64, 36)
        case .q1_0: return (128, 18)
        }
    }

    /// The plain element type of an unquantized GGML type (F32, F16, BF16, F64, I8-I64), else nil.
    public var plainDType: DType? {
        switch self {
        case .f32: return .f32
        case .f16: return .f16
        case .bf16: return .bf16
        case .f64: return .f64
        case .i8: return .i8
        case .i16: return .i16
        case .i32: return .i32
        case .i64: return .i64
        default: return nil
        }
    }

    /// Block-quantized types this reader dequantizes (plain types convert like any dtype).
    public static let dequantizable: [GGMLType] = [.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K]

    /// Whether `loadTensor` can give this type's values.
    public var isReadable: Bool { plainDType != nil || GGMLType.dequantizable.contains(self) }
}

// Block dequantization, giving exactly gguf-py's `gguf.quants.dequantize` values: each block's
// scales are widened from half to Float32 and combined in the same order of Float32 operations
// (scale × sub-scale first, then × quant, then − min), without fused multiply-adds.

@inline(__always) private func byte(_ p: UnsafeRawPointer, _ i: Int) -> UInt8 {
    p.load(fromByteOffset: i, as: UInt8.self)
}

@inline(__always) private func half(_ p: UnsafeRawPointer, _ i: Int) -> Float {
    halfBitsToFloat(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: i, as: UInt16.self)))
}

/// The 6-bit scale and min of sub-block `j` (0-7) packed in the 12 bytes at `s` (Q4_K, Q5_K).
@inline(__always) private func scaleMinK4(_ s: UnsafeRawPointer, _ j: Int) -> (scale: Float, min: Float) {
    if j < 4 {
        return (Float(byte(s, j) & 0x3F), Float(byte(s, j + 4) & 0x3F))
    }
    let sc = (byte(s, j + 4) & 0x0F) | ((byte(s, j - 4) >> 2) & 0x30)
    let mn = (byte(s, j + 4) >> 4) | ((byte(s, j) >> 2) & 0x30)
    return (Float(sc), Float(mn))
}

/// Dequantizes `blocks` consecutive blocks of `type` at `src` into `dst` (`blocks` × block size values).
private func dequantizeBlocks(_ src: UnsafeRawPointer, type: GGMLType, blocks: Int, into dst: UnsafeMutablePointer<Float>) {
    let (n, size) = type.blockGeometry
    for b in 0..<blocks {
        let p = src + b * size
        let o = dst + b * n
        switch type {
        case .q4_0:
            let d = half(p, 0)
            for j in 0..<16 {
                let q = byte(p, 2 + j)
                o[j] = d * Float(Int(q & 0x0F) - 8)
                o[j + 16] = d * Float(Int(q >> 4) - 8)
            }
        case .q4_1:
            let d = half(p, 0), m = half(p, 2)
            for j in 0..<16 {
                let q = byte(p, 4 + j)
                o[j] = d * Float(q & 0x0F) + m
                o[j + 16] = d * Float(q >> 4) + m
            }
        case .q5_0:
            let d = half(p, 0)
            let qh = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
            for j in 0..<16 {
                let q = byte(p, 6 + j)
                let lo = Int(q & 0x0F) | Int((qh >> UInt32(j)) & 1) << 4
                let hi = Int(q >> 4) | Int((qh >> UInt32(j + 16)) & 1) << 4
                o[j] = d * Float(lo - 16)
                o[j + 16] = d * Float(hi - 16)
            }
        case .q5_1:
            let d = half(p, 0), m = half(p, 2)
            let qh = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
            for j in 0..<16 {
                let q = byte(p, 8 + j)
                let lo = Int(q & 0x0F) | Int((qh >> UInt32(j)) & 1) << 4
                let hi = Int(q >> 4) | Int((qh >> UInt32(j + 16)) & 1) << 4
                o[j] = d * Float(lo) + m
                o[j + 16] = d * Float(hi) + m
            }
        case .q8_0:
            let d = half(p, 0)
            for j in 0..<32 { o[j] = Float(Int8(bitPattern: byte(p, 2 + j))) * d }
        case .q2_K:
            // scales[16] | qs[64] | d | dmin. Element e: 2-bit field (e / 32) % 4 of byte 32 (e / 128) + e % 32.
            let d = half(p, 80), dmin = half(p, 82)
            for g in 0..<16 {
                let sc = byte(p, g)
                let dl = d * Float(sc & 0x0F), ml = dmin * Float(sc >> 4)
                for i in 0..<16 {
                    let e = g * 16 + i
                    let q = (byte(p, 16 + (e >> 7) * 32 + (e & 31)) >> UInt8(((e >> 5) & 3) * 2)) & 3
                    o[e] = dl * Float(q) - ml
                }
            }
        case .q3_K:
            // hmask[32] | qs[64] | scales[12] | d. 6-bit signed scales: low nibbles in bytes 0-7, high pairs in 8-11.
            let d = half(p, 108)
            for g in 0..<16 {
                let lo = g < 8 ? byte(p, 96 + g) & 0x0F : byte(p, 96 + g - 8) >> 4
                let hi = (byte(p, 104 + g % 4) >> UInt8(2 * (g / 4))) & 3
                let dl = d * Float(Int(lo | hi << 4) - 32)
                for i in 0..<16 {
                    let e = g * 16 + i
                    let l = e & 31
                    let ql = Int((byte(p, 32 + (e >> 7) * 32 + l) >> UInt8(((e >> 5) & 3) * 2)) & 3)
                    let h = Int((byte(p, l) >> UInt8(e >> 5)) & 1)
                    o[e] = dl * Float(ql - ((h ^ 1) << 2))
                }
            }
        case .q4_K:
            // d | dmin | scales[12] | qs[128]. Sub-block j of 32: nibble j % 2 of bytes 32 (j / 2) + l.
            let d = half(p, 0), dmin = half(p, 2)
            for j in 0..<8 {
                let (sc, mn) = scaleMinK4(p + 4, j)
                let dl = d * sc, ml = dmin * mn
                let base = 16 + (j >> 1) * 32, shift = UInt8((j & 1) * 4)
                for l in 0..<32 { o[j * 32 + l] = dl * Float((byte(p, base + l) >> shift) & 0x0F) - ml }
            }
        case .q5_K:
            // d | dmin | scales[12] | qh[32] | qs[128]; bit j of qh[l] is the fifth bit of sub-block j.
            let d = half(p, 0), dmin = half(p, 2)
            for j in 0..<8 {
                let (sc, mn) = scaleMinK4(p + 4, j)
                let dl = d * sc, ml = dmin * mn
                let base = 48 + (j >> 1) * 32, shift = UInt8((j & 1) * 4)
                for l in 0..<32 {
                    let q = (byte(p, base + l) >> shift) & 0x0F | ((byte(p, 16 + l) >> UInt8(j)) & 1) << 4
                    o[j * 32 + l] = dl * Float(q) - ml
                }
            }
        case .q6_K:
            // ql[128] | qh[64] | scales[16] (int8) | d.
            let d = half(p, 208)
            for g in 0..<16 {
                let dl = d * Float(Int8(bitPattern: byte(p, 192 + g)))
                for i in 0..<16 {
                    let e = g * 16 + i
                    let half128 = e >> 7, r = e & 127
                    let lo = (byte(p, half128 * 64 + (r & 63)) >> UInt8((r >> 6) * 4)) & 0x0F
                    let hi = (byte(p, 128 + half128 * 32 + (r & 31)) >> UInt8((r >> 5) * 2)) & 3
                    o[e] = dl * Float(Int(lo | hi << 4) - 32)
                }
            }
        default:
            preconditionFailure("\(type.name) is not dequantizable; callers check isReadable")
        }
    }
}

/// The values of a block-quantized tensor of `count` elements stored at `src`, in storage order.
///
/// The caller has checked that `type` is in `GGMLType.dequantizable`, that `count` is a multiple of
/// its block size and that the `count / block × bytes` bytes at `src` are readable. Large tensors
/// (a Flux 12288 × 3072 layer is 147,456 Q8_0 blocks) are dequantized in parallel chunks.
func dequantizeGGML(_ src: UnsafeRawPointer, type: GGMLType, count: Int) -> [Float] {
    let (n, size) = type.blockGeometry
    let blocks = count / n
    return [Float](unsafeUninitializedCapacity: count) { buf, initialized in
        guard let dst = buf.baseAddress, blocks > 0 else { initialized = 0; return }
        let chunk = max(1, (1 << 20) / n)
        if blocks >= 2 * chunk {
            // Each chunk writes its own range of `dst`; both pointers outlive the call.
            nonisolated(unsafe) let s = src, out = dst
            DispatchQueue.concurrentPerform(iterations: (blocks + chunk - 1) / chunk) { c in
                let first = c * chunk
                dequantizeBlocks(s + first * size, type: type, blocks: min(chunk, blocks - first), into: out + first * n)
            }
        } else {
            dequantizeBlocks(src, type: type, blocks: blocks, into: dst)
        }
        initialized = count
    }
}
