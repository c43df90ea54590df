import TensorCore

/// An opened checkpoint: its tensor list and lazy, converting access to each tensor's values.
///
/// Opening maps the file(s) and parses only the header or pickle, so it is cheap even for a
/// 7 GB file; tensor bytes are paged in by `loadTensor`. Immutable, so safe to share.
public final class CheckpointFile: Sendable {
    /// The path that was opened (the index file for sharded checkpoints).
    public let path: String
    /// The container the file was read from.
    public let format: CheckpointFormat
    /// Tensors in file order: data-offset order for safetensors, pickle order for torch files.
    public let entries: [TensorEntry]
    /// safetensors `__metadata__` pairs in header order; empty for other formats.
    public let metadata: [(key: String, value: String)]

    let sources: [TensorSource]
    let regions: [MappedFile]
    let indexByName: [String: Int]

    init(path: String, format: CheckpointFormat, entries: [TensorEntry], sources: [TensorSource],
         metadata: [(key: String, value: String)], regions: [MappedFile]) {
        self.path = path
        self.format = format
        self.entries = entries
        self.sources = sources
        self.metadata = metadata
        self.regions = regions
        var index: [String: Int] = [:]
        index.reserveCapacity(entries.count)
        for (i, e) in entries.enumerated() where index[e.name] == nil { index[e.name] = i }
        self.indexByName = index
    }

    /// Opens a checkpoint, detecting the container from its bytes (and `.index.json` suffix).
    ///
    /// Supported: safetensors (`.safetensors`, `.sft`, any name), sharded safetensors
    /// (`*.safetensors.index.json`), torch zip and torch legacy (`.pt`, `.pth`, `.ckpt`, `.bin`),
    /// GGUF v2/v3 (`GGUFReader`) and diffusers model folders (`DiffusersFolder`).
    public static func open(path: String) throws(CheckpointError) -> CheckpointFile {
        if let weights = DiffusersFolder.weightsFile(in: path) { return try open(path: weights) }
        if path.hasSuffix(".index.json") {
            return try ShardedSafeTensors.open(indexPath: path)
        }
        return try open(path: path, file: MappedFile(path: path))
    }

    /// Opens the container in `file` (already mapped, or borrowed bytes), sniffed from its bytes;
    /// `path` names it in errors and picks the safetensors reader for a `.safetensors` name.
    static func open(path: String, file: MappedFile) throws(CheckpointError) -> CheckpointFile {
        let bytes = file.bytes
        // Sniff the container. A safetensors header length can start with any byte (even 0x80,
        // like a pickle), so its '{' at offset 8 is checked before the pickle signature.
        if bytes.count >= 4, bytes[0] == 0x50, bytes[1] == 0x4B, bytes[2] == 0x03 || bytes[2] == 0x05 {
            return try TorchZipReader.open(path: path, file: file)
        }
        // Before the safetensors test: a GGUF's byte 8 is its tensor count, 123 reads as '{'.
        if bytes.count >= 4, bytes[0] == 0x47, bytes[1] == 0x47, bytes[2] == 0x55, bytes[3] == 0x46 {
            return try GGUFReader.open(path: path, file: file)
        }
        if bytes.count >= 9, bytes[8] == UInt8(ascii: "{") {
            return try SafeTensorsReader.open(path: path, file: file)
        }
        if bytes.count >= 2, bytes[0] == 0x80, (2...5).contains(bytes[1]) {
            return try TorchLegacyReader.open(path: path, file: file)
        }
        let lower = path.lowercased()
        if lower.hasSuffix(".gguf") { return try GGUFReader.open(path: path, file: file) }
        if lower.hasSuffix(".safetensors") || lower.hasSuffix(".sft") {
            // Let the safetensors parser say precisely what is wrong (truncation, header length…).
            return try SafeTensorsReader.open(path: path, file: file)
        }
        if bytes.isEmpty { throw .unrecognizedFormat(path: path, reason: "the file is empty") }
        throw .unrecognizedFormat(path: path, reason: "it starts with neither a zip signature, a pickle, a GGUF magic nor a safetensors header")
    }

    /// The entry with this exact key, if any.
    public func entry(named name: String) -> TensorEntry? {
        indexByName[name].map { entries[$0] }
    }

    /// Reads a tensor and converts it to row-major Float32, honouring storage offset and strides.
    ///
    /// Integer and bool tensors convert to their numeric values; GGUF block-quantized tensors are
    /// dequantized exactly as gguf-py does (`GGMLType.dequantizable`), other GGML types throw
    /// `.unsupportedGGMLType`.
    public func loadTensor(_ name: String) throws(CheckpointError) -> Tensor {
        guard let i = indexByName[name] else { throw .tensorNotFound(path: path, name: name) }
        let entry = entries[i]
        let source = sources[i]
        let region = regions[source.region]
        let count = entry.parameterCount
        if let q = source.quantization, !q.isReadable {
            throw .unsupportedGGMLType(path: path, tensor: name, type: q.name)
        }
        if count == 0 { return Tensor(shape: entry.shape, values: []) }
        // Validated at open time: the storage lies inside the mapping, the view inside the storage.
        let storage = region.base! + source.storageByteOffset
        if let q = source.quantization {
            let values = dequantizeGGML(storage, type: q, count: count)
            return withExtendedLifetime(region) { Tensor(shape: entry.shape, values: values) }
        }
        let values = gatherView(storage, dtype: source.dtype, shape: entry.shape, strides: source.strides,
                                offset: source.elementOffset)
        return withExtendedLifetime(region) { Tensor(shape: entry.shape, values: values) }
    }
}
