import Analysis
import Checkpoint
import ModelCatalog
import OrderedJSON
import Render
import TensorCore

/// What the LatentTools analysis nodes (`LTWeightNMF`, `LTWeightStats`, `LTModelOverview`,
/// `LTExpandedWeights`, `LTTopInputs`) share: reading their inputs, loading weights, mapping
/// engine errors to `execution_error`s, and the common result — the pictures as an `IMAGE` batch
/// and as temp previews (`ui.images`), the report as a `STRING` and as `ui.text`.
enum AnalysisNode {
    static func checkpoint(_ call: NodeCall) throws(NodeFailure) -> LoadedCheckpoint {
        guard let checkpoint = call.checkpoint("model") else {
            throw .failed(type: "TypeError", message: "model must be a MODEL from a checkpoint loader")
        }
        return checkpoint
    }

    /// An INT input checked against the range nodes.json declares (validation already enforces
    /// it for queued prompts; this guards direct calls).
    static func int(_ call: NodeCall, _ name: String, default value: Int, range: ClosedRange<Int>) throws(NodeFailure) -> Int {
        let v = call.int(name).map { Int(clamping: $0) } ?? value
        guard range.contains(v) else {
            throw .failed(type: "ValueError", message: "\(name) must be in \(range.lowerBound)...\(range.upperBound), got \(v)")
        }
        return v
    }

    /// The layer called `name` (names, full tensor keys); empty or unknown names are errors that
    /// name the closest layers.
    static func layer(_ name: String, in checkpoint: LoadedCheckpoint, input: String = "layer_name") throws(NodeFailure) -> Layer {
        let trimmed = name.trimmingWhitespace()
        guard !trimmed.isEmpty else {
            let examples = checkpoint.catalog.layers.filter { $0.shape.count >= 2 }.prefix(3).map(\.name)
            throw .failed(type: "ValueError", message: "\(input) is empty: set it to a layer of \(checkpoint.name)"
                          + (examples.isEmpty ? "." : ", e.g. " + examples.joined(separator: ", ") + "."))
        }
        do { return try checkpoint.catalog.layer(named: trimmed) } catch {
            throw .failed(type: "ValueError", message: error.description)
        }
    }

    static func weight(_ layer: Layer, in checkpoint: LoadedCheckpoint) throws(NodeFailure) -> Tensor {
        do { return try checkpoint.catalog.loadWeight(layer) } catch {
            throw .failed(type: "CheckpointError", message: error.description)
        }
    }

    static func info(_ layer: Layer) -> LayerInfo {
        LayerInfo(name: layer.name, shape: layer.shape, dtype: layer.typeName, parameters: layer.parameters)
    }

    static func cancellation(_ context: NodeContext) -> Cancellation { Cancellation { context.isInterrupted } }

    static func progress(_ context: NodeContext) -> ProgressHandler {
        { done, total in context.progress(Double(done), of: Double(total)) }
    }

    static func failure(_ error: RenderError) -> NodeFailure {
        if case .cancelled = error { return .interrupted }
        return .failed(type: "RenderError", message: error.description)
    }

    static func failure(_ error: AnalysisError) -> NodeFailure {
        if case .cancelled = error { return .interrupted }
        return .failed(type: "AnalysisError", message: error.description)
    }

    /// The nodes' common result: `IMAGE` (the pictures as a batch), `STRING` (the report as JSON
    /// text), and the UI: the pictures as temp files and the report as text.
    static func result(images: [RenderedImage], report: JSON, className: String, context: NodeContext) throws(NodeFailure) -> NodeResult {
        let batch = try ImageBatch(rendered: images)
        let files = try TempImageWriter.writeFiles(images.map(\.png), environment: context.environment, prefix: className)
        let text = report.serialized()
        var ui = JSONObject()
        ui["images"] = .array(files.map(\.reference))
        ui["text"] = .array([.string(text)])
        return NodeResult(outputs: [[.images(batch)], [.string(text)]], ui: ui)
    }
}

/// JSON numbers for reports.
package enum ReportNumber {
    /// A Float with the shortest digits that round-trip it; null for NaN or infinity.
    package static func json(_ value: Float) -> JSON {
        guard value.isFinite else { return .null }
        return .double(Double(value.description) ?? Double(value))
    }

    /// A Double; null for NaN or infinity.
    package static func json(_ value: Double) -> JSON { value.isFinite ? .double(value) : .null }

    package static func shape(_ shape: [Int]) -> JSON { .array(shape.map { .int(Int64($0)) }) }
}
