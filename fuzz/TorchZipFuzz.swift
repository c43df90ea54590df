// libFuzzer target: the torch zip reader (end record, zip64 locator, central directory, local
// headers, the data.pkl pickle and the storage records), then every tensor it lists is loaded.
// modules: Checkpoint
// max_len: 32768
@testable import Checkpoint

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTorchZip(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let buffer = UnsafeRawBufferPointer(start: data, count: size)
    if let entries = try? TorchZipReader.centralDirectory(buffer, path: "fuzz.pt") {
        for e in entries {
            precondition(!e.name.hasPrefix("/") && !e.name.split(separator: "/").contains(".."))
            if let r = try? TorchZipReader.recordRange(e, buffer, path: "fuzz.pt") { precondition(r.upperBound <= size) }
        }
    }
    let file = MappedFile(borrowing: buffer)
    do {
        let checkpoint = try TorchZipReader.open(path: "fuzz.pt", file: file)
        loadAll(checkpoint)
    } catch {
        precondition(error.description.hasPrefix("fuzz.pt: "))
    }
    return 0
}

/// Loads every tensor; a listed tensor that fails to load is a reader bug.
func loadAll(_ checkpoint: CheckpointFile) {
    for entry in checkpoint.entries {
        guard let tensor = try? checkpoint.loadTensor(entry.name) else { preconditionFailure("listed tensor does not load") }
        precondition(tensor.values.count == checkpoint.entry(named: entry.name)!.parameterCount)
    }
}
