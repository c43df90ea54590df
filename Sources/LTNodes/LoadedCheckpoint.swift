import Checkpoint
import ModelCatalog

/// A checkpoint opened by CheckpointLoaderSimple: the mapped file and its layer catalogue.
///
/// Opening reads only the header; tensor bytes are paged in when a node loads a tensor. The
/// handle is immutable and shared by the MODEL, CLIP and VAE outputs and by the output cache.
package final class LoadedCheckpoint: Sendable {
    /// The `ckpt_name` it was loaded as.
    package let name: String
    package let file: CheckpointFile
    package let catalog: LayerCatalog

    package init(name: String, file: CheckpointFile) {
        self.name = name
        self.file = file
        self.catalog = LayerCatalog(checkpoint: file)
    }
}
