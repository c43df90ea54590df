import Foundation

/// One point of the depth chart: a layer, its block label and the metric's value (nil: not computed).
public struct DepthPoint: Sendable, Equatable {
    public let name: String
    public let block: String
    public let value: Double?
    public init(name: String, block: String, value: Double?) {
        self.name = name
        self.block = block
        self.value = value
    }
}

/// What a comparison chart names instead of the outliers: the given points (most changed first),
/// under a heading, and lines of text below the list (layers that could not be compared).
public struct DepthChartHighlight: Sendable, Equatable {
    public let indices: [Int]
    public let heading: String
    public let legend: String
    public let footer: [String]
    /// Why some points have no value (replaces the overview's explanation).
    public let missingReason: String?
    public init(indices: [Int], heading: String, legend: String, footer: [String] = [], missingReason: String? = nil) {
        self.indices = indices
        self.heading = heading
        self.legend = legend
        self.footer = footer
        self.missingReason = missingReason
    }
}

/// A metric for every layer along the network's depth: layers in model order on the x axis,
/// consecutive layers of one block on a shaded band labelled with the block (IN00…OUT08, DB03…),
/// outliers (robust z-score above 3.5: |v − median| / (1.4826 · MAD)) drawn in red and named —
/// or, with a `DepthChartHighlight` (model comparison), the given points.
enum DepthChartView {
    static let maxNamedOutliers = 12

    /// Indices of the outliers of `values`, most extreme first.
    static func outliers(_ values: [Double?]) -> [Int] {
        let finite = values.compactMap { $0 }.filter(\.isFinite).sorted()
        guard finite.count >= 5 else { return [] }
        let median = finite[finite.count / 2]
        let deviations = finite.map { abs($0 - median) }.sorted()
        let mad = deviations[deviations.count / 2] * 1.4826
        guard mad > 0 else { return [] }
        let scored = values.enumerated().compactMap { i, v -> (Int, Double)? in
            guard let v, v.isFinite else { return nil }
            let z = abs(v - median) / mad
            return z > 3.5 ? (i, z) : nil
        }
        return scored.sorted { $0.1 > $1.1 }.map(\.0)
    }

    static func render(points: [DepthPoint], metric: String, title: String, maxSide: Int, view: String? = nil,
                       highlight: DepthChartHighlight? = nil) -> Painter {
        let width = min(max(maxSide, 720), 1800)
        let ts = Page.bodyScale
        let values = points.map(\.value)
        let finite = values.compactMap { $0 }.filter(\.isFinite)
        let outlierIndices = highlight.map { $0.indices.filter { points.indices.contains($0) } } ?? outliers(values)
        let named = Array(outlierIndices.prefix(maxNamedOutliers))
        let legend = highlight?.legend ?? "red = outlier (robust z > 3.5)"
        var notes = ["\(points.count) layers in model order · \(metric) · bands = blocks · \(legend)"]
        let missing = points.count - finite.count
        if missing > 0 { notes.append("\(missing) layer\(missing == 1 ? "" : "s") without a value (\(highlight?.missingReason ?? "not computed for this metric, or too few distinct eigenvalues"))") }
        let header = Header(info: LayerInfo(name: title, shape: [points.count], dtype: "layers", parameters: points.count),
                            view: view ?? "overview of \(metric)", notes: notes, width: width)
        let chartH = 520
        let lh = BitmapFont.height(scale: 1)
        let footer = highlight?.footer ?? []
        let listH = (named.isEmpty ? 0 : (named.count + 1) * lh + 12) + (footer.isEmpty ? 0 : footer.count * lh + 12)
        let height = header.height + 8 + chartH + 28 + listH + Page.margin
        var p = Painter(width: width, height: height)
        var y = header.draw(&p) + 8

        let lo = finite.min() ?? 0, hi = finite.max() ?? 1
        let pad = hi > lo ? (hi - lo) * 0.06 : max(abs(hi) * 0.1, 1)
        let yTicks = niceTicks(lo - pad, hi + pad, maxCount: 7)
        let a = ChartAxes.layout(x: Page.margin, y: y, w: width - 2 * Page.margin, h: chartH,
                                 xRange: (-0.5, Double(max(points.count, 1)) - 0.5), yRange: (lo - pad, hi + pad),
                                 yTickSample: yTicks.map { formatNumber($0) }, textScale: ts)
        // Block bands, alternately shaded, labelled below the plot when there is room.
        var start = 0
        var band = 0
        var lastLabelRight = -1_000
        while start < points.count {
            var end = start
            while end + 1 < points.count && points[end + 1].block == points[start].block { end += 1 }
            let x0 = a.px(Double(start) - 0.5), x1 = a.px(Double(end) + 0.5)
            if band % 2 == 0 { p.fill(x0, a.plotY, max(1, x1 - x0), a.plotH, RGBA(240, 242, 247)) }
            let label = points[start].block
            let w = BitmapFont.width(label, scale: 1)
            let lx = (x0 + x1) / 2 - w / 2
            if x1 - x0 >= w + 2 || lx > lastLabelRight + 4 {
                p.text(label, x: lx, y: a.plotY + a.plotH + 4 + BitmapFont.height(scale: ts) + 4, scale: 1, color: .mutedInk)
                lastLabelRight = lx + w
            }
            start = end + 1
            band += 1
        }
        a.drawAxes(&p, xTicks: [], yTicks: yTicks, xTitle: "", yTitle: metric)
        let outlierSet = Set(outlierIndices)
        for (i, v) in values.enumerated() {
            guard let v, v.isFinite else { continue }
            let px = a.px(Double(i)), py = a.py(v)
            let color = outlierSet.contains(i) ? RGBA(200, 30, 30) : RGBA.accent
            p.fill(px - 2, py - 2, 5, 5, color)
        }
        // Name the most extreme outliers next to their points, numbered, and list them below.
        for (rank, i) in named.enumerated() {
            guard let v = values[i] else { continue }
            let px = a.px(Double(i)), py = a.py(v)
            p.text("\(rank + 1)", x: px + 4, y: max(a.plotY, py - lh - 1), scale: 1, color: RGBA(200, 30, 30))
        }
        y = a.plotY + a.plotH + 28 + lh
        if !named.isEmpty {
            let heading = highlight?.heading ?? "outliers"
            p.text("\(heading)\(outlierIndices.count > named.count ? " (\(named.count) of \(outlierIndices.count) named)" : ""):",
                   x: Page.margin, y: y, scale: 1, color: .ink)
            y += lh
            for (rank, i) in named.enumerated() {
                let line = "\(rank + 1). \(points[i].name) (\(points[i].block)) = \(formatNumber(values[i] ?? .nan, digits: 4))"
                p.text(BitmapFont.truncated(line, maxWidth: width - 2 * Page.margin, scale: 1), x: Page.margin, y: y, scale: 1,
                       color: RGBA(160, 30, 30))
                y += lh
            }
        }
        if !footer.isEmpty {
            y += 12
            for line in footer {
                p.text(BitmapFont.truncated(line, maxWidth: width - 2 * Page.margin, scale: 1), x: Page.margin, y: y, scale: 1,
                       color: .ink)
                y += lh
            }
        }
        return p
    }
}
