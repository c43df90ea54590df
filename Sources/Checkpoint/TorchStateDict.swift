import TensorCore

/// Turns an unpickled torch object graph into named tensors.
///
/// Follows ComfyUI's convention: a top-level dict with a `state_dict` dict (Lightning) uses that;
/// otherwise the top-level dict itself. Nested dicts of tensors are flattened with `.` joins.
enum TorchStateDict {
    /// How deep nested dicts are followed when flattening.
    static let maxDepth = 16

    /// (key, tensor index) pairs in pickle order.
    static func namedTensors(_ root: PickleValue, machine: PickleMachine, path: String) throws(CheckpointError) -> [(String, Int)] {
        guard case .dict(let top)? = machine.node(root) else {
            if case .tensor(let t) = root { return [("tensor", t)] }
            throw .noTensors(path: path)
        }
        var start = top
        for (k, v) in top {
            if case .string("state_dict") = k, case .dict(let d)? = machine.node(v) { start = d; break }
        }
        var out: [(String, Int)] = []
        var seen = Set<String>()
        // Each dict is walked once: a dict that contains itself (or shares children) must not
        // make the walk exponential.
        var visited = Set<Int>()
        if case .ref(let r) = root { visited.insert(r) }
        func walk(_ items: [(key: PickleValue, value: PickleValue)], prefix: String, depth: Int) {
            for (k, v) in items {
                let name: String
                switch k {
                case .string(let s): name = s
                case .int(let i): name = String(i)
                default: continue
                }
                let full = prefix + name
                switch v {
                case .tensor(let t):
                    if seen.insert(full).inserted { out.append((full, t)) }
                case .ref(let r):
                    if depth < maxDepth, visited.insert(r).inserted, case .dict(let d)? = machine.node(v) {
                        walk(d, prefix: full + ".", depth: depth + 1)
                    }
                default:
                    break
                }
            }
        }
        walk(start, prefix: "", depth: 0)
        if out.isEmpty { throw .noTensors(path: path) }
        return out
    }

    /// Builds entries and sources once each storage's location in the file is known.
    ///
    /// - Parameter storageLocation: storage index → (byte offset in the region, element count present).
    static func build(path: String, format: CheckpointFormat, named: [(String, Int)], machine: PickleMachine,
                      storageLocation: [Int: (byteOffset: Int, count: Int)], file: MappedFile) throws(CheckpointError) -> CheckpointFile {
        var entries: [TensorEntry] = []
        var sources: [TensorSource] = []
        entries.reserveCapacity(named.count)
        sources.reserveCapacity(named.count)
        for (name, t) in named {
            let ref = machine.tensors[t]
            let storage = machine.storages[ref.storage]
            guard let loc = storageLocation[ref.storage] else {
                throw .storageOutOfRange(path: path, tensor: name, reason: "storage '\(storage.key)' is not in the file")
            }
            let strides = try validateView(path: path, tensor: name, shape: ref.shape, strides: ref.strides,
                                           offset: ref.offset, storageCount: loc.count)
            entries.append(TensorEntry(name: name, dtype: storage.dtype, shape: ref.shape))
            sources.append(TensorSource(region: 0, storageByteOffset: loc.byteOffset, storageCount: loc.count,
                                        dtype: storage.dtype, elementOffset: ref.offset, strides: strides))
        }
        return CheckpointFile(path: path, format: format, entries: entries, sources: sources, metadata: [], regions: [file])
    }
}
