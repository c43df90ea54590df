/// PyTorch's legacy (pre-zip) serialization: five pickles back to back — magic number, protocol
/// version, sys-info, the object graph, the storage key list — then every storage in key-list
/// order as an int64 little-endian element count followed by the raw little-endian elements.
enum TorchLegacyReader {
    /// 0x1950a86a20f9469cfc6c as little-endian bytes (how LONG1 carries it).
    static let magic: [UInt8] = [0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]

    static func open(path: String, file: MappedFile) throws(CheckpointError) -> CheckpointFile {
        let bytes = file.bytes
        var machine = PickleMachine(path: path)
        let (magicValue, p1) = try machine.run(bytes, from: 0)
        guard case .bigInt(let m) = magicValue, m == magic else {
            throw .unrecognizedFormat(path: path, reason: "the first pickle is not the torch magic number")
        }
        let (protocolValue, p2) = try machine.run(bytes, from: p1)
        guard case .int(let proto) = protocolValue, proto == 1001 else {
            throw .unrecognizedFormat(path: path, reason: "unsupported torch legacy protocol \(protocolValue)")
        }
        let (sysInfo, p3) = try machine.run(bytes, from: p2)
        if case .dict(let d)? = machine.node(sysInfo) {
            for (k, v) in d {
                if case .string("little_endian") = k, case .bool(false) = v {
                    throw .unrecognizedFormat(path: path, reason: "big-endian torch files are not supported")
                }
            }
        }
        let (root, p4) = try machine.run(bytes, from: p3)
        let (keysValue, p5) = try machine.run(bytes, from: p4)
        guard case .list(let keyList)? = machine.node(keysValue) else {
            throw .invalidPickle(path: path, offset: p4, reason: "the storage key list is not a list")
        }
        var storageByKey: [String: Int] = [:]
        for (i, s) in machine.storages.enumerated() { storageByKey[s.key] = i }

        // Walk the storages: each is count (int64) + count × element size bytes.
        var location: [Int: (byteOffset: Int, count: Int)] = [:]
        var pos = p5
        for keyValue in keyList {
            let key: String
            switch keyValue {
            case .string(let s): key = s
            case .int(let i): key = String(i)
            default: throw .invalidPickle(path: path, offset: p4, reason: "a storage key is not a string")
            }
            guard let index = storageByKey[key] else {
                throw .invalidPickle(path: path, offset: p4, reason: "storage '\(key)' is listed but never used, so its element size is unknown")
            }
            guard bytes.count - pos >= 8 else {
                throw .truncated(path: path, section: "storage '\(key)' size", needed: UInt64(pos + 8), available: UInt64(bytes.count))
            }
            let count = Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: pos, as: Int64.self))
            pos += 8
            let elementSize = machine.storages[index].dtype.byteSize
            guard count >= 0 else {
                throw .invalidPickle(path: path, offset: pos - 8, reason: "storage '\(key)' has negative size \(count)")
            }
            let (byteCount, overflow) = Int(count).multipliedReportingOverflow(by: elementSize)
            guard !overflow, byteCount <= bytes.count - pos else {
                throw .truncated(path: path, section: "storage '\(key)' data", needed: UInt64(pos) &+ UInt64(truncatingIfNeeded: byteCount),
                                 available: UInt64(bytes.count))
            }
            if location[index] == nil { location[index] = (byteOffset: pos, count: Int(count)) }
            pos += byteCount
        }
        let named = try TorchStateDict.namedTensors(root, machine: machine, path: path)
        return try TorchStateDict.build(path: path, format: .torchLegacy, named: named, machine: machine,
                                        storageLocation: location, file: file)
    }
}
