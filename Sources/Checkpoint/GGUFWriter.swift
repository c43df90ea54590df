/// Writing GGUF files: the header bytes and the data layout, laid out as gguf-py's `GGUFWriter`
/// lays them out (version 3, key/value pairs in the given order, tensor infos with dimensions
/// innermost first, zero padding to the alignment after the infos and after every tensor's data).
/// The data itself comes from `quantizeGGML`; the caller streams it tensor by tensor.
public enum GGUFWriter {
    /// A metadata value of one of the types the writers of diffusion-model GGUFs use.
    public enum Value: Sendable, Equatable {
        case string(String)
        case uint32(UInt32)
        case int32Array([Int32])
    }

    /// One tensor to write: key, PyTorch-order shape and GGML type.
    public struct Tensor: Sendable, Equatable {
        public let name: String
        public let shape: [Int]
        public let type: GGMLType

        public init(name: String, shape: [Int], type: GGMLType) {
            self.name = name
            self.shape = shape
            self.type = type
        }

        /// Bytes of the tensor's data (rows must be whole blocks of `type`).
        public var byteCount: Int {
            let (n, size) = type.blockGeometry
            return shape.reduce(1, *) / n * size
        }
    }

    public static let alignment = 32

    /// `n` rounded up to the alignment.
    public static func padded(_ n: Int) -> Int { (n + alignment - 1) / alignment * alignment }

    /// The bytes before the data section (header, key/value pairs, tensor infos, padding) and each
    /// tensor's offset inside the data section. Each tensor's data is followed by zero padding up
    /// to the next multiple of `alignment`.
    public static func header(metadata: [(key: String, value: Value)], tensors: [Tensor]) -> (bytes: [UInt8], offsets: [Int]) {
        var out: [UInt8] = Array("GGUF".utf8)
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func string(_ s: String) { u64(UInt64(s.utf8.count)); out.append(contentsOf: s.utf8) }
        u32(3)
        u64(UInt64(tensors.count))
        u64(UInt64(metadata.count))
        for (key, value) in metadata {
            string(key)
            switch value {
            case .string(let s):
                u32(8); string(s)
            case .uint32(let v):
                u32(4); u32(v)
            case .int32Array(let values):
                u32(9); u32(5); u64(UInt64(values.count))
                for v in values { u32(UInt32(bitPattern: v)) }
            }
        }
        var offsets: [Int] = []
        var offset = 0
        for t in tensors {
            string(t.name)
            let dims = Array(t.shape.reversed())
            u32(UInt32(dims.count))
            for d in dims { u64(UInt64(d)) }
            u32(t.type.rawValue)
            u64(UInt64(offset))
            offsets.append(offset)
            offset += padded(t.byteCount)
        }
        out += [UInt8](repeating: 0, count: padded(out.count) - out.count)
        return (out, offsets)
    }

    /// The LLaMA file-type number gguf-py's `LlamaFileType` gives a file mostly of `type`
    /// (`general.file_type`), nil when it has none.
    public static func fileType(_ type: GGMLType) -> UInt32? {
        switch type {
        case .f32: return 0
        case .f16: return 1
        case .q4_0: return 2
        case .q4_1: return 3
        case .q8_0: return 7
        case .q5_0: return 8
        case .q5_1: return 9
        case .q2_K: return 10
        case .q3_K: return 12
        case .q4_K: return 15
        case .q5_K: return 17
        case .q6_K: return 18
        case .bf16: return 32
        default: return nil
        }
    }
}
