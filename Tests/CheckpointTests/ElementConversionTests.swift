import Testing
import TensorCore
@testable import Checkpoint

/// Stored element types → Float32, through real safetensors files where the path matters.
@Suite struct ElementConversionTests {
    @Test func everyHalfBitPattern_matchesTheStandardConversion() {
        for bits in 0...UInt16.max {
            let expected = Float(Float16(bitPattern: bits))
            let got = halfTable[Int(bits)]
            if expected.isNaN { #expect(got.isNaN); continue }
            if got.bitPattern != expected.bitPattern {
                Issue.record("half 0x\(String(bits, radix: 16)): \(got) vs \(expected)")
                return
            }
        }
    }

    @Test(arguments: [(UInt8(0x38), Float(1)), (0x7E, 448), (0xFE, -448), (0x01, 0x1p-9), (0x08, 0x1p-6), (0x00, 0), (0x40, 2)])
    func float8E4M3_knownValues(bits: UInt8, value: Float) {
        #expect(e4m3Table[Int(bits)] == value)
    }

    @Test func float8Specials() {
        #expect(e4m3Table[0x7F].isNaN)
        #expect(e4m3Table[0xFF].isNaN)
        #expect(e5m2Table[0x3C] == 1)
        #expect(e5m2Table[0x7C] == .infinity)
        #expect(e5m2Table[0xFC] == -.infinity)
        #expect(e5m2Table[0x7D].isNaN)
        #expect(e5m2Table[0x01] == 0x1p-16)
    }

    @Test func everyDType_loadsThroughSafetensors() throws {
        // (dtype, stored little-endian bytes, expected values)
        let cases: [(String, [UInt8], [Float])] = [
            ("F64", le64(Double(1.5).bitPattern) + le64(Double(-2).bitPattern), [1.5, -2]),
            ("F32", floatBytes([0.25, -8]), [0.25, -8]),
            ("F16", [0x00, 0x3C, 0x00, 0xC4], [1, -4]),
            ("BF16", [0x80, 0x3F, 0x40, 0xC0], [1, -3]),
            ("F8_E4M3", [0x38, 0xC0], [1, -2]),
            ("F8_E5M2", [0x3C, 0xC0], [1, -2]),
            ("I64", le64(UInt64(bitPattern: -7)) + le64(9), [-7, 9]),
            ("I32", le32(UInt32(bitPattern: -3)) + le32(5), [-3, 5]),
            ("I16", le16(UInt16(bitPattern: -2)) + le16(300), [-2, 300]),
            ("I8", [0xFF, 0x7F], [-1, 127]),
            ("U8", [0xFF, 0x01], [255, 1]),
            ("U16", le16(65535) + le16(2), [65535, 2]),
            ("U32", le32(70000) + le32(3), [70000, 3]),
            ("U64", le64(1 << 40) + le64(4), [Float(1 << 40), 4]),
            ("BOOL", [0x01, 0x00], [1, 0]),
        ]
        for (dtype, bytes, expected) in cases {
            let header = #"{"t":{"dtype":"\#(dtype)","shape":[2],"data_offsets":[0,\#(bytes.count)]}}"#
            let file = try CheckpointFile.open(path: writeTemporary(safetensorsBytes(header: header, data: bytes), name: "d.safetensors"))
            #expect(file.entries.first?.dtype == DType(rawValue: dtype))
            #expect(try file.loadTensor("t").values == expected, "\(dtype)")
        }
    }

    @Test func stridedGather_matchesManualIndexing() {
        // A (2, 3, 4) view with permuted strides over a 24-element storage, offset 0.
        let storage = (0..<24).map(Float.init)
        let shape = [2, 3, 4], strides = [1, 8, 2]
        let values = floatBytes(storage).withUnsafeBytes { raw in
            gatherView(raw.baseAddress!, dtype: .f32, shape: shape, strides: strides, offset: 0)
        }
        var expected: [Float] = []
        for i in 0..<2 { for j in 0..<3 { for k in 0..<4 { expected.append(storage[i * 1 + j * 8 + k * 2]) } } }
        #expect(values == expected)
    }
}
