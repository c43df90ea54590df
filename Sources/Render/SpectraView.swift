import Foundation

/// Singular values of several matrices (e.g. one per attention head) as lines on a log scale:
/// index on x, σ on y, one colour per series, labelled at the line's start.
enum SpectraView {
    static let palette = [RGBA(40, 110, 180), RGBA(220, 110, 30), RGBA(40, 160, 80), RGBA(200, 40, 40), RGBA(140, 80, 190),
                          RGBA(140, 90, 60), RGBA(220, 100, 180), RGBA(110, 110, 110), RGBA(170, 170, 30), RGBA(30, 170, 190)]

    static func render(series: [(label: String, values: [Double])], title: String, notes: [String], maxSide: Int) -> Painter {
        let width = min(max(maxSide, 720), 1400)
        let header = Header(info: LayerInfo(name: title, shape: [series.count], dtype: "spectra", parameters: series.count),
                            view: "singular values", notes: notes, width: width)
        let chartH = 480
        let height = header.height + 8 + chartH + Page.margin
        var p = Painter(width: width, height: height)
        let y = header.draw(&p) + 8
        let positive = series.flatMap(\.values).filter { $0 > 0 && $0.isFinite }
        let lo = max(positive.min() ?? 1e-3, (positive.max() ?? 1) * 1e-6), hi = max(positive.max() ?? 1, lo * 10)
        let count = max(series.map(\.values.count).max() ?? 1, 2)
        var yTicks: [Double] = []
        var t = pow(10, floor(log10(lo)))
        while t <= hi * 1.0001 { if t >= lo * 0.999 { yTicks.append(t) }; t *= 10 }
        if yTicks.count < 2 { yTicks = [lo, hi] }
        let a = ChartAxes.layout(x: Page.margin, y: y, w: width - 2 * Page.margin, h: chartH, xRange: (1, Double(count)),
                                 yRange: (lo / 1.3, hi * 1.3), yLog: true, yTickSample: yTicks.map { formatNumber($0) },
                                 textScale: Page.bodyScale)
        a.drawAxes(&p, xTicks: niceTicks(1, Double(count), maxCount: 8).filter { $0 >= 1 }, yTicks: yTicks,
                   xTitle: "index", yTitle: "singular value", xFormat: { String(Int($0)) })
        for (s, item) in series.enumerated() {
            let color = palette[s % palette.count]
            var last: (Int, Int)?
            for (i, v) in item.values.enumerated() where v > 0 && v.isFinite {
                let point = (a.px(Double(i + 1)), a.py(max(v, lo)))
                if let last { p.line(last.0, last.1, point.0, point.1, color, thickness: 2) }
                last = point
            }
            if let first = item.values.first, first > 0 {
                p.text(item.label, x: a.px(1) + 6, y: a.py(first) - BitmapFont.height(scale: 1) / 2 + (s % 3 - 1) * 3,
                       scale: 1, color: color)
            }
        }
        return p
    }
}
