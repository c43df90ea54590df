import Checkpoint

/// The layers of a released model, from the bundled key layouts, without any file: what a LoRA
/// is matched against when no base model is given (its family, layer names and blocks).
public struct ReferenceLayers: Sendable {
    public let layout: SyntheticCheckpoint.Layout
    public let identity: ModelIdentity
    /// Every layer with a `.weight`: the diffusion model's (named as in a checkpoint's layer list),
    /// then the text encoders and VAE with full module paths.
    public let allLayers: [Layer]

    /// The layers of one bundled layout (full size, as the released model has them).
    public static func load(_ layout: SyntheticCheckpoint.Layout) throws(SyntheticCheckpointError) -> ReferenceLayers {
        let plan = try SyntheticCheckpoint.plan(layout: layout, scale: 1, dtype: .f16, parts: .all)
        let entries = plan.map { TensorEntry(name: $0.key, dtype: $0.dtype, shape: $0.shape) }
        let built = LayerCatalog.build(entries) { _, _ in nil }
        return ReferenceLayers(layout: layout, identity: built.identity, allLayers: built.allLayers)
    }
}
