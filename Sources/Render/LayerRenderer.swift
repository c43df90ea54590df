import Analysis
import Dispatch
import Synchronization
import TensorCore

/// The public entry point: one layer → PNG pictures (and SVG where offered).
public enum LayerRenderer {
    /// Renders one view of one layer.
    ///
    /// Returns one image per view, except `both`, which returns two: the `weights` image
    /// followed by the `expanded` image (what the original node showed as two sections).
    /// - Throws: `RenderError` (`.cancelled` when `cancellation` fires).
    public static func render(_ view: ViewKind, weight: Tensor, layer: LayerInfo, options: RenderOptions = RenderOptions(),
                              cancellation: Cancellation? = nil, progress: ProgressHandler? = nil) throws(RenderError) -> [RenderedImage] {
        try options.validate()
        switch view {
        case .weights:
            let p = try WeightsView.render(weight: weight, info: layer, options: options, cancellation: cancellation)
            return [try finish(p, title: "Weights", options: options)]
        case .expanded:
            let p = try ExpandedView.render(weight: weight, info: layer, options: options, cancellation: cancellation, progress: progress)
            return [try finish(p, title: "Expanded weights (SVD)", options: options)]
        case .both:
            // The two pictures are independent: draw and encode them on two threads (the weights
            // image is single-threaded work that would otherwise wait for the SVD).
            let results = Mutex<[Result<[RenderedImage], RenderError>?]>([nil, nil])
            @Sendable func draw(_ i: Int) {
                let r = Result { () throws(RenderError) -> [RenderedImage] in
                    try render(i == 0 ? .weights : .expanded, weight: weight, layer: layer, options: options,
                               cancellation: cancellation, progress: i == 0 ? nil : progress)
                }
                results.withLock { $0[i] = r }
            }
            sideBySide(background: { draw(0) }, foreground: { draw(1) })
            let (w, e) = results.withLock { ($0[0]!, $0[1]!) }
            return try w.get() + e.get()
        case .nmf:
            let p = try NMFView.render(weight: weight, info: layer, options: options, cancellation: cancellation, progress: progress)
            return [try finish(p, title: "One-sided NMF", options: options)]
        case .histogram:
            let p = try HistogramView.render(weight: weight, info: layer, options: options)
            return [try finish(p, title: "Histogram", options: options)]
        }
    }

    /// Runs `background` on another thread while `foreground` runs on this one, and returns when
    /// both are done. For two pictures drawn at once where the foreground one uses parallel
    /// kernels: inside a `concurrentPerform`, libdispatch runs a nested `concurrentPerform` on one
    /// thread only, so the SVD of `both` drawn that way used one core.
    package static func sideBySide(background: @escaping @Sendable () -> Void, foreground: () -> Void) {
        let group = DispatchGroup()
        DispatchQueue.global(qos: .userInitiated).async(group: group, execute: background)
        foreground()
        group.wait()
    }

    /// The `nmf` view together with the factorisation it draws (for reports). Needs a weight of
    /// rank 2 or more with more than one input channel.
    public static func renderNMF(weight: Tensor, layer: LayerInfo, options: RenderOptions = RenderOptions(),
                                 cancellation: Cancellation? = nil, progress: ProgressHandler? = nil) throws(RenderError) -> (NMFResult, RenderedImage) {
        try options.validate()
        guard weight.count > 0 else { throw .emptyTensor(layer: layer.name, shape: weight.shape) }
        guard weight.rank >= 2, weight.shape[1] > 1 || weight.rank > 2 else {
            throw .unsupportedShape(view: "nmf", layer: layer.name, shape: weight.shape,
                                    reason: "it needs input channels to factor (a conv or linear weight)")
        }
        let (result, g) = try NMFView.factor(weight: weight, info: layer, options: options, cancellation: cancellation, progress: progress)
        let p = NMFView.draw(result, geometry: g, info: layer, options: options)
        return (result, try finish(p, title: "One-sided NMF", options: options))
    }

    /// Statistics of many layers: a page of their histograms and a page with a table.
    public static func renderStatistics(_ layers: [LayerStatistics], total: Int, title: String,
                                        options: RenderOptions = RenderOptions()) throws(RenderError) -> [RenderedImage] {
        try options.validate()
        let histograms = StatsView.histograms(layers, total: total, title: title + ": histograms", maxSide: options.maxSide)
        let table = StatsView.table(layers, total: total, title: title + ": statistics", maxSide: options.maxSide)
        return [try finish(histograms, title: "Histograms", options: options), try finish(table, title: "Statistics", options: options)]
    }

    /// One metric for every layer along the network's depth, grouped by block, outliers named.
    public static func renderDepthChart(_ points: [DepthPoint], metric: String, title: String,
                                        options: RenderOptions = RenderOptions()) throws(RenderError) -> RenderedImage {
        try options.validate()
        let p = DepthChartView.render(points: points, metric: metric, title: title, maxSide: options.maxSide)
        return try finish(p, title: "Model overview: \(metric)", options: options)
    }

    /// Two models compared layer by layer: `metric` of B against A along the depth, the layers in
    /// `highlight` (most changed first) drawn in red and named, its footer (layers that could not
    /// be compared) below.
    public static func renderComparisonChart(_ points: [DepthPoint], metric: String, title: String, highlight: DepthChartHighlight,
                                             options: RenderOptions = RenderOptions()) throws(RenderError) -> RenderedImage {
        try options.validate()
        let p = DepthChartView.render(points: points, metric: metric, title: title, maxSide: options.maxSide,
                                      view: "comparison: \(metric)", highlight: highlight)
        return try finish(p, title: "Model comparison: \(metric)", options: options)
    }

    /// The `weights` view as as many pages as `numFilters` needs: a kernel grid holds as many
    /// output channels as fit under `maxSide`; the following ones go on further pages (each page
    /// says which channels it shows). Views that are not kernel grids are one page.
    public static func weightPages(weight: Tensor, layer: LayerInfo, options: RenderOptions = RenderOptions(),
                                   cancellation: Cancellation? = nil) throws(RenderError) -> [RenderedImage] {
        try options.validate()
        var pages: [RenderedImage] = []
        var opts = options
        opts.firstFilter = 0
        let total = min(weight.rank > 0 ? weight.shape[0] : 1, options.numFilters)
        repeat {
            try checkCancelled(cancellation)
            let p = try WeightsView.render(weight: weight, info: layer, options: opts, cancellation: cancellation)
            let grid = p.layout.regions.first { $0.label == "weights" && $0.rowName == "out" && $0.rows > 0 }
            let isKernelGrid = grid != nil && weight.rank > 2 && KernelGeometry(shape: weight.shape).kernelSize > 1
            let title = pages.isEmpty && !isKernelGrid ? "Weights" : "Weights \(pages.count + 1)"
            pages.append(try finish(p, title: title, options: options))
            guard isKernelGrid, let shown = grid?.rows, shown > 0 else { break }
            opts.firstFilter += shown
        } while opts.firstFilter < total && pages.count < 64
        if pages.count == 1, pages[0].title != "Weights" {
            let only = pages[0]
            pages[0] = RenderedImage(png: only.png, width: only.width, height: only.height, title: "Weights", svg: only.svg, rgba: only.rgba)
        }
        return pages
    }

    /// Singular values of several matrices as lines on a log scale (one per series).
    public static func renderSpectra(_ series: [(label: String, values: [Double])], title: String, notes: [String] = [],
                                     options: RenderOptions = RenderOptions()) throws(RenderError) -> RenderedImage {
        try options.validate()
        let p = SpectraView.render(series: series, title: title, notes: notes, maxSide: options.maxSide)
        return try finish(p, title: "Singular values", options: options)
    }

    /// One output channel's `inputs` (strongest input channels, from `topInputChannels`) as kernels
    /// on a shared scale. `weight` is a conv [out, in, kh, kw] (or folded to it) or a linear [out, in].
    public static func renderTopInputs(weight: Tensor, outputChannel: Int, inputs: [ChannelNorm], layer: LayerInfo,
                                       options: RenderOptions = RenderOptions()) throws(RenderError) -> RenderedImage {
        try options.validate()
        guard weight.rank >= 2, outputChannel >= 0, outputChannel < weight.shape[0] else {
            throw .unsupportedShape(view: "top inputs", layer: layer.name, shape: weight.shape,
                                    reason: "it needs output channel \(outputChannel) of a weight with input channels")
        }
        let p = TopInputsView.render(weight: weight, outputChannel: outputChannel, inputs: inputs, info: layer, maxSide: options.maxSide,
                                     colormap: options.colormap)
        return try finish(p, title: "Top inputs", options: options)
    }

    /// A page of many layers, each a small heatmap of its weight matrix with its name and shape
    /// (block-reduced by max |v|, each panel on its own symmetric scale).
    public static func renderOverview(layers: [(LayerInfo, Tensor)], options: RenderOptions = RenderOptions(),
                                      title: String = "Layer overview", cancellation: Cancellation? = nil) throws(RenderError) -> RenderedImage {
        try options.validate()
        let p = try OverviewView.render(layers: layers, options: options, title: title, cancellation: cancellation)
        return try finish(p, title: title, options: options)
    }

    /// Layer names drawn as an image, in columns (what the node shows when no layer is chosen).
    public static func renderLayerList(_ names: [String], title: String = "Layers", options: RenderOptions = RenderOptions()) -> RenderedImage {
        let p = LayerListView.render(names: names, title: title, maxSide: min(max(options.maxSide, 256), 16384))
        // Encoding a canvas we just made cannot fail short of running out of memory.
        let png = (try? PNGEncoder.encode(p.canvas, options: options.png)) ?? []
        return RenderedImage(png: png, width: p.width, height: p.height, title: title, rgba: p.canvas.pixels)
    }

    static func finish(_ p: Painter, title: String, options: RenderOptions) throws(RenderError) -> RenderedImage {
        let png = try PNGEncoder.encode(page: p.canvas, options: options.png, mostlyNoise: p.mostlyNoise, text: layoutChunk(p.layout))
        return RenderedImage(png: png, width: p.width, height: p.height, title: title, svg: p.svg?.rendered(), rgba: p.canvas.pixels)
    }

    /// The `weightlens:layout` chunk of a page, or nil when the page maps no pixel to a channel.
    static func layoutChunk(_ layout: PageLayout) -> (keyword: String, text: String)? {
        guard !layout.regions.isEmpty else { return nil }
        let text = layout.serialized()
        return text.utf8.count <= PageLayout.maxSerializedBytes ? (PageLayout.keyword, text) : nil
    }
}
