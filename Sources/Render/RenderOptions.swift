import TensorCore

/// The single-layer views. Raw values are the CLI / node spellings.
public enum ViewKind: String, Sendable, CaseIterable {
    /// The weights themselves: a kernel grid for convs, a heatmap for linear layers, bars for 1-D.
    case weights
    /// SVD components: σ, explained energy, left and right vectors, scree plot.
    case expanded
    /// `weights` then `expanded`, as two images.
    case both
    /// One-sided NMF: one RGB image per output neuron with a legend of the three factors.
    case nmf
    /// Distribution of the values with a statistics box.
    case histogram
}

/// What a view's header says about the layer.
public struct LayerInfo: Sendable, Equatable {
    public var name: String
    public var shape: [Int]
    /// Stored dtype as torch spells it (`float16`).
    public var dtype: String
    public var parameters: Int

    public init(name: String, shape: [Int], dtype: String, parameters: Int) {
        self.name = name
        self.shape = shape
        self.dtype = dtype
        self.parameters = parameters
    }

    /// Header info for a tensor that has no stored metadata (dtype reported as float32).
    public init(name: String, tensor: Tensor, dtype: String = "float32") {
        self.init(name: name, shape: tensor.shape, dtype: dtype, parameters: tensor.count)
    }
}

/// How large heatmaps are shrunk to fit the canvas.
public enum BlockReduction: String, Sendable, CaseIterable {
    /// Each block shows the value with the largest |v|: single strong weights stay visible.
    case maxAbs = "max-abs"
    /// Each block shows its mean: the smooth structure, outliers averaged away.
    case mean
}

/// Everything a caller can tune. Defaults give the views described in docs/VIEWS.md.
public struct RenderOptions: Sendable, Equatable {
    /// Output channels (rows) shown by the `weights` view of a conv and by `nmf`.
    public var numFilters: Int = 16
    /// First output channel of a `weights` kernel-grid page (see `LayerRenderer.weightPages`).
    public var firstFilter: Int = 0
    public var colormap: ColorMapName = .diverging
    public var transform: ValueTransform = .auto
    public var normalization: Normalization = .shared
    /// Clip |v| at this percentile before colouring (stated on the image when it changes the
    /// range); nil = the full range. The default keeps one outlier from washing out a heatmap.
    public var clipPercentile: Float? = 99.9
    /// Longest side of an image in pixels, unless a view cannot fit its minimum layout.
    public var maxSide: Int = 2048
    /// SVD components drawn by `expanded` (the node's default too).
    public var components: Int = 6
    /// Factors of the `nmf` view (1–8; the kernels show the first three as RGB).
    public var rank: Int = 3
    /// Histogram bins.
    public var bins: Int = 120
    /// Histogram with a logarithmic count axis.
    public var logCount: Bool = false
    public var blockReduction: BlockReduction = .maxAbs
    /// Also write SVG (chart-like views only: histogram, expanded).
    public var svg: Bool = false
    public var png: PNGOptions = PNGOptions()

    public init() {}

    /// Checks ranges, so bad options fail with a sentence instead of a strange picture.
    public func validate() throws(RenderError) {
        if numFilters < 1 || numFilters > 4096 {
            throw .invalidOption(name: "num_filters", value: String(numFilters), reason: "allowed 1...4096")
        }
        if maxSide < 256 || maxSide > 16384 {
            throw .invalidOption(name: "max_side", value: String(maxSide), reason: "allowed 256...16384")
        }
        if components < 1 || components > 64 {
            throw .invalidOption(name: "components", value: String(components), reason: "allowed 1...64")
        }
        if rank < 1 || rank > 8 {
            throw .invalidOption(name: "rank", value: String(rank), reason: "allowed 1...8")
        }
        if bins < 2 || bins > 2000 {
            throw .invalidOption(name: "bins", value: String(bins), reason: "allowed 2...2000")
        }
        if let p = clipPercentile, !(p > 50 && p < 100) {
            throw .invalidOption(name: "clip_percentile", value: formatNumber(Double(p)), reason: "must be between 50 and 100 (exclusive)")
        }
        if case .sigmoid(let g, let o) = transform, !(g.isFinite && o.isFinite && g != 0) {
            throw .invalidOption(name: "sigmoid", value: "gain \(g), offset \(o)", reason: "gain must be finite and non-zero")
        }
        if case .linear(let a, let b) = transform, !(a.isFinite && b.isFinite && a < b) {
            throw .invalidOption(name: "linear range", value: "\(a)...\(b)", reason: "min must be below max, both finite")
        }
    }
}

/// One rendered picture.
public struct RenderedImage: Sendable {
    public let png: [UInt8]
    public let width: Int
    public let height: Int
    /// What the picture shows, e.g. "Weights" or "Expanded weights (SVD)".
    public let title: String
    /// SVG of the same picture for chart-like views when `RenderOptions.svg` is set.
    public let svg: String?
    /// The pixels the PNG holds (`width · height · 4` bytes, RGBA8), when the renderer kept them,
    /// so image nodes need not decode the PNG they were just given.
    public let rgba: [UInt8]?

    public init(png: [UInt8], width: Int, height: Int, title: String, svg: String? = nil, rgba: [UInt8]? = nil) {
        self.png = png
        self.width = width
        self.height = height
        self.title = title
        self.svg = svg
        self.rgba = rgba
    }
}
