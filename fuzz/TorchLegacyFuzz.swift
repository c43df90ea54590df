// libFuzzer target: PyTorch's legacy container (five pickles back to back, then the storages as
// count + raw elements), then every tensor it lists is loaded.
// modules: Checkpoint
// max_len: 16384
@testable import Checkpoint

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTorchLegacy(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let buffer = UnsafeRawBufferPointer(start: data, count: size)
    let file = MappedFile(borrowing: buffer)
    do {
        let checkpoint = try TorchLegacyReader.open(path: "fuzz.pth", file: file)
        for entry in checkpoint.entries {
            guard let tensor = try? checkpoint.loadTensor(entry.name) else { preconditionFailure("listed tensor does not load") }
            precondition(tensor.values.count == checkpoint.entry(named: entry.name)!.parameterCount)
        }
    } catch {
        precondition(error.description.hasPrefix("fuzz.pth: "))
    }
    return 0
}
