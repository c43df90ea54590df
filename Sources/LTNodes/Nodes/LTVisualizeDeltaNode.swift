import Analysis
import ModelCatalog
import OrderedJSON
import Render
import TensorCore

/// `LTVisualizeDelta`: LTVisualizeWeights' pictures of ΔW = B − A for one layer of two models (a
/// fine-tune against its base, or a model with a LoRA applied against the model: exactly the
/// LoRA's contribution). Same rendering path and UI as LTVisualizeWeights: a compact preview in
/// `ui.images`, the full pages in `ui.pages`, a summary with ‖B − A‖ and ‖B − A‖/‖A‖ in `ui.text`.
enum LTVisualizeDeltaNode: NodeImplementation {
    static let className = "LTVisualizeDelta"
    static let signature = NodeSignature(
        inputs: [.init(.required, "model_a", "MODEL"), .init(.required, "model_b", "MODEL"),
                 .init(.required, "layer_name", "STRING"), .init(.required, "num_filters", "INT"),
                 .init(.required, "visualization_mode", "COMBO"),
                 .init(.optional, "colormap", "COMBO"), .init(.optional, "components", "INT"),
                 .init(.optional, "max_side", "INT")],
        outputs: [], outputIsList: [], isOutputNode: true)

    static func run(_ call: NodeCall) throws(NodeFailure) -> NodeResult {
        guard let a = call.checkpoint("model_a"), let b = call.checkpoint("model_b") else {
            throw .failed(type: "TypeError", message: "model_a and model_b must be MODELs from model loaders")
        }
        let context = call.context
        let layerName = (call.string("layer_name") ?? "").trimmingWhitespace()
        if layerName.isEmpty { return layerList(a, b) }
        let layerA = try AnalysisNode.layer(layerName, in: a)
        let layerB = try AnalysisNode.layer(layerName, in: b)
        guard let view = ViewKind(rawValue: call.string("visualization_mode") ?? "both"), [.weights, .expanded, .both].contains(view) else {
            throw .failed(type: "ValueError", message: "visualization_mode must be weights, expanded or both")
        }
        // LTVisualizeWeights' optional inputs, read the same way.
        var options = RenderOptions()
        options.numFilters = Int(clamping: call.int("num_filters") ?? 16)
        if let name = call.string("colormap") {
            guard let map = ColorMapName(rawValue: name) else { throw .failed(type: "ValueError", message: "unknown colormap '\(name)'") }
            options.colormap = map
        }
        if let components = call.int("components") { options.components = Int(clamping: components) }
        if let maxSide = call.int("max_side") { options.maxSide = Int(clamping: maxSide) }
        try context.checkInterrupted()
        let wa = try AnalysisNode.weight(layerA, in: a)
        let wb = try AnalysisNode.weight(layerB, in: b)
        guard wa.count == wb.count, trimmed(wa.shape) == trimmed(wb.shape) else {
            throw .failed(type: "ValueError", message: "\(layerName) has shape \(wa.shape) in \(a.name) but \(wb.shape) in \(b.name): no delta to draw")
        }
        var moments = PairMoments()
        var delta = wb.values
        wa.values.withUnsafeBufferPointer { pa in
            delta.withUnsafeMutableBufferPointer { pd in
                moments.add(pa.baseAddress!, pd.baseAddress!, count: pa.count)
                PairMoments.subtract(pa.baseAddress!, from: pd.baseAddress!, count: pa.count)
            }
        }
        let shapeText = "[" + layerA.shape.map(String.init).joined(separator: ", ") + "]"
        let summary = "Delta of \(layerA.name): \(b.name) - \(a.name)\nShape: \(shapeText) | "
            + "\(LTVisualizeWeightsNode.groupedThousands(layerA.parameters)) parameters | A \(layerA.dtype.torchName), B \(layerB.dtype.torchName)\n"
            + "|B-A| = \(Float(moments.deltaNorm).description)"
            + (moments.relativeChange.map { ", |B-A|/|A| = \(Float($0).description)" } ?? "")
            + (moments.cosine.map { ", cosine(A, B) = \(Float($0).description)" } ?? "")
        guard moments.sumD2 > 0 else {
            var ui = JSONObject()
            ui["text"] = .array([.string(summary + "\nThe layer is the same in both models: nothing to draw.")])
            return NodeResult(outputs: [], ui: ui)
        }
        guard moments.sumD2.isFinite else {
            throw .failed(type: "ValueError", message: "\(layerName): B - A has NaN or infinite values")
        }
        let weight = Tensor(shape: layerA.shape, values: delta)
        let info = LayerInfo(name: "\(layerA.name) · B - A", shape: layerA.shape, dtype: "float32 delta", parameters: layerA.parameters)
        let pages = try LTVisualizeWeightsNode.render(view, weight: weight, info: info, options: options, context: context)
        let facts = ["delta of \(b.name) against \(a.name)", "full pages: \(pages.map(\.title).joined(separator: ", ")) (links on the node)"]
        let preview = CompactPreview.weights(weight: weight, info: info, options: options, facts: facts)
        let (ui, _) = try LTVisualizeWeightsNode.previewUI(preview: preview, pages: pages, summary: summary, context: context)
        return NodeResult(outputs: [], ui: ui)
    }

    private static func trimmed(_ shape: [Int]) -> [Int] {
        var s = shape
        while s.count > 1, s.last == 1 { s.removeLast() }
        return s
    }

    /// No layer chosen: the layers both models have, as text (the extension makes it clickable).
    /// Two views of one file (a model and the same model through a LoRA loader) can differ only
    /// in the layers a LoRA patches: then those are listed, which is where the LoRA acts.
    private static func layerList(_ a: LoadedCheckpoint, _ b: LoadedCheckpoint) -> NodeResult {
        var ui = JSONObject()
        if a.file.path == b.file.path {
            let patched = a.catalog.layers.filter { a.catalog.isPatched($0) || b.catalog.isPatched($0) }.map(\.name)
            if !patched.isEmpty {
                let loras = (a.loras + b.loras).map(\.loraName)
                ui["text"] = .array([.string("\(patched.count) layers changed by \(loras.joined(separator: ", ")) (the others are the same "
                                             + "in both models); set layer_name to one of them:\n" + patched.joined(separator: "\n"))])
                return NodeResult(outputs: [], ui: ui)
            }
        }
        let inB = Set(b.catalog.layers.map(\.name))
        let names = a.catalog.layers.map(\.name).filter(inB.contains)
        ui["text"] = .array([.string("\(names.count) layers in both models; set layer_name to one of them:\n" + names.joined(separator: "\n"))])
        return NodeResult(outputs: [], ui: ui)
    }
}
