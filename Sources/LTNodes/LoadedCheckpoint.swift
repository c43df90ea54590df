import Checkpoint
import ModelCatalog

/// A checkpoint opened by a loader node (CheckpointLoaderSimple, UNETLoader, UnetLoaderGGUF): the mapped file and its layer catalogue.
///
/// Opening reads only the header; tensor bytes are paged in when a node loads a tensor. The
/// handle is immutable and shared by the MODEL, CLIP and VAE outputs and by the output cache.
package final class LoadedCheckpoint: Sendable {
    /// The `ckpt_name` it was loaded as.
    package let name: String
    package let file: CheckpointFile
    package let catalog: LayerCatalog
    /// UNETLoader's `weight_dtype` as given (`default`, `fp8_e4m3fn`…); recorded only: analyses
    /// always read the stored values. Nil for other loaders.
    package let weightDType: String?

    package init(name: String, file: CheckpointFile, weightDType: String? = nil) {
        self.name = name
        self.file = file
        self.catalog = LayerCatalog(checkpoint: file)
        self.weightDType = weightDType
    }
}
