import OrderedJSON
import Render

/// `LTWeightStats`: histograms and a statistics table of the layers matching `filter` (the first
/// 64 drawn, all in the report). Progress is reported per layer; an interrupt stops between layers.
enum LTWeightStatsNode: NodeImplementation {
    static let className = "LTWeightStats"
    static let signature = NodeSignature(
        inputs: [.init(.required, "model", "MODEL"), .init(.required, "filter", "STRING"), .init(.required, "bins", "INT")],
        outputs: ["IMAGE", "STRING"], outputIsList: [false, false], isOutputNode: true)

    static func run(_ call: NodeCall) throws(NodeFailure) -> NodeResult {
        let checkpoint = try AnalysisNode.checkpoint(call)
        let filter = (call.string("filter") ?? "").trimmingWhitespace()
        var options = RenderOptions()
        options.bins = try AnalysisNode.int(call, "bins", default: 64, range: 8...512)
        let context = call.context
        let output = try WeightStatsReport.compute(checkpoint.file, catalog: checkpoint.catalog, filter: filter, bins: options.bins,
                                                   cancelled: { context.isInterrupted },
                                                   progress: { context.progress(Double($0), of: Double($1)) })
        let title = filter.isEmpty ? checkpoint.name : "\(checkpoint.name) · \(filter)"
        let images: [RenderedImage]
        do { images = try LayerRenderer.renderStatistics(output.drawn, total: output.total, title: title, options: options) } catch {
            throw AnalysisNode.failure(error)
        }
        return try AnalysisNode.result(images: images, report: output.report, className: className, context: context)
    }
}
