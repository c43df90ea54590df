import Checkpoint
import ModelCatalog

/// A checkpoint opened by a loader node (CheckpointLoaderSimple, UNETLoader, UnetLoaderGGUF): the mapped file and its layer catalogue.
///
/// Opening reads only the header; tensor bytes are paged in when a node loads a tensor. The
/// handle is immutable and shared by the MODEL, CLIP and VAE outputs and by the output cache.
/// A LoRA loader returns a new handle on the same file whose catalogue carries the LoRA as a
/// `WeightPatch`: every node reading weights through `catalog.loadWeight` sees W + strength·ΔW.
package final class LoadedCheckpoint: Sendable {
    /// The `ckpt_name` it was loaded as.
    package let name: String
    package let file: CheckpointFile
    package let catalog: LayerCatalog
    /// UNETLoader's `weight_dtype` as given (`default`, `fp8_e4m3fn`…); recorded only: analyses
    /// always read the stored values. Nil for other loaders.
    package let weightDType: String?
    /// The LoRAs applied to this handle's catalogue, in the order they were loaded.
    package let loras: [AppliedLora]

    package init(name: String, file: CheckpointFile, weightDType: String? = nil) {
        self.name = name
        self.file = file
        self.catalog = LayerCatalog(checkpoint: file)
        self.weightDType = weightDType
        self.loras = []
    }

    private init(name: String, file: CheckpointFile, catalog: LayerCatalog, weightDType: String?, loras: [AppliedLora]) {
        self.name = name
        self.file = file
        self.catalog = catalog
        self.weightDType = weightDType
        self.loras = loras
    }

    /// The same checkpoint with `patch` applied on top of any patch it already carries.
    package func patched(with patch: any WeightPatch, record: AppliedLora) -> LoadedCheckpoint {
        LoadedCheckpoint(name: name, file: file, catalog: catalog.patched(with: patch), weightDType: weightDType,
                         loras: loras + [record])
    }
}

/// What a LoRA loader applied to a MODEL or CLIP handle (shown by nodes and the CLI).
package struct AppliedLora: Sendable, Equatable {
    package let loraName: String
    package let strength: Double
    /// Layers of this handle's part it changes.
    package let layers: Int
    package init(loraName: String, strength: Double, layers: Int) {
        self.loraName = loraName
        self.strength = strength
        self.layers = layers
    }
}
