/// Why a layer name or filter could not be resolved.
public enum CatalogError: Error, CustomStringConvertible, Equatable {
    /// No layer has this name; `suggestions` are the closest existing names (best first).
    case unknownLayer(name: String, suggestions: [String])
    /// The name is a module that contains layers but owns no `.weight` itself.
    case moduleWithoutWeight(name: String)
    /// A block expression (`IN00-OUT08(+2)`) is malformed; `reason` says where.
    case invalidBlockExpression(text: String, reason: String)
    /// Block labels were used on a checkpoint without a recognised U-Net or DiT.
    case noBlocks(family: ModelFamily)

    public var description: String {
        switch self {
        case .unknownLayer(let name, let suggestions):
            if suggestions.isEmpty { return "No layer named '\(name)'." }
            return "No layer named '\(name)'; closest: \(suggestions.joined(separator: ", "))."
        case .moduleWithoutWeight(let name):
            return "Layer \(name) does not have weights (it only contains other layers)."
        case .invalidBlockExpression(let text, let reason):
            return "Invalid block expression '\(text)': \(reason)."
        case .noBlocks(let family):
            return "Block labels need a recognised diffusion model (SD 1.x, SD 2.x, SDXL, Flux or SD3), but this checkpoint is \(family.displayName)."
        }
    }
}
