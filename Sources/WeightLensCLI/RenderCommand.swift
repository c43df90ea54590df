import ArgumentParser
import Checkpoint
import Foundation
import LTNodes
import ModelCatalog
import Render
import TensorCore

/// `weightlens render`: PNG (and optional SVG) previews of layers, headless.
struct RenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Draw weights, SVD components, NMF factors, histograms or an overview of layers as PNG.",
        discussion: """
        One layer:   weightlens render model.safetensors --layer input_blocks.1.0.in_layers.2 --view both --out conv.png
        Many layers: weightlens render model.safetensors --layers 'IN04-IN05' --view histogram --out-dir previews/
        Overview:    weightlens render model.safetensors --layers '*.proj_in' --view overview --out overview.png
        Node views:  --view nmf-factors (--layer, --num-filters, --rank), stats|depth (--layers FILTER), top-inputs (--layer, --output-channel, --top-k),
                     conv-chain (--layers A,B), attention-qk|attention-ov (--layer …attn1, --head);
                     the node's own code runs; --report FILE writes its JSON report.
        --lora FILE[:STRENGTH] (repeatable) draws W + strength·dW for the layers the LoRA changes.
        Without --layer or --layers the list of layer names is drawn. `both` writes two files
        (NAME-weights.png, NAME-expanded.png next to --out). See docs/VIEWS.md for what each view shows.
        """)

    @Argument(help: "Checkpoint file (.safetensors, sharded index, .ckpt/.pt/.pth, .gguf).")
    var file: String

    @Option(help: "Layer name (module path or full weight key).")
    var layer: String?

    @Option(help: "Many layers: substring, glob (*, ?) or U-Net block expression (IN04, IN00-OUT02, M00).")
    var layers: String?

    @Option(help: "weights | expanded | both | nmf | histogram | overview | nmf-factors | stats | depth | top-inputs | conv-chain | attention-qk | attention-ov")
    var view: String = "weights"

    @Option(help: "nmf-factors: non-negative factors (1–8).")
    var rank: Int = 3

    @Option(help: "depth: alpha | alpha_weighted | stable_rank | spectral_norm | l2_norm | std | dead_fraction")
    var metric: String = "alpha"

    @Option(name: .customLong("output-channel"), help: "top-inputs: the output channel (0-based).")
    var outputChannel: Int = 0

    @Option(name: .customLong("top-k"), help: "top-inputs: input channels shown (1–64).")
    var topK: Int = 8

    @Option(help: "attention-qk / attention-ov: head (0-based), -1 for all heads.")
    var head: Int = -1

    @Option(help: "stats, depth, top-inputs, conv-chain, attention-*: also write the node's JSON report here.")
    var report: String?

    @Option(name: .customLong("num-filters"), help: "Output channels shown by the conv grid and NMF.")
    var numFilters: Int = 16

    @Option(help: "diverging | grayscale | magnitude | redblue | viridis")
    var colormap: String = "diverging"

    @Option(help: "auto | unit | signed | linear:MIN:MAX | sigmoid:GAIN:OFFSET")
    var transform: String = "auto"

    @Option(help: "shared | per-tile")
    var normalization: String = "shared"

    @Option(name: .customLong("clip-percentile"), help: "Clip |v| at this percentile (50–100) before colouring.")
    var clipPercentile: Float?

    @Option(help: "SVD components drawn by the expanded view.")
    var components: Int = 6

    @Option(help: "Histogram bins (histogram: default 120; stats: default 64, 8–512).")
    var bins: Int?

    @Flag(name: .customLong("log-count"), help: "Histogram with a logarithmic count axis.")
    var logCount = false

    @Option(name: .customLong("block-reduction"), help: "max-abs | mean: how large heatmaps are shrunk.")
    var blockReduction: String = "max-abs"

    @Option(name: .customLong("max-side"), help: "Longest image side in pixels.")
    var maxSide: Int = 2048

    @Option(help: "PNG zlib level 0–9 (1 = fast default, 9 = smallest).")
    var compression: Int = 1

    @Flag(help: "Also write .svg for the chart-like views (histogram, expanded, 1-D weights).")
    var svg = false

    @Option(help: "Output file for one layer or the overview (default: <layer>-<view>.png).")
    var out: String?

    @Option(name: .customLong("out-dir"), help: "Output folder for --layers (default: render-out).")
    var outDir: String = "render-out"

    @Option(name: .customLong("lora"), parsing: .singleValue, help: ArgumentHelp(LoraOption.help, valueName: "file[:strength]"))
    var loras: [String] = []

    /// The checkpoint with the --lora files applied (the file as stored without them).
    func model() throws -> LoadedCheckpoint {
        try LoraOption.model(try CheckpointFile.open(path: file), name: (file as NSString).lastPathComponent, specs: loras).model
    }

    func run() throws {
        try CLIError.run(file: file) { try execute() }
    }

    /// A problem found by the command itself; checkpoint and render errors pass through as they are.
    private func fail(_ message: String, file: String? = nil) -> CLIError.Failure { CLIError.failure(file: file, message) }

    private func options() throws -> RenderOptions {
        var o = RenderOptions()
        o.numFilters = numFilters
        guard let cm = ColorMapName(rawValue: colormap.lowercased()) else {
            throw fail("Unknown colour map \"\(colormap)\"; use one of \(ColorMapName.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        o.colormap = cm
        guard let t = Self.parseTransform(transform) else {
            throw fail("Unknown transform \"\(transform)\"; use auto, unit, signed, linear:MIN:MAX or sigmoid:GAIN:OFFSET.")
        }
        o.transform = t
        guard let n = Normalization(rawValue: normalization) else {
            throw fail("Unknown normalization \"\(normalization)\"; use shared or per-tile.")
        }
        o.normalization = n
        guard let br = BlockReduction(rawValue: blockReduction) else {
            throw fail("Unknown block reduction \"\(blockReduction)\"; use max-abs or mean.")
        }
        o.blockReduction = br
        o.clipPercentile = clipPercentile
        o.components = components
        o.bins = bins ?? 120
        o.logCount = logCount
        o.maxSide = maxSide
        o.svg = svg
        o.png = PNGOptions(compressionLevel: compression, filter: compression >= 6 ? .adaptive : .sub)
        do { try o.validate() } catch { throw fail(error.description) }
        return o
    }

    static func parseTransform(_ s: String) -> ValueTransform? {
        let parts = s.lowercased().split(separator: ":").map(String.init)
        switch parts.first {
        case "auto": return parts.count == 1 ? .auto : nil
        case "unit": return parts.count == 1 ? .autoUnit : nil
        case "signed": return parts.count == 1 ? .autoSigned : nil
        case "linear":
            guard parts.count == 3, let a = Float(parts[1]), let b = Float(parts[2]) else { return nil }
            return .linear(min: a, max: b)
        case "sigmoid":
            guard parts.count == 3, let g = Float(parts[1]), let o = Float(parts[2]) else { return nil }
            return .sigmoid(gain: g, offset: o)
        default: return nil
        }
    }

    private func execute() throws {
        if let nodeView = NodeView(rawValue: view) { return try runNodeView(nodeView) }
        let opts = try options()
        let isOverview = view == "overview"
        let kind = ViewKind(rawValue: view)
        if !isOverview && kind == nil {
            throw fail("Unknown view \"\(view)\"; use weights, expanded, both, nmf, histogram, overview, "
                       + NodeView.allCases.map(\.rawValue).joined(separator: ", ") + ".")
        }
        let catalog = try model().catalog

        if let name = layer {
            let l: Layer
            l = try catalog.layer(named: name)
            let t = try load(catalog, l)
            if isOverview {
                let img = try renderOrFail { () throws(RenderError) in
                    try LayerRenderer.renderOverview(layers: [(info(l), t)], options: opts, title: "Overview: \(l.name)")
                }
                try write(img, to: out ?? "\(Self.fileStem(l.name))-overview.png")
                return
            }
            let images = try renderOrFail { () throws(RenderError) in
                try LayerRenderer.render(kind!, weight: t, layer: info(l), options: opts)
            }
            let base = out ?? "\(Self.fileStem(l.name))-\(view).png"
            for (i, img) in images.enumerated() {
                try write(img, to: images.count == 1 ? base : Self.suffixed(base, i == 0 ? "weights" : "expanded"))
            }
            return
        }
        guard let pattern = layers else {
            let img = LayerRenderer.renderLayerList(catalog.layers.map(\.name), title: "Layers of \((file as NSString).lastPathComponent)", options: opts)
            try write(img, to: out ?? "layers.png")
            return
        }
        let selected: [Layer]
        selected = try catalog.filter(pattern)
        guard !selected.isEmpty else { throw fail("No layer matches \"\(pattern)\".", file: file) }
        if isOverview {
            var items: [(LayerInfo, Tensor)] = []
            let bar = ProgressLine(total: selected.count)
            for (i, l) in selected.enumerated() {
                bar.update(i, l.name)
                items.append((info(l), try load(catalog, l)))
            }
            bar.finish()
            let img = try renderOrFail { () throws(RenderError) in
                try LayerRenderer.renderOverview(layers: items, options: opts, title: "Overview: \(pattern)")
            }
            try write(img, to: out ?? "overview.png")
            return
        }
        try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
        let bar = ProgressLine(total: selected.count)
        var failures = 0
        for (i, l) in selected.enumerated() {
            bar.update(i, l.name)
            do {
                let t = try load(catalog, l)
                let images = try renderOrFail { () throws(RenderError) in
                    try LayerRenderer.render(kind!, weight: t, layer: info(l), options: opts)
                }
                let base = (outDir as NSString).appendingPathComponent("\(Self.fileStem(l.name))-\(view).png")
                for (j, img) in images.enumerated() {
                    try write(img, to: images.count == 1 ? base : Self.suffixed(base, j == 0 ? "weights" : "expanded"), quiet: true)
                }
            } catch {
                failures += 1
                bar.message(CLIError.message(for: error, file: l.name))
            }
        }
        bar.finish()
        print("Wrote \(selected.count - failures) of \(selected.count) layers to \(outDir)")
        if failures > 0 { throw fail("\(failures) of \(selected.count) layers could not be rendered (reasons above).", file: file) }
    }

    private func info(_ l: Layer) -> LayerInfo {
        LayerInfo(name: l.name, shape: l.shape, dtype: l.typeName, parameters: l.parameters)
    }

    private func load(_ c: LayerCatalog, _ l: Layer) throws -> Tensor {
        try c.loadWeight(l)
    }

    private func renderOrFail<T>(_ body: () throws(RenderError) -> T) throws -> T {
        try body()
    }

    private func write(_ img: RenderedImage, to path: String, quiet: Bool = false) throws {
        do {
            try Data(img.png).write(to: URL(fileURLWithPath: path))
            if let svg = img.svg {
                try Data(svg.utf8).write(to: URL(fileURLWithPath: Self.replacingExtension(path, "svg")))
            }
        } catch {
            throw fail("Cannot write the image: \(CLIError.reason(error)).", file: path)
        }
        if !quiet { print("\(path)  \(img.width)×\(img.height)  \(img.title)") }
    }

    /// A layer name as a file name: path separators and odd characters become "_".
    static func fileStem(_ name: String) -> String {
        String(name.map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "_" ? $0 : "_" })
    }

    static func suffixed(_ path: String, _ suffix: String) -> String {
        let ext = (path as NSString).pathExtension
        let stem = ext.isEmpty ? path : String(path.dropLast(ext.count + 1))
        return "\(stem)-\(suffix).\(ext.isEmpty ? "png" : ext)"
    }

    static func replacingExtension(_ path: String, _ ext: String) -> String {
        let old = (path as NSString).pathExtension
        return (old.isEmpty ? path : String(path.dropLast(old.count + 1))) + "." + ext
    }
}

/// A one-line progress bar on stderr, drawn only when stderr is a terminal.
final class ProgressLine {
    let total: Int
    let enabled: Bool
    init(total: Int) {
        self.total = total
        self.enabled = isatty(2) != 0 && total > 1
    }
    func update(_ done: Int, _ label: String) {
        guard enabled else { return }
        let width = 30
        let filled = total > 0 ? done * width / total : 0
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let text = "\r[\(bar)] \(done)/\(total) \(label.prefix(60))"
        FileHandle.standardError.write(Data((text + "\u{1B}[K").utf8))
    }
    func message(_ s: String) {
        if enabled { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        FileHandle.standardError.write(Data((s + "\n").utf8))
    }
    func finish() {
        guard enabled else { return }
        update(total, "done")
        FileHandle.standardError.write(Data("\n".utf8))
    }
}
