import OrderedJSON
import Render

/// `LTCompareModels`: what changed from `model_a` to `model_b`, layer by layer: ‖B − A‖/‖A‖,
/// cosine similarity, ‖B − A‖ and σ₁(B − A) along the depth by block, the most changed layers
/// named, layers that could not be compared listed. The report holds every metric (σ₁ only when
/// it is the chosen metric). Progress per layer; an interrupt stops the layers in flight.
package enum LTCompareModelsNode: NodeImplementation {
    package static let className = "LTCompareModels"
    package static let signature = NodeSignature(
        inputs: [.init(.required, "model_a", "MODEL"), .init(.required, "model_b", "MODEL"),
                 .init(.required, "filter", "STRING"), .init(.required, "metric", "COMBO")],
        outputs: ["IMAGE", "STRING"], outputIsList: [false, false], isOutputNode: true)

    /// Layers named on the chart.
    static let named = 12

    package static func run(_ call: NodeCall) throws(NodeFailure) -> NodeResult {
        let (a, nameA) = try side(call, "model_a")
        let (b, nameB) = try side(call, "model_b")
        let filter = (call.string("filter") ?? "").trimmingWhitespace()
        let name = call.string("metric") ?? "relative_change"
        guard let metric = ModelComparisonReport.Metric(rawValue: name) else {
            throw .failed(type: "ValueError", message: "metric must be one of \(ModelComparisonReport.Metric.allCases.map(\.rawValue).joined(separator: ", ")), got '\(name)'")
        }
        let context = call.context
        let entries = try ModelComparisonReport.compute(a, b, filter: filter, metric: metric,
                                                        cancelled: { context.isInterrupted },
                                                        progress: { context.progress(Double($0), of: Double($1)) })
        try context.checkInterrupted()
        let image: RenderedImage
        do {
            image = try chart(entries, metric: metric, title: "\(nameA) -> \(nameB)" + (filter.isEmpty ? "" : " · \(filter)"))
        } catch {
            throw AnalysisNode.failure(error)
        }
        return try AnalysisNode.result(images: [image], report: ModelComparisonReport.report(entries), className: className, context: context)
    }

    static func side(_ call: NodeCall, _ input: String) throws(NodeFailure) -> (ModelComparisonReport.Side, String) {
        guard let checkpoint = call.checkpoint(input) else {
            throw .failed(type: "TypeError", message: "\(input) must be a MODEL from a model loader")
        }
        return (ModelComparisonReport.Side(file: checkpoint.file, catalog: checkpoint.catalog), checkpoint.name)
    }

    /// The depth chart of `metric` over the compared layers, the most changed named, the layers
    /// that could not be compared listed below (shared with `weightlens diff --out`).
    package static func chart(_ entries: [ModelComparisonReport.Entry], metric: ModelComparisonReport.Metric,
                              title: String) throws(RenderError) -> RenderedImage {
        let compared = entries.filter { $0.status == .compared }
        let points = compared.map { DepthPoint(name: $0.name, block: $0.block, value: $0.value(metric)) }
        // Unchanged layers are never "most changed", whatever their rank.
        let order = ModelComparisonReport.mostChanged(compared, metric: metric).filter { (compared[$0].moments?.sumD2 ?? 0) > 0 }
        let unchanged = compared.filter { ($0.moments?.sumD2 ?? 1) == 0 }.count
        let highlight = DepthChartHighlight(
            indices: Array(order.prefix(named)), heading: metric == .cosine ? "least similar layers" : "most changed layers",
            legend: "red = the \(min(named, order.count)) most changed" + (unchanged > 0 ? " · \(unchanged) unchanged" : ""),
            footer: ModelComparisonReport.unmatchedLines(entries),
            missingReason: metric == .deltaSpectralNorm ? "1-D weights have no spectral norm" : "a zero weight has no relative change or cosine")
        return try LayerRenderer.renderComparisonChart(points, metric: metric.rawValue, title: title, highlight: highlight)
    }
}
