// libFuzzer target: the safetensors header parser and validation, then the whole reader on the
// same bytes. Any accepted file must have byte ranges that tile the data section exactly, and
// every tensor it lists must load with as many values as its shape says.
// modules: Checkpoint
// max_len: 16384
@testable import Checkpoint

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let buffer = UnsafeRawBufferPointer(start: data, count: size)
    do {
        let header = try SafeTensorsReader.parse(buffer, path: "fuzz.safetensors")
        var expected = 0
        for (entry, range) in zip(header.entries, header.byteRanges) {
            precondition(range.lowerBound == expected, "byte ranges do not tile")
            precondition(entry.parameterCount * entry.dtype.byteSize == range.count, "size and range disagree")
            expected = range.upperBound
        }
        precondition(header.dataStart + expected == size, "data section not covered")
    } catch {
        precondition(error.description.hasPrefix("fuzz.safetensors: "))
        return 0
    }
    let file = MappedFile(borrowing: buffer)
    guard let checkpoint = try? CheckpointFile.open(path: "fuzz.safetensors", file: file) else {
        preconditionFailure("parse accepted what open refused")
    }
    for entry in checkpoint.entries {
        guard let tensor = try? checkpoint.loadTensor(entry.name) else { preconditionFailure("listed tensor does not load") }
        precondition(tensor.values.count == checkpoint.entry(named: entry.name)!.parameterCount)
    }
    return 0
}
