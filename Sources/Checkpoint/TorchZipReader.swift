/// PyTorch ≥ 1.6 zip serialization: `<prefix>/data.pkl` plus one STORED record per storage
/// (`<prefix>/data/<key>`), found through the central directory.
///
/// Torch writes local headers with zero sizes and data descriptors, so sizes come only from the
/// central directory; zip64 records are followed when present. Only STORED records are read —
/// torch never compresses — so compressed entries (and with them zip bombs) are refused.
enum TorchZipReader {
    /// Central directory entry, the fields we use.
    struct Entry {
        var name: String
        var method: UInt16
        var compressedSize: UInt64
        var size: UInt64
        var localHeaderOffset: UInt64
    }

    /// Bound on central-directory entries; real checkpoints have one per storage plus a few.
    static let maxEntries = 1_000_000

    static func open(path: String, file: MappedFile) throws(CheckpointError) -> CheckpointFile {
        let bytes = file.bytes
        let entries = try centralDirectory(bytes, path: path)
        var byName: [String: Entry] = [:]
        var pickleNames: [String] = []
        for e in entries {
            if e.name.hasSuffix("data.pkl"), e.name == "data.pkl" || e.name.hasSuffix("/data.pkl") {
                pickleNames.append(e.name)
            }
            byName[e.name] = e
        }
        guard pickleNames.count == 1, let pickleName = pickleNames.first else {
            throw .invalidZip(path: path, reason: pickleNames.isEmpty ? "there is no data.pkl record"
                                                                      : "there are \(pickleNames.count) data.pkl records")
        }
        let prefix = String(pickleName.dropLast("data.pkl".count))
        if let order = byName[prefix + "byteorder"] {
            let r = try recordRange(order, bytes, path: path)
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[r]), as: UTF8.self)
            if text.hasPrefix("big") { throw .invalidZip(path: path, reason: "big-endian records are not supported") }
        }
        let pickleRange = try recordRange(byName[pickleName]!, bytes, path: path)
        var machine = PickleMachine(path: path)
        let pickleBytes = UnsafeRawBufferPointer(rebasing: bytes[pickleRange])
        // Pickle errors report offsets inside data.pkl.
        let (root, _) = try machine.run(pickleBytes, from: 0)
        var location: [Int: (byteOffset: Int, count: Int)] = [:]
        for (i, storage) in machine.storages.enumerated() {
            guard let record = byName[prefix + "data/" + storage.key] else {
                throw .invalidZip(path: path, reason: "storage record data/\(storage.key) is missing")
            }
            let r = try recordRange(record, bytes, path: path)
            location[i] = (byteOffset: r.lowerBound, count: r.count / storage.dtype.byteSize)
        }
        let named = try TorchStateDict.namedTensors(root, machine: machine, path: path)
        return try TorchStateDict.build(path: path, format: .torchZip, named: named, machine: machine,
                                        storageLocation: location, file: file)
    }

    /// Byte range of a STORED record's data, located through its local header.
    static func recordRange(_ e: Entry, _ bytes: UnsafeRawBufferPointer, path: String) throws(CheckpointError) -> Range<Int> {
        guard e.method == 0 else {
            throw .invalidZip(path: path, reason: "record \(e.name) is compressed (method \(e.method)); torch records are always stored")
        }
        guard e.compressedSize == e.size else {
            throw .invalidZip(path: path, reason: "record \(e.name) is stored but its sizes differ")
        }
        let fileSize = UInt64(bytes.count)
        guard e.localHeaderOffset <= fileSize, fileSize - e.localHeaderOffset >= 30 else {
            throw .invalidZip(path: path, reason: "record \(e.name) has a local header offset \(e.localHeaderOffset) outside the file")
        }
        let h = Int(e.localHeaderOffset)
        guard u32(bytes, h) == 0x0403_4B50 else {
            throw .invalidZip(path: path, reason: "record \(e.name) has no local header at offset \(h)")
        }
        let start = UInt64(h) + 30 + UInt64(u16(bytes, h + 26)) + UInt64(u16(bytes, h + 28))
        guard start <= fileSize, e.size <= fileSize - start else {
            throw .invalidZip(path: path, reason: "record \(e.name) claims \(e.size) bytes past the end of the file")
        }
        return Int(start)..<Int(start + e.size)
    }

    /// Reads the central directory (zip64-aware). Names with `..`, absolute paths or NUL are refused.
    static func centralDirectory(_ bytes: UnsafeRawBufferPointer, path: String) throws(CheckpointError) -> [Entry] {
        let n = bytes.count
        guard n >= 22 else { throw .truncated(path: path, section: "zip end record", needed: 22, available: UInt64(n)) }
        // The end-of-central-directory record sits in the last 22 + 65535 bytes.
        var eocd = -1
        var i = n - 22
        let lowest = max(0, n - 22 - 65535)
        while i >= lowest {
            if u32(bytes, i) == 0x0605_4B50 { eocd = i; break }
            i -= 1
        }
        guard eocd >= 0 else { throw .invalidZip(path: path, reason: "there is no end-of-central-directory record") }
        var count = UInt64(u16(bytes, eocd + 10))
        var cdSize = UInt64(u32(bytes, eocd + 12))
        var cdOffset = UInt64(u32(bytes, eocd + 16))
        // zip64 locator right before the EOCD.
        if eocd >= 20, u32(bytes, eocd - 20) == 0x0706_4B50 {
            let recordOffset = u64(bytes, eocd - 20 + 8)
            guard recordOffset <= UInt64(n), UInt64(n) - recordOffset >= 56, u32(bytes, Int(recordOffset)) == 0x0606_4B50 else {
                throw .invalidZip(path: path, reason: "the zip64 locator points to no zip64 end record")
            }
            let r = Int(recordOffset)
            count = u64(bytes, r + 32)
            cdSize = u64(bytes, r + 40)
            cdOffset = u64(bytes, r + 48)
        }
        guard cdOffset <= UInt64(n), cdSize <= UInt64(n) - cdOffset else {
            throw .invalidZip(path: path, reason: "the central directory (offset \(cdOffset), \(cdSize) bytes) lies outside the file")
        }
        // Torch directories take about 100 bytes per record; 64 MB is far beyond any real one.
        guard cdSize <= 64 << 20 else {
            throw .invalidZip(path: path, reason: "the central directory is \(cdSize) bytes (limit \(64 << 20))")
        }
        guard count <= UInt64(maxEntries), count * 46 <= cdSize else {
            throw .invalidZip(path: path, reason: "the central directory claims \(count) entries in \(cdSize) bytes")
        }
        var entries: [Entry] = []
        entries.reserveCapacity(Int(count))
        var p = Int(cdOffset)
        let cdEnd = Int(cdOffset + cdSize)
        for _ in 0..<Int(count) {
            guard cdEnd - p >= 46, u32(bytes, p) == 0x0201_4B50 else {
                throw .invalidZip(path: path, reason: "central directory entry \(entries.count) is malformed")
            }
            let method = u16(bytes, p + 10)
            var compressed = UInt64(u32(bytes, p + 20))
            var size = UInt64(u32(bytes, p + 24))
            let nameLength = Int(u16(bytes, p + 28))
            let extraLength = Int(u16(bytes, p + 30))
            let commentLength = Int(u16(bytes, p + 32))
            var offset = UInt64(u32(bytes, p + 42))
            guard cdEnd - p - 46 >= nameLength + extraLength + commentLength else {
                throw .invalidZip(path: path, reason: "central directory entry \(entries.count) runs past the directory")
            }
            let nameBytes = UnsafeRawBufferPointer(rebasing: bytes[(p + 46)..<(p + 46 + nameLength)])
            guard let name = String(validating: nameBytes, as: UTF8.self) else {
                throw .invalidZip(path: path, reason: "an entry name is not UTF-8")
            }
            let components = name.split(separator: "/", omittingEmptySubsequences: false)
            guard !name.hasPrefix("/"), !name.contains("\\"), !name.contains("\0"),
                  !components.contains(where: { $0 == ".." }) else {
                throw .invalidZip(path: path, reason: "entry name '\(name)' escapes the archive folder")
            }
            // zip64 extra field: present values replace the 0xFFFFFFFF markers, in this order.
            var x = p + 46 + nameLength
            let xEnd = x + extraLength
            while xEnd - x >= 4 {
                let id = u16(bytes, x)
                let len = Int(u16(bytes, x + 2))
                guard xEnd - x - 4 >= len else { break }
                if id == 0x0001 {
                    var f = x + 4
                    let fEnd = f + len
                    if size == 0xFFFF_FFFF, fEnd - f >= 8 { size = u64(bytes, f); f += 8 }
                    if compressed == 0xFFFF_FFFF, fEnd - f >= 8 { compressed = u64(bytes, f); f += 8 }
                    if offset == 0xFFFF_FFFF, fEnd - f >= 8 { offset = u64(bytes, f); f += 8 }
                }
                x += 4 + len
            }
            entries.append(Entry(name: name, method: method, compressedSize: compressed, size: size, localHeaderOffset: offset))
            p += 46 + nameLength + extraLength + commentLength
        }
        return entries
    }

    @inline(__always) static func u16(_ b: UnsafeRawBufferPointer, _ o: Int) -> UInt16 {
        UInt16(littleEndian: b.loadUnaligned(fromByteOffset: o, as: UInt16.self))
    }
    @inline(__always) static func u32(_ b: UnsafeRawBufferPointer, _ o: Int) -> UInt32 {
        UInt32(littleEndian: b.loadUnaligned(fromByteOffset: o, as: UInt32.self))
    }
    @inline(__always) static func u64(_ b: UnsafeRawBufferPointer, _ o: Int) -> UInt64 {
        UInt64(littleEndian: b.loadUnaligned(fromByteOffset: o, as: UInt64.self))
    }
}
