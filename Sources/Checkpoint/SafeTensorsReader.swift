import OrderedJSON
import TensorCore

/// safetensors container: 8-byte little-endian header length, UTF-8 JSON header, data section.
///
/// Validation follows the format's reference implementation: bounded header length, UTF-8 JSON
/// object, known dtypes, shape × element size equal to each byte range, and byte ranges that
/// tile the data section exactly (sorted by offset, no gap, no overlap, nothing left over).
enum SafeTensorsReader {
    /// Largest header accepted: 10 MB, a tenth of the reference implementation's 100 MB bound.
    ///
    /// Real headers are far smaller (SDXL with all parts: 250 KB for 2,515 tensors; 10 MB holds
    /// over 100,000 entries). Parsing costs about 50 ns and 15 bytes of memory per header byte, so
    /// a hostile 100 MB header of empty tensors would take seconds and over a gigabyte.
    static let headerLimit = 10_000_000

    /// The parsed header: entries in data-offset order and their byte ranges in the data section.
    struct Header {
        var entries: [TensorEntry]
        var byteRanges: [Range<Int>]
        var metadata: [(key: String, value: String)]
        /// File offset of the data section.
        var dataStart: Int
    }

    static func open(path: String, file: MappedFile) throws(CheckpointError) -> CheckpointFile {
        let header = try parse(file.bytes, path: path)
        let sources = zip(header.entries, header.byteRanges).map { entry, range in
            TensorSource(region: 0, storageByteOffset: header.dataStart + range.lowerBound,
                         storageCount: entry.parameterCount, dtype: entry.dtype, elementOffset: 0, strides: nil)
        }
        return CheckpointFile(path: path, format: .safetensors, entries: header.entries, sources: sources,
                              metadata: header.metadata, regions: [file])
    }

    /// Parses and validates the header of a whole safetensors file. Pure: bytes in, values out.
    static func parse(_ bytes: UnsafeRawBufferPointer, path: String) throws(CheckpointError) -> Header {
        let fileSize = UInt64(bytes.count)
        guard bytes.count >= 8 else {
            throw .truncated(path: path, section: "header length prefix", needed: 8, available: fileSize)
        }
        let declared = UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))
        guard declared <= UInt64(headerLimit) else {
            throw .headerTooLarge(path: path, declared: declared, limit: headerLimit)
        }
        guard 8 + declared <= fileSize else {
            throw .truncated(path: path, section: "header", needed: 8 + declared, available: fileSize)
        }
        let headerLength = Int(declared)
        let headerBytes = [UInt8](bytes[8..<(8 + headerLength)])
        guard headerBytes.first == UInt8(ascii: "{") else {
            throw .invalidHeader(path: path, reason: "it does not start with '{'")
        }
        guard String(validating: headerBytes, as: UTF8.self) != nil else {
            throw .invalidHeader(path: path, reason: "it is not valid UTF-8")
        }
        let json: JSON
        do {
            json = try JSON.parse(headerBytes)
        } catch {
            throw .invalidHeader(path: path, reason: "\(error)")
        }
        guard case .object(let object) = json else {
            throw .invalidHeader(path: path, reason: "it is not a JSON object")
        }
        let dataStart = 8 + headerLength
        let dataSize = bytes.count - dataStart

        var metadata: [(key: String, value: String)] = []
        var items: [(entry: TensorEntry, begin: Int, end: Int)] = []
        items.reserveCapacity(object.count)
        for (key, value) in object {
            if key == "__metadata__" {
                guard case .object(let m) = value else {
                    throw .invalidHeader(path: path, reason: "__metadata__ is not an object")
                }
                for (mk, mv) in m {
                    guard case .string(let s) = mv else {
                        throw .invalidHeader(path: path, reason: "__metadata__ value '\(mk)' is not a string")
                    }
                    metadata.append((key: mk, value: s))
                }
                continue
            }
            items.append(try parseEntry(key, value, path: path))
        }
        // Stable sort by start offset: zero-length tensors may share an offset.
        let ordered = items.enumerated().sorted { a, b in
            a.element.begin != b.element.begin ? a.element.begin < b.element.begin : a.offset < b.offset
        }.map(\.element)
        var expected = 0
        for item in ordered {
            guard item.begin == expected else {
                throw .offsetsDoNotTile(path: path, tensor: item.entry.name, offset: UInt64(item.begin),
                                        expected: UInt64(expected))
            }
            expected = item.end
        }
        guard expected == dataSize else {
            if expected > dataSize {
                throw .truncated(path: path, section: "data section", needed: UInt64(dataStart) + UInt64(expected),
                                 available: fileSize)
            }
            throw .dataSectionMismatch(path: path, declaredEnd: UInt64(expected), dataSize: UInt64(dataSize))
        }
        return Header(entries: ordered.map(\.entry), byteRanges: ordered.map { $0.begin..<$0.end },
                      metadata: metadata, dataStart: dataStart)
    }

    /// One `{"dtype", "shape", "data_offsets"}` entry, with overflow-checked size arithmetic.
    static func parseEntry(_ name: String, _ value: JSON, path: String) throws(CheckpointError)
        -> (entry: TensorEntry, begin: Int, end: Int) {
        guard case .object(let fields) = value else {
            throw .invalidEntry(path: path, tensor: name, reason: "it is not an object")
        }
        for key in fields.keys where key != "dtype" && key != "shape" && key != "data_offsets" {
            throw .invalidEntry(path: path, tensor: name, reason: "unexpected field '\(key)'")
        }
        guard let dtypeName = fields["dtype"]?.stringValue else {
            throw .invalidEntry(path: path, tensor: name, reason: "missing or non-string dtype")
        }
        guard let dtype = DType(rawValue: dtypeName) else {
            throw .unknownDType(path: path, tensor: name, dtype: dtypeName)
        }
        guard let shapeJSON = fields["shape"]?.arrayValue else {
            throw .invalidEntry(path: path, tensor: name, reason: "missing or non-array shape")
        }
        guard shapeJSON.count <= 64 else {
            throw .invalidEntry(path: path, tensor: name, reason: "\(shapeJSON.count) dimensions (limit 64)")
        }
        var shape: [Int] = []
        var count = 1
        for d in shapeJSON {
            guard case .int(let v) = d, v >= 0 else {
                throw .invalidEntry(path: path, tensor: name, reason: "dimension \(d) is not a non-negative integer")
            }
            let (c, o) = count.multipliedReportingOverflow(by: Int(v))
            if o { throw .sizeOverflow(path: path, tensor: name) }
            count = c
            shape.append(Int(v))
        }
        guard let offsets = fields["data_offsets"]?.arrayValue, offsets.count == 2,
              case .int(let b) = offsets[0], case .int(let e) = offsets[1], b >= 0, e >= 0 else {
            throw .invalidEntry(path: path, tensor: name, reason: "data_offsets is not two non-negative integers")
        }
        guard b <= e else {
            throw .invalidEntry(path: path, tensor: name, reason: "data_offsets end \(e) is before begin \(b)")
        }
        let (bytes, o) = count.multipliedReportingOverflow(by: dtype.byteSize)
        if o { throw .sizeOverflow(path: path, tensor: name) }
        guard Int64(bytes) == e - b else {
            throw .sizeMismatch(path: path, tensor: name, expectedBytes: UInt64(bytes), declaredBytes: UInt64(e - b))
        }
        return (TensorEntry(name: name, dtype: dtype, shape: shape), Int(b), Int(e))
    }
}
