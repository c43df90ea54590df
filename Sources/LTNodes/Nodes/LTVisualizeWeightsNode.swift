import Analysis
import Dispatch
import Checkpoint
import ModelCatalog
import OrderedJSON
import Render
import Synchronization
import TensorCore

/// `LTVisualizeWeights`: renders a layer's weights (and/or their expanded SVD factorisation) to
/// PNGs in the temp folder, shown on the node through `ui.images`, with `ui.text` describing the layer.
///
/// Inputs, names, defaults and widget order are the original latent-tools node's, so its workflow
/// files load unchanged; `colormap`, `components` and `max_side` are optional additions after them.
/// Differences from the original, on purpose: an unknown layer is an `execution_error` naming the
/// closest layers (the original returned an HTML error and "succeeded"), and the pictures are
/// files served by /view rather than base64 inside the message. `ui.html` is still produced, with
/// the same layout as the original's but `<img>` tags pointing at /view, for clients that show it.
enum LTVisualizeWeightsNode: NodeImplementation {
    static let className = "LTVisualizeWeights"
    static let signature = NodeSignature(
        inputs: [.init(.required, "model", "MODEL"), .init(.required, "layer_name", "STRING"),
                 .init(.required, "num_filters", "INT"), .init(.required, "visualization_mode", "COMBO"),
                 .init(.optional, "colormap", "COMBO"), .init(.optional, "components", "INT"),
                 .init(.optional, "max_side", "INT")],
        outputs: [], outputIsList: [], isOutputNode: true)

    static func run(_ call: NodeCall) throws(NodeFailure) -> NodeResult {
        guard let checkpoint = call.checkpoint("model") else {
            throw .failed(type: "TypeError", message: "model must be a MODEL from a checkpoint loader")
        }
        let context = call.context
        let layerName = (call.string("layer_name") ?? "").trimmingWhitespace()
        if layerName.isEmpty {
            return try layerListPreview(checkpoint, context: context)
        }
        let layer: Layer
        do { layer = try checkpoint.catalog.layer(named: layerName) } catch {
            throw .failed(type: "ValueError", message: error.description)
        }
        guard let view = ViewKind(rawValue: call.string("visualization_mode") ?? "both"),
              [.weights, .expanded, .both].contains(view) else {
            throw .failed(type: "ValueError", message: "visualization_mode must be weights, expanded or both")
        }
        var options = RenderOptions()
        options.numFilters = Int(clamping: call.int("num_filters") ?? 16)
        if let name = call.string("colormap") {
            guard let map = ColorMapName(rawValue: name) else {
                throw .failed(type: "ValueError", message: "unknown colormap '\(name)'")
            }
            options.colormap = map
        }
        if let components = call.int("components") { options.components = Int(clamping: components) }
        if let maxSide = call.int("max_side") { options.maxSide = Int(clamping: maxSide) }

        try context.checkInterrupted()
        let weight: Tensor
        do { weight = try checkpoint.catalog.loadWeight(layer) } catch {
            throw .failed(type: "CheckpointError", message: error.description)
        }
        // Pictures of a synthetic checkpoint say so in their title (the demo file's name says it).
        let synthetic = checkpoint.name.lowercased().contains("synthetic")
        let title = synthetic ? "\(layer.name) · synthetic weights" : layer.name
        let info = LayerInfo(name: title, shape: layer.shape, dtype: layer.typeName, parameters: layer.parameters)
        let pages = try render(view, weight: weight, info: info, options: options, context: context)
        let shapeText = "[" + layer.shape.map(String.init).joined(separator: ", ") + "]"
        var facts: [String] = []
        let weightPages = pages.filter { $0.title.hasPrefix("Weights") }.count
        if weightPages > 1 {
            facts.append("weights: \(min(layer.shape.first ?? 1, options.numFilters)) filters on \(weightPages) full pages")
        }
        facts.append("full pages: \(pages.map(\.title).joined(separator: ", ")) (links on the node)")
        let preview = CompactPreview.weights(weight: weight, info: info, options: options, facts: facts)
        var summary = "Layer: \(layer.name)\nShape: \(shapeText) | \(groupedThousands(layer.parameters)) parameters | \(layer.typeName)"
        if synthetic { summary += "\nSynthetic checkpoint: generated patterns, not learned weights" }
        if weightPages > 1 { summary += "\n" + facts[0] }
        var (ui, files) = try previewUI(preview: preview, pages: pages, summary: summary, context: context)
        ui["viewer"] = .array([.string(viewerLink(checkpoint: checkpoint.name, layer: layer.name, view: view.rawValue))])
        ui["html"] = .array([.string(html(layer: layer.name, shape: shapeText, parameters: layer.parameters,
                                          sections: zip(pages, files.dropFirst()).map { (title: $0.title, file: $1) }))])
        return NodeResult(outputs: [], ui: ui)
    }

    /// Writes the compact preview and the full pages to the temp folder and returns the node's
    /// `ui` — the preview in `images`, `summary` plus the list of pages in `text`, one titled image
    /// reference per page in `pages` — and the files written (preview first), for links of the
    /// caller's own. Shared with `LTVisualizeDelta`, whose node shows the same pictures of ΔW.
    static func previewUI(preview: RenderedImage, pages: [RenderedImage], summary: String,
                          context: NodeContext) throws(NodeFailure) -> (JSONObject, [TempImageWriter.File]) {
        let files = try TempImageWriter.writeFiles([preview.png] + pages.map(\.png), environment: context.environment)
        var ui = JSONObject()
        ui["images"] = .array([files[0].reference])
        ui["text"] = .array([.string(summary + "\nOn the node: a compact preview; full pages: " + pages.map(\.title).joined(separator: ", "))])
        ui["pages"] = .array(zip(pages, files.dropFirst()).map { page, file in
            var ref = file.reference.objectValue ?? JSONObject()
            ref["title"] = .string(page.title)
            return .object(ref)
        })
        return (ui, files)
    }

    /// `/viewer?ckpt=…&layer=…&view=…`: the built-in viewer on the same layer and view.
    static func viewerLink(checkpoint: String, layer: String, view: String) -> String {
        func escaped(_ s: String) -> String {
            var out = ""
            for byte in s.utf8 {
                let c = Character(Unicode.Scalar(byte))
                if c.isASCII && (c.isLetter || c.isNumber || "-._~".contains(c)) { out.append(c) }
                else { out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(2) }
            }
            return out
        }
        return "/viewer?ckpt=\(escaped(checkpoint))&layer=\(escaped(layer))&view=\(escaped(view))"
    }

    /// Renders the view; `both` draws its two pictures at the same time (the weights view is
    /// mostly drawing and PNG encoding, the expanded view mostly the SVD, so they overlap well;
    /// `LayerRenderer.sideBySide` says why not with `concurrentPerform`).
    static func render(_ view: ViewKind, weight: Tensor, info: LayerInfo, options: RenderOptions,
                               context: NodeContext) throws(NodeFailure) -> [RenderedImage] {
        let cancellation = Cancellation { context.isInterrupted }
        let progress: ProgressHandler = { done, total in context.progress(Double(done), of: Double(total)) }
        let views: [ViewKind] = view == .both ? [.weights, .expanded] : [view]
        let results = Mutex<[Result<[RenderedImage], RenderError>?]>(Array(repeating: nil, count: views.count))
        @Sendable func draw(_ i: Int) {
            let result: Result<[RenderedImage], RenderError>
            do throws(RenderError) {
                if views[i] == .weights {
                    result = .success(try LayerRenderer.weightPages(weight: weight, layer: info, options: options,
                                                                    cancellation: cancellation))
                } else {
                    result = .success(try LayerRenderer.render(views[i], weight: weight, layer: info, options: options,
                                                               cancellation: cancellation, progress: progress))
                }
            } catch {
                result = .failure(error)
            }
            results.withLock { $0[i] = result }
        }
        // The expanded view (the SVD, parallel kernels) on this thread, the weights view beside it.
        if views.count == 2 {
            LayerRenderer.sideBySide(background: { draw(0) }, foreground: { draw(1) })
        } else {
            draw(0)
        }
        var images: [RenderedImage] = []
        for result in results.withLock({ $0 }) {
            switch result {
            case .success(let pictures)?: images += pictures
            case .failure(let error)?:
                if case .cancelled = error { throw .interrupted }
                throw .failed(type: "RenderError", message: error.description)
            case nil: throw .failed(type: "RenderError", message: "a view produced no result")
            }
        }
        return images
    }

    /// No layer chosen: the names as text, which the web extension shows as a searchable,
    /// clickable list. No picture: an image of a thousand names repeats the list, illegibly.
    private static func layerListPreview(_ checkpoint: LoadedCheckpoint, context: NodeContext) throws(NodeFailure) -> NodeResult {
        let names = checkpoint.catalog.layers.map(\.name)
        var ui = JSONObject()
        ui["text"] = .array([.string("\(names.count) layers; set layer_name to one of them:\n" + names.joined(separator: "\n"))])
        return NodeResult(outputs: [], ui: ui)
    }

    /// The original node's HTML layout, with /view links instead of inline base64.
    private static func html(layer: String, shape: String, parameters: Int, sections: [(title: String, file: TempImageWriter.File)]) -> String {
        var s = "<div class=\"flex flex-col gap-2\"><div class=\"text-lg font-bold\">Layer: \(Markup.escape(layer))</div>"
        s += "<div class=\"text-sm\">Shape: \(shape) | \(groupedThousands(parameters)) parameters</div>"
        for section in sections {
            let heading = section.title.hasPrefix("Expanded") ? "Expanded Weights (SVD Factorization):" : "Weight Matrices:"
            s += "<div class=\"flex flex-col gap-1\"><div class=\"font-bold\">\(heading)</div>"
            s += "<img src=\"api/view?filename=\(section.file.filename)&amp;subfolder=&amp;type=temp\"></div>"
        }
        return s + "</div>"
    }

    /// `409,600`, as Python's `f"{n:,}"` prints it.
    static func groupedThousands(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return n < 0 ? "-" + out : out
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }

    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let start = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let end = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(scalars[start...end])
    }
}
