import TensorCore

/// A value on the restricted unpickler's stack.
///
/// Containers live in `PickleArena` and are referenced by index, so values never nest: deep or
/// cyclic object graphs (Lightning hyper-parameters have cycles) cost no recursion to build or free.
enum PickleValue: Sendable, Equatable {
    case none
    case bool(Bool)
    case int(Int64)
    /// An integer wider than 64 bits, little-endian two's complement bytes (only the magic number needs it).
    case bigInt([UInt8])
    case float(Double)
    case string(String)
    /// A bytes object; only its length is kept because torch data never lives in pickle bytes.
    case bytes(count: Int)
    /// A list, tuple, dict, set or placeholder object in the arena.
    case ref(Int)
    /// An allowed global (index into `PickleMachine.globals`).
    case global(AllowedGlobal)
    /// A storage from a persistent id (index into the machine's storage table).
    case storage(Int)
    /// A tensor view built by a torch rebuild function (index into the tensor table).
    case tensor(Int)
}

/// Containers and inert objects built by the unpickler.
enum PickleNode: Sendable {
    case list([PickleValue])
    case tuple([PickleValue])
    /// Items in insertion order (SETITEM order is the state dict's key order).
    case dict([(key: PickleValue, value: PickleValue)])
    case set([PickleValue])
    /// An inert placeholder for a data-only class such as `omegaconf.dictconfig.DictConfig`.
    case object(className: String)
}

/// Globals the unpickler accepts. Nothing here is ever called as code: each case has a
/// fixed, data-only interpretation inside `PickleMachine`.
enum AllowedGlobal: Sendable, Equatable {
    /// `torch._utils._rebuild_tensor_v2` / `_rebuild_tensor`.
    case rebuildTensor(v2: Bool)
    /// `torch._utils._rebuild_parameter` (and `_with_state`): unwraps to its tensor.
    case rebuildParameter
    /// `torch.FloatStorage` & co. (also `torch.cuda.*`), and `torch.UntypedStorage` (bytes).
    case storageType(DType)
    /// `torch.float16` & co., used by newer torch next to untyped storages.
    case dtype(DType)
    /// `collections.OrderedDict`, `collections.defaultdict`, `builtins.dict`.
    case dictType
    /// `builtins.list`, `builtins.tuple`, `builtins.set`, `builtins.frozenset`, `torch.Size`.
    case listType
    case tupleType
    case setType
    /// `builtins.int` / `__builtin__.long`, `builtins.float`, `builtins.str`, `builtins.bool`.
    case scalarType
    /// Known data-only class: calling or building it yields an inert placeholder.
    case placeholder(String)
}

extension AllowedGlobal {
    /// Storage class names torch writes in persistent ids.
    static let storageTypes: [String: DType] = [
        "FloatStorage": .f32, "HalfStorage": .f16, "BFloat16Storage": .bf16, "DoubleStorage": .f64,
        "LongStorage": .i64, "IntStorage": .i32, "ShortStorage": .i16, "CharStorage": .i8,
        "ByteStorage": .u8, "BoolStorage": .bool, "UntypedStorage": .u8,
        "Float8_e4m3fnStorage": .f8e4m3, "Float8_e5m2Storage": .f8e5m2,
    ]
    /// `torch.<name>` dtype globals.
    static let dtypes: [String: DType] = [
        "float32": .f32, "float": .f32, "float16": .f16, "half": .f16, "bfloat16": .bf16, "float64": .f64,
        "double": .f64, "int64": .i64, "long": .i64, "int32": .i32, "int": .i32, "int16": .i16,
        "short": .i16, "int8": .i8, "uint8": .u8, "bool": .bool, "float8_e4m3fn": .f8e4m3,
        "float8_e5m2": .f8e5m2, "uint16": .u16, "uint32": .u32, "uint64": .u64,
    ]
    static let placeholderExact: Set<String> = [
        "argparse.Namespace", "typing.Any", "pathlib.PosixPath", "pathlib.WindowsPath", "pathlib.PurePosixPath",
        "pathlib.PureWindowsPath", "pathlib.Path", "pytorch_lightning.utilities.parsing.AttributeDict",
        "lightning.fabric.utilities.data.AttributeDict", "numpy.core.multiarray.scalar",
        "numpy._core.multiarray.scalar", "numpy.dtype", "collections.Counter",
    ]

    /// Resolves `module.name` against the allow-list, nil when refused.
    static func resolve(module: String, name: String) -> AllowedGlobal? {
        switch (module, name) {
        case ("torch._utils", "_rebuild_tensor_v2"): return .rebuildTensor(v2: true)
        case ("torch._utils", "_rebuild_tensor"): return .rebuildTensor(v2: false)
        case ("torch._utils", "_rebuild_parameter"), ("torch._utils", "_rebuild_parameter_with_state"):
            return .rebuildParameter
        case ("collections", "OrderedDict"), ("collections", "defaultdict"),
             ("builtins", "dict"), ("__builtin__", "dict"):
            return .dictType
        case ("builtins", "list"), ("__builtin__", "list"): return .listType
        case ("builtins", "tuple"), ("__builtin__", "tuple"), ("torch", "Size"): return .tupleType
        case ("builtins", "set"), ("__builtin__", "set"), ("builtins", "frozenset"), ("__builtin__", "frozenset"):
            return .setType
        case ("builtins", "int"), ("__builtin__", "int"), ("__builtin__", "long"), ("builtins", "float"),
             ("__builtin__", "float"), ("builtins", "str"), ("__builtin__", "str"), ("__builtin__", "unicode"),
             ("builtins", "bool"), ("__builtin__", "bool"):
            return .scalarType
        default: break
        }
        if module == "torch" || module == "torch.cuda", let d = storageTypes[name] { return .storageType(d) }
        if module == "torch", let d = dtypes[name] { return .dtype(d) }
        let full = module + "." + name
        if placeholderExact.contains(full) { return .placeholder(full) }
        if module == "omegaconf" || module.hasPrefix("omegaconf.") { return .placeholder(full) }
        return nil
    }
}
