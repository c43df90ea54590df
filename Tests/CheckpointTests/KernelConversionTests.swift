import Kernels
import Testing
import TensorCore
@testable import Checkpoint

/// The contiguous conversions of every kernel path this machine runs (forced per test) against the
/// standard conversions, bit for bit: F16C or integer arithmetic, vector body and scalar tail.
@Suite struct KernelConversionTests {
    static func convert(_ bytes: [UInt8], _ dtype: DType, start: Int, count: Int, path: KernelPath) throws -> [Float] {
        var out = [Float](repeating: -1, count: count)
        try path.run {
            bytes.withUnsafeBytes { raw in
                out.withUnsafeMutableBufferPointer { o in
                    convertElements(raw.baseAddress!, dtype: dtype, start: start, stride: 1, count: count, into: o.baseAddress!)
                }
            }
        }
        return out
    }

    static func sameBits(_ got: [Float], _ expected: [Float]) -> Int? {
        got.indices.first { i in expected[i].isNaN ? !got[i].isNaN : got[i].bitPattern != expected[i].bitPattern }
    }

    @Test(arguments: KernelPath.supported)
    func everyHalfAndBFloat16Pattern(path: KernelPath) throws {
        let bytes = (0...UInt16.max).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        let half = (0...UInt16.max).map { Float(Float16(bitPattern: $0)) }
        let bf16 = (0...UInt16.max).map { Float(bitPattern: UInt32($0) << 16) }
        let f16 = try Self.convert(bytes, .f16, start: 0, count: 65536, path: path)
        #expect(Self.sameBits(f16, half) == nil, "\(path): first mismatch at \(Self.sameBits(f16, half) ?? -1)")
        let b16 = try Self.convert(bytes, .bf16, start: 0, count: 65536, path: path)
        #expect(Self.sameBits(b16, bf16) == nil)
        // An offset and a length that leave a scalar tail.
        let tail = try Self.convert(bytes, .f16, start: 3, count: 1001, path: path)
        #expect(Self.sameBits(tail, Array(half[3..<1004])) == nil)
    }

    @Test(arguments: KernelPath.supported)
    func everyFloat8Pattern(path: KernelPath) throws {
        let bytes = (0...255).map { UInt8($0) } + (0...255).map { UInt8(255 - $0) }
        let e4m3 = try Self.convert(bytes, .f8e4m3, start: 0, count: 512, path: path)
        #expect(Self.sameBits(e4m3, bytes.map { e4m3Table[Int($0)] }) == nil)
        let e5m2 = try Self.convert(bytes, .f8e5m2, start: 0, count: 512, path: path)
        #expect(Self.sameBits(e5m2, bytes.map { e5m2Table[Int($0)] }) == nil)
        let odd = try Self.convert(bytes, .f8e4m3, start: 5, count: 250, path: path)
        #expect(Self.sameBits(odd, bytes[5..<255].map { e4m3Table[Int($0)] }) == nil)
    }
}
