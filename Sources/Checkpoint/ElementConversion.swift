import CKernels
import Dispatch
import TensorCore

// Element conversion from stored dtypes to Float32. This runs over every element a view reads
// (13M-element SDXL tensors in the hot path). Contiguous 16-bit and 8-bit floats go through the
// CKernels conversions of the instruction-set path chosen at run time (F16C's vcvtph2ps on x86
// with AVX2 or AVX-512, integer bit arithmetic on SSE2 and NEON); strided views use the lookup
// tables below. Each loop switches on the dtype outside the element loop.
// All checkpoint formats we read are little-endian.

/// IEEE half bits → Float32, exact (every half is representable).
@inline(__always)
func halfBitsToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exp = UInt32(h >> 10) & 0x1F
    let mant = UInt32(h & 0x3FF)
    if exp == 0 {
        // Zero or subnormal: mant × 2^-24.
        let v = Float(mant) * 0x1p-24
        return sign != 0 ? -v : v
    }
    if exp == 31 {
        return Float(bitPattern: sign | 0x7F80_0000 | (mant << 13))
    }
    return Float(bitPattern: sign | ((exp + 112) << 23) | (mant << 13))
}

/// float8 e4m3fn bits → Float32: bias 7, no infinities, S.1111.111 is NaN.
func e4m3BitsToFloat(_ b: UInt8) -> Float {
    let negative = b & 0x80 != 0
    let exp = Int((b >> 3) & 0xF)
    let mant = Float(b & 0x7)
    let v: Float
    if exp == 0xF && b & 0x7 == 0x7 {
        v = .nan
    } else if exp == 0 {
        v = mant * 0x1p-9
    } else {
        v = (1 + mant / 8) * Float(sign: .plus, exponent: exp - 7, significand: 1)
    }
    return negative ? -v : v
}

/// Lookup table for all 65,536 half bit patterns (256 KB, built on first use).
let halfTable: [Float] = (0..<65536).map { halfBitsToFloat(UInt16($0)) }
/// float8 e4m3fn table.
let e4m3Table: [Float] = (0..<256).map { e4m3BitsToFloat(UInt8($0)) }
/// float8 e5m2 is the top byte of an IEEE half.
let e5m2Table: [Float] = (0..<256).map { halfBitsToFloat(UInt16($0) << 8) }

/// Converts `count` elements starting at element `start` and advancing `stride` elements each step.
///
/// `src` is the storage base. The caller has validated that every touched element is inside it.
/// `kernels` is the table of the work this belongs to (worker threads get it from their caller).
func convertElements(_ src: UnsafeRawPointer, dtype: DType, start: Int, stride: Int, count: Int,
                     into dst: UnsafeMutablePointer<Float>, kernels: UnsafePointer<wl_kernels> = wl_current()) {
    @inline(__always) func load<T: FixedWidthInteger>(_ t: T.Type, _ i: Int) -> T {
        T(littleEndian: src.loadUnaligned(fromByteOffset: (start + i * stride) * MemoryLayout<T>.size, as: T.self))
    }
    if stride == 1 {
        switch dtype {
        case .f16, .bf16:
            // Unaligned 16-bit storage is fine for the kernels (unaligned vector loads), but a
            // typed pointer must be aligned: bind only when it is, else take the scalar path.
            let p = src + start * 2
            if Int(bitPattern: p) % 2 == 0 {
                let halves = p.assumingMemoryBound(to: UInt16.self)
                if dtype == .f16 { kernels.pointee.f16_to_f32(halves, dst, count) } else { kernels.pointee.bf16_to_f32(halves, dst, count) }
                return
            }
        case .f8e4m3:
            kernels.pointee.e4m3_to_f32((src + start).assumingMemoryBound(to: UInt8.self), dst, count)
            return
        case .f8e5m2:
            kernels.pointee.e5m2_to_f32((src + start).assumingMemoryBound(to: UInt8.self), dst, count)
            return
        default:
            break
        }
    }
    switch dtype {
    case .f32:
        if stride == 1 {
            // Plain copy: byte order already matches on every little-endian host we run on.
            UnsafeMutableRawPointer(dst).copyMemory(from: src + start * 4, byteCount: count * 4)
        } else {
            for i in 0..<count { dst[i] = Float(bitPattern: load(UInt32.self, i)) }
        }
    case .f64:
        for i in 0..<count { dst[i] = Float(Double(bitPattern: load(UInt64.self, i))) }
    case .f16:
        halfTable.withUnsafeBufferPointer { table in
            for i in 0..<count { dst[i] = table[Int(load(UInt16.self, i))] }
        }
    case .bf16:
        for i in 0..<count { dst[i] = Float(bitPattern: UInt32(load(UInt16.self, i)) << 16) }
    case .f8e4m3:
        e4m3Table.withUnsafeBufferPointer { table in
            for i in 0..<count { dst[i] = table[Int(load(UInt8.self, i))] }
        }
    case .f8e5m2:
        e5m2Table.withUnsafeBufferPointer { table in
            for i in 0..<count { dst[i] = table[Int(load(UInt8.self, i))] }
        }
    case .i64:
        for i in 0..<count { dst[i] = Float(Int64(bitPattern: load(UInt64.self, i))) }
    case .i32:
        for i in 0..<count { dst[i] = Float(Int32(bitPattern: load(UInt32.self, i))) }
    case .i16:
        for i in 0..<count { dst[i] = Float(Int16(bitPattern: load(UInt16.self, i))) }
    case .i8:
        for i in 0..<count { dst[i] = Float(Int8(bitPattern: load(UInt8.self, i))) }
    case .u64:
        for i in 0..<count { dst[i] = Float(load(UInt64.self, i)) }
    case .u32:
        for i in 0..<count { dst[i] = Float(load(UInt32.self, i)) }
    case .u16:
        for i in 0..<count { dst[i] = Float(load(UInt16.self, i)) }
    case .u8:
        for i in 0..<count { dst[i] = Float(load(UInt8.self, i)) }
    case .bool:
        for i in 0..<count { dst[i] = load(UInt8.self, i) != 0 ? 1 : 0 }
    }
}

/// Reads a (possibly strided) view into a new C-order Float32 array.
func gatherView(_ storage: UnsafeRawPointer, dtype: DType, shape: [Int], strides: [Int]?, offset: Int) -> [Float] {
    let count = shape.reduce(1, *)
    if count == 0 { return [] }
    return [Float](unsafeUninitializedCapacity: count) { buf, initialized in
        let dst = buf.baseAddress!
        guard let strides, shape.count > 0 else {
            // Large contiguous tensors (13 M values in SDXL's biggest layers, about 30 ms on one
            // core, much of it first-touch page faults of the new buffer) convert in parallel chunks.
            let chunk = 1 << 20
            if count >= 2 * chunk {
                // Each chunk writes its own disjoint range of `dst`; both pointers outlive the call.
                // The workers use the caller's kernel table (a path forced on this thread included).
                nonisolated(unsafe) let src = storage, out = dst
                nonisolated(unsafe) let kernels = wl_current()
                DispatchQueue.concurrentPerform(iterations: (count + chunk - 1) / chunk) { c in
                    let start = c * chunk
                    convertElements(src, dtype: dtype, start: offset + start, stride: 1,
                                    count: min(chunk, count - start), into: out + start, kernels: kernels)
                }
            } else {
                convertElements(storage, dtype: dtype, start: offset, stride: 1, count: count, into: dst)
            }
            initialized = count
            return
        }
        // Odometer over all dimensions but the last; each step converts one innermost row.
        let rank = shape.count
        let rowLength = shape[rank - 1]
        let rowStride = strides[rank - 1]
        var index = [Int](repeating: 0, count: rank - 1)
        var base = offset
        var written = 0
        while written < count {
            convertElements(storage, dtype: dtype, start: base, stride: rowStride, count: rowLength,
                            into: dst + written)
            written += rowLength
            var d = rank - 2
            while d >= 0 {
                index[d] += 1
                base += strides[d]
                if index[d] < shape[d] { break }
                base -= strides[d] * shape[d]
                index[d] = 0
                d -= 1
            }
            if d < 0 { break }
        }
        initialized = count
    }
}
