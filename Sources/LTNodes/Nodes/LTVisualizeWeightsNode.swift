import ModelCatalog
import OrderedJSON

/// `LTVisualizeWeights`: renders a layer's weights (and/or their expanded factorisation) to PNGs
/// in the temp folder, shown on the node through `ui.images`, with `ui.text` describing the layer.
enum LTVisualizeWeightsNode: NodeImplementation {
    static let className = "LTVisualizeWeights"
    static let signature = NodeSignature(
        inputs: [.init(.required, "model", "MODEL"), .init(.required, "layer_name", "STRING"),
                 .init(.required, "num_filters", "INT"), .init(.required, "visualization_mode", "COMBO")],
        outputs: [], outputIsList: [], isOutputNode: true)

    static func run(_ call: NodeCall) throws(NodeFailure) -> NodeResult {
        throw .failed(type: "NotImplementedError", message: "LTVisualizeWeights is waiting for the renderer")
    }
}
