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

/// Why a layer name or filter could not be resolved.
public enum CatalogError: Error, CustomStringConvertible, Equatable {
    /// No layer has this name; `suggestions` are the closest existing names.
    case unknownLayer(name: String, suggestions: [String])
    /// The name is a module that contains layers but owns no `.weight` itself.
    case moduleWithoutWeight(name: String)
    /// A block expression (`IN00-OUT08(+2)`) is malformed; `reason` says where.
    case invalidBlockExpression(text: String, reason: String)
    /// Block labels were used on a checkpoint without a U-Net.
    case noBlocks(family: ModelFamily)

    public var description: String {
        switch self {
        case .unknownLayer(let name, let suggestions):
            if suggestions.isEmpty { return "No layer named '\(name)'." }
            return "No layer named '\(name)'; closest: \(suggestions.joined(separator: ", "))."
        case .moduleWithoutWeight(let name):
            return "Layer \(name) does not have weights (it is a container module; list its layers with a filter)."
        case .invalidBlockExpression(let text, let reason):
            return "Invalid block expression '\(text)': \(reason)."
        case .noBlocks(let family):
            return "Block labels need a U-Net checkpoint, but this one is \(family.displayName)."
        }
    }
}

/// The layers of a checkpoint, its family, and name lookup / filtering.
public struct LayerCatalog: Sendable {
    public let checkpoint: CheckpointFile
    public let family: ModelFamily
    /// Layers in model order (see docs/FORMATS.md): the diffusion model's layers when the file has one, else every module.
    public let layers: [Layer]

    public init(checkpoint: CheckpointFile) {
        self.checkpoint = checkpoint
        self.family = .unknown
        self.layers = []
    }

    /// The layer with this name or full weight key.
    public func layer(named nameOrKey: String) throws(CatalogError) -> Layer {
        throw .unknownLayer(name: nameOrKey, suggestions: [])
    }

    /// Layers matching `text`: "" = all, substring, glob (`*`, `?`), or block grammar.
    public func filter(_ text: String) throws(CatalogError) -> [Layer] {
        if text.isEmpty { return layers }
        return layers.filter { $0.name.contains(text) }
    }
}
