import TensorCore

/// GGUF container, versions 2 and 3, as llama.cpp's `gguf` Python package (gguf-py) writes it and
/// ComfyUI-GGUF reads it for diffusion models (docs/FORMATS.md).
///
/// Layout (little-endian): magic `GGUF`, u32 version, u64 tensor count, u64 key/value count; the
/// key/value pairs (string key, u32 value type, value); the tensor infos (string name, u32 number
/// of dimensions, u64 dimensions innermost first, u32 GGML type, u64 offset into the data
/// section); padding to `general.alignment` (default 32); the data section. Strings are a u64
/// length and UTF-8 bytes; arrays a u32 element type, u64 count and the elements.
///
/// Validation: every count and length is bounded and checked against the bytes left before
/// anything is allocated, value and tensor types must be known, the non-zero dimensions multiply
/// without overflow, the innermost one is a whole number of blocks, and each tensor's bytes lie inside
/// the file, start on the alignment and overlap no other tensor. Big-endian files and version 1
/// (32-bit counts) are refused with a reason.
enum GGUFReader {
    /// Upper bounds, far above real files (Flux.1-dev: 780 tensors, 5 keys; an LLM: ~30 keys
    /// and a 150,000-string vocabulary array) and small enough that a hostile header cannot make
    /// the parse allocate more than a few hundred MB.
    static let tensorLimit = 1 << 20
    static let keyValueLimit = 1 << 20
    static let stringLimit = 1 << 24
    static let arrayLimit = 1 << 24
    static let arrayDepthLimit = 4
    static let dimensionLimit = 8
    static let alignmentLimit = 1 << 24
    static let defaultAlignment = 32
    /// Arrays up to this many elements are kept (shown in the metadata, read as shapes); longer
    /// ones are checked and summarised.
    static let keptArrayLength = 64
    /// ComfyUI-GGUF's key holding the original shape of a tensor it stored flattened.
    static let origShapePrefix = "comfy.gguf.orig_shape."

    /// Value types of a key/value pair (gguf-py's `GGUFValueType`).
    enum ValueType: UInt32 {
        case uint8 = 0, int8, uint16, int16, uint32, int32, float32, bool, string, array, uint64, int64, float64

        var name: String { "\(self)".uppercased() }
        /// Bytes of a fixed-size value; nil for strings and arrays.
        var fixedSize: Int? {
            switch self {
            case .uint8, .int8, .bool: return 1
            case .uint16, .int16: return 2
            case .uint32, .int32, .float32: return 4
            case .uint64, .int64, .float64: return 8
            case .string, .array: return nil
            }
        }
    }

    /// One key/value pair: its type, the value as text, and integer elements when it is a short
    /// array of integers (or one integer).
    struct Field {
        var key: String
        var type: ValueType
        var elementType: ValueType?
        var text: String
        var integers: [Int64]?
    }

    /// One tensor info, validated.
    struct TensorInfo {
        var name: String
        var type: GGMLType
        /// Dimensions in PyTorch order (the stored ones reversed, or ComfyUI-GGUF's original shape).
        var shape: [Int]
        /// Dimensions as stored (innermost first).
        var storedDimensions: [Int]
        /// Absolute byte offset of the data in the file.
        var fileOffset: Int
        var byteCount: Int
        var elementCount: Int
    }

    struct Header {
        var version: UInt32
        var alignment: Int
        var fields: [Field]
        var tensors: [TensorInfo]
        var dataStart: Int
    }

    static func open(path: String, file: MappedFile) throws(CheckpointError) -> CheckpointFile {
        let header = try parse(file.bytes, path: path)
        var entries: [TensorEntry] = []
        var sources: [TensorSource] = []
        entries.reserveCapacity(header.tensors.count)
        sources.reserveCapacity(header.tensors.count)
        for t in header.tensors {
            let plain = t.type.plainDType
            entries.append(TensorEntry(name: t.name, dtype: plain ?? .f32, shape: t.shape,
                                       quantization: plain == nil ? t.type.name : nil))
            sources.append(TensorSource(region: 0, storageByteOffset: t.fileOffset, storageCount: t.elementCount,
                                        dtype: plain ?? .f32, elementOffset: 0, strides: nil,
                                        quantization: plain == nil ? t.type : nil))
        }
        let metadata = header.fields.map { (key: $0.key, value: $0.text) }
        return CheckpointFile(path: path, format: .gguf, entries: entries, sources: sources,
                              metadata: metadata, regions: [file])
    }

    /// Parses and validates a whole GGUF file. Pure: bytes in, values out.
    static func parse(_ bytes: UnsafeRawBufferPointer, path: String) throws(CheckpointError) -> Header {
        var c = Cursor(bytes: bytes, path: path)
        let magic = try c.fixed(4, "magic")
        guard magic == Array("GGUF".utf8) else {
            throw .invalidGGUF(path: path, reason: "it does not start with the magic 'GGUF'")
        }
        let version = try c.u32("version")
        if version & 0xFFFF == 0 && version != 0 {
            throw .invalidGGUF(path: path, reason: "it is big-endian (version \(version.byteSwapped)); only little-endian files are read")
        }
        guard version == 2 || version == 3 else {
            throw .invalidGGUF(path: path, reason: "version \(version) is not supported (2 and 3 are)")
        }
        let tensorCount = try c.u64("tensor count")
        let kvCount = try c.u64("key/value count")
        guard tensorCount <= UInt64(tensorLimit) else {
            throw .invalidGGUF(path: path, reason: "it declares \(tensorCount) tensors (limit \(tensorLimit))")
        }
        guard kvCount <= UInt64(keyValueLimit) else {
            throw .invalidGGUF(path: path, reason: "it declares \(kvCount) key/value pairs (limit \(keyValueLimit))")
        }
        var fields: [Field] = []
        var fieldIndex: [String: Int] = [:]
        for _ in 0..<Int(kvCount) {
            let key = try c.string("metadata key")
            let rawType = try c.u32("type of '\(key)'")
            guard let type = ValueType(rawValue: rawType) else {
                throw .invalidGGUF(path: path, reason: "key '\(key)' has unknown value type \(rawType)")
            }
            var field = try c.value(type, key: key, depth: 0)
            field.key = key
            guard fieldIndex[key] == nil else {
                throw .invalidGGUF(path: path, reason: "key '\(key)' appears twice")
            }
            fieldIndex[key] = fields.count
            fields.append(field)
        }
        var alignment = defaultAlignment
        if let i = fieldIndex["general.alignment"] {
            let f = fields[i]
            guard f.type == .uint32, let v = f.integers?.first else {
                throw .invalidGGUF(path: path, reason: "general.alignment is \(f.type.name), not UINT32")
            }
            guard v > 0, v <= Int64(alignmentLimit), v & (v - 1) == 0 else {
                throw .invalidGGUF(path: path, reason: "general.alignment \(v) is not a power of two up to \(alignmentLimit)")
            }
            alignment = Int(v)
        }

        var infos: [(name: String, type: GGMLType, dims: [Int], offset: UInt64)] = []
        infos.reserveCapacity(Int(tensorCount))
        var names = Set<String>()
        for _ in 0..<Int(tensorCount) {
            let name = try c.string("tensor name")
            let nDims = try c.u32("dimension count of '\(name)'")
            guard nDims <= UInt32(dimensionLimit) else {
                throw .invalidEntry(path: path, tensor: name, reason: "\(nDims) dimensions (limit \(dimensionLimit))")
            }
            var dims: [Int] = []
            for _ in 0..<Int(nDims) {
                let d = try c.u64("dimensions of '\(name)'")
                guard d <= UInt64(Int.max) else { throw .sizeOverflow(path: path, tensor: name) }
                dims.append(Int(d))
            }
            let rawType = try c.u32("type of tensor '\(name)'")
            guard let type = GGMLType(rawValue: rawType) else {
                throw .unknownGGMLType(path: path, tensor: name, typeID: rawType)
            }
            let offset = try c.u64("offset of '\(name)'")
            guard names.insert(name).inserted else {
                throw .invalidGGUF(path: path, reason: "tensor '\(name)' appears twice")
            }
            infos.append((name, type, dims, offset))
        }
        // The data section starts at the next multiple of the alignment.
        let (padded, o) = c.position.addingReportingOverflow((alignment - c.position % alignment) % alignment)
        if o { throw .invalidGGUF(path: path, reason: "the data section offset overflows") }
        let dataStart = padded
        if dataStart > bytes.count && !infos.isEmpty {
            throw .truncated(path: path, section: "padding before the data section", needed: UInt64(dataStart),
                             available: UInt64(bytes.count))
        }

        var tensors: [TensorInfo] = []
        tensors.reserveCapacity(infos.count)
        for info in infos {
            tensors.append(try tensorInfo(info, fields: fields, fieldIndex: fieldIndex, alignment: alignment,
                                          dataStart: dataStart, fileSize: bytes.count, path: path))
        }
        // No two tensors share bytes: sorted by offset, each ends before the next begins.
        let ordered = tensors.filter { $0.byteCount > 0 }.sorted { $0.fileOffset < $1.fileOffset }
        for (a, b) in zip(ordered, ordered.dropFirst()) where a.fileOffset + a.byteCount > b.fileOffset {
            throw .overlappingTensors(path: path, tensor: b.name, other: a.name)
        }
        return Header(version: version, alignment: alignment, fields: fields, tensors: tensors, dataStart: dataStart)
    }

    /// Sizes, places and shapes one tensor info.
    static func tensorInfo(_ info: (name: String, type: GGMLType, dims: [Int], offset: UInt64), fields: [Field],
                           fieldIndex: [String: Int], alignment: Int, dataStart: Int, fileSize: Int,
                           path: String) throws(CheckpointError) -> TensorInfo {
        let name = info.name
        guard let count = elementCount(info.dims) else { throw .sizeOverflow(path: path, tensor: name) }
        let (block, blockBytes) = info.type.blockGeometry
        let row = info.dims.first ?? 1
        guard row % block == 0 else {
            throw .invalidEntry(path: path, tensor: name,
                                reason: "its rows of \(row) elements are not whole \(info.type.name) blocks of \(block)")
        }
        let (byteCount, o1) = (count / block).multipliedReportingOverflow(by: blockBytes)
        if o1 { throw .sizeOverflow(path: path, tensor: name) }
        guard info.offset % UInt64(alignment) == 0 else {
            throw .misalignedTensor(path: path, tensor: name, offset: info.offset, alignment: alignment)
        }
        let available = UInt64(max(0, fileSize - dataStart))
        guard info.offset <= available, UInt64(byteCount) <= available - info.offset else {
            let (start, o2) = UInt64(dataStart).addingReportingOverflow(info.offset)
            let (end, o3) = start.addingReportingOverflow(UInt64(byteCount))
            throw .truncated(path: path, section: "data of tensor '\(name)'",
                             needed: o2 || o3 ? UInt64.max : end, available: UInt64(fileSize))
        }
        var shape = Array(info.dims.reversed())
        if let i = fieldIndex[origShapePrefix + name] {
            let f = fields[i]
            guard f.type == .array, f.elementType == .int32, let values = f.integers else {
                throw .invalidGGUF(path: path, reason: "\(f.key) is not an array of INT32")
            }
            var original: [Int] = []
            for v in values {
                guard v >= 0 else { throw .invalidGGUF(path: path, reason: "\(f.key) has the negative dimension \(v)") }
                original.append(Int(v))
            }
            guard let product = elementCount(original) else { throw .sizeOverflow(path: path, tensor: name) }
            guard product == count else {
                throw .invalidEntry(path: path, tensor: name,
                                    reason: "\(f.key) \(original) holds \(product) elements, the tensor \(count)")
            }
            shape = original
        }
        return TensorInfo(name: name, type: info.type, shape: shape, storedDimensions: info.dims,
                          fileOffset: dataStart + Int(info.offset), byteCount: byteCount, elementCount: count)
    }

    /// The number of elements of `dims`, nil when the product of its non-zero dimensions overflows.
    ///
    /// Multiplying in stored order is not enough: the entry's shape is the reverse, and everything
    /// downstream multiplies that (or a part of it) in its own order. Dimensions [0, 2^32, 2^32]
    /// give 0 innermost first but overflow outermost first, which trapped `parameterCount` of a
    /// 100-byte file (found while writing the GGUFFuzz harness). With the non-zero product bounded,
    /// every order and every sub-product fits.
    static func elementCount(_ dims: [Int]) -> Int? {
        var nonZero = 1
        for d in dims where d != 0 {
            let (m, o) = nonZero.multipliedReportingOverflow(by: d)
            if o { return nil }
            nonZero = m
        }
        return dims.contains(0) ? 0 : nonZero
    }

    /// A bounds-checked reading position in the file.
    struct Cursor {
        let bytes: UnsafeRawBufferPointer
        let path: String
        var position = 0

        init(bytes: UnsafeRawBufferPointer, path: String) {
            self.bytes = bytes
            self.path = path
        }

        /// Throws `.truncated` unless `n` more bytes are there.
        func need(_ n: UInt64, _ section: String) throws(CheckpointError) {
            let left = UInt64(bytes.count - position)
            guard n <= left else {
                let (end, o) = UInt64(position).addingReportingOverflow(n)
                throw .truncated(path: path, section: section, needed: o ? UInt64.max : end, available: UInt64(bytes.count))
            }
        }

        mutating func fixed(_ n: Int, _ section: String) throws(CheckpointError) -> [UInt8] {
            try need(UInt64(n), section)
            defer { position += n }
            return Array(bytes[position..<(position + n)])
        }

        mutating func load<T: FixedWidthInteger>(_ t: T.Type, _ section: String) throws(CheckpointError) -> T {
            try need(UInt64(MemoryLayout<T>.size), section)
            defer { position += MemoryLayout<T>.size }
            return T(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: T.self))
        }

        mutating func u32(_ section: String) throws(CheckpointError) -> UInt32 { try load(UInt32.self, section) }
        mutating func u64(_ section: String) throws(CheckpointError) -> UInt64 { try load(UInt64.self, section) }

        /// A length-prefixed UTF-8 string (keys and tensor names must be valid UTF-8).
        mutating func string(_ section: String, strictUTF8: Bool = true) throws(CheckpointError) -> String {
            let start = position
            let length = try u64("length of \(section)")
            guard length <= UInt64(GGUFReader.stringLimit) else {
                throw .invalidGGUF(path: path, reason: "the \(section) at byte \(start) declares \(length) bytes (limit \(GGUFReader.stringLimit))")
            }
            try need(length, section)
            let raw = UnsafeRawBufferPointer(rebasing: bytes[position..<(position + Int(length))])
            position += Int(length)
            if let s = String(validating: raw, as: UTF8.self) { return s }
            if strictUTF8 { throw .invalidGGUF(path: path, reason: "the \(section) at byte \(start) is not valid UTF-8") }
            return String(decoding: raw, as: UTF8.self)
        }

        /// One value of `type`; arrays recurse up to `arrayDepthLimit`.
        mutating func value(_ type: ValueType, key: String, depth: Int) throws(CheckpointError) -> Field {
            let section = "value of '\(key)'"
            switch type {
            case .uint8: return integer(Int64(try load(UInt8.self, section)), type)
            case .int8: return integer(Int64(try load(Int8.self, section)), type)
            case .uint16: return integer(Int64(try load(UInt16.self, section)), type)
            case .int16: return integer(Int64(try load(Int16.self, section)), type)
            case .uint32: return integer(Int64(try load(UInt32.self, section)), type)
            case .int32: return integer(Int64(try load(Int32.self, section)), type)
            case .int64: return integer(try load(Int64.self, section), type)
            case .uint64:
                let v = try load(UInt64.self, section)
                return Field(key: key, type: type, text: "\(v)", integers: v <= UInt64(Int64.max) ? [Int64(v)] : nil)
            case .float32:
                return Field(key: key, type: type, text: "\(Float(bitPattern: try load(UInt32.self, section)))")
            case .float64:
                return Field(key: key, type: type, text: "\(Double(bitPattern: try load(UInt64.self, section)))")
            case .bool:
                let b = try load(UInt8.self, section)
                guard b <= 1 else { throw .invalidGGUF(path: path, reason: "'\(key)' holds the bool byte \(b)") }
                return Field(key: key, type: type, text: b == 1 ? "true" : "false")
            case .string:
                return Field(key: key, type: type, text: try string("string value of '\(key)'", strictUTF8: false))
            case .array:
                guard depth < GGUFReader.arrayDepthLimit else {
                    throw .invalidGGUF(path: path, reason: "'\(key)' nests arrays deeper than \(GGUFReader.arrayDepthLimit)")
                }
                let rawElement = try u32("element type of '\(key)'")
                guard let element = ValueType(rawValue: rawElement) else {
                    throw .invalidGGUF(path: path, reason: "'\(key)' is an array of unknown value type \(rawElement)")
                }
                let count = try u64("length of '\(key)'")
                guard count <= UInt64(GGUFReader.arrayLimit) else {
                    throw .invalidGGUF(path: path, reason: "'\(key)' declares an array of \(count) elements (limit \(GGUFReader.arrayLimit))")
                }
                // Every element takes at least its fixed size (8 bytes for a string's length).
                let (minimum, o) = count.multipliedReportingOverflow(by: UInt64(element.fixedSize ?? (element == .string ? 8 : 12)))
                if o { throw .sizeOverflow(path: path, tensor: key) }
                try need(minimum, "array '\(key)'")
                let kept = count <= UInt64(GGUFReader.keptArrayLength)
                if !kept, let size = element.fixedSize, element != .bool {
                    position += Int(count) * size
                    return Field(key: key, type: .array, elementType: element,
                                 text: "[\(count) \(element.name) values]")
                }
                var parts: [String] = []
                var integers: [Int64]? = []
                for _ in 0..<Int(count) {
                    let item = try value(element, key: key, depth: depth + 1)
                    if kept {
                        parts.append(element == .string ? "\"\(item.text)\"" : item.text)
                        if let v = item.integers, v.count == 1, element != .array { integers?.append(v[0]) } else { integers = nil }
                    }
                }
                if !kept { return Field(key: key, type: .array, elementType: element, text: "[\(count) \(element.name) values]") }
                return Field(key: key, type: .array, elementType: element,
                             text: "[" + parts.joined(separator: ", ") + "]", integers: integers)
            }
        }

        private func integer(_ v: Int64, _ type: ValueType) -> Field {
            Field(key: "", type: type, text: "\(v)", integers: [v])
        }
    }
}
