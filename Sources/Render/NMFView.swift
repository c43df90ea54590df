import Analysis
import TensorCore

/// The `nmf` view (Distill's one-sided NMF): the input-channel dimension of a conv is factored
/// into three non-negative factors, so each output neuron becomes a small RGB image.
enum NMFView {
    static func render(weight: Tensor, info: LayerInfo, options: RenderOptions,
                       cancellation: Cancellation?, progress: ProgressHandler?) throws(RenderError) -> Painter {
        throw .analysisFailed(view: "nmf", layer: info.name, reason: "the NMF engine is not linked into this build yet")
    }
}
