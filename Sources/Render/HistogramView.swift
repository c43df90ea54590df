import Analysis
import Foundation
import TensorCore

/// The `histogram` view: the distribution of all values over their robust range (0.1–99.9 %
/// quantiles, outliers counted at the sides) with a box of mean, std, min, max and near-zero share.
enum HistogramView {
    static func render(weight: Tensor, info: LayerInfo, options: RenderOptions) throws(RenderError) -> Painter {
        guard weight.count > 0 else { throw .emptyTensor(layer: info.name, shape: weight.shape) }
        let stats = weightStatistics(weight, bins: options.bins)
        let h = stats.histogram
        let ts = Page.bodyScale
        let width = min(options.maxSide, 1400)
        var notes = ["\(formatCount(stats.count)) values in \(h.counts.count) bins over [\(formatNumber(Double(h.edges.first ?? 0))), \(formatNumber(Double(h.edges.last ?? 0)))] (0.1–99.9 % quantiles)"]
        if h.below + h.above > 0 {
            notes.append("outside that range: \(formatCount(h.below)) below, \(formatCount(h.above)) above (not drawn)")
        }
        let header = Header(info: info, view: "histogram" + (options.logCount ? " (log count)" : ""), notes: notes, width: width)
        let chartH = 560
        let height = header.height + 8 + chartH + Page.margin
        var p = Painter(width: width, height: height, recordSVG: options.svg)
        let y = header.draw(&p) + 8

        let maxCount = Double(h.counts.max() ?? 1)
        let yLo = options.logCount ? 0.8 : 0
        let yHi = options.logCount ? max(maxCount * 1.5, 10) : max(maxCount * 1.08, 1)
        var yTicks: [Double]
        if options.logCount {
            yTicks = []
            var t = 1.0
            while t <= yHi { yTicks.append(t); t *= 10 }
        } else {
            yTicks = niceTicks(0, yHi, maxCount: 6)
        }
        let lo = Double(h.edges.first ?? 0), hi = Double(h.edges.last ?? 1)
        let a = ChartAxes.layout(x: Page.margin, y: y, w: width - 2 * Page.margin, h: chartH,
                                 xRange: (lo, hi > lo ? hi : lo + 1), yRange: (yLo, yHi), yLog: options.logCount,
                                 yTickSample: yTicks.map { formatCount(Int($0)) }, textScale: ts)
        for (i, c) in h.counts.enumerated() where c > 0 {
            let x0 = a.px(Double(h.edges[i])), x1 = a.px(Double(h.edges[i + 1]))
            let top = a.py(Double(c))
            p.fill(x0, top, max(1, x1 - x0), a.plotY + a.plotH - top, .accent)
        }
        // The colour map along the value axis, so the histogram doubles as the key to the other views.
        let map = ColorMap(options.colormap)
        let vs = ValueScale.make(values: h.edges, transform: options.transform, map: options.colormap, clipPercentile: nil)
        var strip = [RGBA]()
        for x in 0..<a.plotW {
            let v = lo + (hi - lo) * Double(x) / Double(max(a.plotW - 1, 1))
            strip.append(map.color(vs.position(Float(v))))
        }
        p.cells(strip, rows: 1, cols: a.plotW, x: a.plotX, y: a.plotY + a.plotH - 6, cellW: 1, cellH: 6)
        // Zero and mean markers.
        if lo < 0 && hi > 0 { p.vline(a.px(0), a.plotY, a.plotY + a.plotH - 1, .mutedInk) }
        if stats.mean.isFinite && stats.mean >= lo && stats.mean <= hi {
            let mx = a.px(stats.mean)
            var yy = a.plotY
            while yy < a.plotY + a.plotH { p.vline(mx, yy, min(yy + 5, a.plotY + a.plotH - 1), .accent2); yy += 10 }
        }
        a.drawAxes(&p, xTicks: niceTicks(lo, hi, maxCount: 8), yTicks: yTicks, xTitle: "value",
                   yTitle: options.logCount ? "count (log)" : "count", yFormat: { formatCount(Int($0.rounded())) })

        // Statistics box in the top-right corner of the plot.
        let rows: [(String, String)] = [
            ("mean", formatNumber(stats.mean, digits: 4)), ("std", formatNumber(stats.std, digits: 4)),
            ("min", formatNumber(Double(stats.min), digits: 4)), ("max", formatNumber(Double(stats.max), digits: 4)),
            ("|v| < \(formatNumber(Double(stats.nearZeroThreshold)))", formatPercent(stats.nearZeroFraction)),
            ("L2 norm", formatNumber(stats.l2Norm, digits: 4)),
        ] + (stats.perOutputChannelNorms.isEmpty ? [] : [("dead filters", "\(stats.deadFilters.count) of \(stats.perOutputChannelNorms.count)")])
        let keyW = rows.map { BitmapFont.width($0.0, scale: ts) }.max() ?? 0
        let valW = rows.map { BitmapFont.width($0.1, scale: ts) }.max() ?? 0
        let lh = BitmapFont.height(scale: ts)
        let boxW = keyW + valW + 36, boxH = rows.count * lh + 16
        let bx = a.plotX + a.plotW - boxW - 10, by = a.plotY + 10
        p.fill(bx, by, boxW, boxH, RGBA(250, 250, 252))
        p.stroke(bx, by, boxW, boxH, .mutedInk)
        for (i, r) in rows.enumerated() {
            p.text(r.0, x: bx + 10, y: by + 9 + i * lh, scale: ts, color: .mutedInk)
            p.text(r.1, x: bx + boxW - 10, y: by + 9 + i * lh, scale: ts, color: .ink, align: .right)
        }
        return p
    }
}
