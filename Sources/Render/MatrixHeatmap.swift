import CKernels
import Dispatch

/// A matrix drawn as one heatmap with index axes, block-reduced when it has more rows or
/// columns than the page has pixels (the reduction is stated on the image).
enum MatrixHeatmap {
    /// Shrinks `rows × cols` by integer block factors so it fits `maxRows × maxCols`.
    static func reduce(_ v: [Float], rows: Int, cols: Int, maxRows: Int, maxCols: Int,
                       mode: BlockReduction) -> (values: [Float], rows: Int, cols: Int, bh: Int, bw: Int) {
        let bh = max(1, (rows + maxRows - 1) / maxRows), bw = max(1, (cols + maxCols - 1) / maxCols)
        if bh == 1 && bw == 1 { return (v, rows, cols, 1, 1) }
        let rr = (rows + bh - 1) / bh, rc = (cols + bw - 1) / bw
        var out = [Float](repeating: 0, count: rr * rc)
        // Rows of a block are first folded element-wise into one row (a CKernels loop of the
        // run-time instruction-set path), then that row is reduced over column blocks. Rows of
        // blocks are independent: they run in parallel, in a fixed number of jobs (a 12288 × 3072
        // layer is a 151 MB pass).
        nonisolated(unsafe) let kernels = wl_current()
        let jobs = min(rr, max(1, rows * cols / (1 << 20)), 16)
        v.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                nonisolated(unsafe) let base = src.baseAddress!, target = dst.baseAddress!
                DispatchQueue.concurrentPerform(iterations: jobs) { job in
                    let blocks = (job * rr / jobs)..<((job + 1) * rr / jobs)
                    switch mode {
                    case .maxAbs:
                        // Keep the signed value with the largest magnitude in each block (NaN never wins;
                        // an all-NaN block shows 0).
                        let fold = UnsafeMutablePointer<Float>.allocate(capacity: cols)
                        defer { fold.deallocate() }
                        for br in blocks {
                            let r0 = br * bh, r1 = min(rows, r0 + bh)
                            fold.update(repeating: 0, count: cols)
                            for r in r0..<r1 { kernels.pointee.fold_maxabs(fold, base + r * cols, cols) }
                            let o = target + br * rc
                            if bw == 1 { o.update(from: fold, count: cols); continue }
                            for bc in 0..<rc {
                                var b: Float = 0
                                for c in (bc * bw)..<min(cols, bc * bw + bw) where abs(fold[c]) > abs(b) { b = fold[c] }
                                o[bc] = b
                            }
                        }
                    case .mean:
                        let sums = UnsafeMutablePointer<Double>.allocate(capacity: cols)
                        defer { sums.deallocate() }
                        for br in blocks {
                            let r0 = br * bh, r1 = min(rows, r0 + bh)
                            sums.update(repeating: 0, count: cols)
                            for r in r0..<r1 { kernels.pointee.fold_sum(sums, base + r * cols, cols) }
                            for bc in 0..<rc {
                                let c0 = bc * bw, c1 = min(cols, c0 + bw)
                                var s = 0.0
                                for c in c0..<c1 { s += sums[c] }
                                target[br * rc + bc] = Float(s / Double((r1 - r0) * (c1 - c0)))
                            }
                        }
                    }
                }
            }
        }
        return (out, rr, rc, bh, bw)
    }

    static func render(values: [Float], rows: Int, cols: Int, info: LayerInfo, options: RenderOptions,
                       rowTitle: String, colTitle: String, viewName: String,
                       rowName: String = "row", colName: String = "col") -> Painter {
        let maxSide = options.maxSide
        let ts = Page.bodyScale
        let yTickW = BitmapFont.width(String(max(rows - 1, 0)), scale: ts)
        let leftSpace = BitmapFont.height(scale: ts) + 4 + yTickW + 6
        let availW = maxSide - 2 * Page.margin - leftSpace - 4
        let fixedH = 150 + ColorBar.height() + 2 * BitmapFont.height(scale: ts) + 12
        let availH = maxSide - fixedH
        let red = reduce(values, rows: rows, cols: cols, maxRows: availH, maxCols: availW, mode: options.blockReduction)
        // Upscale small matrices with integer cells; keep cells at most 8:1 so thin matrices stay readable.
        var cw = max(1, min(32, availW / red.cols)), ch = max(1, min(32, availH / red.rows))
        cw = min(cw, ch * 8); ch = min(ch, cw * 8)
        let plotW = red.cols * cw, plotH = red.rows * ch

        var notes: [String] = []
        if red.bh > 1 || red.bw > 1 {
            notes.append("block-reduced \(red.bh)×\(red.bw) → \(red.rows)×\(red.cols) cells, each showing the \(options.blockReduction == .maxAbs ? "value with the largest |v| in its block" : "mean of its block")")
        }
        let scaleVals = red.values
        let vs = ValueScale.make(values: scaleVals, transform: options.transform, map: options.colormap, clipPercentile: options.clipPercentile)
        let map = ColorMap(options.colormap)
        let contentW = Page.margin + leftSpace + plotW + 4 + Page.margin
        let width = min(max(contentW, 720), maxSide)
        let header = Header(info: info, view: viewName, notes: notes, width: width)
        let chartH = plotH + BitmapFont.height(scale: ts) / 2 + 4 + 2 * BitmapFont.height(scale: ts) + 2
        let height = header.height + 8 + chartH + 8 + ColorBar.height() + Page.margin
        var p = Painter(width: width, height: height)
        p.mostlyNoise = plotW * plotH > width * height / 3
        var y = header.draw(&p) + 8
        let axes = ChartAxes.layout(x: Page.margin, y: y, w: leftSpace + plotW + 4, h: chartH,
                                    xRange: (0, Double(cols)), yRange: (0, Double(rows)),
                                    yTickSample: [String(max(rows - 1, 0))], textScale: ts)
        let colors = vs.colors(red.values, map: map)
        p.cells(colors, rows: red.rows, cols: red.cols, x: axes.plotX, y: axes.plotY, cellW: cw, cellH: ch)
        // One layout cell per drawn cell; a block-reduced cell covers `bh × bw` indices.
        var region = PageLayout.Region(x: axes.plotX, y: axes.plotY, w: plotW, h: plotH, label: viewName)
        region.rows = red.rows; region.cols = red.cols
        region.rowName = rowName; region.colName = colName
        region.values = .matrix   // the matrix is the weight (flattened after its first axis)
        if red.bh > 1 { region.rowStep = red.bh; region.rowCount = rows }
        if red.bw > 1 { region.colStep = red.bw; region.colCount = cols }
        p.layout.regions.append(region)
        // Ticks at index positions (row 0 at the top): place each tick at its cell centre.
        var ax = axes
        ax.plotW = plotW; ax.plotH = plotH
        drawIndexAxes(&p, ax, rows: rows, cols: cols, rowTitle: rowTitle, colTitle: colTitle)
        y = axes.plotY + plotH + 2 * BitmapFont.height(scale: ts) + 12
        let caption = "\(options.colormap.rawValue) · \(vs.transformLabel)" + (vs.clipNote.map { " · " + $0 } ?? "")
        ColorBar.draw(&p, x: Page.margin, y: y, w: min(512, width - 2 * Page.margin), scale: vs, map: map, caption: caption)
        return p
    }

    /// Index axes for a heatmap whose row 0 is at the top.
    static func drawIndexAxes(_ p: inout Painter, _ a: ChartAxes, rows: Int, cols: Int, rowTitle: String, colTitle: String) {
        let ts = a.textScale
        let lh = BitmapFont.height(scale: ts)
        p.stroke(a.plotX - 1, a.plotY - 1, a.plotW + 2, a.plotH + 2, .mutedInk)
        var lastRight = -1_000_000
        for t in indexTicks(count: cols, maxCount: max(2, a.plotW / 90)) {
            let x = a.plotX + Int((Double(t) + 0.5) / Double(cols) * Double(a.plotW))
            p.vline(x, a.plotY + a.plotH + 1, a.plotY + a.plotH + 3, .mutedInk)
            let s = String(t), w = BitmapFont.width(s, scale: ts)
            let lx = min(max(x - w / 2, a.plotX - 4), a.plotX + a.plotW + 4 - w)
            if lx > lastRight + 6 { p.text(s, x: lx, y: a.plotY + a.plotH + 5, scale: ts, color: .ink); lastRight = lx + w }
        }
        var lastBottom = -1_000_000
        for t in indexTicks(count: rows, maxCount: max(2, a.plotH / 60)) {
            let y = a.plotY + Int((Double(t) + 0.5) / Double(rows) * Double(a.plotH))
            p.hline(a.plotX - 4, a.plotX - 2, y, .mutedInk)
            let ty = min(max(y - lh / 2 + ts, a.plotY - 2), a.plotY + a.plotH - lh + 2)
            if ty > lastBottom + 2 { p.text(String(t), x: a.plotX - 6, y: ty, scale: ts, color: .ink, align: .right); lastBottom = ty + lh }
        }
        p.text(BitmapFont.truncated(colTitle + " →", maxWidth: a.plotW, scale: ts), x: a.plotX + a.plotW / 2, y: a.plotY + a.plotH + 5 + lh,
               scale: ts, color: .mutedInk, align: .center)
        let tickW = BitmapFont.width(String(max(rows - 1, 0)), scale: ts)
        p.verticalText(BitmapFont.truncated("← " + rowTitle, maxWidth: a.plotH, scale: ts), x: max(a.plotX - 6 - tickW - lh - 2, 0),
                       centerY: a.plotY + a.plotH / 2, scale: ts, color: .mutedInk)
    }
}

/// 1-D weights (norm scales, biases, embeddings of one row): bars over the index, coloured by value.
enum VectorView {
    static func render(values: [Float], info: LayerInfo, options: RenderOptions, viewName: String) -> Painter {
        let width = min(options.maxSide, 1400)
        let rs = values.withUnsafeBufferPointer { RangeStats($0, clipPercentile: nil) }
        var sum = 0.0
        for v in values where v.isFinite { sum += Double(v) }
        let mean = sum / Double(max(values.count, 1))
        let notes = ["\(formatCount(values.count)) values · min \(formatNumber(Double(rs.lo))) · max \(formatNumber(Double(rs.hi))) · mean \(formatNumber(mean))"]
        let header = Header(info: info, view: viewName, notes: notes, width: width)
        let chartH = 420
        let height = header.height + 8 + chartH + 8 + ColorBar.height() + Page.margin
        var p = Painter(width: width, height: height, recordSVG: options.svg)
        var y = header.draw(&p) + 8
        let lo = Double(min(rs.lo, 0)), hi = Double(max(rs.hi, 0))
        let pad = (hi - lo) * 0.05
        let yTicks = niceTicks(lo - (lo < 0 ? pad : 0), hi + pad, maxCount: 6)
        let axes = ChartAxes.layout(x: Page.margin, y: y, w: width - 2 * Page.margin, h: chartH,
                                    xRange: (-0.5, Double(values.count) - 0.5), yRange: (lo - (lo < 0 ? pad : 0), hi + pad),
                                    yTickSample: yTicks.map { formatNumber($0) }, textScale: Page.bodyScale)
        let vs = ValueScale.make(values: values, transform: options.transform, map: options.colormap, clipPercentile: options.clipPercentile)
        let map = ColorMap(options.colormap)
        axes.drawIndexBars(&p, values: values) { v in
            // Near-white colours would vanish on the page: darken the middle of the map for bars.
            let c = map.color(vs.position(v))
            return Int(c.r) + Int(c.g) + Int(c.b) > 660 ? RGBA(170, 170, 176) : c
        }
        axes.drawAxes(&p, xTicks: indexTicks(count: values.count, maxCount: 10).map(Double.init), yTicks: yTicks,
                      xTitle: "index", yTitle: "value", xFormat: { String(Int($0)) })
        y += chartH + 8
        ColorBar.draw(&p, x: Page.margin, y: y, w: min(512, width - 2 * Page.margin), scale: vs, map: map,
                      caption: "bar colour: \(options.colormap.rawValue) · \(vs.transformLabel)")
        return p
    }
}
