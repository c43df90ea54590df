import Checkpoint
import TensorCore

/// How one LoRA module changes its layer.
public enum LoraKind: String, Sendable {
    /// ΔW = up · down (kohya LoRA / LoCon, diffusers/PEFT lora_B · lora_A), optionally through a Tucker `lora_mid`.
    case lora
    /// LyCORIS LoHa: ΔW = (w1_a · w1_b) ⊙ (w2_a · w2_b), Hadamard (element-wise) product.
    case loha
    /// LyCORIS LoKr: ΔW = kron(w1, w2), each factor whole or as a product of two.
    case lokr
    /// A full difference stored as is (`.diff`).
    case diff
}

/// The tensors a module may have, by the suffix that names them in the file.
public enum LoraRole: String, Sendable, CaseIterable {
    case up, down, mid, alpha, doraScale = "dora_scale", diff, diffBias = "diff_b"
    case hadaW1a = "hada_w1_a", hadaW1b = "hada_w1_b", hadaW2a = "hada_w2_a", hadaW2b = "hada_w2_b"
    case hadaT1 = "hada_t1", hadaT2 = "hada_t2"
    case lokrW1 = "lokr_w1", lokrW2 = "lokr_w2", lokrW1a = "lokr_w1_a", lokrW1b = "lokr_w1_b"
    case lokrW2a = "lokr_w2_a", lokrW2b = "lokr_w2_b", lokrT2 = "lokr_t2"
}

/// One LoRA module: the tensors of one layer's change, validated against each other.
public struct LoraModule: Sendable {
    /// The module name as the file spells it (the key without its suffix).
    public let name: String
    public let kind: LoraKind
    /// Role → full key in the file.
    public let keys: [LoraRole: String]
    /// The stored `alpha`, nil when the file has none.
    public let alpha: Float?
    /// The rank (inner dimension) of the factors; nil for a full diff and a LoKr of whole factors.
    public let rank: Int?
    /// The factor ComfyUI multiplies ΔW by before the strength: alpha / rank, or 1 without alpha.
    public let scale: Float
    /// Shape of ΔW as its factors give it (reshaped onto the layer's shape when applied).
    public let deltaShape: [Int]
    /// Elements of ΔW (checked against overflow and the size limit).
    public let deltaCount: Int
    /// The module carries a DoRA magnitude (`dora_scale`), which is not applied (see FORMATS.md).
    public var hasDoRA: Bool { keys[.doraScale] != nil }
    /// A convolution LoRA with a spatial kernel (LoCon).
    public var isConvolution: Bool { deltaShape.count == 4 && deltaShape[2] * deltaShape[3] > 1 }
}

/// A LoRA / LyCORIS file: its modules, the keys it holds that no module uses, and its metadata.
///
/// Opening reads the header (or pickle) and the `alpha` scalars only; factors are read when a
/// layer's ΔW is computed. Every module's shapes are checked here, so applying it later can only
/// fail on I/O.
public final class LoraFile: Sendable {
    public let path: String
    public let checkpoint: CheckpointFile
    /// Modules in file order of their first key.
    public let modules: [LoraModule]
    /// Keys that belong to no module (ComfyUI logs them as "lora key not loaded").
    public let unusedKeys: [String]
    /// safetensors `__metadata__` (kohya `ss_*` training fields…), in header order.
    public var metadata: [(key: String, value: String)] { checkpoint.metadata }

    /// Largest ΔW accepted: 2^28 elements (1 GiB as Float32), above any layer of a released model.
    public static let maxDeltaElements = 1 << 28

    /// File suffixes → role, and the key naming they belong to (longest and most specific first).
    static let suffixes: [(suffix: String, role: LoraRole)] = [
        (".lora_linear_layer.up.weight", .up), (".lora_linear_layer.down.weight", .down),
        (".lora_B.default.weight", .up), (".lora_A.default.weight", .down),
        (".lora_up.weight", .up), (".lora_down.weight", .down), (".lora_mid.weight", .mid),
        ("_lora.up.weight", .up), ("_lora.down.weight", .down),
        (".lora.up.weight", .up), (".lora.down.weight", .down),
        (".lora_B.weight", .up), (".lora_A.weight", .down),
        (".lora_B", .up), (".lora_A", .down),
        (".hada_w1_a", .hadaW1a), (".hada_w1_b", .hadaW1b), (".hada_w2_a", .hadaW2a), (".hada_w2_b", .hadaW2b),
        (".hada_t1", .hadaT1), (".hada_t2", .hadaT2),
        (".lokr_w1_a", .lokrW1a), (".lokr_w1_b", .lokrW1b), (".lokr_w2_a", .lokrW2a), (".lokr_w2_b", .lokrW2b),
        (".lokr_w1", .lokrW1), (".lokr_w2", .lokrW2), (".lokr_t2", .lokrT2),
        (".dora_scale", .doraScale), (".diff_b", .diffBias), (".diff", .diff), (".alpha", .alpha),
    ]

    /// Opens `path` (safetensors, or `.pt`/`.ckpt`/`.bin` through the restricted unpickler) and checks every module.
    public static func open(path: String) throws(LoraError) -> LoraFile {
        let file: CheckpointFile
        do { file = try CheckpointFile.open(path: path) } catch { throw .unreadable(error) }
        return try LoraFile(checkpoint: file)
    }

    public init(checkpoint: CheckpointFile) throws(LoraError) {
        self.path = checkpoint.path
        self.checkpoint = checkpoint
        var order: [String] = []
        var groups: [String: [LoraRole: String]] = [:]
        var unused: [String] = []
        for e in checkpoint.entries {
            guard let (module, role) = Self.split(e.name) else { unused.append(e.name); continue }
            if groups[module] == nil { order.append(module); groups[module] = [:] }
            groups[module]![role] = e.name
        }
        var modules: [LoraModule] = []
        for name in order {
            let keys = groups[name]!
            // A module with only a bias difference or only an alpha changes no weight.
            guard let kind = try Self.kind(of: keys, module: name, path: checkpoint.path) else {
                unused.append(contentsOf: keys.values.sorted())
                continue
            }
            modules.append(try ModuleShapes.validate(name: name, kind: kind, keys: keys, file: checkpoint))
        }
        if modules.isEmpty {
            throw .notALora(path: checkpoint.path, found: Self.describe(checkpoint))
        }
        self.modules = modules
        self.unusedKeys = unused
    }

    /// Module name and role of a key, nil when it has no LoRA suffix.
    static func split(_ key: String) -> (String, LoraRole)? {
        for (suffix, role) in suffixes where key.hasSuffix(suffix) && key.utf8.count > suffix.utf8.count {
            return (String(key.dropLast(suffix.count)), role)
        }
        return nil
    }

    /// The kind a module's tensors make, nil when they change no weight; errors for half pairs.
    static func kind(of keys: [LoraRole: String], module: String, path: String) throws(LoraError) -> LoraKind? {
        func need(_ a: LoraRole, _ b: LoraRole) throws(LoraError) {
            if keys[a] != nil && keys[b] == nil { throw .missingPart(path: path, module: module, present: a.rawValue, missing: b.rawValue) }
            if keys[b] != nil && keys[a] == nil { throw .missingPart(path: path, module: module, present: b.rawValue, missing: a.rawValue) }
        }
        if keys[.up] != nil || keys[.down] != nil {
            try need(.up, .down)
            return .lora
        }
        if keys[.hadaW1a] != nil || keys[.hadaW1b] != nil || keys[.hadaW2a] != nil || keys[.hadaW2b] != nil {
            try need(.hadaW1a, .hadaW1b)
            try need(.hadaW2a, .hadaW2b)
            try need(.hadaW1a, .hadaW2a)
            try need(.hadaT1, .hadaT2)
            return .loha
        }
        let lokr: [LoraRole] = [.lokrW1, .lokrW2, .lokrW1a, .lokrW1b, .lokrW2a, .lokrW2b, .lokrT2]
        if lokr.contains(where: { keys[$0] != nil }) {
            if keys[.lokrW1] == nil { try need(.lokrW1a, .lokrW1b) }
            if keys[.lokrW2] == nil { try need(.lokrW2a, .lokrW2b) }
            if keys[.lokrW1] == nil && keys[.lokrW1a] == nil {
                throw .missingPart(path: path, module: module, present: "lokr_w2", missing: "lokr_w1 (or lokr_w1_a and lokr_w1_b)")
            }
            if keys[.lokrW2] == nil && keys[.lokrW2a] == nil {
                throw .missingPart(path: path, module: module, present: "lokr_w1", missing: "lokr_w2 (or lokr_w2_a and lokr_w2_b)")
            }
            return .lokr
        }
        if keys[.diff] != nil { return .diff }
        return nil
    }

    /// A short account of a file that holds no LoRA: a checkpoint's family, or its first keys.
    static func describe(_ file: CheckpointFile) -> String {
        let n = file.entries.count
        if n == 0 { return "it holds no tensors" }
        if file.entries.contains(where: { $0.name.hasPrefix("model.diffusion_model.") }) {
            return "it holds \(n) tensors under model.diffusion_model., a model checkpoint (load it with CheckpointLoaderSimple)"
        }
        let first = file.entries.prefix(3).map(\.name).joined(separator: ", ")
        return "it holds \(n) tensors, e.g. \(first)"
    }

    /// The naming and kinds, e.g. `kohya LoCon`, `diffusers/PEFT LoRA`, `LyCORIS LoHa`, `ComfyUI LoRA`.
    public var format: String {
        let names = modules.map(\.name)
        let naming: String
        if names.contains(where: { $0.hasPrefix("lora_unet_") || $0.hasPrefix("lora_te") || $0.hasPrefix("lora_transformer_") }) {
            naming = "kohya"
        } else if names.contains(where: { $0.hasPrefix("lycoris_") }) {
            naming = "LyCORIS"
        } else if names.contains(where: { $0.hasPrefix("diffusion_model.") || $0.hasPrefix("model.diffusion_model.") || $0.hasPrefix("text_encoders.") }) {
            naming = "ComfyUI"
        } else if modules.contains(where: { $0.keys[.up]?.contains(".lora_B") ?? false }) {
            naming = "diffusers/PEFT"
        } else if modules.contains(where: { $0.kind == .lora }) {
            naming = "diffusers"
        } else {
            naming = "LyCORIS"
        }
        var kinds: [String] = []
        func add(_ s: String) { if !kinds.contains(s) { kinds.append(s) } }
        for m in modules {
            switch m.kind {
            case .lora: add(m.isConvolution || m.keys[.mid] != nil ? "LoCon" : "LoRA")
            case .loha: add("LoHa")
            case .lokr: add("LoKr")
            case .diff: add("full diff")
            }
        }
        if kinds.contains("LoCon") { kinds.removeAll { $0 == "LoRA" } }
        if modules.contains(where: \.hasDoRA) { kinds.append("DoRA") }
        return naming + " " + kinds.joined(separator: " + ")
    }

    /// Reads one factor of a module as Float32.
    func load(_ module: LoraModule, _ role: LoraRole) throws(CheckpointError) -> Tensor {
        try checkpoint.loadTensor(module.keys[role]!)
    }
}
