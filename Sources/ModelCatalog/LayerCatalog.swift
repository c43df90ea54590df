// ModelCatalog: layers of a checkpoint, model family detection, U-Net block grammar and name suggestions.
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
    /// U-Net block label (`IN04`, `M00`, `OUT02`) or nil outside the U-Net blocks.
    public let block: String?
    /// `unet`, `text_encoder`, `text_encoder_2`, `vae` or `other`.
    public let part: String

    public init(name: String, weightKey: String, shape: [Int], dtype: DType, parameters: Int, block: String?, part: String) {
        self.name = name
        self.weightKey = weightKey
        self.shape = shape
        self.dtype = dtype
        self.parameters = parameters
        self.block = block
        self.part = part
    }
}

/// The layers of a checkpoint, its family, and name lookup / filtering.
///
/// For a diffusion checkpoint, `layers` are the diffusion model's modules, named relative to
/// `model.diffusion_model.` and ordered as the model registers them (what LatentTools' layer list
/// shows). Other checkpoints list every module in file order. See docs/FORMATS.md.
public struct LayerCatalog: Sendable {
    public let checkpoint: CheckpointFile
    public let family: ModelFamily
    /// The listed layers (see the type's summary for which and in what order).
    public let layers: [Layer]
    /// Every layer of every part: `layers` first, then text encoders, VAE and the rest with full module paths.
    public let allLayers: [Layer]
    /// Key prefix of the diffusion model: `model.diffusion_model.`, `""` for a file that holds only a
    /// recognised diffusion model without prefix, nil when the file has none.
    public let diffusionPrefix: String?

    private let indexByName: [String: Int]
    private let indexByWeightKey: [String: Int]

    public init(checkpoint: CheckpointFile) {
        self.checkpoint = checkpoint
        let entries = checkpoint.entries
        var prefix = DiffusionLayout.diffusionPrefix(entries)
        let family = DiffusionLayout.detectFamily(entries, prefix: prefix)
        // A diffusion-model-only file (ComfyUI's models/unet, keys without a prefix) is the diffusion
        // model as a whole: same names, blocks and order as inside a full checkpoint.
        if prefix == nil && family != .unknown { prefix = "" }
        self.diffusionPrefix = prefix
        self.family = family

        var unet: [Layer] = []
        var rest: [Layer] = []
        for e in entries where e.name.hasSuffix(".weight") {
            let module = String(e.name.dropLast(".weight".count))
            if module.isEmpty { continue }
            if let prefix, module.hasPrefix(prefix) {
                let name = String(module.dropFirst(prefix.count))
                unet.append(Layer(name: name, weightKey: e.name, shape: e.shape, dtype: e.dtype, parameters: e.parameterCount,
                                  block: DiffusionLayout.block(of: name, family: family), part: "unet"))
            } else {
                rest.append(Layer(name: module, weightKey: e.name, shape: e.shape, dtype: e.dtype, parameters: e.parameterCount,
                                  block: nil, part: DiffusionLayout.part(of: module)))
            }
        }
        if prefix != nil {
            unet = DiffusionLayout.moduleOrder(unet)
            self.layers = unet
            self.allLayers = unet + rest
        } else {
            self.layers = rest
            self.allLayers = rest
        }
        var byName: [String: Int] = [:]
        var byKey: [String: Int] = [:]
        for (i, l) in allLayers.enumerated() {
            if byName[l.name] == nil { byName[l.name] = i }
            byKey[l.weightKey] = i
        }
        indexByName = byName
        indexByWeightKey = byKey
    }

    /// The layer with this name (as listed) or full weight key; a full module path also works.
    ///
    /// - Throws: `.moduleWithoutWeight` for a container of layers, `.unknownLayer` with the closest names otherwise.
    public func layer(named nameOrKey: String) throws(CatalogError) -> Layer {
        if let i = indexByName[nameOrKey] ?? indexByWeightKey[nameOrKey] ?? indexByWeightKey[nameOrKey + ".weight"] {
            return allLayers[i]
        }
        if let prefix = diffusionPrefix, !prefix.isEmpty, nameOrKey.hasPrefix(prefix), let i = indexByName[String(nameOrKey.dropFirst(prefix.count))] {
            return allLayers[i]
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
    /// - Block grammar (`IN04`, `IN00-M00`, `OUT00-OUT08(+2)`, comma lists): layers inside those U-Net blocks.
    /// - `*` / `?` present: a glob matched against the whole layer name.
    /// - otherwise: a case-sensitive substring of the layer name.
    public func filter(_ text: String) throws(CatalogError) -> [Layer] {
        let trimmed = text.trimmingSpaces()
        if trimmed.isEmpty { return layers }
        if BlockGrammar.looksLikeBlocks(trimmed) {
            let labels = try BlockGrammar.resolve(trimmed, family: family)
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
}

extension String {
    /// The string without leading and trailing spaces, tabs and newlines.
    func trimmingSpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
