import OrderedJSON

/// Sharded safetensors: `*.safetensors.index.json` maps each tensor key to a shard file in the
/// same folder; the shards open as one checkpoint.
enum ShardedSafeTensors {
    /// Index files are small (a key → file map); anything bigger is not an index.
    static let indexLimit = 64 << 20
    /// Upper bound on distinct shards, so a hostile index cannot make us map thousands of files.
    static let shardLimit = 4096

    static func open(indexPath: String) throws(CheckpointError) -> CheckpointFile {
        let indexFile = try MappedFile(path: indexPath)
        guard indexFile.count <= indexLimit else {
            throw .invalidShardIndex(path: indexPath, reason: "\(indexFile.count) bytes is larger than any index (limit \(indexLimit))")
        }
        let json: JSON
        do {
            json = try JSON.parse([UInt8](indexFile.bytes))
        } catch {
            throw .invalidShardIndex(path: indexPath, reason: "\(error)")
        }
        guard let weightMap = json["weight_map"]?.objectValue else {
            throw .invalidShardIndex(path: indexPath, reason: "there is no weight_map object")
        }
        var metadata: [(key: String, value: String)] = []
        if let m = json["metadata"]?.objectValue {
            for (k, v) in m { metadata.append((key: k, value: v.stringValue ?? v.serialized())) }
        }
        let folder: String = {
            guard let slash = indexPath.lastIndex(of: "/") else { return "" }
            return String(indexPath[...slash])
        }()
        // Shards in order of first mention; the keys each one must provide.
        var shardNames: [String] = []
        var keysByShard: [String: Set<String>] = [:]
        for (key, value) in weightMap {
            guard let shard = value.stringValue else {
                throw .invalidShardIndex(path: indexPath, reason: "weight_map value for '\(key)' is not a file name")
            }
            guard !shard.isEmpty, !shard.contains("/"), !shard.contains("\\"), shard != ".", shard != ".." else {
                throw .invalidShardIndex(path: indexPath, reason: "shard name '\(shard)' is not a plain file name in the index's folder")
            }
            if keysByShard[shard] == nil {
                shardNames.append(shard)
                guard shardNames.count <= shardLimit else {
                    throw .invalidShardIndex(path: indexPath, reason: "more than \(shardLimit) shards")
                }
                keysByShard[shard] = []
            }
            keysByShard[shard]!.insert(key)
        }
        guard !shardNames.isEmpty else {
            throw .invalidShardIndex(path: indexPath, reason: "weight_map is empty")
        }
        var entries: [TensorEntry] = []
        var sources: [TensorSource] = []
        var regions: [MappedFile] = []
        for shard in shardNames {
            let shardPath = folder + shard
            let file = try MappedFile(path: shardPath)
            let header = try SafeTensorsReader.parse(file.bytes, path: shardPath)
            let wanted = keysByShard[shard]!
            var found = 0
            for (entry, range) in zip(header.entries, header.byteRanges) where wanted.contains(entry.name) {
                entries.append(entry)
                sources.append(TensorSource(region: regions.count, storageByteOffset: header.dataStart + range.lowerBound,
                                            storageCount: entry.parameterCount, dtype: entry.dtype,
                                            elementOffset: 0, strides: nil))
                found += 1
            }
            if found != wanted.count {
                let have = Set(header.entries.map(\.name))
                let missing = wanted.subtracting(have).sorted().first ?? "?"
                throw .invalidShardIndex(path: indexPath, reason: "shard \(shard) has no tensor '\(missing)'")
            }
            regions.append(file)
        }
        return CheckpointFile(path: indexPath, format: .shardedSafetensors, entries: entries, sources: sources,
                              metadata: metadata, regions: regions)
    }
}
