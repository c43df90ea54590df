import Foundation

/// Builds pickle byte streams and torch container files for hostile-input tests.
struct PickleWriter {
    var bytes: [UInt8] = []

    mutating func op(_ b: UInt8) { bytes.append(b) }
    mutating func proto(_ p: UInt8 = 2) { bytes += [0x80, p] }
    mutating func mark() { op(0x28) }
    mutating func stop() { op(0x2E) }
    mutating func global(_ module: String, _ name: String) { op(0x63); bytes += Array("\(module)\n\(name)\n".utf8) }
    mutating func string(_ s: String) {
        let u = Array(s.utf8)
        op(0x58)
        bytes += le32(UInt32(u.count)) + u
    }
    mutating func int(_ v: Int32) { op(0x4A); bytes += le32(UInt32(bitPattern: v)) }
    mutating func tuple(_ body: (inout PickleWriter) -> Void) { mark(); body(&self); op(0x74) }
    mutating func emptyDict() { op(0x7D) }
    mutating func emptyTuple() { op(0x29) }
    mutating func setItem() { op(0x73) }
    mutating func reduce() { op(0x52) }
    mutating func binpersid() { op(0x51) }
    mutating func newFalse() { op(0x89) }

    /// `_rebuild_tensor_v2(('storage', FloatStorage, key, 'cpu', numel), offset, size, stride, False, OrderedDict())`.
    mutating func tensor(key: String, numel: Int32, offset: Int32, size: [Int32], stride: [Int32], storageClass: String = "FloatStorage") {
        global("torch._utils", "_rebuild_tensor_v2")
        tuple { p in
            p.tuple { q in
                q.string("storage"); q.global("torch", storageClass); q.string(key); q.string("cpu"); q.int(numel)
            }
            p.binpersid()
            p.int(offset)
            p.tuple { q in for s in size { q.int(s) } }
            p.tuple { q in for s in stride { q.int(s) } }
            p.newFalse()
            p.global("collections", "OrderedDict"); p.emptyTuple(); p.reduce()
        }
        reduce()
    }

    /// A pickle of `{name: tensor}` pairs.
    static func stateDict(_ tensors: [(name: String, key: String, numel: Int32, offset: Int32, size: [Int32], stride: [Int32])]) -> [UInt8] {
        var p = PickleWriter()
        p.proto()
        p.emptyDict()
        for t in tensors {
            p.string(t.name)
            p.tensor(key: t.key, numel: t.numel, offset: t.offset, size: t.size, stride: t.stride)
            p.setItem()
        }
        p.stop()
        return p.bytes
    }
}

func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * UInt32($0))) & 0xFF) } }
func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
func le64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8((v >> (8 * UInt64($0))) & 0xFF) } }

/// torch legacy file: magic, protocol, sys-info, `main`, key list, then storages (count + bytes).
func legacyFile(main: [UInt8], storages: [(key: String, count: Int64, bytes: [UInt8])]) -> [UInt8] {
    var out: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E]
    out += [0x80, 0x02, 0x4D, 0xE9, 0x03, 0x2E]  // 1001
    out += [0x80, 0x02, 0x7D, 0x2E]  // {}
    out += main
    var keys = PickleWriter()
    keys.proto()
    keys.op(0x5D)
    keys.mark()
    for s in storages { keys.string(s.key) }
    keys.op(0x65)
    keys.stop()
    out += keys.bytes
    for s in storages { out += le64(UInt64(bitPattern: s.count)) + s.bytes }
    return out
}

/// A STORED zip written the way torch writes it (zero sizes in local headers, sizes in the central directory).
struct ZipEntrySpec {
    var name: String
    var data: [UInt8]
    var method: UInt16 = 0
    var lieSize: UInt32? = nil
    var lieOffset: UInt32? = nil
}

func zipFile(_ entries: [ZipEntrySpec], lieCount: UInt16? = nil, lieCDOffset: UInt32? = nil) -> [UInt8] {
    var out: [UInt8] = []
    var central: [UInt8] = []
    for e in entries {
        let offset = UInt32(out.count)
        let name = Array(e.name.utf8)
        out += le32(0x0403_4B50) + le16(20) + le16(0x0808) + le16(e.method) + le16(0) + le16(0)
        out += le32(0) + le32(0) + le32(0) + le16(UInt16(name.count)) + le16(0) + name + e.data
        let size = e.lieSize ?? UInt32(e.data.count)
        central += le32(0x0201_4B50) + le16(20) + le16(20) + le16(0x0808) + le16(e.method) + le16(0) + le16(0)
        central += le32(0) + le32(size) + le32(size) + le16(UInt16(name.count)) + le16(0) + le16(0)
        central += le16(0) + le16(0) + le32(0) + le32(e.lieOffset ?? offset) + name
    }
    let cdOffset = UInt32(out.count)
    out += central
    let count = lieCount ?? UInt16(entries.count)
    out += le32(0x0605_4B50) + le16(0) + le16(0) + le16(count) + le16(count)
    out += le32(UInt32(central.count)) + le32(lieCDOffset ?? cdOffset) + le16(0)
    return out
}
