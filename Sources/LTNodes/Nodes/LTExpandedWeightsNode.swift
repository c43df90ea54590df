import Analysis
import ModelCatalog
import OrderedJSON
import Render
import TensorCore

/// `LTExpandedWeights`: Distill's expanded weights.
/// - `conv_chain`: `layer_name` is a comma list of consecutive convolutions (or linear layers),
///   composed into the single kernel they amount to with the non-linearities ignored
///   (3×3 ∘ 3×3 → 5×5); drawn as a kernel grid with its spectrum.
/// - `attention_qk` / `attention_ov`: `layer_name` is an attention module (`…attn1`, `…attn2`);
///   per head W_Q,hᵀ·W_K,h (which query features attend to which key features) or W_O,h·W_V,h
///   (what the head writes for what it reads), drawn as heatmaps (up to 8 heads) and spectra.
///   For `attn2` the key/value side is the text embedding.
///
/// Report: `{layers, mode, heads, head_dim, shape, singular_values}`; for attention, `shape` is one
/// head's circuit and `singular_values` holds one list per head shown (`head` −1: all heads).
enum LTExpandedWeightsNode: NodeImplementation {
    static let className = "LTExpandedWeights"
    static let signature = NodeSignature(
        inputs: [.init(.required, "model", "MODEL"), .init(.required, "layer_name", "STRING"),
                 .init(.required, "mode", "COMBO"), .init(.required, "head", "INT")],
        outputs: ["IMAGE", "STRING"], outputIsList: [false, false], isOutputNode: true)

    /// Singular values listed per matrix in the report and drawn in the spectra.
    static let topSingularValues = 32
    /// Heads drawn as heatmaps when all heads are asked for.
    static let maxHeatmaps = 8

    static func run(_ call: NodeCall) throws(NodeFailure) -> NodeResult {
        let checkpoint = try AnalysisNode.checkpoint(call)
        let mode = call.string("mode") ?? "conv_chain"
        let head = try AnalysisNode.int(call, "head", default: -1, range: -1...4095)
        let text = call.string("layer_name") ?? ""
        try call.context.checkInterrupted()
        switch mode {
        case "conv_chain":
            return try convChain(text, checkpoint: checkpoint, context: call.context)
        case "attention_qk", "attention_ov":
            return try attention(text, qk: mode == "attention_qk", head: head, checkpoint: checkpoint, context: call.context)
        default:
            throw .failed(type: "ValueError", message: "mode must be conv_chain, attention_qk or attention_ov, got '\(mode)'")
        }
    }

    private static func convChain(_ text: String, checkpoint: LoadedCheckpoint, context: NodeContext) throws(NodeFailure) -> NodeResult {
        let names = text.split(separator: ",").map { String($0).trimmingWhitespace() }.filter { !$0.isEmpty }
        guard names.count >= 2 else {
            throw .failed(type: "ValueError", message: "conv_chain needs at least two comma-separated layers in layer_name (applied in order), got '\(text)'")
        }
        var layers: [Layer] = []
        for name in names { layers.append(try AnalysisNode.layer(name, in: checkpoint)) }
        var tensors: [Tensor] = []
        for layer in layers { tensors.append(try AnalysisNode.weight(layer, in: checkpoint)) }
        let cancellation = AnalysisNode.cancellation(context)
        let composed: Tensor
        let values: [Float]
        do {
            composed = try expandChain(tensors, cancellation: cancellation)
            let m = Matrix(composed)
            let k = min(topSingularValues, m.rows, m.cols)
            values = try Analysis.topSingularValues(m, rank: k, cancellation: cancellation)
        } catch {
            throw AnalysisNode.failure(error)
        }
        let name = layers.map(\.name).joined(separator: " ∘ ")
        let info = LayerInfo(name: name, shape: composed.shape, dtype: "float32 (composed)", parameters: composed.count)
        var images: [RenderedImage]
        do {
            images = try LayerRenderer.render(.weights, weight: composed, layer: info)
            images.append(try LayerRenderer.renderSpectra([(label: "composed", values: values.map(Double.init))], title: name,
                                                          notes: ["top \(values.count) singular values of the composed weight seen as (out, in·kh·kw)"]))
        } catch {
            throw AnalysisNode.failure(error)
        }
        let report = JSON.object(JSONObject([
            ("layers", .array(layers.map { .string($0.name) })),
            ("mode", "conv_chain"),
            ("heads", .null),
            ("head_dim", .null),
            ("shape", ReportNumber.shape(composed.shape)),
            ("singular_values", .array(values.map { ReportNumber.json($0) })),
        ]))
        return try AnalysisNode.result(images: images, report: report, className: className, context: context)
    }

    /// Head count of an attention module: SD 1.x uses 8 heads, the other families 64-wide heads.
    static func headCount(inner: Int, family: ModelFamily) -> Int {
        if family == .sd1 && inner % 8 == 0 { return 8 }
        return inner % 64 == 0 ? max(1, inner / 64) : 1
    }

    private static func attention(_ text: String, qk: Bool, head: Int, checkpoint: LoadedCheckpoint,
                                  context: NodeContext) throws(NodeFailure) -> NodeResult {
        var module = text.trimmingWhitespace()
        for suffix in [".to_q", ".to_k", ".to_v", ".to_out.0", ".to_out"] where module.hasSuffix(suffix) {
            module = String(module.dropLast(suffix.count))
        }
        guard !module.isEmpty else {
            throw .failed(type: "ValueError", message: "layer_name is empty: set it to an attention module, e.g. input_blocks.4.1.transformer_blocks.0.attn1")
        }
        var layers: [Layer] = []
        for part in ["to_q", "to_k", "to_v", "to_out.0"] {
            do { layers.append(try checkpoint.catalog.layer(named: module + "." + part)) } catch {
                throw .failed(type: "ValueError", message: "'\(module)' is not an attention module with to_q, to_k, to_v and to_out.0 weights: \(error.description)")
            }
        }
        var t: [Tensor] = []
        for layer in layers { t.append(try AnalysisNode.weight(layer, in: checkpoint)) }
        let inner = t[0].shape.first ?? 0
        let heads = headCount(inner: inner, family: checkpoint.catalog.family)
        guard head < heads else {
            throw .failed(type: "ValueError", message: "head \(head) does not exist: \(module) has \(heads) heads (0…\(heads - 1)), or -1 for all")
        }
        let dh = inner / heads
        let selected = head >= 0 ? [head] : Array(0..<heads)
        let cancellation = AnalysisNode.cancellation(context)
        let q = Matrix(t[0]), k = Matrix(t[1]), v = Matrix(t[2]), o = Matrix(t[3])
        var spectra: [[Double]] = []
        var panels: [(LayerInfo, Tensor)] = []
        do {
            for (n, h) in selected.enumerated() {
                try cancellation.check()
                let rows = (h * dh)..<((h + 1) * dh)
                // QK = W_Q,hᵀ W_K,h; OV = W_O,h W_V,h = (W_O,hᵀ)ᵀ W_V,h.
                let (a, b) = qk ? (q.rows(rows), k.rows(rows)) : (o.columns(rows).transposed(), v.rows(rows))
                spectra.append(Array(try singularValuesOfTransposedProduct(a, b).prefix(topSingularValues)))
                if n < maxHeatmaps {
                    let circuit = try matmulTransposedA(a, b)
                    panels.append((LayerInfo(name: "head \(h) " + (qk ? "QK" : "OV"), shape: circuit.shape, dtype: "float32",
                                             parameters: circuit.rows * circuit.cols),
                                   Tensor(shape: circuit.shape, values: circuit.values)))
                }
                context.progress(Double(n + 1), of: Double(selected.count))
            }
        } catch {
            throw AnalysisNode.failure(error)
        }
        let crossAttention = module.hasSuffix("attn2")
        let circuitShape = qk ? [t[0].shape[1], t[1].shape[1]] : [t[3].shape[0], t[2].shape[1]]
        let sides = qk ? "rows: query input features · columns: key input features" + (crossAttention ? " (the text embedding, \(t[1].shape[1]) wide)" : "")
            : "rows: output features · columns: value input features" + (crossAttention ? " (the text embedding, \(t[2].shape[1]) wide)" : "")
        let title = "\(module) · \(qk ? "QK = W_Qᵀ·W_K" : "OV = W_O·W_V") per head"
        var images: [RenderedImage] = []
        do {
            let shown = panels.count < selected.count ? " (first \(panels.count) of \(selected.count) heads)" : ""
            images.append(try LayerRenderer.renderOverview(layers: panels, title: title + shown + " · " + sides))
            images.append(try LayerRenderer.renderSpectra(selected.enumerated().map { (label: "head \($1)", values: spectra[$0]) },
                                                          title: title, notes: ["\(heads) heads of \(dh) · " + sides]))
        } catch {
            throw AnalysisNode.failure(error)
        }
        let report = JSON.object(JSONObject([
            ("layers", .array(layers.map { .string($0.name) })),
            ("mode", .string(qk ? "attention_qk" : "attention_ov")),
            ("heads", .int(Int64(heads))),
            ("head_dim", .int(Int64(dh))),
            ("shape", ReportNumber.shape(circuitShape)),
            ("singular_values", .array(spectra.map { .array($0.map { ReportNumber.json($0) }) })),
        ]))
        return try AnalysisNode.result(images: images, report: report, className: className, context: context)
    }
}
