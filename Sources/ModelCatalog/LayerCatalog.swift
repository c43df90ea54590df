// ModelCatalog: layers of a checkpoint, model family detection, block grammar (U-Net and DiT) and name suggestions.
import Checkpoint
import TensorCore

/// Model families recognised from key names and shapes.
public enum ModelFamily: String, Sendable, CaseIterable {
    case sdxl, sd1, sd2, sd3, flux, unknown

    /// Human-readable name for headers and reports.
    public var displayName: String {
        switch self {
        case .sdxl: return "SDXL"
        case .sd1: return "SD 1.x"
        case .sd2: return "SD 2.x"
        case .sd3: return "SD3"
        case .flux: return "Flux"
        case .unknown: return "unknown"
        }
    }

    /// Number of input (and output) blocks of the family's U-Net, nil when it has no U-Net.
    public var unetBlockCount: Int? {
        switch self {
        case .sdxl: return 9
        case .sd1, .sd2: return 12
        default: return nil
        }
    }

    /// The blocks of the family's released models (Flux.1: 19 double + 38 single; SD3: SD3.5
    /// large's 38 joint blocks). A catalog uses the counts it finds in the file instead.
    public var defaultBlocks: BlockScheme? {
        switch self {
        case .sdxl, .sd1, .sd2: return .unet(count: unetBlockCount!)
        case .flux: return .flux(double: 19, single: 38)
        case .sd3: return .mmdit(joint: 38)
        case .unknown: return nil
        }
    }
}

/// A module that owns a `.weight` tensor.
public struct Layer: Sendable, Equatable {
    /// Module path; relative to `model.diffusion_model.` for the diffusion model of a checkpoint.
    public let name: String
    /// Full tensor key of its `.weight`.
    public let weightKey: String
    /// Shape of the weight tensor.
    public let shape: [Int]
    /// Stored dtype of the weight.
    public let dtype: DType
    /// Number of weight elements.
    public let parameters: Int
    /// Block label (`IN04`, `M00`, `OUT02`, `D07`, `S12`, `J03`) or nil outside the blocks.
    public let block: String?
    /// `unet` (the diffusion model, whatever its architecture), `text_encoder`, `text_encoder_2`,
    /// `text_encoder_3`, `vae` or `other`.
    public let part: String
    /// Key of the scale a scaled-fp8 weight is multiplied by (ComfyUI's `<module>.scale_weight`, or
    /// `<module>.weight_scale`), nil for ordinary weights. `LayerCatalog.loadWeight` applies it.
    public let scaleKey: String?
    /// GGUF block quantization of the weight (`Q4_K`), nil for plain elements (see `TensorEntry.quantization`).
    public let quantization: String?

    public init(name: String, weightKey: String, shape: [Int], dtype: DType, parameters: Int, block: String?, part: String,
                scaleKey: String? = nil, quantization: String? = nil) {
        self.name = name
        self.weightKey = weightKey
        self.shape = shape
        self.dtype = dtype
        self.parameters = parameters
        self.block = block
        self.part = part
        self.scaleKey = scaleKey
        self.quantization = quantization
    }

    /// What the file stores: the quantization (`Q4_K`) or the dtype (`BF16`).
    public var storedType: String { quantization ?? dtype.rawValue }
    /// The stored type as reports and pictures name it: `Q4_K`, or torch's `bfloat16`.
    public var typeName: String { quantization ?? dtype.torchName }
}

/// The layers of a checkpoint, its family, and name lookup / filtering.
///
/// For a diffusion checkpoint, `layers` are the diffusion model's modules, named relative to
/// `model.diffusion_model.` and ordered as the model registers them (what LatentTools' layer list
/// shows). Other checkpoints list every module in file order. See docs/FORMATS.md.
public struct LayerCatalog: Sendable {
    public let checkpoint: CheckpointFile
    public let family: ModelFamily
    /// Family, readable variant (`Flux.1-dev`), block scheme and naming of the diffusion model.
    public let identity: ModelIdentity
    /// The listed layers (see the type's summary for which and in what order).
    public let layers: [Layer]
    /// Every layer of every part: `layers` first, then text encoders, VAE and the rest with full module paths.
    public let allLayers: [Layer]
    /// Key prefix of the diffusion model: `model.diffusion_model.`, `""` for a file that holds only a
    /// recognised diffusion model without prefix, nil when the file has none.
    public let diffusionPrefix: String?
    /// The change `loadWeight` applies (a LoRA), nil for the file as stored.
    public private(set) var patch: (any WeightPatch)?

    private let indexByName: [String: Int]
    private let indexByWeightKey: [String: Int]

    public init(checkpoint: CheckpointFile) {
        self.checkpoint = checkpoint
        let built = Self.build(checkpoint.entries) { module, entry in
            ScaledWeights.scaleKey(module: module, weight: entry, in: checkpoint)
        }
        self.diffusionPrefix = built.prefix
        self.family = built.identity.family
        self.identity = built.identity
        self.layers = built.layers
        self.allLayers = built.allLayers
        var byName: [String: Int] = [:]
        var byKey: [String: Int] = [:]
        for (i, l) in allLayers.enumerated() {
            if byName[l.name] == nil { byName[l.name] = i }
            byKey[l.weightKey] = i
        }
        indexByName = byName
        indexByWeightKey = byKey
    }

    /// Prefix, identity, listed layers and all layers of a key list (see the type's summary).
    static func build(_ entries: [TensorEntry], scaleKey: (String, TensorEntry) -> String?)
        -> (prefix: String?, identity: ModelIdentity, layers: [Layer], allLayers: [Layer]) {
        var prefix = DiffusionLayout.diffusionPrefix(entries)
        let identity = DiffusionLayout.identify(entries, prefix: prefix)
        // A diffusion-model-only file (ComfyUI's models/diffusion_models, keys without a prefix, or a
        // diffusers `diffusion_pytorch_model` file) is the diffusion model as a whole: same names,
        // blocks and order as inside a full checkpoint.
        if prefix == nil && identity.family != .unknown { prefix = "" }

        var unet: [Layer] = []
        var rest: [Layer] = []
        for e in entries {
            guard let module = Self.moduleName(ofWeightKey: e.name) else { continue }
            let scale = scaleKey(module, e)
            if let prefix, module.hasPrefix(prefix) {
                let name = String(module.dropFirst(prefix.count))
                let block = identity.blocks.flatMap {
                    DiffusionLayout.block(of: name, scheme: $0, naming: identity.naming, layersPerBlock: identity.layersPerBlock)
                }
                unet.append(Layer(name: name, weightKey: e.name, shape: e.shape, dtype: e.dtype, parameters: e.parameterCount,
                                  block: block, part: "unet", scaleKey: scale, quantization: e.quantization))
            } else {
                rest.append(Layer(name: module, weightKey: e.name, shape: e.shape, dtype: e.dtype, parameters: e.parameterCount,
                                  block: nil, part: DiffusionLayout.part(of: module), scaleKey: scale, quantization: e.quantization))
            }
        }
        if prefix != nil {
            unet = ModuleOrder.sorted(unet, rank: ModuleOrder.table(for: identity))
            return (prefix, identity, unet, unet + rest)
        }
        return (prefix, identity, rest, rest)
    }

    /// The module a weight tensor belongs to: `X.weight` → `X`, and PyTorch's fused attention
    /// projection `X.in_proj_weight` (nn.MultiheadAttention, as OpenCLIP stores SDXL's second text
    /// encoder) → `X.in_proj`, so the q/k/v weights are a layer that LoRAs can patch by row bands.
    /// nil for every other tensor (biases, norms' running stats, buffers).
    static func moduleName(ofWeightKey key: String) -> String? {
        let module: Substring
        if key.hasSuffix(".in_proj_weight") {
            module = key.dropLast("_weight".count)
        } else if key.hasSuffix(".weight") {
            module = key.dropLast(".weight".count)
        } else {
            return nil
        }
        return module.isEmpty ? nil : String(module)
    }

    /// The layer with this name (as listed) or full weight key; a full module path also works, and
    /// so does the full key of any other tensor of the file (`encoder.layernorm.bias`,
    /// `embeddings.position_ids`), which then stands for itself.
    ///
    /// - Throws: `.moduleWithoutWeight` for a container of layers, `.unknownLayer` with the closest names otherwise.
    public func layer(named nameOrKey: String) throws(CatalogError) -> Layer {
        if let i = indexByName[nameOrKey] ?? indexByWeightKey[nameOrKey] ?? indexByWeightKey[nameOrKey + ".weight"] {
            return allLayers[i]
        }
        if let prefix = diffusionPrefix, !prefix.isEmpty, nameOrKey.hasPrefix(prefix), let i = indexByName[String(nameOrKey.dropFirst(prefix.count))] {
            return allLayers[i]
        }
        if let e = checkpoint.entry(named: nameOrKey) {
            var name = e.name
            var part = DiffusionLayout.part(of: e.name)
            if let prefix = diffusionPrefix, e.name.hasPrefix(prefix) {
                if !prefix.isEmpty { name = String(e.name.dropFirst(prefix.count)) }
                part = "unet"
            }
            let block = identity.blocks.flatMap {
                DiffusionLayout.block(of: name, scheme: $0, naming: identity.naming, layersPerBlock: identity.layersPerBlock)
            }
            return Layer(name: name, weightKey: e.name, shape: e.shape, dtype: e.dtype, parameters: e.parameterCount,
                         block: block, part: part, quantization: e.quantization)
        }
        let container = nameOrKey + "."
        if allLayers.contains(where: { $0.name.hasPrefix(container) }) {
            throw .moduleWithoutWeight(name: nameOrKey)
        }
        throw .unknownLayer(name: nameOrKey, suggestions: NameSuggestions.closest(to: nameOrKey, in: layers.map(\.name), count: 5))
    }

    /// Layers matching `text`, in list order.
    ///
    /// - `""`: all layers.
    /// - Block grammar (`IN04`, `IN00-M00`, `OUT00-OUT08(+2)`, `D00-S37(+4)`, `J10`, comma lists):
    ///   layers inside those blocks.
    /// - `*` / `?` present: a glob matched against the whole layer name.
    /// - otherwise: a case-sensitive substring of the layer name.
    public func filter(_ text: String) throws(CatalogError) -> [Layer] {
        let trimmed = text.trimmingSpaces()
        if trimmed.isEmpty { return layers }
        if BlockGrammar.looksLikeBlocks(trimmed) {
            guard let scheme = identity.blocks else { throw .noBlocks(family: family) }
            let labels = try BlockGrammar.resolve(trimmed, scheme: scheme, modelName: identity.variant)
            return layers.filter { $0.block.map(labels.contains) ?? false }
        }
        if trimmed.contains("*") || trimmed.contains("?") {
            let pattern = Array(trimmed.utf8)
            // Matching costs pattern × name per layer; no real pattern is this long, and a huge one
            // (hostile input) should not cost minutes.
            guard pattern.count <= 4096 else { return [] }
            return layers.filter { Glob.matches(pattern, Array($0.name.utf8)) }
        }
        return layers.filter { $0.name.contains(trimmed) }
    }

    /// The layer's weight as Float32, multiplied by its scale when it is a scaled-fp8 weight, with
    /// the catalogue's patch (W + strength·ΔW of a LoRA) applied when it touches this layer.
    public func loadWeight(_ layer: Layer) throws(CheckpointError) -> Tensor {
        let stored = try Self.loadWeight(layer, from: checkpoint)
        guard let patch, patch.touches(weightKey: layer.weightKey) else { return stored }
        return try patch.apply(to: stored, layer: layer)
    }

    /// Whether `loadWeight` changes this layer's stored weight.
    public func isPatched(_ layer: Layer) -> Bool { patch?.touches(weightKey: layer.weightKey) ?? false }

    /// The same catalogue whose `loadWeight` also applies `patch` (after any patch it already has).
    public func patched(with patch: any WeightPatch) -> LayerCatalog {
        var copy = self
        copy.patch = self.patch.map { ChainedPatch(patches: [$0, patch]) } ?? patch
        return copy
    }

    /// The stored weight (scaled if scaled fp8), without any patch: for code that holds the file but not its catalog.
    public static func loadWeight(_ layer: Layer, from checkpoint: CheckpointFile) throws(CheckpointError) -> Tensor {
        let weight = try checkpoint.loadTensor(layer.weightKey)
        guard let scaleKey = layer.scaleKey else { return weight }
        return ScaledWeights.apply(scale: try checkpoint.loadTensor(scaleKey), to: weight)
    }
}

extension String {
    /// The string without leading and trailing spaces, tabs and newlines.
    func trimmingSpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
