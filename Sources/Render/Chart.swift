import Foundation

/// Axes of a 2-D chart: maps data to pixels and draws ticks, labels and the frame.
///
/// `layout` reserves room for tick labels and axis titles inside the given box, so nothing a
/// chart draws leaves its box.
struct ChartAxes {
    var plotX: Int, plotY: Int, plotW: Int, plotH: Int
    var xLo: Double, xHi: Double
    var yLo: Double, yHi: Double
    var yLog: Bool
    var textScale: Int

    /// Fits the plot into the box `(x, y, w, h)`, leaving space on the left for y tick labels
    /// (as wide as `yTickSample` strings) and the y title, and below for x ticks and title.
    static func layout(x: Int, y: Int, w: Int, h: Int, xRange: (Double, Double), yRange: (Double, Double),
                       yLog: Bool = false, yTickSample: [String], textScale: Int, hasYTitle: Bool = true) -> ChartAxes {
        let lh = BitmapFont.height(scale: textScale)
        let tickW = yTickSample.map { BitmapFont.width($0, scale: textScale) }.max() ?? 0
        let left = (hasYTitle ? lh + 4 : 0) + tickW + 6
        let bottom = 4 + lh + lh + 2
        let top = lh / 2
        return ChartAxes(plotX: x + left, plotY: y + top, plotW: max(w - left - 4, 8), plotH: max(h - bottom - top, 8),
                         xLo: xRange.0, xHi: xRange.1 > xRange.0 ? xRange.1 : xRange.0 + 1,
                         yLo: yRange.0, yHi: yRange.1 > yRange.0 ? yRange.1 : yRange.0 + 1,
                         yLog: yLog, textScale: textScale)
    }

    func px(_ x: Double) -> Int {
        plotX + Int(((x - xLo) / (xHi - xLo) * Double(plotW - 1)).rounded())
    }

    func py(_ y: Double) -> Int {
        let t: Double
        if yLog {
            let a = log10(max(yLo, 1e-300)), b = log10(max(yHi, 1e-300))
            t = (log10(max(y, 1e-300)) - a) / max(b - a, 1e-12)
        } else {
            t = (y - yLo) / (yHi - yLo)
        }
        return plotY + plotH - 1 - Int((min(max(t, 0), 1) * Double(plotH - 1)).rounded())
    }

    /// Frame, ticks with labels, and titles. `xFormat` turns a tick value into its label.
    func drawAxes(_ p: inout Painter, xTicks: [Double], yTicks: [Double], xTitle: String, yTitle: String,
                  xFormat: (Double) -> String = { formatNumber($0) }, yFormat: (Double) -> String = { formatNumber($0) }) {
        let lh = BitmapFont.height(scale: textScale)
        p.stroke(plotX - 1, plotY - 1, plotW + 2, plotH + 2, .mutedInk)
        var lastRight = -1_000_000
        for t in xTicks {
            let x = px(t)
            p.vline(x, plotY + plotH, plotY + plotH + 3, .mutedInk)
            let label = xFormat(t)
            let w = BitmapFont.width(label, scale: textScale)
            let lx = min(max(x - w / 2, plotX - 4), plotX + plotW + 2 - w)
            if lx > lastRight + 6 {
                p.text(label, x: lx, y: plotY + plotH + 5, scale: textScale, color: .ink)
                lastRight = lx + w
            }
        }
        var lastTop = 1_000_000
        for t in yTicks.sorted() {
            let y = py(t)
            p.hline(plotX - 4, plotX - 2, y, .mutedInk)
            let ty = min(max(y - lh / 2 + textScale, plotY - lh / 2), plotY + plotH - lh / 2)
            if ty + lh <= lastTop + 1 {
                p.text(yFormat(t), x: plotX - 6, y: ty, scale: textScale, color: .ink, align: .right)
                lastTop = ty
            }
        }
        if !xTitle.isEmpty {
            let t = BitmapFont.truncated(xTitle, maxWidth: plotW, scale: textScale)
            p.text(t, x: plotX + plotW / 2, y: plotY + plotH + 5 + lh, scale: textScale, color: .mutedInk, align: .center)
        }
        if !yTitle.isEmpty {
            let t = BitmapFont.truncated(yTitle, maxWidth: plotH, scale: textScale)
            let tickW = yTicks.map { BitmapFont.width(yFormat($0), scale: textScale) }.max() ?? 0
            p.verticalText(t, x: max(plotX - 6 - tickW - lh - 2, 0), centerY: plotY + plotH / 2, scale: textScale, color: .mutedInk)
        }
    }

    /// Vertical bars of `values` over their index (x = index), from zero. When there are more
    /// values than pixel columns each column shows the min…max envelope of its values, so no
    /// value is skipped.
    func drawIndexBars(_ p: inout Painter, values: [Float], color: (Float) -> RGBA) {
        let n = values.count
        guard n > 0 else { return }
        let zeroY = py(max(min(0, yHi), yLo))
        if n <= plotW {
            let slot = Double(plotW) / Double(n)
            for (i, v) in values.enumerated() {
                let x0 = plotX + Int((Double(i) * slot).rounded())
                let x1 = plotX + Int((Double(i + 1) * slot).rounded())
                let w = max(1, x1 - x0 - (slot >= 4 ? 1 : 0))
                let y = py(Double(v))
                p.fill(x0, min(y, zeroY), w, abs(zeroY - y) + 1, color(v))
            }
        } else {
            for col in 0..<plotW {
                let a = col * n / plotW, b = max(a + 1, (col + 1) * n / plotW)
                var lo = Float.infinity, hi = -Float.infinity
                for i in a..<min(b, n) { lo = min(lo, values[i]); hi = max(hi, values[i]) }
                let top = py(Double(max(hi, 0))), bot = py(Double(min(lo, 0)))
                let dominant = abs(hi) >= abs(lo) ? hi : lo
                p.fill(plotX + col, min(top, bot), 1, abs(bot - top) + 1, color(dominant))
            }
        }
        if yLo < 0 && yHi > 0 { p.hline(plotX, plotX + plotW - 1, zeroY, .mutedInk) }
    }
}
