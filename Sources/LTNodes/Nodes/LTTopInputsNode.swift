import Analysis
import OrderedJSON
import Render
import TensorCore

/// `LTTopInputs`: Distill's small multiples for one output channel: its `top_k` strongest input
/// channels by the L2 norm of their kernel slice, drawn on one shared signed scale, sorted.
///
/// Report: `{layer, output_channel, inputs: [{input_channel, l2_norm}]}`.
enum LTTopInputsNode: NodeImplementation {
    static let className = "LTTopInputs"
    static let signature = NodeSignature(
        inputs: [.init(.required, "model", "MODEL"), .init(.required, "layer_name", "STRING"),
                 .init(.required, "output_channel", "INT"), .init(.required, "top_k", "INT")],
        outputs: ["IMAGE", "STRING"], outputIsList: [false, false], isOutputNode: true)

    static func run(_ call: NodeCall) throws(NodeFailure) -> NodeResult {
        let checkpoint = try AnalysisNode.checkpoint(call)
        let layer = try AnalysisNode.layer(call.string("layer_name") ?? "", in: checkpoint)
        let channel = try AnalysisNode.int(call, "output_channel", default: 0, range: 0...Int(Int32.max))
        let k = try AnalysisNode.int(call, "top_k", default: 8, range: 1...64)
        guard layer.shape.count >= 2 else {
            throw .failed(type: "ValueError", message: "Layer \(layer.name) has a \(layer.shape.count)-D weight \(layer.shape); top inputs need a conv or linear weight with input channels.")
        }
        guard channel < layer.shape[0] else {
            throw .failed(type: "ValueError", message: "output_channel \(channel) does not exist: \(layer.name) has \(layer.shape[0]) output channels (0…\(layer.shape[0] - 1)).")
        }
        try call.context.checkInterrupted()
        let raw = try AnalysisNode.weight(layer, in: checkpoint)
        // 3-D/5-D convs are drawn like their 4-D fold; the norms are the same either way.
        let spatial = raw.shape.dropFirst(2).reduce(1, *)
        let weight = raw.rank == 4 ? raw : Tensor(shape: [raw.shape[0], raw.shape[1], 1, spatial], values: raw.values)
        let inputs: [ChannelNorm]
        do { inputs = try topInputChannels(of: weight, outputChannel: channel, k: min(k, weight.shape[1])) } catch {
            throw AnalysisNode.failure(error)
        }
        let image: RenderedImage
        do {
            image = try LayerRenderer.renderTopInputs(weight: weight, outputChannel: channel, inputs: inputs, layer: AnalysisNode.info(layer))
        } catch {
            throw AnalysisNode.failure(error)
        }
        let report = JSON.object(JSONObject([
            ("layer", .string(layer.name)),
            ("output_channel", .int(Int64(channel))),
            ("inputs", .array(inputs.map { .object(JSONObject([("input_channel", .int(Int64($0.channel))),
                                                                ("l2_norm", ReportNumber.json($0.norm))])) })),
        ]))
        return try AnalysisNode.result(images: [image], report: report, className: className, context: call.context)
    }
}
