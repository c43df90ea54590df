import Analysis
import TensorCore

/// Distill's small multiples: one output channel's strongest input channels (by the L2 norm of
/// their kernel slice W[o, i]), largest first, each drawn as its kernel on one shared symmetric
/// diverging scale, labelled with the channel and its norm.
enum TopInputsView {
    static func render(weight: Tensor, outputChannel o: Int, inputs: [ChannelNorm], info: LayerInfo, maxSide: Int,
                       colormap: ColorMapName = .diverging) -> Painter {
        let g = KernelGeometry(shape: weight.shape)
        let ks = g.kh * g.kw
        var m: Float = 0
        for c in inputs {
            let base = (o * g.inputs + c.channel) * ks
            for j in 0..<ks where weight.values[base + j].isFinite { m = max(m, abs(weight.values[base + j])) }
        }
        if m == 0 { m = 1 }
        let width = min(max(maxSide, 640), 1400)
        let cell = max(4, min(160 / max(g.kh, g.kw), 48))
        let tileW = max(g.kw * cell, 72), tileH = g.kh * cell
        let labelH = 2 * BitmapFont.height(scale: 1) + 4
        let perRow = max(1, (width - 2 * Page.margin + 12) / (tileW + 12))
        let rows = (inputs.count + perRow - 1) / perRow
        let notes = ["output channel \(o) of \(g.out): its \(inputs.count) strongest of \(g.inputs) input channels by kernel L2 norm, largest first",
                     colormap == .diverging ? "one shared diverging scale ±\(formatNumber(Double(m))) (blue negative, red positive)"
                                            : "one shared \(colormap.rawValue) scale ±\(formatNumber(Double(m)))"]
        let header = Header(info: info, view: "top inputs", notes: notes, width: width)
        let barTop = header.height + 8
        let top = barTop + ColorBar.height() + 8
        let height = top + rows * (tileH + labelH + 12) + Page.margin
        var p = Painter(width: width, height: height)
        _ = header.draw(&p)
        let map = ColorMap(colormap)
        let scale = ValueScale.symmetric(m, map: colormap)
        ColorBar.draw(&p, x: Page.margin, y: barTop, w: min(512, width - 2 * Page.margin),
                      scale: scale, map: map,
                      caption: "weight value (shared by all kernels)")
        for (n, c) in inputs.enumerated() {
            let x = Page.margin + (n % perRow) * (tileW + 12)
            let y = top + (n / perRow) * (tileH + labelH + 12)
            let base = (o * g.inputs + c.channel) * ks
            let colors = scale.colors(Array(weight.values[base..<(base + ks)]), map: map)
            let ox = x + (tileW - g.kw * cell) / 2
            p.cells(colors, rows: g.kh, cols: g.kw, x: ox, y: y, cellW: cell, cellH: cell)
            p.stroke(ox - 1, y - 1, g.kw * cell + 2, tileH + 2, .rule)
            p.text("in \(c.channel)", x: x, y: y + tileH + 3, scale: 1, color: .ink)
            p.text("‖·‖ \(formatNumber(Double(c.norm)))", x: x, y: y + tileH + 3 + BitmapFont.height(scale: 1), scale: 1, color: .mutedInk)
        }
        return p
    }
}
