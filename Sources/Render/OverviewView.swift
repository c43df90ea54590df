import Analysis
import TensorCore

/// Many layers on one page: each panel is the layer's weight matrix (output × rest) as a
/// heatmap, block-reduced by max |v| and on its own symmetric scale, captioned with the name,
/// shape and that scale.
enum OverviewView {
    static func render(layers: [(LayerInfo, Tensor)], options: RenderOptions, title: String,
                       cancellation: Cancellation?) throws(RenderError) -> Painter {
        let maxSide = options.maxSide
        let n = max(layers.count, 1)
        let gap = 14
        let capH = 3 * BitmapFont.height(scale: 1) + 4
        let avail = maxSide - 2 * Page.margin
        // Largest panel side (96…320 px) at which all panels fit the page; else show what fits.
        var side = 320
        var cols = 1, rowsNeeded = 1
        let headerH = 80 + ColorBar.height() + 8
        while true {
            cols = max(1, (avail + gap) / (side + gap))
            rowsNeeded = (n + cols - 1) / cols
            if rowsNeeded * (side * 3 / 4 + capH + gap) <= maxSide - headerH - Page.margin || side <= 96 { break }
            side -= 16
        }
        let panelH = side * 3 / 4
        let maxRows = max(1, (maxSide - headerH - Page.margin) / (panelH + capH + gap))
        let shown = min(layers.count, maxRows * cols)
        cols = min(cols, max(shown, 1))
        let rows = max(1, (shown + cols - 1) / cols)
        let width = max(720, Page.margin * 2 + cols * (side + gap) - gap)
        let ts = BitmapFont.fittingScale(title, maxWidth: width - 2 * Page.margin, range: 1...3)
        var notes = "\(layers.count) layers · each panel: weight as output × (input·kernel) matrix, max-|v| block reduction, own symmetric \(options.colormap.rawValue) scale (±max under the name)"
        if shown < layers.count { notes = "showing \(shown) of \(layers.count) layers (page limit) · " + notes }
        let noteScale = BitmapFont.fittingScale(notes, maxWidth: width - 2 * Page.margin, range: 1...2)
        let barTop = Page.margin + BitmapFont.height(scale: ts) + BitmapFont.height(scale: noteScale) + 6
        let top = barTop + ColorBar.height() + 8
        let height = top + rows * (panelH + capH + gap) + Page.margin
        var p = Painter(width: width, height: height)
        p.text(BitmapFont.truncated(title, maxWidth: width - 2 * Page.margin, scale: ts), x: Page.margin, y: Page.margin, scale: ts)
        p.text(BitmapFont.truncated(notes, maxWidth: width - 2 * Page.margin, scale: noteScale), x: Page.margin,
               y: Page.margin + BitmapFont.height(scale: ts), scale: noteScale, color: .mutedInk)
        p.hline(Page.margin, width - Page.margin - 1, top - 4, .rule)
        let map = ColorMap(options.colormap)
        ColorBar.draw(&p, x: Page.margin, y: barTop, w: min(512, width - 2 * Page.margin),
                      scale: .symmetric(1, map: options.colormap), map: map,
                      caption: "each panel on its own scale: ends = the ±max under its name",
                      endLabels: ValueScale.ownScaleEndLabels(options.colormap))
        if layers.isEmpty {
            p.text("no layers matched", x: Page.margin, y: top + 10, scale: 2, color: .mutedInk)
        }
        for (idx, item) in layers.prefix(shown).enumerated() {
            try checkCancelled(cancellation)
            let (info, t) = item
            let px = Page.margin + (idx % cols) * (side + gap)
            let py = top + (idx / cols) * (panelH + capH + gap)
            p.fill(px, py, side, panelH, .panel)
            var absMax: Float = 0
            if t.count > 0 {
                let (mr, mc) = t.matrixShape
                let red = MatrixHeatmap.reduce(t.values, rows: mr, cols: mc, maxRows: panelH, maxCols: side, mode: .maxAbs)
                var cw = max(1, side / red.cols), ch = max(1, panelH / red.rows)
                cw = min(cw, ch * 8); ch = min(ch, cw * 8, panelH / max(red.rows, 1) > 0 ? panelH / red.rows : 1)
                for v in red.values where v.isFinite { absMax = max(absMax, abs(v)) }
                let m = max(absMax, Float.leastNormalMagnitude)
                let colors = ValueScale.symmetric(m, map: options.colormap).colors(red.values, map: map)
                let w = red.cols * cw, h = red.rows * ch
                let ox = px + (side - w) / 2, oy = py + (panelH - h) / 2
                p.cells(colors, rows: red.rows, cols: red.cols, x: ox, y: oy, cellW: cw, cellH: ch)
            }
            p.stroke(px - 1, py - 1, side + 2, panelH + 2, .rule)
            let cy = py + panelH + 3
            p.text(BitmapFont.truncatedHead(info.name, maxWidth: side, scale: 1), x: px, y: cy, scale: 1, color: .ink)
            p.text(BitmapFont.truncated("\(formatShape(info.shape)) \(info.dtype)", maxWidth: side, scale: 1), x: px,
                   y: cy + BitmapFont.height(scale: 1), scale: 1, color: .mutedInk)
            p.text("±\(formatNumber(Double(absMax)))", x: px, y: cy + 2 * BitmapFont.height(scale: 1), scale: 1, color: .mutedInk)
        }
        return p
    }
}

/// A list of names drawn in columns, shortened and capped so it always fits the page.
enum LayerListView {
    static func render(names: [String], title: String, maxSide: Int) -> Painter {
        let avail = maxSide - 2 * Page.margin
        let headerH = Page.margin + BitmapFont.height(scale: 2) + BitmapFont.height(scale: 1) + 10
        // Try scale 2 then 1; at each, as many columns as needed, names shortened to the column width.
        var scale = 2
        var linesPerCol = 1, cols = 1, colW = 0
        let longest = names.map { $0.count }.max() ?? 10
        for s in [2, 1] {
            scale = s
            let lh = BitmapFont.height(scale: s)
            linesPerCol = max(1, (maxSide - headerH - Page.margin) / lh)
            cols = max(1, (names.count + linesPerCol - 1) / linesPerCol)
            colW = BitmapFont.width(String(repeating: "x", count: min(longest, 64)), scale: s) + 24
            if cols * colW <= avail { break }
        }
        let maxCols = max(1, avail / max(min(colW, avail), 1))
        let capacity = maxCols * linesPerCol
        let overflow = names.count > capacity
        let shownCount = overflow ? capacity - 1 : names.count
        cols = max(1, min(maxCols, (shownCount + (overflow ? 1 : 0) + linesPerCol - 1) / linesPerCol))
        colW = min(colW, avail / cols)
        let usedLines = min(linesPerCol, max(1, shownCount + (overflow ? 1 : 0)))
        let width = min(maxSide, max(480, Page.margin * 2 + cols * colW))
        let lh = BitmapFont.height(scale: scale)
        let height = headerH + usedLines * lh + Page.margin
        var p = Painter(width: width, height: height)
        p.text(BitmapFont.truncated(title, maxWidth: width - 2 * Page.margin, scale: 2), x: Page.margin, y: Page.margin, scale: 2)
        p.text(BitmapFont.truncated("\(formatCount(names.count)) layers · choose one by name", maxWidth: width - 2 * Page.margin, scale: 1),
               x: Page.margin, y: Page.margin + BitmapFont.height(scale: 2), scale: 1, color: .mutedInk)
        p.hline(Page.margin, width - Page.margin - 1, headerH - 5, .rule)
        for i in 0..<shownCount {
            let c = i / linesPerCol, r = i % linesPerCol
            p.text(BitmapFont.truncatedHead(names[i], maxWidth: colW - 16, scale: scale), x: Page.margin + c * colW,
                   y: headerH + r * lh, scale: scale, color: .ink)
        }
        if overflow {
            let i = shownCount
            p.text("… and \(formatCount(names.count - shownCount)) more", x: Page.margin + (i / linesPerCol) * colW,
                   y: headerH + (i % linesPerCol) * lh, scale: scale, color: .mutedInk)
        }
        if names.isEmpty { p.text("(no layers)", x: Page.margin, y: headerH, scale: scale, color: .mutedInk) }
        return p
    }
}
