import Analysis

/// One layer's row of the statistics pages.
public struct LayerStatistics: Sendable {
    public let info: LayerInfo
    public let statistics: WeightStatistics
    /// Output channels whose weights are all negligible (the caller's definition).
    public let deadFilters: [Int]
    /// Output channels (the weight's first dimension; 1 for a scalar).
    public let outputChannels: Int

    public init(info: LayerInfo, statistics: WeightStatistics, deadFilters: [Int], outputChannels: Int) {
        self.info = info
        self.statistics = statistics
        self.deadFilters = deadFilters
        self.outputChannels = outputChannels
    }
}

/// The statistics pages of many layers: small multiples of their histograms, and a table.
enum StatsView {
    /// Histograms of up to `layers.count` layers in a grid, each on its own value range with
    /// zero and the mean marked, captioned with the name, mean and std.
    static func histograms(_ layers: [LayerStatistics], total: Int, title: String, maxSide: Int) -> Painter {
        let n = max(layers.count, 1)
        let width = min(max(maxSide, 720), 1600)
        let gap = 12
        let cols = max(1, min(n, (width - 2 * Page.margin + gap) / (220 + gap)))
        let panelW = (width - 2 * Page.margin - (cols - 1) * gap) / cols
        let plotH = 96
        let capH = 2 * BitmapFont.height(scale: 1) + 4
        let rows = (layers.count + cols - 1) / cols
        let notes = layers.count < total ? "\(layers.count) of \(total) matching layers drawn (all are in the report)"
            : "\(total) matching layer\(total == 1 ? "" : "s")"
        let top = Page.margin + BitmapFont.height(scale: 2) + BitmapFont.height(scale: 1) + 10
        let height = top + max(rows, 1) * (plotH + capH + gap) + Page.margin
        var p = Painter(width: width, height: height)
        p.text(BitmapFont.truncated(title, maxWidth: width - 2 * Page.margin, scale: 2), x: Page.margin, y: Page.margin, scale: 2)
        p.text(BitmapFont.truncated(notes + " · each histogram on its own value range (0.1–99.9 % quantiles); grey line = 0, orange = mean",
                                    maxWidth: width - 2 * Page.margin, scale: 1),
               x: Page.margin, y: Page.margin + BitmapFont.height(scale: 2), scale: 1, color: .mutedInk)
        p.hline(Page.margin, width - Page.margin - 1, top - 5, .rule)
        if layers.isEmpty { p.text("no layers matched", x: Page.margin, y: top + 10, scale: 2, color: .mutedInk) }
        for (i, layer) in layers.enumerated() {
            let x = Page.margin + (i % cols) * (panelW + gap)
            let y = top + (i / cols) * (plotH + capH + gap)
            p.fill(x, y, panelW, plotH, .panel)
            let h = layer.statistics.histogram
            let peak = max(h.counts.max() ?? 1, 1)
            let lo = Double(h.edges.first ?? 0), hi = Double(h.edges.last ?? 1)
            let span = hi > lo ? hi - lo : 1
            func px(_ v: Double) -> Int { x + Int(((v - lo) / span * Double(panelW - 1)).rounded()) }
            for (b, c) in h.counts.enumerated() where c > 0 {
                let x0 = px(Double(h.edges[b])), x1 = px(Double(h.edges[b + 1]))
                let barH = max(1, Int((Double(c) / Double(peak) * Double(plotH - 4)).rounded()))
                p.fill(x0, y + plotH - barH, max(1, x1 - x0), barH, .accent)
            }
            if lo < 0 && hi > 0 { p.vline(px(0), y, y + plotH - 1, .mutedInk) }
            let mean = layer.statistics.mean
            if mean.isFinite && mean >= lo && mean <= hi { p.vline(px(mean), y, y + plotH - 1, .accent2) }
            p.stroke(x - 1, y - 1, panelW + 2, plotH + 2, .rule)
            p.text(BitmapFont.truncatedHead(layer.info.name, maxWidth: panelW, scale: 1), x: x, y: y + plotH + 3, scale: 1)
            let caption = "\(formatNumber(lo)) … \(formatNumber(hi)) · mean \(formatNumber(mean)) · std \(formatNumber(layer.statistics.std))"
            p.text(BitmapFont.truncated(caption, maxWidth: panelW, scale: 1), x: x, y: y + plotH + 3 + BitmapFont.height(scale: 1),
                   scale: 1, color: .mutedInk)
        }
        return p
    }

    /// A table: name, shape, dtype, mean, std, min, max, near-zero share, L2 norm, dead filters.
    static func table(_ layers: [LayerStatistics], total: Int, title: String, maxSide: Int) -> Painter {
        let headers = ["layer", "shape", "dtype", "mean", "std", "min", "max", "|w|<1e-3", "L2 norm", "dead"]
        var rows: [[String]] = []
        for l in layers {
            let s = l.statistics
            rows.append([l.info.name, formatShape(l.info.shape), l.info.dtype, formatNumber(s.mean, digits: 4),
                         formatNumber(s.std, digits: 4), formatNumber(Double(s.min), digits: 4), formatNumber(Double(s.max), digits: 4),
                         formatPercent(s.nearZeroFraction), formatNumber(s.l2Norm, digits: 4),
                         "\(l.deadFilters.count)/\(l.outputChannels)"])
        }
        let scale = 1
        let lh = BitmapFont.height(scale: scale) + 4
        var widths = headers.indices.map { c in ([headers[c]] + rows.map { $0[c] }).map { BitmapFont.width($0, scale: scale) }.max() ?? 0 }
        let maxWidth = min(max(maxSide, 720), 1800)
        // The name column gives way first when the table is too wide.
        let others = widths.dropFirst().reduce(0, +) + 14 * (headers.count - 1)
        widths[0] = max(120, min(widths[0], maxWidth - 2 * Page.margin - others))
        let width = min(maxWidth, 2 * Page.margin + widths.reduce(0, +) + 14 * (headers.count - 1))
        let top = Page.margin + BitmapFont.height(scale: 2) + BitmapFont.height(scale: 1) + 10
        let height = top + lh * (rows.count + 1) + Page.margin
        var p = Painter(width: max(width, 480), height: height)
        p.text(BitmapFont.truncated(title, maxWidth: p.width - 2 * Page.margin, scale: 2), x: Page.margin, y: Page.margin, scale: 2)
        let note = (layers.count < total ? "\(layers.count) of \(total) layers shown (all are in the report) · " : "")
            + "dead = output channels whose |w| all stay below 1e-3 × the layer's max |w|"
        p.text(BitmapFont.truncated(note, maxWidth: p.width - 2 * Page.margin, scale: 1), x: Page.margin,
               y: Page.margin + BitmapFont.height(scale: 2), scale: 1, color: .mutedInk)
        var y = top
        func drawRow(_ cells: [String], color: RGBA) {
            var x = Page.margin
            for (c, text) in cells.enumerated() {
                let fitted = c == 0 ? BitmapFont.truncatedHead(text, maxWidth: widths[c], scale: scale) : text
                if c == 0 {
                    p.text(fitted, x: x, y: y + 2, scale: scale, color: color)
                } else {
                    p.text(fitted, x: x + widths[c], y: y + 2, scale: scale, color: color, align: .right)
                }
                x += widths[c] + 14
            }
        }
        drawRow(headers, color: .mutedInk)
        p.hline(Page.margin, p.width - Page.margin - 1, y + lh - 1, .rule)
        y += lh
        for (i, row) in rows.enumerated() {
            if i % 2 == 1 { p.fill(Page.margin, y, p.width - 2 * Page.margin, lh, RGBA(246, 246, 249)) }
            drawRow(row, color: layers[i].deadFilters.isEmpty ? .ink : RGBA(170, 40, 40))
            y += lh
        }
        return p
    }
}
