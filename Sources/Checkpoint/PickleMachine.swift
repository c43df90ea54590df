import TensorCore

/// A restricted unpickler: runs the pickle opcode stream as data only and NEVER executes code.
///
/// Globals are resolved against `AllowedGlobal`; anything else is refused with an error naming it.
/// Calls (REDUCE, NEWOBJ, NEWOBJ_EX, INST, OBJ) and BUILD only act on allowed globals and have a
/// fixed, data-only meaning (build a tensor view, make an empty container, make an inert placeholder).
/// Every resource is bounded: stack size, MARK nesting, memo entries, total container items and
/// string length, so hostile streams fail quickly with bounded memory.
struct PickleMachine {
    /// Limits that keep hostile pickles cheap. Real SDXL checkpoints use a few hundred thousand items.
    struct Limits {
        var maxStack = 500_000
        var maxMarkDepth = 10_000
        var maxMemo = 500_000
        var maxItems = 2_000_000
        var maxStringBytes = 16 << 20
        /// All strings together (they are copied out of the mapping).
        var maxTotalStringBytes = 64 << 20
        var maxLineBytes = 1 << 20
    }

    /// A storage referenced by a persistent id.
    struct StorageRef: Sendable {
        var key: String
        var dtype: DType
        var declaredCount: Int
    }

    /// A tensor view built by `_rebuild_tensor[_v2]`.
    struct TensorRef: Sendable {
        var storage: Int
        var offset: Int
        var shape: [Int]
        var strides: [Int]
    }

    let path: String
    var limits: Limits
    /// Container slots; the elements live in `sequences` / `dictItems` so that appending mutates
    /// in place (extracting an array from an enum payload would copy it on every APPEND).
    private enum Slot { case list(Int), tuple(Int), set(Int), dict(Int), object(String) }
    private var slots: [Slot] = []
    private var sequences: [[PickleValue]] = []
    private var dictItems: [[(key: PickleValue, value: PickleValue)]] = []
    private(set) var storages: [StorageRef] = []
    private(set) var tensors: [TensorRef] = []
    private var storageIndex: [String: Int] = [:]
    private var items = 0
    private var stringBytes = 0

    init(path: String, limits: Limits = Limits()) {
        self.path = path
        self.limits = limits
    }

    /// Runs one pickle starting at `start` in `bytes`; returns the value and the offset after STOP.
    mutating func run(_ bytes: UnsafeRawBufferPointer, from start: Int) throws(CheckpointError) -> (PickleValue, end: Int) {
        var stack: [PickleValue] = []
        var marks: [Int] = []
        var memo: [Int: PickleValue] = [:]
        var pos = start
        let end = bytes.count
        var opStart = pos

        func fail(_ reason: String) -> CheckpointError { .invalidPickle(path: path, offset: opStart, reason: reason) }

        @inline(__always) func need(_ n: Int) throws(CheckpointError) {
            guard n >= 0, n <= end - pos else { throw fail("the pickle ends inside an opcode argument") }
        }
        func u8() throws(CheckpointError) -> Int { try need(1); defer { pos += 1 }; return Int(bytes[pos]) }
        func le<T: FixedWidthInteger>(_ t: T.Type) throws(CheckpointError) -> T {
            try need(MemoryLayout<T>.size)
            defer { pos += MemoryLayout<T>.size }
            return T(littleEndian: bytes.loadUnaligned(fromByteOffset: pos, as: T.self))
        }
        func raw(_ n: Int) throws(CheckpointError) -> UnsafeRawBufferPointer {
            try need(n)
            defer { pos += n }
            return UnsafeRawBufferPointer(rebasing: bytes[pos..<(pos + n)])
        }
        func line() throws(CheckpointError) -> String {
            var i = pos
            while i < end, bytes[i] != 0x0A {
                i += 1
                if i - pos > limits.maxLineBytes { throw fail("a text argument is longer than \(limits.maxLineBytes) bytes") }
            }
            guard i < end else { throw fail("the pickle ends inside a text argument") }
            let s = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[pos..<i]), as: UTF8.self)
            pos = i + 1
            return s
        }
        func text(_ n: Int) throws(CheckpointError) -> String {
            guard n <= limits.maxStringBytes else { throw fail("a string of \(n) bytes exceeds the \(limits.maxStringBytes)-byte limit") }
            stringBytes += n
            guard stringBytes <= limits.maxTotalStringBytes else {
                throw fail("strings add up to more than \(limits.maxTotalStringBytes) bytes")
            }
            return String(decoding: try raw(n), as: UTF8.self)
        }
        func push(_ v: PickleValue) throws(CheckpointError) {
            guard stack.count < limits.maxStack else { throw fail("the stack exceeds \(limits.maxStack) values") }
            stack.append(v)
        }
        func pop() throws(CheckpointError) -> PickleValue {
            guard let v = stack.popLast() else { throw fail("pop from an empty stack") }
            if let m = marks.last, stack.count < m { throw fail("pop across a MARK") }
            return v
        }
        func popMark() throws(CheckpointError) -> [PickleValue] {
            guard let m = marks.popLast() else { throw fail("no MARK on the stack") }
            guard m <= stack.count else { throw fail("the MARK is above the stack top") }
            let tail = Array(stack[m...])
            stack.removeSubrange(m...)
            return tail
        }
        func countItems(_ n: Int) throws(CheckpointError) {
            items += n
            guard items <= limits.maxItems else { throw fail("containers hold more than \(limits.maxItems) items") }
        }
        func newNode(_ node: PickleNode) throws(CheckpointError) -> PickleValue {
            try countItems(1)
            switch node {
            case .list(let l): slots.append(.list(sequences.count)); sequences.append(l)
            case .tuple(let t): slots.append(.tuple(sequences.count)); sequences.append(t)
            case .set(let e): slots.append(.set(sequences.count)); sequences.append(e)
            case .dict(let d): slots.append(.dict(dictItems.count)); dictItems.append(d)
            case .object(let name): slots.append(.object(name))
            }
            return .ref(slots.count - 1)
        }
        func memoPut(_ index: Int) throws(CheckpointError) {
            guard let top = stack.last else { throw fail("memo put from an empty stack") }
            guard index >= 0 else { throw fail("negative memo index") }
            if memo[index] == nil, memo.count >= limits.maxMemo { throw fail("the memo exceeds \(limits.maxMemo) entries") }
            memo[index] = top
        }
        func memoGet(_ index: Int) throws(CheckpointError) {
            guard let v = memo[index] else { throw fail("memo index \(index) was never stored") }
            try push(v)
        }
        func global(_ module: String, _ name: String) throws(CheckpointError) -> PickleValue {
            guard let g = AllowedGlobal.resolve(module: module, name: name) else {
                throw .forbiddenGlobal(path: path, module: module, name: name)
            }
            return .global(g)
        }
        func appendItems(to target: PickleValue, _ values: [PickleValue]) throws(CheckpointError) {
            guard case .ref(let r) = target else {
                if case .global = target { throw fail("APPEND to a class, not a list") }
                throw fail("APPEND to a value that is not a list")
            }
            try countItems(values.count)
            switch slots[r] {
            case .list(let i), .set(let i):
                sequences[i].append(contentsOf: values)
            case .object:
                break  // placeholder objects absorb items (omegaconf ListConfig state)
            default:
                throw fail("APPEND to a value that is not a list")
            }
        }
        func setItems(on target: PickleValue, _ pairs: [PickleValue]) throws(CheckpointError) {
            guard pairs.count % 2 == 0 else { throw fail("SETITEMS with an odd number of values") }
            guard case .ref(let r) = target else { throw fail("SETITEM on a value that is not a dict") }
            try countItems(pairs.count / 2)
            switch slots[r] {
            case .dict(let i):
                var k = 0
                while k < pairs.count { dictItems[i].append((key: pairs[k], value: pairs[k + 1])); k += 2 }
            case .object:
                break
            default:
                throw fail("SETITEM on a value that is not a dict")
            }
        }
        /// The only "calls" this machine knows: data-only interpretations of allowed globals.
        func call(_ callee: PickleValue, _ args: [PickleValue]) throws(CheckpointError) -> PickleValue {
            guard case .global(let g) = callee else { throw fail("a call on a value that is not an allowed class or function") }
            switch g {
            case .rebuildTensor(let v2):
                guard args.count >= 4, (!v2 || args.count >= 5) else {
                    throw fail("_rebuild_tensor\(v2 ? "_v2" : "") with \(args.count) arguments")
                }
                guard case .storage(let s) = args[0] else { throw fail("_rebuild_tensor without a storage") }
                guard case .int(let offset) = args[1] else { throw fail("_rebuild_tensor with a non-integer offset") }
                let shape = try intTuple(args[2], what: "size")
                let strides = try intTuple(args[3], what: "stride")
                guard shape.count == strides.count else { throw fail("size and stride ranks differ") }
                guard tensors.count < limits.maxItems else { throw fail("too many tensors") }
                tensors.append(TensorRef(storage: s, offset: Int(offset), shape: shape, strides: strides))
                return .tensor(tensors.count - 1)
            case .rebuildParameter:
                guard let first = args.first else { throw fail("_rebuild_parameter without data") }
                return first
            case .dictType:
                // OrderedDict() / defaultdict(factory) / dict(): an empty dict, items follow via SETITEMS.
                // dict(list-of-pairs) copies pairs so BUILD-free pickles keep their content.
                var pairs: [(key: PickleValue, value: PickleValue)] = []
                if let a = args.first, case .ref(let r) = a, case .list(let l) = nodeAt(r) {
                    // OrderedDict([[k, v], …]) or ([(k, v), …]): Python 2 era torch files use lists.
                    for item in l {
                        guard case .ref(let t) = item else { continue }
                        switch nodeAt(t) {
                        case .tuple(let kv) where kv.count == 2, .list(let kv) where kv.count == 2:
                            pairs.append((key: kv[0], value: kv[1]))
                        default:
                            break
                        }
                    }
                } else if let a = args.first, case .ref(let r) = a, case .dict(let d) = nodeAt(r) {
                    pairs = d
                }
                try countItems(pairs.count)
                return try newNode(.dict(pairs))
            case .listType, .tupleType, .setType:
                var elements: [PickleValue] = []
                if let a = args.first, case .ref(let r) = a {
                    switch nodeAt(r) {
                    case .list(let l), .tuple(let l), .set(let l): elements = l
                    default: break
                    }
                }
                try countItems(elements.count)
                if case .listType = g { return try newNode(.list(elements)) }
                if case .setType = g { return try newNode(.set(elements)) }
                return try newNode(.tuple(elements))
            case .scalarType:
                return args.first ?? .int(0)
            case .placeholder(let name):
                return try newNode(.object(className: name))
            case .storageType, .dtype:
                throw fail("a storage class or dtype cannot be called")
            }
        }
        func intTuple(_ v: PickleValue, what: String) throws(CheckpointError) -> [Int] {
            guard case .ref(let r) = v, case .tuple(let t) = nodeAt(r) else {
                if case .int(let i) = v { return [Int(i)] }
                throw fail("tensor \(what) is not a tuple")
            }
            guard t.count <= 64 else { throw fail("tensor \(what) has \(t.count) dimensions (limit 64)") }
            var out: [Int] = []
            for e in t {
                guard case .int(let i) = e, i >= 0 else { throw fail("tensor \(what) holds a value that is not a non-negative integer") }
                out.append(Int(i))
            }
            return out
        }
        func persistentLoad(_ pid: PickleValue) throws(CheckpointError) -> PickleValue {
            guard case .ref(let r) = pid, case .tuple(let t) = nodeAt(r), t.count >= 5,
                  case .string("storage") = t[0] else {
                throw fail("a persistent id that is not a ('storage', type, key, location, numel) tuple")
            }
            guard case .global(let g) = t[1] else { throw fail("a storage persistent id without a storage class") }
            let dtype: DType
            switch g {
            case .storageType(let d): dtype = d
            default: throw fail("a storage persistent id whose class is not a storage type")
            }
            let key: String
            switch t[2] {
            case .string(let s): key = s
            case .int(let i): key = String(i)
            default: throw fail("a storage key that is not a string")
            }
            guard case .int(let numel) = t[4], numel >= 0 else { throw fail("a storage size that is not a non-negative integer") }
            if let existing = storageIndex[key] { return .storage(existing) }
            storages.append(StorageRef(key: key, dtype: dtype, declaredCount: Int(numel)))
            storageIndex[key] = storages.count - 1
            return .storage(storages.count - 1)
        }
        func longFromBytes(_ b: UnsafeRawBufferPointer) throws(CheckpointError) -> PickleValue {
            if b.isEmpty { return .int(0) }
            if b.count <= 8 {
                var v: UInt64 = 0
                for (i, byte) in b.enumerated() { v |= UInt64(byte) << (8 * UInt64(i)) }
                if b.count < 8, b[b.count - 1] & 0x80 != 0 { v |= ~0 << (8 * UInt64(b.count)) }
                return .int(Int64(bitPattern: v))
            }
            guard b.count <= 256 else { throw fail("an integer of \(b.count) bytes (limit 256)") }
            return .bigInt(Array(b))
        }

        while true {
            opStart = pos
            let op = try u8()
            switch op {
            case 0x80: _ = try u8()                                    // PROTO
            case 0x95: _ = try le(UInt64.self)                         // FRAME (a length hint)
            case 0x2E:                                                  // STOP
                guard let v = stack.last else { throw fail("STOP with an empty stack") }
                return (v, pos)
            case 0x28:                                                  // MARK
                guard marks.count < limits.maxMarkDepth else { throw fail("MARK nesting deeper than \(limits.maxMarkDepth)") }
                marks.append(stack.count)
            case 0x30: _ = try pop()                                    // POP
            case 0x31: _ = try popMark()                                // POP_MARK
            case 0x32:                                                  // DUP
                guard let top = stack.last else { throw fail("DUP on an empty stack") }
                try push(top)
            case 0x4E: try push(.none)                                  // NONE
            case 0x88: try push(.bool(true))                            // NEWTRUE
            case 0x89: try push(.bool(false))                           // NEWFALSE
            case 0x4A: try push(.int(Int64(try le(Int32.self))))        // BININT
            case 0x4B: try push(.int(Int64(try u8())))                  // BININT1
            case 0x4D: try push(.int(Int64(try le(UInt16.self))))       // BININT2
            case 0x49:                                                  // INT (text; "01"/"00" are bools)
                let s = try line()
                if s == "01" { try push(.bool(true)) } else if s == "00" { try push(.bool(false)) } else {
                    guard let v = Int64(s) else { throw fail("INT argument '\(s.prefix(40))' is not an integer") }
                    try push(.int(v))
                }
            case 0x4C:                                                  // LONG (text, trailing L)
                var s = try line()
                if s.hasSuffix("L") { s.removeLast() }
                guard let v = Int64(s) else { throw fail("LONG argument '\(s.prefix(40))' is not a 64-bit integer") }
                try push(.int(v))
            case 0x8A: try push(try longFromBytes(try raw(try u8())))  // LONG1
            case 0x8B:                                                  // LONG4
                let n = Int(try le(Int32.self))
                guard n >= 0 else { throw fail("negative LONG4 length") }
                try push(try longFromBytes(try raw(n)))
            case 0x47: try push(.float(Double(bitPattern: UInt64(bigEndian: try le(UInt64.self)))))  // BINFLOAT (big-endian)
            case 0x46:                                                  // FLOAT (text)
                let s = try line()
                guard let d = Double(s) else { throw fail("FLOAT argument is not a number") }
                try push(.float(d))
            case 0x58: try push(.string(try text(Int(try le(UInt32.self)))))   // BINUNICODE
            case 0x8C: try push(.string(try text(try u8())))                    // SHORT_BINUNICODE
            case 0x8D:                                                          // BINUNICODE8
                let n = try le(UInt64.self)
                guard n <= UInt64(limits.maxStringBytes) else { throw fail("a string of \(n) bytes exceeds the limit") }
                try push(.string(try text(Int(n))))
            case 0x55: try push(.string(try text(try u8())))                    // SHORT_BINSTRING (Python 2 str → text)
            case 0x54:                                                          // BINSTRING
                let n = Int(try le(Int32.self))
                guard n >= 0 else { throw fail("negative BINSTRING length") }
                try push(.string(try text(n)))
            case 0x53:                                                          // STRING (quoted text)
                var s = try line()
                if s.count >= 2, let f = s.first, (f == "'" || f == "\""), s.last == f { s = String(s.dropFirst().dropLast()) }
                try push(.string(s))
            case 0x56: try push(.string(try line()))                            // UNICODE (raw-unicode-escape, kept as is)
            case 0x43: try push(.bytes(count: try raw(try u8()).count))         // SHORT_BINBYTES
            case 0x42: try push(.bytes(count: try raw(Int(try le(UInt32.self))).count))  // BINBYTES
            case 0x8E, 0x96:                                                    // BINBYTES8, BYTEARRAY8
                let n = try le(UInt64.self)
                guard n <= UInt64(end - pos) else { throw fail("the pickle ends inside a bytes object") }
                pos += Int(n)
                try push(.bytes(count: Int(n)))
            case 0x29: try push(try newNode(.tuple([])))                        // EMPTY_TUPLE
            case 0x74:                                                          // TUPLE
                let t = try popMark()
                try countItems(t.count)
                try push(try newNode(.tuple(t)))
            case 0x85, 0x86, 0x87:                                              // TUPLE1..3
                let n = Int(op - 0x84)
                guard stack.count >= n, (marks.last ?? 0) <= stack.count - n else { throw fail("TUPLE\(n) needs \(n) values") }
                let t = Array(stack.suffix(n))
                stack.removeLast(n)
                try countItems(n)
                try push(try newNode(.tuple(t)))
            case 0x5D: try push(try newNode(.list([])))                         // EMPTY_LIST
            case 0x6C:                                                          // LIST
                let l = try popMark()
                try countItems(l.count)
                try push(try newNode(.list(l)))
            case 0x61:                                                          // APPEND
                let v = try pop()
                guard let target = stack.last else { throw fail("APPEND without a list") }
                if case .ref(let r) = target, case .list(let i) = slots[r] {
                    // Fast path for the common case, without a one-element array per item.
                    try countItems(1)
                    sequences[i].append(v)
                } else {
                    try appendItems(to: target, [v])
                }
            case 0x65:                                                          // APPENDS
                let vs = try popMark()
                guard let target = stack.last else { throw fail("APPENDS without a list") }
                try appendItems(to: target, vs)
            case 0x7D: try push(try newNode(.dict([])))                         // EMPTY_DICT
            case 0x64:                                                          // DICT
                let kv = try popMark()
                guard kv.count % 2 == 0 else { throw fail("DICT with an odd number of values") }
                let d = try newNode(.dict([]))
                try setItems(on: d, kv)
                try push(d)
            case 0x73:                                                          // SETITEM
                let v = try pop()
                let k = try pop()
                guard let target = stack.last else { throw fail("SETITEM without a dict") }
                try setItems(on: target, [k, v])
            case 0x75:                                                          // SETITEMS
                let kv = try popMark()
                guard let target = stack.last else { throw fail("SETITEMS without a dict") }
                try setItems(on: target, kv)
            case 0x8F: try push(try newNode(.set([])))                          // EMPTY_SET
            case 0x90:                                                          // ADDITEMS
                let vs = try popMark()
                guard let target = stack.last else { throw fail("ADDITEMS without a set") }
                try appendItems(to: target, vs)
            case 0x91:                                                          // FROZENSET
                let vs = try popMark()
                try countItems(vs.count)
                try push(try newNode(.set(vs)))
            case 0x70: guard let i = Int(try line()) else { throw fail("PUT index is not an integer") }; try memoPut(i)
            case 0x71: try memoPut(try u8())                                    // BINPUT
            case 0x72: try memoPut(Int(try le(UInt32.self)))                    // LONG_BINPUT
            case 0x94: try memoPut(memo.count)                                  // MEMOIZE
            case 0x67: guard let i = Int(try line()) else { throw fail("GET index is not an integer") }; try memoGet(i)
            case 0x68: try memoGet(try u8())                                    // BINGET
            case 0x6A: try memoGet(Int(try le(UInt32.self)))                    // LONG_BINGET
            case 0x63:                                                          // GLOBAL "module\nname\n"
                let module = try line()
                let name = try line()
                try push(try global(module, name))
            case 0x93:                                                          // STACK_GLOBAL
                let name = try pop()
                let module = try pop()
                guard case .string(let m) = module, case .string(let n) = name else {
                    throw fail("STACK_GLOBAL with non-string module or name")
                }
                try push(try global(m, n))
            case 0x52:                                                          // REDUCE
                let args = try pop()
                let callee = try pop()
                guard case .ref(let r) = args, case .tuple(let a) = nodeAt(r) else { throw fail("REDUCE arguments are not a tuple") }
                try push(try call(callee, a))
            case 0x81:                                                          // NEWOBJ
                let args = try pop()
                let cls = try pop()
                guard case .ref(let r) = args, case .tuple(let a) = nodeAt(r) else { throw fail("NEWOBJ arguments are not a tuple") }
                try push(try call(cls, a))
            case 0x92:                                                          // NEWOBJ_EX
                _ = try pop()  // kwargs
                let args = try pop()
                let cls = try pop()
                guard case .ref(let r) = args, case .tuple(let a) = nodeAt(r) else { throw fail("NEWOBJ_EX arguments are not a tuple") }
                try push(try call(cls, a))
            case 0x69:                                                          // INST "module\nname\n" + MARK args
                let module = try line()
                let name = try line()
                let cls = try global(module, name)
                let args = try popMark()
                try push(try call(cls, args))
            case 0x6F:                                                          // OBJ: MARK cls args…
                var vs = try popMark()
                guard !vs.isEmpty else { throw fail("OBJ without a class") }
                let cls = vs.removeFirst()
                try push(try call(cls, vs))
            case 0x62:                                                          // BUILD
                let state = try pop()
                guard let target = stack.last else { throw fail("BUILD without an object") }
                // Only inert targets accept state; it is dropped (torch `_metadata`, omegaconf internals).
                switch target {
                case .ref, .tensor: _ = state
                case .global: throw fail("BUILD on a class, which would set class attributes")
                default: throw fail("BUILD on a value that is not an object")
                }
            case 0x50:                                                          // PERSID (text)
                let s = try line()
                _ = s
                throw fail("a text persistent id, which torch never writes")
            case 0x51:                                                          // BINPERSID
                let pid = try pop()
                try push(try persistentLoad(pid))
            case 0x82, 0x83, 0x84:                                              // EXT1, EXT2, EXT4
                let code: Int
                switch op {
                case 0x82: code = try u8()
                case 0x83: code = Int(try le(UInt16.self))
                default: code = Int(try le(Int32.self))
                }
                throw .forbiddenGlobal(path: path, module: "copyreg extension registry", name: "code \(code)")
            case 0x97, 0x98:
                throw fail("out-of-band buffers (protocol 5), which checkpoints never use")
            default:
                throw fail("unknown opcode 0x" + String(op, radix: 16))
            }
        }
    }

    /// The node a reference points to.
    func node(_ v: PickleValue) -> PickleNode? {
        if case .ref(let r) = v { return nodeAt(r) }
        return nil
    }

    /// A read view of slot `r` (arrays are shared copy-on-write, not copied).
    func nodeAt(_ r: Int) -> PickleNode {
        switch slots[r] {
        case .list(let i): return .list(sequences[i])
        case .tuple(let i): return .tuple(sequences[i])
        case .set(let i): return .set(sequences[i])
        case .dict(let i): return .dict(dictItems[i])
        case .object(let name): return .object(className: name)
        }
    }
}
