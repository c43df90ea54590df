import LoRA
import OrderedJSON
import Render

/// `LTLoraInspect`: where a LoRA acts. Per layer it changes: rank, alpha, scale, ‖ΔW‖, max |ΔW|,
/// the top 4 singular values of ΔW at strength 1, ‖ΔW‖/‖W‖ with a base model; text-encoder layers
/// apart (blocks TE, TE2); keys that map to no layer; the file's training metadata. Pictures: ‖ΔW‖
/// along the blocks (most changed named), the spectra of the most changed layers, the metadata.
enum LTLoraInspectNode: NodeImplementation {
    static let className = "LTLoraInspect"
    static let signature = NodeSignature(
        inputs: [.init(.required, "lora_name", "COMBO"), .init(.optional, "model", "MODEL")],
        outputs: ["IMAGE", "STRING"], outputIsList: [false, false], isOutputNode: true)
    static var dynamicOptions: [String: DynamicOptions] { ["lora_name": .loras] }

    static func fingerprint(constants: JSONObject, environment: ExecutionEnvironment) -> String? {
        LoraLoading.fingerprint(constants, environment: environment)
    }

    static func run(_ call: NodeCall) throws(NodeFailure) -> NodeResult {
        let (name, lora, _) = try LoraLoading.open(call)
        let model = call.checkpoint("model")
        let context = call.context
        let inspection: LoraInspection
        do {
            inspection = try LoraInspection.run(lora, base: model?.catalog, modelName: model?.name ?? "model",
                                                cancelled: { context.isInterrupted })
        } catch {
            throw .failed(type: "LoraError", message: "Cannot inspect LoRA '\(name)': \(error.description)")
        }
        try context.checkInterrupted()
        let images = try LoraReport.pictures(inspection, title: name)
        return try AnalysisNode.result(images: images, report: LoraReport.json(inspection), className: className, context: context)
    }
}

/// The LoRA report as JSON (`{format, family, metadata, layers: [...], unmatched_keys}`) and its pictures.
package enum LoraReport {
    package static func json(_ r: LoraInspection) -> JSON {
        var metadata = JSONObject()
        for (k, v) in r.metadata { metadata[k] = .string(v) }
        let layers: [JSON] = r.layers.map { l in
            .object(JSONObject([
                ("name", .string(l.name)),
                ("rank", l.rank.map { .int(Int64($0)) } ?? .null),
                ("alpha", l.alpha.map(ReportNumber.json) ?? .null),
                ("scale", ReportNumber.json(l.scale)),
                ("delta_l2", ReportNumber.json(l.deltaL2)),
                ("delta_max_abs", ReportNumber.json(l.deltaMaxAbs)),
                ("singular_values", .array(l.singularValues.map(ReportNumber.json))),
                ("relative_change", l.relativeChange.map(ReportNumber.json) ?? .null),
            ]))
        }
        return .object(JSONObject([
            ("format", .string(r.format)),
            ("family", .string(r.family)),
            ("metadata", .object(metadata)),
            ("layers", .array(layers)),
            ("unmatched_keys", .array(r.unmatchedKeys.map { .string($0) })),
        ]))
    }

    package static func pictures(_ r: LoraInspection, title: String) throws(NodeFailure) -> [RenderedImage] {
        let points = r.layers.map { DepthPoint(name: $0.name, block: $0.block ?? "-", value: $0.deltaL2) }
        let top = r.layers.indices.sorted { r.layers[$0].deltaL2 > r.layers[$1].deltaL2 }
        let te = r.layers.filter { $0.part.hasPrefix("text_encoder") }.count
        var footer = ["\(r.layers.count) layers changed (\(te) in text encoders), \(r.unmatchedKeys.count) keys unmatched"]
        footer += r.unmatchedKeys.prefix(4).map { "not loaded: " + $0 }
        let highlight = DepthChartHighlight(indices: Array(top.prefix(10)), heading: "Most changed", legend: "|dW| (Frobenius) at strength 1",
                                            footer: footer)
        var images: [RenderedImage] = []
        do {
            images.append(try LayerRenderer.renderComparisonChart(points, metric: "delta_l2", title: "\(title) (\(r.format), \(r.family))",
                                                                  highlight: highlight))
            let series = top.prefix(8).map { (label: r.layers[$0].name, values: r.layers[$0].singularValues.map(Double.init)) }
                .filter { !$0.values.isEmpty }
            if !series.isEmpty {
                images.append(try LayerRenderer.renderSpectra(series, title: "\(title): top singular values of dW",
                                                              notes: ["the 4 largest singular values of each layer's dW at strength 1"]))
            }
        } catch {
            throw AnalysisNode.failure(error)
        }
        var lines = ["format: \(r.format)", "family: \(r.family)"]
        for (k, v) in r.metadata { lines.append(k + ": " + Self.clip(v, 90)) }
        if r.metadata.isEmpty { lines.append("(the file stores no metadata)") }
        images.append(LayerRenderer.renderLayerList(lines, title: "\(title): metadata"))
        return images
    }

    /// `s` cut to `n` characters, printable ASCII only (the bitmap font's guaranteed set).
    static func clip(_ s: String, _ n: Int) -> String {
        let ascii = String(String.UnicodeScalarView(s.unicodeScalars.map { $0.isASCII && $0.value >= 32 ? $0 : "?" }))
        return ascii.count > n ? String(ascii.prefix(n - 3)) + "..." : ascii
    }
}
