import ModelCatalog
import OrderedJSON

/// `LTListLayers`: the names of the model's layers that match a filter, one per line.
///
/// Same names and semantics as the original latent-tools node (a substring filter over the
/// diffusion model's weight-bearing modules); the filter also accepts ModelCatalog's block grammar
/// (`IN04`, `IN04-M00`) and globs. Not an output node: its text reaches the UI through ShowText.
enum LTListLayersNode: NodeImplementation {
    static let className = "LTListLayers"
    static let signature = NodeSignature(
        inputs: [.init(.required, "model", "MODEL"), .init(.required, "filter", "STRING")],
        outputs: ["STRING"], outputIsList: [false], isOutputNode: false)

    static func run(_ call: NodeCall) throws(NodeFailure) -> NodeResult {
        guard let checkpoint = call.checkpoint("model") else {
            throw .failed(type: "TypeError", message: "model must be a MODEL from a checkpoint loader")
        }
        let filter = call.string("filter") ?? ""
        let layers: [Layer]
        do { layers = try checkpoint.catalog.filter(filter) } catch {
            throw .failed(type: "ValueError", message: error.description)
        }
        return NodeResult(outputs: [[.string(layers.map(\.name).joined(separator: "\n"))]])
    }
}
