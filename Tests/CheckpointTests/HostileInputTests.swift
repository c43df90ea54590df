import Foundation
import Testing
@testable import Checkpoint

/// Malformed and hostile files: every one must fail with a clear `CheckpointError` (never crash,
/// hang, read outside the file or execute pickle code).
@Suite struct HostileInputTests {
    static let okHeader = #"{"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F16","shape":[1,2],"data_offsets":[8,12]}}"#
    static var okSafetensors: [UInt8] { safetensorsBytes(header: okHeader, data: floatBytes([1, 2]) + [0, 0x3C, 0, 0xC0]) }

    @Test func validSmallSafetensors_reads() throws {
        let f = try CheckpointFile.open(path: writeTemporary(Self.okSafetensors, name: "ok.safetensors"))
        #expect(f.entries.map(\.name) == ["a", "b"])
        #expect(try f.loadTensor("a").values == [1, 2])
        #expect(try f.loadTensor("b").values == [1, -2])
        #expect(f.metadata.count == 1)
        #expect(throws: CheckpointError.tensorNotFound(path: f.path, name: "zz")) { try f.loadTensor("zz") }
    }

    @Test func safetensorsTruncatedAtEveryByte_fails() {
        let full = Self.okSafetensors
        for n in 0..<full.count {
            let path = writeTemporary(Array(full.prefix(n)), name: "t.safetensors")
            #expect(openError(path) != nil, "prefix \(n) opened")
        }
    }

    static let badHeaders: [(String, String)] = [
        (#"{"a":{"dtype":"F99","shape":[2],"data_offsets":[0,8]}}"#, "unknown dtype"),
        (#"{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, "dimension"),
        (#"{"a":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}}"#, "overflow"),
        (#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, "need"),
        (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, "gap or overlap"),
        (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, "gap or overlap"),
        (#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, "cover"),
        (#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, "truncated"),
        (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#, "before begin"),
        (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}}"#, "data_offsets"),
        (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}}"#, "unexpected field"),
        (#"{"a":{"dtype":"F32","shape":"2","data_offsets":[0,8]}}"#, "shape"),
        (#"{"a":7}"#, "not an object"),
        (#"{"__metadata__":{"k":1},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, "__metadata__"),
        (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}"#, "JSON"),
        (#"["a"]"#, "start"),
        (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,18446744073709551615]}}"#, "data_offsets"),
    ]

    @Test(arguments: badHeaders)
    func safetensorsBadHeader_isRejectedWithReason(header: String, fragment: String) {
        let path = writeTemporary(safetensorsBytes(header: header, data: floatBytes([1, 2])), name: "bad.safetensors")
        let error = openError(path)
        #expect(error != nil)
        #expect(error?.description.contains(fragment) ?? false, "\(error?.description ?? "no error") lacks '\(fragment)'")
        #expect(error?.description.hasPrefix(path + ": ") ?? false)
    }

    @Test func safetensorsLyingHeaderLength_isRejected() {
        var tooLarge = le64(200_000_000) + Array("{}".utf8)
        #expect(openError(writeTemporary(tooLarge, name: "x.safetensors")).map {
            if case .headerTooLarge = $0 { return true } else { return false } } == true)
        tooLarge = le64(1000) + Array("{}      ".utf8)
        #expect(openError(writeTemporary(tooLarge, name: "x.safetensors")).map {
            if case .truncated = $0 { return true } else { return false } } == true)
        let invalidUTF8 = le64(8) + [0x7B, 0xFF, 0xFE, 0x7D, 0x20, 0x20, 0x20, 0x20]
        #expect(openError(writeTemporary(invalidUTF8, name: "x.safetensors"))?.description.contains("UTF-8") == true)
    }

    @Test func safetensorsDeepJSON_isRejectedQuickly() {
        let deep = "{\"a\":" + String(repeating: "[", count: 200_000) + String(repeating: "]", count: 200_000) + "}"
        #expect(openError(writeTemporary(safetensorsBytes(header: deep, data: []), name: "deep.safetensors")) != nil)
    }

    @Test func fifoAndDevice_areRefusedWithoutBlocking() {
        let fifo = temporaryFolder() + "/pipe.safetensors"
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(openError(fifo) == .notARegularFile(path: fifo))
        #expect(openError("/dev/zero") == .notARegularFile(path: "/dev/zero"))
    }

    @Test func unknownBytes_andEmptyFile_areNotCheckpoints() {
        #expect(openError(writeTemporary(Array("hello world, not a model".utf8), name: "x.bin"))?.description.contains("not a safetensors, GGUF or PyTorch") == true)
        #expect(openError(writeTemporary([], name: "empty.pt")) != nil)
    }

    // MARK: torch legacy

    static func goodLegacy() -> [UInt8] {
        let main = PickleWriter.stateDict([("w", "k0", 6, 0, [2, 3], [3, 1]), ("t", "k0", 6, 1, [3, 2], [1, 2])])
        return legacyFile(main: main, storages: [("k0", 6, floatBytes([0, 1, 2, 3, 4, 5]))])
    }

    @Test func legacyHandBuilt_readsStridedViews() throws {
        let f = try CheckpointFile.open(path: writeTemporary(Self.goodLegacy(), name: "ok.pt"))
        #expect(f.format == .torchLegacy)
        #expect(try f.loadTensor("w").values == [0, 1, 2, 3, 4, 5])
        // Offset 1, size (3, 2), stride (1, 2): elements 1,3 / 2,4 / 3,5 — a transposed view.
        #expect(try f.loadTensor("t").values == [1, 3, 2, 4, 3, 5])
    }

    @Test func legacyTruncatedAtEveryByte_fails() throws {
        let full = try Data(contentsOf: URL(fileURLWithPath: fixture("lpips_v0.1_alex.pth")))
        // Every byte through the pickles (the first 1,600 bytes), then every 7th byte of the storages.
        for n in Array(0..<min(1_600, full.count)) + Array(stride(from: 1_600, to: full.count, by: 7)) {
            #expect(openError(writeTemporary(Array(full.prefix(n)), name: "t.pth")) != nil, "prefix \(n) opened")
        }
    }

    @Test func legacyLyingStorageCount_isRejected() {
        let main = PickleWriter.stateDict([("w", "k0", 2, 0, [2], [1])])
        let file = legacyFile(main: main, storages: [("k0", Int64.max / 2, floatBytes([1, 2]))])
        #expect(openError(writeTemporary(file, name: "x.pt")) != nil)
        let negative = legacyFile(main: main, storages: [("k0", -5, floatBytes([1, 2]))])
        #expect(openError(writeTemporary(negative, name: "x.pt")) != nil)
    }

    @Test func viewOutsideStorage_isRejected() {
        for (size, stride, offset): ([Int32], [Int32], Int32) in [([3], [1], 0), ([2], [1], 1), ([2, 2], [2, 2], 0), ([2], [-1], 1),
                                                                  ([65536, 65536, 65536, 65536], [1, 1, 1, 1], 0)] {
            let main = PickleWriter.stateDict([("w", "k0", 2, offset, size, stride)])
            let file = legacyFile(main: main, storages: [("k0", 2, floatBytes([1, 2]))])
            let error = openError(writeTemporary(file, name: "x.pt"))
            #expect(error != nil, "size \(size) stride \(stride) offset \(offset)")
        }
    }

    /// A view that repeats its storage's elements (stride 0): small ones load, as torch's expanded
    /// tensors do; a 2^17 × 2^17 view of one float (634 bytes of file) would have made loadTensor
    /// allocate 64 GB and abort the process. Found while writing the torch fuzz targets; the input
    /// is kept as fuzz/corpus/TorchZipFuzz/bad-huge-repeated-view.
    @Test func repeatedView_loadsWhenSmallAndIsRefusedWhenHuge() throws {
        let small = legacyFile(main: PickleWriter.stateDict([("w", "k0", 1, 0, [4, 3], [0, 0])]),
                               storages: [("k0", 1, floatBytes([2.5]))])
        let f = try CheckpointFile.open(path: writeTemporary(small, name: "ok.pt"))
        #expect(try f.loadTensor("w").values == [Float](repeating: 2.5, count: 12))
        let huge = legacyFile(main: PickleWriter.stateDict([("w", "k0", 1, 0, [1 << 17, 1 << 17], [0, 0])]),
                              storages: [("k0", 1, floatBytes([2.5]))])
        let error = openError(writeTemporary(huge, name: "huge.pt"))
        #expect(error?.description.contains("views that repeat elements are limited to 16777216") == true, "\(String(describing: error))")
        // At the cap exactly it still opens.
        let atCap = legacyFile(main: PickleWriter.stateDict([("w", "k0", 1, 0, [1 << 12, 1 << 12], [0, 0])]),
                               storages: [("k0", 1, floatBytes([2.5]))])
        #expect(openError(writeTemporary(atCap, name: "cap.pt")) == nil)
    }

    /// A main pickle that reaches `os.system` through one opcode family.
    static let maliciousPickles: [(String, [UInt8])] = {
        var cases: [(String, [UInt8])] = []
        var p = PickleWriter()
        p.proto(); p.global("os", "system"); p.tuple { $0.string("id") }; p.reduce(); p.stop()
        cases.append(("GLOBAL+REDUCE", p.bytes))
        p = PickleWriter()
        p.proto(4); p.string("os"); p.string("system"); p.op(0x93); p.tuple { $0.string("id") }; p.reduce(); p.stop()
        cases.append(("STACK_GLOBAL", p.bytes))
        p = PickleWriter()
        p.proto(0); p.mark(); p.string("id"); p.op(0x69); p.bytes += Array("os\nsystem\n".utf8); p.stop()
        cases.append(("INST", p.bytes))
        p = PickleWriter()
        p.proto(); p.mark(); p.global("subprocess", "Popen"); p.string("id"); p.op(0x6F); p.stop()
        cases.append(("OBJ", p.bytes))
        p = PickleWriter()
        p.proto(); p.global("builtins", "eval"); p.tuple { $0.string("1") }; p.op(0x81); p.stop()
        cases.append(("NEWOBJ", p.bytes))
        p = PickleWriter()
        p.proto(4); p.global("builtins", "exec"); p.emptyTuple(); p.emptyDict(); p.op(0x92); p.stop()
        cases.append(("NEWOBJ_EX", p.bytes))
        p = PickleWriter()
        p.proto(); p.global("collections", "OrderedDict"); p.emptyDict(); p.string("__setstate__"); p.global("os", "system"); p.setItem(); p.op(0x62); p.stop()
        cases.append(("BUILD", p.bytes))
        p = PickleWriter()
        p.proto(); p.global("collections", "OrderedDict"); p.emptyDict(); p.op(0x62); p.stop()
        cases.append(("BUILD on class", p.bytes))
        p = PickleWriter()
        p.proto(); p.op(0x82); p.op(1); p.tuple { $0.string("id") }; p.reduce(); p.stop()
        cases.append(("EXT1", p.bytes))
        p = PickleWriter()
        p.proto(); p.op(0x83); p.bytes += le16(300); p.stop()
        cases.append(("EXT2", p.bytes))
        p = PickleWriter()
        p.proto(); p.op(0x84); p.bytes += le32(70000); p.stop()
        cases.append(("EXT4", p.bytes))
        p = PickleWriter()
        p.proto(); p.global("torch", "load"); p.stop()
        cases.append(("torch.load", p.bytes))
        p = PickleWriter()
        p.proto(); p.global("torch.storage", "_load_from_bytes"); p.tuple { $0.string("x") }; p.reduce(); p.stop()
        cases.append(("_load_from_bytes", p.bytes))
        p = PickleWriter()
        p.proto(); p.op(0x50); p.bytes += Array("0\n".utf8); p.stop()
        cases.append(("PERSID text", p.bytes))
        return cases
    }()

    @Test(arguments: maliciousPickles.indices)
    func maliciousGlobal_isRefusedInLegacyAndZip(index: Int) throws {
        let (label, pickle) = Self.maliciousPickles[index]
        let legacy = openError(writeTemporary(legacyFile(main: pickle, storages: []), name: "evil.pt"))
        #expect(legacy != nil, "\(label) legacy")
        let zip = openError(writeTemporary(zipFile([ZipEntrySpec(name: "evil/data.pkl", data: pickle)]), name: "evil.ckpt"))
        #expect(zip != nil, "\(label) zip")
        if label.hasPrefix("GLOBAL") || label.hasPrefix("STACK") || label == "INST" {
            #expect(legacy?.description.contains("os.system") == true, "\(label): \(legacy?.description ?? "")")
            if case .forbiddenGlobal = zip {} else { Issue.record("\(label) zip: \(zip?.description ?? "")") }
        }
    }

    /// Resource bombs against the machine with small limits (the defaults are 50× larger and
    /// are exercised on the release binary by bench/checkpoint/run.sh).
    @Test func pickleResourceBombs_hitTheirLimits() {
        let limits = PickleMachine.Limits(maxStack: 5_000, maxMarkDepth: 100, maxMemo: 5_000, maxItems: 20_000,
                                          maxStringBytes: 1 << 16, maxTotalStringBytes: 1 << 18, maxLineBytes: 1 << 12)
        var cases: [(String, [UInt8], String)] = []
        cases.append(("MARK nesting", [0x80, 0x02] + [UInt8](repeating: 0x28, count: 1_000) + [0x2E], "MARK nesting"))
        cases.append(("DUP", [0x80, 0x02, 0x4E] + [UInt8](repeating: 0x32, count: 10_000) + [0x2E], "stack exceeds"))
        var memo: [UInt8] = [0x80, 0x02, 0x4E]
        for i in 0..<10_000 { memo += [0x72] + le32(UInt32(i)) }
        cases.append(("LONG_BINPUT", memo + [0x2E], "memo exceeds"))
        var items: [UInt8] = [0x80, 0x02, 0x5D]
        for _ in 0..<30_000 { items += [0x4E, 0x61] }
        cases.append(("APPEND", items + [0x2E], "items"))
        var tuples: [UInt8] = [0x80, 0x02, 0x4E]
        for _ in 0..<30_000 { tuples.append(0x85) }
        cases.append(("TUPLE1 nesting", tuples + [0x2E], "items"))
        cases.append(("long string", [0x80, 0x02, 0x58] + le32(100_000) + [UInt8](repeating: 0x41, count: 100_000) + [0x2E], "limit"))
        cases.append(("long line", [0x80, 0x02, 0x63] + [UInt8](repeating: 0x41, count: 10_000) + [0x0A, 0x2E], "longer than"))
        var manyStrings: [UInt8] = [0x80, 0x02, 0x5D]
        for _ in 0..<10 { manyStrings += [0x58] + le32(60_000) + [UInt8](repeating: 0x42, count: 60_000) + [0x61] }
        cases.append(("many strings", manyStrings + [0x2E], "add up"))
        for (label, bytes, fragment) in cases {
            var machine = PickleMachine(path: "bomb.pt", limits: limits)
            let outcome = bytes.withUnsafeBytes { b -> CheckpointError? in
                do {
                    _ = try machine.run(b, from: 0)
                    return nil
                } catch {
                    return error as? CheckpointError
                }
            }
            if let error = outcome {
                #expect(error.description.contains(fragment), "\(label): \(error)")
            } else {
                Issue.record("\(label) was accepted")
            }
        }
    }

    @Test func selfReferencingDicts_doNotExplode() {
        // {k0: D, k1: D, …, k19: D} where D is the dict itself: a naive flattening visits 20^16 paths.
        var p = PickleWriter()
        p.proto(); p.emptyDict(); p.op(0x71); p.op(0); p.mark()
        for i in 0..<20 { p.string("k\(i)"); p.op(0x68); p.op(0) }
        p.op(0x75); p.stop()
        let error = openError(writeTemporary(legacyFile(main: p.bytes, storages: []), name: "cycle.pt"))
        #expect(error == .noTensors(path: error?.path ?? ""))
    }

    @Test func pickleMalformedStreams_fail() {
        var cases: [[UInt8]] = []
        cases.append([0x80, 0x02, 0x58] + le32(0xFFFF_FFF0) + [0x41, 0x2E])    // lying string length
        cases.append([0x80, 0x02, 0x8E] + le64(UInt64.max) + [0x2E])             // lying BINBYTES8
        cases.append([0x80, 0x02, 0x68, 0x05, 0x2E])                             // GET of a missing memo
        cases.append([0x80, 0x02, 0x30, 0x2E])                                   // POP on empty
        cases.append([0x80, 0x02, 0xFF, 0x2E])                                   // unknown opcode
        cases.append([0x80, 0x02, 0x4E])                                         // no STOP
        cases.append([0x80, 0x02, 0x28, 0x4E, 0x52, 0x2E])                       // REDUCE across a MARK
        cases.append([0x80, 0x02, 0x4E, 0x4E, 0x73, 0x2E])                       // SETITEM on None
        cases.append([0x80, 0x02, 0x4E, 0x4E, 0x61, 0x2E])                       // APPEND to None
        cases.append([0x80, 0x05, 0x97, 0x2E])                                   // out-of-band buffer
        for (i, c) in cases.enumerated() {
            #expect(openError(writeTemporary(legacyFile(main: c, storages: []), name: "bad\(i).pt")) != nil, "case \(i)")
        }
    }

    // MARK: torch zip

    static func zipEntries(prefix: String = "archive/") -> [ZipEntrySpec] {
        let pickle = PickleWriter.stateDict([("w", "0", 4, 0, [2, 2], [1, 2])])
        return [ZipEntrySpec(name: prefix + "data.pkl", data: pickle),
                ZipEntrySpec(name: prefix + "byteorder", data: Array("little".utf8)),
                ZipEntrySpec(name: prefix + "data/0", data: floatBytes([1, 2, 3, 4])),
                ZipEntrySpec(name: prefix + "version", data: Array("3\n".utf8))]
    }

    @Test func zipHandBuilt_readsWithAnyPrefixAndTransposedStride() throws {
        for prefix in ["archive/", "my model_v2/", ""] {
            let f = try CheckpointFile.open(path: writeTemporary(zipFile(Self.zipEntries(prefix: prefix)), name: "ok.pt"))
            #expect(f.format == .torchZip)
            #expect(try f.loadTensor("w").values == [1, 3, 2, 4])
        }
    }

    @Test func zipHostileVariants_areRejected() {
        var variants: [(String, [UInt8])] = []
        var e = Self.zipEntries()
        e[2].name = "archive/../../etc/data/0"
        variants.append(("dotdot", zipFile(e)))
        e = Self.zipEntries(); e.append(ZipEntrySpec(name: "/abs/data.pkl", data: []))
        variants.append(("absolute", zipFile(e)))
        e = Self.zipEntries(); e[2].method = 8
        variants.append(("deflate", zipFile(e)))
        e = Self.zipEntries(); e[2].lieSize = 0x7FFF_FFFF
        variants.append(("size past end", zipFile(e)))
        e = Self.zipEntries(); e[2].lieOffset = 0x7FFF_FFF0
        variants.append(("offset past end", zipFile(e)))
        e = Self.zipEntries(); e[2].lieOffset = 3
        variants.append(("offset not a header", zipFile(e)))
        variants.append(("count lies", zipFile(Self.zipEntries(), lieCount: 60000)))
        variants.append(("cd offset lies", zipFile(Self.zipEntries(), lieCDOffset: 0x7000_0000)))
        e = Self.zipEntries(); e.remove(at: 2)
        variants.append(("missing storage", zipFile(e)))
        e = Self.zipEntries(); e.remove(at: 0)
        variants.append(("no data.pkl", zipFile(e)))
        e = Self.zipEntries(); e.append(ZipEntrySpec(name: "other/data.pkl", data: e[0].data))
        variants.append(("two data.pkl", zipFile(e)))
        e = Self.zipEntries(); e[1].data = Array("big".utf8)
        variants.append(("big endian", zipFile(e)))
        e = Self.zipEntries(); e[2].data = floatBytes([1, 2, 3])
        variants.append(("short storage", zipFile(e)))
        for (label, bytes) in variants {
            #expect(openError(writeTemporary(bytes, name: "z.pt")) != nil, "\(label) opened")
        }
    }

    @Test func zipTruncations_fail() throws {
        let full = try Data(contentsOf: URL(fileURLWithPath: fixture("pesto_mir1k.ckpt")))
        var cuts = Array(stride(from: 0, to: full.count, by: 997))
        cuts += (max(0, full.count - 200)..<full.count)
        for n in cuts {
            #expect(openError(writeTemporary(Array(full.prefix(n)), name: "t.ckpt")) != nil, "prefix \(n) opened")
        }
        let hand = zipFile(Self.zipEntries())
        for n in 0..<hand.count {
            #expect(openError(writeTemporary(Array(hand.prefix(n)), name: "t.pt")) != nil, "hand prefix \(n) opened")
        }
    }

    // MARK: sharded

    @Test func shardedIndex_joinsShardsAndRejectsEscapes() throws {
        let dir = temporaryFolder()
        let a = safetensorsBytes(header: #"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: floatBytes([1, 2]))
        let b = safetensorsBytes(header: #"{"y":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: floatBytes([3]))
        _ = FileManager.default.createFile(atPath: dir + "/m-1.safetensors", contents: Data(a))
        _ = FileManager.default.createFile(atPath: dir + "/m-2.safetensors", contents: Data(b))
        func index(_ text: String) -> String {
            let p = dir + "/m.safetensors.index.json"
            _ = FileManager.default.createFile(atPath: p, contents: Data(text.utf8))
            return p
        }
        let ok = try CheckpointFile.open(path: index(#"{"metadata":{"total_size":12},"weight_map":{"x":"m-1.safetensors","y":"m-2.safetensors"}}"#))
        #expect(ok.format == .shardedSafetensors)
        #expect(ok.entries.map(\.name) == ["x", "y"])
        #expect(try ok.loadTensor("y").values == [3])
        #expect(ok.metadata.first?.key == "total_size")
        for bad in [#"{"weight_map":{"x":"../m-1.safetensors"}}"#, #"{"weight_map":{"x":"/etc/passwd"}}"#,
                    #"{"weight_map":{"z":"m-1.safetensors"}}"#, #"{"weight_map":{"x":"missing.safetensors"}}"#,
                    #"{"weight_map":{}}"#, #"{"nothing":1}"#, "not json", #"{"weight_map":{"x":5}}"#] {
            #expect(openError(index(bad)) != nil, "\(bad)")
        }
    }
}
