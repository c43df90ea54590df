// libFuzzer target: the sharded-safetensors index (`*.safetensors.index.json`). The input is the
// index; it sits in a folder with two valid shards, `a.safetensors` (tensors `x`, `y`) and
// `b.safetensors` (tensor `z`), so both the index checks and the shard opening are reached.
// Every accepted index must list only tensors its shards hold, and each must load.
// modules: Checkpoint
// max_len: 16384
import Foundation
@testable import Checkpoint

let folder: String = {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("shardfuzz-\(getpid())").path
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    func safetensors(_ header: String, _ data: [UInt8]) -> Data {
        var h = Array(header.utf8)
        while h.count % 8 != 0 { h.append(0x20) }
        var n = UInt64(h.count).littleEndian
        return Data(bytes: &n, count: 8) + Data(h) + Data(data)
    }
    let a = safetensors(#"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"F16","shape":[1],"data_offsets":[8,10]}}"#,
                        [0, 0, 0x80, 0x3F, 0, 0, 0, 0x40, 0, 0x3C])
    let b = safetensors(#"{"__metadata__":{"format":"pt"},"z":{"dtype":"BF16","shape":[2,1],"data_offsets":[0,4]}}"#,
                        [0x80, 0x3F, 0x00, 0xC0])
    FileManager.default.createFile(atPath: dir + "/a.safetensors", contents: a)
    FileManager.default.createFile(atPath: dir + "/b.safetensors", contents: b)
    atexit { try? FileManager.default.removeItem(atPath: folder) }
    return dir
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzShardedIndex(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let index = folder + "/model.safetensors.index.json"
    // Plain write(2): FileManager's atomic write (temporary file + rename) costs ten times more.
    let fd = open(index, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    precondition(fd >= 0 && (size == 0 || write(fd, data, size) == size), "cannot write the index")
    close(fd)
    do {
        let checkpoint = try CheckpointFile.open(path: index)
        precondition(checkpoint.format == .shardedSafetensors)
        for entry in checkpoint.entries {
            precondition(["x", "y", "z"].contains(entry.name))
            guard let tensor = try? checkpoint.loadTensor(entry.name) else { preconditionFailure("listed tensor does not load") }
            precondition(tensor.values.count == entry.parameterCount)
        }
    } catch {
        precondition(error.description.hasPrefix(folder))
    }
    return 0
}
