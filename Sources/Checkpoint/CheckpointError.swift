/// Why a checkpoint could not be opened or a tensor not be read.
///
/// Every case carries the file's path and the data a person needs to find the problem;
/// `description` is one sentence that names both.
public enum CheckpointError: Error, CustomStringConvertible, Equatable {
    /// `open(2)`, `fstat(2)` or `mmap(2)` failed; `errno` captured at the call.
    case cannotOpen(path: String, call: String, errno: Int32)
    /// The path names a directory or other non-regular file.
    case notARegularFile(path: String)
    /// The bytes match none of the supported containers.
    case unrecognizedFormat(path: String, reason: String)
    /// The file ends before a section it declares (`section` names which).
    case truncated(path: String, section: String, needed: UInt64, available: UInt64)
    /// The safetensors header length prefix exceeds the limit.
    case headerTooLarge(path: String, declared: UInt64, limit: Int)
    /// The safetensors header is not valid UTF-8 JSON or not an object of tensor entries.
    case invalidHeader(path: String, reason: String)
    /// A tensor entry is malformed (missing field, negative dimension, bad offsets…).
    case invalidEntry(path: String, tensor: String, reason: String)
    /// A tensor declares a dtype this reader does not know.
    case unknownDType(path: String, tensor: String, dtype: String)
    /// shape × element size does not match the bytes the entry declares.
    case sizeMismatch(path: String, tensor: String, expectedBytes: UInt64, declaredBytes: UInt64)
    /// Tensor data ranges do not tile the data section (gap or overlap at `offset`).
    case offsetsDoNotTile(path: String, tensor: String, offset: UInt64, expected: UInt64)
    /// The data section is longer than the tensors declare (trailing bytes).
    case dataSectionMismatch(path: String, declaredEnd: UInt64, dataSize: UInt64)
    /// Multiplying a shape or adding offsets overflows 64 bits or exceeds the tensor limit.
    case sizeOverflow(path: String, tensor: String)
    /// A sharded index is malformed or names a shard that cannot be used.
    case invalidShardIndex(path: String, reason: String)
    /// The zip archive is malformed or uses a feature torch files never need.
    case invalidZip(path: String, reason: String)
    /// The pickle stream is malformed, too large or too deep (`offset` into the pickle).
    case invalidPickle(path: String, offset: Int, reason: String)
    /// The pickle references a global outside the allow-list; nothing was executed.
    case forbiddenGlobal(path: String, module: String, name: String)
    /// A tensor's storage view (offset, size, stride) reaches outside its storage.
    case storageOutOfRange(path: String, tensor: String, reason: String)
    /// No tensor with this key exists.
    case tensorNotFound(path: String, name: String)
    /// The pickle holds no tensors in a state dict shape this reader understands.
    case noTensors(path: String)
    /// The GGUF header is malformed or over a limit (magic, version, counts, lengths, value types, keys).
    case invalidGGUF(path: String, reason: String)
    /// A GGUF tensor declares a GGML type number that does not exist.
    case unknownGGMLType(path: String, tensor: String, typeID: UInt32)
    /// A GGUF tensor's GGML type exists but this reader cannot dequantize it (raised when it is read).
    case unsupportedGGMLType(path: String, tensor: String, type: String)
    /// A GGUF tensor's data offset is not a multiple of the file's alignment.
    case misalignedTensor(path: String, tensor: String, offset: UInt64, alignment: Int)
    /// Two GGUF tensors share bytes of the data section.
    case overlappingTensors(path: String, tensor: String, other: String)

    /// The file the error is about.
    public var path: String {
        switch self {
        case .cannotOpen(let p, _, _), .notARegularFile(let p), .unrecognizedFormat(let p, _),
             .truncated(let p, _, _, _), .headerTooLarge(let p, _, _), .invalidHeader(let p, _),
             .invalidEntry(let p, _, _), .unknownDType(let p, _, _), .sizeMismatch(let p, _, _, _),
             .offsetsDoNotTile(let p, _, _, _), .dataSectionMismatch(let p, _, _), .sizeOverflow(let p, _),
             .invalidShardIndex(let p, _), .invalidZip(let p, _), .invalidPickle(let p, _, _),
             .forbiddenGlobal(let p, _, _), .storageOutOfRange(let p, _, _), .tensorNotFound(let p, _),
             .noTensors(let p), .invalidGGUF(let p, _), .unknownGGMLType(let p, _, _), .unsupportedGGMLType(let p, _, _),
             .misalignedTensor(let p, _, _, _), .overlappingTensors(let p, _, _):
            return p
        }
    }

    /// The problem without the file name, one sentence.
    public var reason: String {
        switch self {
        case .cannotOpen(_, let call, let e):
            return "cannot be opened (\(call) failed: \(errnoName(e)))"
        case .notARegularFile:
            return "is not a regular file"
        case .unrecognizedFormat(_, let r):
            return "is not a safetensors, GGUF or PyTorch checkpoint (\(r))"
        case .truncated(_, let section, let needed, let available):
            return "is truncated in the \(section) (needs \(needed) bytes, has \(available))"
        case .headerTooLarge(_, let declared, let limit):
            return "declares a safetensors header of \(declared) bytes, over the \(limit)-byte limit"
        case .invalidHeader(_, let r):
            return "has an invalid safetensors header: \(r)"
        case .invalidEntry(_, let t, let r):
            return "has an invalid entry for tensor '\(t)': \(r)"
        case .unknownDType(_, let t, let d):
            return "declares unknown dtype '\(d)' for tensor '\(t)'"
        case .sizeMismatch(_, let t, let expected, let declared):
            return "declares \(declared) bytes for tensor '\(t)' whose shape and dtype need \(expected)"
        case .offsetsDoNotTile(_, let t, let offset, let expected):
            return "has a gap or overlap in the data section: tensor '\(t)' starts at \(offset), expected \(expected)"
        case .dataSectionMismatch(_, let end, let size):
            return "has a data section of \(size) bytes but its tensors cover \(end)"
        case .sizeOverflow(_, let t):
            return "declares a size for tensor '\(t)' that overflows or exceeds the tensor size limit"
        case .invalidShardIndex(_, let r):
            return "is not a usable sharded safetensors index: \(r)"
        case .invalidZip(_, let r):
            return "is not a usable PyTorch zip archive: \(r)"
        case .invalidPickle(_, let offset, let r):
            return "has an invalid pickle at byte \(offset): \(r)"
        case .forbiddenGlobal(_, let m, let n):
            return "references the pickle global '\(m).\(n)', which is not allowed (nothing was executed)"
        case .storageOutOfRange(_, let t, let r):
            return "has a view for tensor '\(t)' outside its storage: \(r)"
        case .tensorNotFound(_, let n):
            return "has no tensor named '\(n)'"
        case .noTensors:
            return "holds no tensors this reader understands"
        case .invalidGGUF(_, let r):
            return "has an invalid GGUF header: \(r)"
        case .unknownGGMLType(_, let t, let id):
            return "declares the unknown GGML type \(id) for tensor '\(t)'"
        case .unsupportedGGMLType(_, let t, let type):
            let known = GGMLType.dequantizable.map(\.name).joined(separator: ", ")
            return "stores tensor '\(t)' as \(type), which WeightLens cannot dequantize (it reads F32, F16, BF16, F64, I8-I64, \(known))"
        case .misalignedTensor(_, let t, let offset, let alignment):
            return "places tensor '\(t)' at data offset \(offset), not a multiple of the alignment \(alignment)"
        case .overlappingTensors(_, let t, let other):
            return "has tensor '\(t)' overlapping the bytes of tensor '\(other)'"
        }
    }

    public var description: String { "\(path): \(reason)" }
}

/// A short symbolic name for common errno values, with the number for the rest.
func errnoName(_ e: Int32) -> String {
    switch e {
    case 1: return "EPERM, operation not permitted"
    case 2: return "ENOENT, no such file or directory"
    case 12: return "ENOMEM, out of memory"
    case 13: return "EACCES, permission denied"
    case 19: return "ENODEV, mapping not supported"
    case 21: return "EISDIR, is a directory"
    case 24: return "EMFILE, too many open files"
    default: return "errno \(e)"
    }
}
