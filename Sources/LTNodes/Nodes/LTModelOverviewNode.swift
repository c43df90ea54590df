import OrderedJSON
import Render

/// `LTModelOverview`: one metric for every matching 2-D/4-D weight along the network's depth,
/// grouped by block, outliers named. The report holds every metric of every layer (the spectral
/// ones only when a spectral metric is chosen). Progress is reported per layer; an interrupt stops
/// the layers in flight.
enum LTModelOverviewNode: NodeImplementation {
    static let className = "LTModelOverview"
    static let signature = NodeSignature(
        inputs: [.init(.required, "model", "MODEL"), .init(.required, "filter", "STRING"), .init(.required, "metric", "COMBO")],
        outputs: ["IMAGE", "STRING"], outputIsList: [false, false], isOutputNode: true)

    static func run(_ call: NodeCall) throws(NodeFailure) -> NodeResult {
        let checkpoint = try AnalysisNode.checkpoint(call)
        let filter = (call.string("filter") ?? "").trimmingWhitespace()
        let name = call.string("metric") ?? "alpha"
        guard let metric = ModelOverviewReport.Metric(rawValue: name) else {
            throw .failed(type: "ValueError", message: "metric must be one of \(ModelOverviewReport.Metric.allCases.map(\.rawValue).joined(separator: ", ")), got '\(name)'")
        }
        let context = call.context
        let entries = try ModelOverviewReport.compute(checkpoint.file, catalog: checkpoint.catalog, filter: filter, metric: metric,
                                                      cancelled: { context.isInterrupted },
                                                      progress: { context.progress(Double($0), of: Double($1)) })
        try context.checkInterrupted()
        let points = entries.map { DepthPoint(name: $0.layer.name, block: $0.block, value: $0.value(metric)) }
        let title = filter.isEmpty ? checkpoint.name : "\(checkpoint.name) · \(filter)"
        let image: RenderedImage
        do { image = try LayerRenderer.renderDepthChart(points, metric: metric.rawValue, title: title) } catch {
            throw AnalysisNode.failure(error)
        }
        return try AnalysisNode.result(images: [image], report: ModelOverviewReport.report(entries), className: className, context: context)
    }
}
