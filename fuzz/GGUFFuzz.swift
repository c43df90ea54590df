// libFuzzer target: the GGUF reader (magic, version, counts, key/value pairs of every value type
// and nested arrays, tensor infos, general.alignment, ComfyUI-GGUF's comfy.gguf.orig_shape.*,
// placement checks), then every tensor the file lists is loaded: plain types converted, the
// block-quantized types dequantized, the others refused with unsupportedGGMLType. An accepted
// file is written again with GGUFWriter (same tensors, fresh layout) and must read back with the
// same shapes and bit-identical values.
// modules: Checkpoint
// max_len: 16384
@testable import Checkpoint

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGGUF(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let buffer = UnsafeRawBufferPointer(start: data, count: size)
    let header: GGUFReader.Header
    do {
        header = try GGUFReader.parse(buffer, path: "fuzz.gguf")
    } catch {
        precondition(error.description.hasPrefix("fuzz.gguf: "))
        return 0
    }
    checkHeader(header, size: size)
    let file = MappedFile(borrowing: buffer)
    guard let checkpoint = try? CheckpointFile.open(path: "fuzz.gguf", file: file) else {
        preconditionFailure("parse accepted what open refused")
    }
    precondition(checkpoint.entries.count == header.tensors.count)
    var loaded: [[Float]?] = []
    for (entry, info) in zip(checkpoint.entries, header.tensors) {
        precondition(entry.name == info.name && entry.shape == info.shape && entry.parameterCount == info.elementCount)
        do {
            let tensor = try checkpoint.loadTensor(entry.name)
            precondition(info.type.isReadable, "\(info.type.name) loaded")
            precondition(tensor.values.count == info.elementCount, "wrong value count")
            loaded.append(tensor.values)
        } catch {
            guard case .unsupportedGGMLType = error, !info.type.isReadable else { preconditionFailure("\(error)") }
            loaded.append(nil)
        }
    }
    rewriteAndCompare(header, buffer, loaded)
    return 0
}

/// What validation promises about an accepted header.
func checkHeader(_ h: GGUFReader.Header, size: Int) {
    precondition(h.version == 2 || h.version == 3)
    precondition(h.alignment > 0 && h.alignment & (h.alignment - 1) == 0)
    precondition(h.dataStart % h.alignment == 0)
    precondition(Set(h.fields.map(\.key)).count == h.fields.count, "duplicate key accepted")
    precondition(Set(h.tensors.map(\.name)).count == h.tensors.count, "duplicate tensor accepted")
    var spans: [Range<Int>] = []
    for t in h.tensors {
        precondition(t.storedDimensions.count <= GGUFReader.dimensionLimit)
        precondition(t.storedDimensions.reduce(1, *) == t.elementCount && t.shape.reduce(1, *) == t.elementCount)
        let (block, bytes) = t.type.blockGeometry
        precondition(t.elementCount % block == 0 && t.elementCount / block * bytes == t.byteCount)
        precondition(t.fileOffset >= h.dataStart && (t.fileOffset - h.dataStart) % h.alignment == 0)
        precondition(t.fileOffset + t.byteCount <= size, "tensor data past the end")
        if t.byteCount > 0 { spans.append(t.fileOffset..<(t.fileOffset + t.byteCount)) }
    }
    spans.sort { $0.lowerBound < $1.lowerBound }
    for (a, b) in zip(spans, spans.dropFirst()) { precondition(a.upperBound <= b.lowerBound, "tensors overlap") }
}

/// Writes the accepted tensors with GGUFWriter (its own offsets and alignment, the data bytes
/// copied as stored) and checks that the reader gives back the same shapes and the same bits.
func rewriteAndCompare(_ h: GGUFReader.Header, _ source: UnsafeRawBufferPointer, _ loaded: [[Float]?]) {
    let tensors = h.tensors.map { GGUFWriter.Tensor(name: $0.name, shape: $0.storedDimensions.reversed(), type: $0.type) }
    let (head, offsets) = GGUFWriter.header(metadata: [], tensors: tensors)
    var bytes = head
    for (t, offset) in zip(h.tensors, offsets) {
        bytes += [UInt8](repeating: 0, count: head.count + offset - bytes.count)
        bytes += source[t.fileOffset..<(t.fileOffset + t.byteCount)]
    }
    bytes.withUnsafeBytes { copy in
        guard let again = try? CheckpointFile.open(path: "rewritten.gguf", file: MappedFile(borrowing: copy)) else {
            preconditionFailure("GGUFWriter's file does not read back")
        }
        for (i, t) in h.tensors.enumerated() {
            let e = again.entries[i]
            precondition(e.name == t.name && e.shape == t.storedDimensions.reversed())
            guard let before = loaded[i], let after = try? again.loadTensor(t.name) else { continue }
            precondition(before.map(\.bitPattern) == after.values.map(\.bitPattern), "values differ after rewriting")
        }
    }
}
