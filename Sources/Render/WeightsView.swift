import Analysis
import TensorCore

/// The `weights` view: the values themselves.
///
/// - conv `[out, in, kh, kw]` (and 1-D / 3-D convs folded to that): a grid of kernels, output
///   channels as rows; all inputs as columns when they fit, otherwise each row's strongest
///   inputs (top-k by kernel L2 norm) labelled with their channel index. RGB-input convs get an
///   extra column with each filter as a colour image.
/// - linear `[out, in]` and 1×1 convs: one heatmap, block-reduced when larger than the page.
/// - 1-D (norm scales, biases): bars over the index.
enum WeightsView {
    static func render(weight: Tensor, info: LayerInfo, options: RenderOptions,
                       cancellation: Cancellation?) throws(RenderError) -> Painter {
        guard weight.count > 0 else { throw .emptyTensor(layer: info.name, shape: weight.shape) }
        switch weight.rank {
        case 0:
            return scalarCard(value: weight.values[0], info: info)
        case 1:
            return VectorView.render(values: weight.values, info: info, options: options, viewName: "weights")
        default:
            let g = KernelGeometry(shape: weight.shape)
            if g.kh * g.kw == 1 || weight.rank == 2 {
                let m = weight.matrixShape
                let isConv = weight.rank > 2
                return MatrixHeatmap.render(values: weight.values, rows: m.rows, cols: m.cols, info: info, options: options,
                                            rowTitle: isConv ? "output channel" : "output feature",
                                            colTitle: isConv ? "input channel" : "input feature", viewName: "weights",
                                            rowName: "out", colName: "in")
            }
            try checkCancelled(cancellation)
            if g.out * g.inputs == 1 {
                return VectorView.render(values: weight.values, info: info, options: options, viewName: "weights")
            }
            if g.kw > 256 || g.kh > 256 {
                // Kernels wider than a quarter page cannot form a grid: show the matrix view.
                let m = weight.matrixShape
                return MatrixHeatmap.render(values: weight.values, rows: m.rows, cols: m.cols, info: info, options: options,
                                            rowTitle: "output channel", colTitle: "input channel · kernel position", viewName: "weights",
                                            rowName: "out", colName: "in·k")
            }
            return KernelGrid.render(weight: weight, geometry: g, info: info, options: options)
        }
    }

    static func scalarCard(value: Float, info: LayerInfo) -> Painter {
        let w = 640
        let header = Header(info: info, view: "weights", notes: [], width: w)
        var p = Painter(width: w, height: header.height + 60)
        let y = header.draw(&p)
        p.text("value = \(formatNumber(Double(value), digits: 6))", x: Page.margin, y: y + 12, scale: 3)
        return p
    }
}

@inline(__always) func checkCancelled(_ c: Cancellation?) throws(RenderError) {
    do { try c.checkIfSet() } catch { throw .cancelled }
}

extension Optional where Wrapped == Cancellation {
    func checkIfSet() throws(AnalysisError) { if let c = self { try c.check() } }
}

/// A conv weight seen as `[out, in, kh, kw]`: 1-D convs `[out, in, k]` become `kh = 1`,
/// 3-D convs fold their leading kernel dimensions into `kh`.
struct KernelGeometry: Equatable {
    let out: Int, inputs: Int, kh: Int, kw: Int
    init(shape: [Int]) {
        switch shape.count {
        case 0: (out, inputs, kh, kw) = (1, 1, 1, 1)
        case 1: (out, inputs, kh, kw) = (1, 1, 1, shape[0])
        case 2: (out, inputs, kh, kw) = (shape[0], shape[1], 1, 1)
        case 3: (out, inputs, kh, kw) = (shape[0], shape[1], 1, shape[2])
        default:
            out = shape[0]; inputs = shape[1]; kw = shape[shape.count - 1]
            kh = shape[2..<(shape.count - 1)].reduce(1, *)
        }
    }
    var kernelSize: Int { kh * kw }
}

/// The kernel grid of the `weights` view.
enum KernelGrid {
    static func render(weight: Tensor, geometry g: KernelGeometry, info: LayerInfo, options: RenderOptions) -> Painter {
        let ks = g.kernelSize
        let maxSide = options.maxSide
        let availW = maxSide - 2 * Page.margin
        // Pages: this one starts at output channel `first` (RenderOptions.firstFilter).
        let first = min(max(options.firstFilter, 0), g.out - 1)
        var rows = max(1, min(g.out, options.numFilters) - first)
        let rgb = g.inputs == 3
        let map = ColorMap(options.colormap)

        // Row labels "out N" at scale 2 when tiles are tall enough, else 1.
        func labelWidth(_ scale: Int) -> Int { BitmapFont.width("out \(first + rows - 1)", scale: scale) + 8 }

        // 1. Try every input as a column.
        var allInputs = false
        var s = 1
        var gap = 2
        let rgbCols = rgb ? 1 : 0
        let colsAll = g.inputs + rgbCols
        let fixedH = 130 + ColorBar.height()   // header + colour bar, enough for the usual 3 header lines
        for cand in stride(from: 32, through: 1, by: -1) {
            let tw = g.kw * cand, th = g.kh * cand
            guard tw >= 8, tw <= 72, th <= 72 else { continue }
            let gp = cand >= 8 ? 4 : 2
            let lw = labelWidth(th >= 22 ? 2 : 1)
            let rgbGap = rgb ? 8 : 0
            let needW = lw + colsAll * (tw + gp) + rgbGap
            let needH = rows * (th + gp) + BitmapFont.height(scale: 1) + 4
            if needW <= availW && needH <= maxSide - fixedH {
                allInputs = true; s = cand; gap = gp; break
            }
        }
        // 2. Otherwise each row shows its strongest k inputs with the channel index under each tile.
        var k = g.inputs
        let indexLabelW = BitmapFont.width(String(max(g.inputs - 1, 0)), scale: 1) + 2
        if !allInputs {
            s = max(1, (indexLabelW + g.kw - 1) / g.kw)
            gap = 4
            let lw = labelWidth(g.kh * s >= 22 ? 2 : 1)
            let rgbW = rgb ? g.kw * s + gap + 8 : 0
            k = max(1, min(g.inputs, 32, (availW - lw - rgbW) / (g.kw * s + gap)))
            // Grow tiles while k of them still fit and the kernels stay moderate.
            while g.kw * (s + 1) <= 96, g.kh * (s + 1) <= 96,
                  lw + rgbW + k * (g.kw * (s + 1) + gap) <= availW { s += 1 }
        }
        // Flat kernels (1-D convs) get taller cells so rows stay at least one text line high.
        let sy = max(s, (12 + g.kh - 1) / g.kh)
        let tileW = g.kw * s, tileH = g.kh * sy
        let labelScale = tileH >= 22 ? 2 : 1
        let lw = labelWidth(labelScale)
        let indexRowH = allInputs ? 0 : BitmapFont.height(scale: 1)
        let rowH = tileH + gap + indexRowH
        // Too many rows for the page: keep what fits and say so.
        let maxRows = max(1, (maxSide - fixedH - BitmapFont.height(scale: 1) - 8) / rowH)
        var notes: [String] = []
        let requested = min(g.out, options.numFilters)
        if rows > maxRows {
            notes.append("output channels \(first)–\(first + maxRows - 1) on this page; \(requested) requested, the rest on the next pages")
            rows = maxRows
        }
        let rowsText = rows == g.out ? "all \(g.out) output channels" : "output channels \(first)–\(first + rows - 1) of \(g.out)"
        if allInputs {
            notes.insert("rows: \(rowsText) · columns: all \(g.inputs) input channels" + (rgb ? " (first column: the filter as RGB)" : ""), at: 0)
        } else {
            notes.insert("rows: \(rowsText) · per row the \(k) strongest of \(g.inputs) input channels (kernel L2 norm), index under each tile", at: 0)
        }
        if g.kh * g.kw > 1 { notes.append("each tile is one \(g.kh)×\(g.kw) kernel, \(s) px per weight") }

        // Pick the kernels to draw.
        var picks = [[Int]]()   // per row: input channel indices
        weight.values.withUnsafeBufferPointer { w in
            for r in first..<(first + rows) {
                if allInputs { picks.append(Array(0..<g.inputs)); continue }
                var norms = [(Float, Int)]()
                norms.reserveCapacity(g.inputs)
                for i in 0..<g.inputs {
                    let base = (r * g.inputs + i) * ks
                    var acc: Float = 0
                    for j in 0..<ks { let v = w[base + j]; acc += v * v }
                    norms.append((acc.isNaN ? -1 : acc, i))
                }
                norms.sort { $0.0 > $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }
                picks.append(norms.prefix(k).map { $0.1 })
            }
        }
        // Colour scale over the shown kernels (shared), or per tile.
        var shown = [Float]()
        shown.reserveCapacity(rows * picks[0].count * ks)
        for r in 0..<rows { for i in picks[r] { let b = ((first + r) * g.inputs + i) * ks; shown.append(contentsOf: weight.values[b..<(b + ks)]) } }
        let shared = ValueScale.make(values: shown, transform: options.transform, map: options.colormap, clipPercentile: options.clipPercentile)

        let cols = picks[0].count
        let gridX = Page.margin + lw + (rgb ? tileW + gap + 8 : 0)
        let contentW = gridX + cols * (tileW + gap) - gap + Page.margin
        let width = min(max(contentW, 720), maxSide)
        let header = Header(info: info, view: "weights", notes: notes, width: width)
        let colHeaderH = BitmapFont.height(scale: 1) + 4
        let height = header.height + colHeaderH + rows * rowH + 8 + ColorBar.height() + Page.margin
        var p = Painter(width: width, height: height)
        var y = header.draw(&p) + 4

        // Column headers.
        if rgb { p.text("RGB", x: Page.margin + lw + tileW / 2, y: y, scale: 1, color: .mutedInk, align: .center) }
        if allInputs {
            let every = max(1, (indexLabelW + 4 + tileW + gap - 1) / (tileW + gap))
            for c in stride(from: 0, to: cols, by: every) {
                p.text(String(c), x: gridX + c * (tileW + gap) + tileW / 2, y: y, scale: 1, color: .mutedInk, align: .center)
            }
        } else {
            p.text("strongest inputs →", x: gridX, y: y, scale: 1, color: .mutedInk)
        }
        y += colHeaderH

        // Layout for the hover read-out: one cell per tile, its pitch including the gap (and the
        // index label under it), so every pixel of the grid names the nearest tile up and left.
        var grid = PageLayout.Region(x: gridX, y: y, w: cols * (tileW + gap), h: rows * rowH, label: "weights")
        grid.rows = rows; grid.cols = cols
        grid.rowName = "out"; grid.colName = "in"
        grid.values = .kernel
        grid.kernel = PageLayout.KernelCells(kh: g.kh, kw: g.kw, cellW: s, cellH: sy)
        if first > 0 { grid.rowIndex = Array(first..<(first + rows)) }
        if !allInputs { grid.colIndex = .perRow(picks) }
        p.layout.regions.append(grid)
        if rgb {
            var column = PageLayout.Region(x: Page.margin + lw, y: y, w: tileW + gap, h: rows * rowH, label: "RGB filter")
            column.rows = rows; column.cols = 1
            column.rowName = "out"
            if first > 0 { column.rowIndex = Array(first..<(first + rows)) }
            p.layout.regions.append(column)
        }

        var colors = [RGBA](repeating: .white, count: ks)
        for r in 0..<rows {
            let ry = y + r * rowH
            p.text("out \(first + r)", x: Page.margin + lw - 8, y: ry + (tileH - BitmapFont.height(scale: labelScale)) / 2 + labelScale,
                   scale: labelScale, color: .ink, align: .right)
            if rgb {
                p.cells(rgbKernel(weight.values, row: first + r, g: g), rows: g.kh, cols: g.kw, x: Page.margin + lw, y: ry, cellW: s, cellH: sy)
            }
            for (c, i) in picks[r].enumerated() {
                let b = ((first + r) * g.inputs + i) * ks
                let scale: ValueScale
                if options.normalization == .perTile {
                    scale = ValueScale.make(values: Array(weight.values[b..<(b + ks)]), transform: options.transform,
                                            map: options.colormap, clipPercentile: nil)
                } else { scale = shared }
                for j in 0..<ks { colors[j] = map.color(scale.position(weight.values[b + j])) }
                let tx = gridX + c * (tileW + gap)
                p.cells(colors, rows: g.kh, cols: g.kw, x: tx, y: ry, cellW: s, cellH: sy)
                if !allInputs {
                    p.text(String(i), x: tx + tileW / 2, y: ry + tileH + 2, scale: 1, color: .mutedInk, align: .center)
                }
            }
        }
        y += rows * rowH + 8
        let barScale: ValueScale
        let caption: String
        if options.normalization == .perTile {
            barScale = ValueScale(lo: shared.usesMagnitude ? 0 : -1, hi: 1, curve: .linear, usesMagnitude: shared.usesMagnitude, clipNote: nil)
            caption = "\(options.colormap.rawValue) · per-tile scale: ±1 = each tile's own largest |v|"
        } else {
            barScale = shared
            caption = "\(options.colormap.rawValue) · \(shared.transformLabel) · shared over the shown kernels" + (shared.clipNote.map { " · " + $0 } ?? "")
        }
        ColorBar.draw(&p, x: Page.margin, y: y, w: min(512, width - 2 * Page.margin), scale: barScale, map: map, caption: caption)
        return p
    }

    /// A filter of an RGB-input conv as a colour image: each channel's weights mapped to
    /// 0.5 ± 0.5·v / max|v| over the filter, so grey is zero and hue shows what colour excites it.
    static func rgbKernel(_ w: [Float], row: Int, g: KernelGeometry) -> [RGBA] {
        let ks = g.kernelSize
        let base = row * 3 * ks
        var m: Float = 0
        for j in 0..<(3 * ks) where w[base + j].isFinite { m = max(m, abs(w[base + j])) }
        if m == 0 { m = 1 }
        func c(_ v: Float) -> UInt8 { UInt8(min(max((0.5 + 0.5 * v / m) * 255, 0), 255).rounded()) }
        return (0..<ks).map { j in RGBA(c(w[base + j]), c(w[base + ks + j]), c(w[base + 2 * ks + j])) }
    }
}
