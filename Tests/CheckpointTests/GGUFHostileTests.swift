import Foundation
import Testing
@testable import Checkpoint

/// Builds GGUF bytes field by field, so each test can lie in exactly one place.
struct GGUFBytes {
    var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func string(_ s: String) { u64(UInt64(s.utf8.count)); bytes.append(contentsOf: s.utf8) }

    /// A tensor info: name, dims (innermost first), GGML type, offset.
    mutating func tensor(_ name: String, _ dims: [UInt64], type: UInt32 = 0, offset: UInt64) {
        string(name)
        u32(UInt32(dims.count))
        for d in dims { u64(d) }
        u32(type)
        u64(offset)
    }

    mutating func pad(to alignment: Int) { while bytes.count % alignment != 0 { bytes.append(0) } }

    /// Magic, version and the two counts.
    static func header(version: UInt32 = 3, tensors: UInt64, kvs: UInt64) -> GGUFBytes {
        var g = GGUFBytes()
        g.bytes = Array("GGUF".utf8)
        g.u32(version)
        g.u64(tensors)
        g.u64(kvs)
        return g
    }
}

@Suite struct GGUFHostileTests {
    /// A valid file: one UINT32 key, tensors a (F32 [2]) and b (F16 [2, 2]).
    static var valid: [UInt8] {
        var g = GGUFBytes.header(tensors: 2, kvs: 1)
        g.string("k"); g.u32(4); g.u32(7)
        g.tensor("a", [2], type: 0, offset: 0)
        g.tensor("b", [2, 2], type: 1, offset: 32)
        g.pad(to: 32)
        g.bytes += floatBytes([1, 2]) + [UInt8](repeating: 0, count: 24)
        g.bytes += [0, 0x3C, 0, 0xC0, 0, 0x3C, 0, 0xC0]
        return g.bytes
    }

    func error(_ bytes: [UInt8]) -> CheckpointError? { openError(writeTemporary(bytes, name: "h.gguf")) }

    @Test func validSmallFileReads() throws {
        let f = try CheckpointFile.open(path: writeTemporary(Self.valid, name: "ok.gguf"))
        #expect(f.entries.map(\.name) == ["a", "b"])
        #expect(try f.loadTensor("a").values == [1, 2])
        #expect(try f.loadTensor("b").values == [1, -2, 1, -2])
        #expect(f.metadata.map(\.key) == ["k"] && f.metadata[0].value == "7")
    }

    @Test func truncatedAtEveryByteFails() {
        let full = Self.valid
        for n in 0..<full.count {
            #expect(error(Array(full.prefix(n))) != nil, "prefix \(n) opened")
        }
    }

    /// Each file lies once; the error must be of the expected kind and name the problem.
    static let cases: [(name: String, bytes: [UInt8], fragment: String)] = {
        var out: [(String, [UInt8], String)] = []
        func add(_ name: String, _ fragment: String, _ build: (inout GGUFBytes) -> Void, tensors: UInt64 = 1, kvs: UInt64 = 0,
                 version: UInt32 = 3) {
            var g = GGUFBytes.header(version: version, tensors: tensors, kvs: kvs)
            build(&g)
            out.append((name, g.bytes, fragment))
        }
        func data(_ g: inout GGUFBytes, _ n: Int) { g.pad(to: 32); g.bytes += [UInt8](repeating: 0, count: n) }
        add("bad magic", "magic") { g in g.bytes[3] = UInt8(ascii: "X") }
        add("version 1", "version 1 is not supported", { _ in }, version: 1)
        add("version 4", "version 4 is not supported", { _ in }, version: 4)
        add("big-endian", "big-endian", { _ in }, version: UInt32(3).byteSwapped)
        add("huge tensor count", "tensors (limit", { _ in }, tensors: UInt64.max)
        add("huge kv count", "key/value pairs (limit", { _ in }, tensors: 0, kvs: 1 << 40)
        add("kv count past the end", "truncated", { _ in }, tensors: 0, kvs: 3)
        add("huge string length", "declares 18446744073709551615 bytes", { g in g.u64(UInt64.max) }, tensors: 0, kvs: 1)
        add("string past the end", "truncated", { g in g.u64(1000); g.bytes += Array("abc".utf8) }, tensors: 0, kvs: 1)
        add("invalid UTF-8 key", "UTF-8", { g in g.u64(2); g.bytes += [0xC3, 0x28]; g.u32(4); g.u32(1) }, tensors: 0, kvs: 1)
        add("unknown value type", "unknown value type 13", { g in g.string("k"); g.u32(13) }, tensors: 0, kvs: 1)
        add("bad bool", "bool byte 2", { g in g.string("k"); g.u32(7); g.u8(2) }, tensors: 0, kvs: 1)
        add("huge array", "array of 1099511627776 elements", { g in g.string("k"); g.u32(9); g.u32(0); g.u64(1 << 40) },
            tensors: 0, kvs: 1)
        add("array past the end", "truncated", { g in g.string("k"); g.u32(9); g.u32(5); g.u64(1000); g.u32(1) },
            tensors: 0, kvs: 1)
        add("array of unknown type", "unknown value type 99", { g in g.string("k"); g.u32(9); g.u32(99); g.u64(1) },
            tensors: 0, kvs: 1)
        add("arrays nested too deep", "deeper than", { g in
            g.string("k"); g.u32(9)
            for _ in 0..<6 { g.u32(9); g.u64(1) }
            g.u32(4); g.u64(1); g.u32(1)
        }, tensors: 0, kvs: 1)
        add("duplicate key", "appears twice", { g in g.string("k"); g.u32(4); g.u32(1); g.string("k"); g.u32(4); g.u32(2) },
            tensors: 0, kvs: 2)
        add("alignment not a power of two", "power of two", { g in
            g.string("general.alignment"); g.u32(4); g.u32(48)
        }, tensors: 0, kvs: 1)
        add("alignment zero", "power of two", { g in g.string("general.alignment"); g.u32(4); g.u32(0) }, tensors: 0, kvs: 1)
        add("alignment of the wrong type", "not UINT32", { g in g.string("general.alignment"); g.u32(10); g.u64(32) },
            tensors: 0, kvs: 1)
        add("unknown tensor type", "unknown GGML type 4", { g in g.tensor("t", [32], type: 4, offset: 0); data(&g, 128) })
        add("unknown tensor type 200", "unknown GGML type 200", { g in g.tensor("t", [32], type: 200, offset: 0); data(&g, 128) })
        add("too many dimensions", "9 dimensions", { g in g.tensor("t", [UInt64](repeating: 1, count: 9), offset: 0); data(&g, 4) })
        add("dims that overflow", "overflows", { g in g.tensor("t", [1 << 32, 1 << 32, 16], offset: 0); data(&g, 4) })
        // 0 elements innermost first, 2^64 outermost first: the entry's shape (the reverse) trapped
        // parameterCount before the non-zero dimensions were bounded (fuzz/corpus/GGUFFuzz/bad-zero-dim-overflow).
        add("zero dimension beside ones that overflow", "overflows", { g in g.tensor("t", [0, 1 << 32, 1 << 32], offset: 0); g.pad(to: 32) })
        add("orig_shape that overflows beside a zero", "overflows", { g in
            g.string("comfy.gguf.orig_shape.t"); g.u32(9); g.u32(5); g.u64(4); g.u32(0); g.u32(1 << 30); g.u32(1 << 30); g.u32(1 << 30)
            g.tensor("t", [0], offset: 0); g.pad(to: 32)
        }, kvs: 1)
        add("dimension over Int.max", "overflows", { g in g.tensor("t", [UInt64.max], offset: 0); data(&g, 4) })
        add("row not whole blocks", "not whole Q8_0 blocks", { g in g.tensor("t", [48, 2], type: 8, offset: 0); data(&g, 128) })
        add("misaligned offset", "not a multiple of the alignment 32", { g in
            g.tensor("t", [2], offset: 4); data(&g, 64)
        })
        add("offset past the end", "truncated in the data of tensor 't'", { g in
            g.tensor("t", [2], offset: 1 << 20); data(&g, 64)
        })
        add("offset near UInt64.max", "truncated in the data of tensor 't'", { g in
            g.tensor("t", [2], offset: UInt64.max - 31); data(&g, 64)
        })
        add("data past the end", "truncated in the data of tensor 't'", { g in g.tensor("t", [64], offset: 0); data(&g, 100) })
        add("overlapping tensors", "overlapping the bytes of tensor 'a'", { g in
            g.tensor("a", [16], offset: 0); g.tensor("b", [16], offset: 32); g.tensor("c", [8], offset: 32); data(&g, 128)
        }, tensors: 3)
        add("duplicate tensor", "tensor 'a' appears twice", { g in
            g.tensor("a", [2], offset: 0); g.tensor("a", [2], offset: 32); data(&g, 64)
        }, tensors: 2)
        add("orig_shape of the wrong size", "holds 6 elements, the tensor 4", { g in
            g.string("comfy.gguf.orig_shape.t"); g.u32(9); g.u32(5); g.u64(2); g.u32(2); g.u32(3)
            g.tensor("t", [4], offset: 0); data(&g, 16)
        }, kvs: 1)
        add("orig_shape of the wrong type", "not an array of INT32", { g in
            g.string("comfy.gguf.orig_shape.t"); g.u32(9); g.u32(4); g.u64(1); g.u32(4)
            g.tensor("t", [4], offset: 0); data(&g, 16)
        }, kvs: 1)
        add("tensor name past the end", "truncated", { g in g.u64(50); g.bytes += Array("abc".utf8) })
        return out
    }()

    @Test(arguments: cases.indices)
    func hostileFileIsRefusedWithReason(index: Int) {
        let c = Self.cases[index]
        let path = writeTemporary(c.bytes, name: "hostile.gguf")
        let e = openError(path)
        #expect(e != nil, "\(c.name) opened")
        #expect(e?.description.contains(c.fragment) ?? false, "\(c.name): '\(e?.description ?? "no error")' lacks '\(c.fragment)'")
        #expect(e?.description.hasPrefix(path + ": ") ?? false)
    }

    @Test func hostileErrorsAreTyped() {
        func kind(_ bytes: [UInt8]) -> CheckpointError? { error(bytes) }
        var g = GGUFBytes.header(tensors: 1, kvs: 0)
        g.tensor("t", [32], type: 200, offset: 0)
        g.pad(to: 32); g.bytes += [UInt8](repeating: 0, count: 128)
        #expect(kind(g.bytes).map { if case .unknownGGMLType(_, "t", 200) = $0 { true } else { false } } == true)
        var m = GGUFBytes.header(tensors: 1, kvs: 0)
        m.tensor("t", [2], offset: 8)
        m.pad(to: 32); m.bytes += [UInt8](repeating: 0, count: 64)
        #expect(kind(m.bytes).map { if case .misalignedTensor(_, "t", 8, 32) = $0 { true } else { false } } == true)
    }

    @Test func ggufSuffixWithoutMagicSaysSo() {
        let e = openError(writeTemporary(Array("GGUX-not-a-gguf".utf8), name: "x.gguf"))
        #expect(e?.description.contains("magic") ?? false, "\(e?.description ?? "")")
    }
}
