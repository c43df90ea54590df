import Analysis
import OrderedJSON
import Render

/// `LTWeightNMF`: Distill's one-sided NMF of a layer. The first `num_filters` output channels'
/// input weights are factored into `rank` non-negative mixes of input channels with signed
/// loadings, drawn as one RGB kernel per output channel (factors 1–3) and the factors' loadings
/// over input channels.
///
/// Report: `{layer, shape, rank, relative_error, factors: [[per input channel] per factor], output_channels}`.
enum LTWeightNMFNode: NodeImplementation {
    static let className = "LTWeightNMF"
    static let signature = NodeSignature(
        inputs: [.init(.required, "model", "MODEL"), .init(.required, "layer_name", "STRING"),
                 .init(.required, "num_filters", "INT"), .init(.required, "rank", "INT")],
        outputs: ["IMAGE", "STRING"], outputIsList: [false, false], isOutputNode: true)

    static func run(_ call: NodeCall) throws(NodeFailure) -> NodeResult {
        let checkpoint = try AnalysisNode.checkpoint(call)
        let layer = try AnalysisNode.layer(call.string("layer_name") ?? "", in: checkpoint)
        var options = RenderOptions()
        options.numFilters = try AnalysisNode.int(call, "num_filters", default: 16, range: 1...256)
        options.rank = try AnalysisNode.int(call, "rank", default: 3, range: 1...8)
        let context = call.context
        try context.checkInterrupted()
        let weight = try AnalysisNode.weight(layer, in: checkpoint)
        let (result, image): (NMFResult, RenderedImage)
        do {
            (result, image) = try LayerRenderer.renderNMF(weight: weight, layer: AnalysisNode.info(layer), options: options,
                                                          cancellation: AnalysisNode.cancellation(context),
                                                          progress: AnalysisNode.progress(context))
        } catch {
            throw AnalysisNode.failure(error)
        }
        let report = report(layerName: layer.name, shape: layer.shape, result: result)
        return try AnalysisNode.result(images: [image], report: report, className: className, context: context)
    }

    /// The report of one factorisation (also printed by `weightlens nmf --json`-style callers).
    package static func report(layerName: String, shape: [Int], result: NMFResult) -> JSON {
        let factors: [JSON] = (0..<result.rank).map { t in
            .array((0..<result.factors.cols).map { ReportNumber.json(result.factors[t, $0]) })
        }
        return .object(JSONObject([
            ("layer", .string(layerName)),
            ("shape", ReportNumber.shape(shape)),
            ("rank", .int(Int64(result.rank))),
            ("relative_error", ReportNumber.json(result.relativeError)),
            ("factors", .array(factors)),
            ("output_channels", .array(result.outputChannels.map { .int(Int64($0)) })),
        ]))
    }
}
