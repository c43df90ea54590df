import CKernels
import Dispatch
import Foundation
import Analysis
import TensorCore

/// The `expanded` view: the weight matrix `W = Σ σᵢ uᵢ vᵢᵀ` component by component.
///
/// Per component: σ and its share of the energy ‖W‖², the left vector over output channels as
/// bars, and the right vector — for convs its spatial pattern (mean over input channels) and a
/// montage of its strongest per-input kernels, for linear layers bars over input features.
/// At the bottom a scree plot: σ on a log axis with the cumulative energy.
enum ExpandedView {
    /// Krylov stopping tolerance (relative change of the top Ritz values per step). The page prints
    /// σ with 3 significant digits, which needs a relative error below 5e-4 (half a unit of the
    /// last digit at 9.99). On a 10240×1280 matrix whose top values sit close together above a
    /// noise floor, 5e-4 gave an error of 1.4e-4 in 9 steps where the engine's default 1e-5 took
    /// 12 (bench/render, docs/BENCHMARKS.md); layers with falling spectra converge in 3–4 steps either way.
    static let svdTolerance: Float = 5e-4

    static func render(weight: Tensor, info: LayerInfo, options: RenderOptions,
                       cancellation: Cancellation?, progress: ProgressHandler?) throws(RenderError) -> Painter {
        guard weight.count > 0 else { throw .emptyTensor(layer: info.name, shape: weight.shape) }
        let (rows, cols) = weight.matrixShape
        if weight.rank < 2 || min(rows, cols) < 2 {
            // A vector has a single component (itself): show the values and say why.
            var o = options
            o.svg = options.svg
            return VectorView.render(values: weight.values, info: info, options: o,
                                     viewName: "expanded (a \(weight.rank < 2 ? "1-D" : "single-row") weight has one SVD component: the values themselves)")
        }
        let g = KernelGeometry(shape: weight.shape)
        let isConv = weight.rank >= 3 && g.kernelSize > 1
        let p = min(rows, cols)
        var k = min(options.components, p)
        // The scree plot shows the computed components only: asking the Krylov solver for more
        // triplets costs far more than the drawing (it is what sets the 300 ms budget).
        let kScree = k
        let svd: SVDResult
        do {
            svd = try truncatedSVD(Matrix(rows: rows, cols: cols, values: weight.values), rank: kScree,
                                   tolerance: svdTolerance, cancellation: cancellation, progress: progress)
        } catch {
            if case .cancelled = error { throw .cancelled }
            throw .analysisFailed(view: "expanded", layer: info.name, reason: error.description)
        }
        try checkCancelled(cancellation)
        var energy = weight.values.withUnsafeBufferPointer { sumOfSquares($0) }
        energy = max(energy, Double.leastNormalMagnitude)

        // Component vectors with a deterministic sign: the largest |u| entry is positive.
        var us = [[Float]](), vs = [[Float]]()
        for i in 0..<k {
            var u = (0..<rows).map { svd.u.values[$0 * svd.u.cols + i] }
            var v = Array(svd.vt.values[(i * cols)..<((i + 1) * cols)])
            let peak = u.max(by: { abs($0) < abs($1) }) ?? 1
            if peak < 0 { u = u.map { -$0 }; v = v.map { -$0 } }
            us.append(u); vs.append(v)
        }

        // Geometry: width first (fixed columns), then the header, then rows share what is left.
        let ts = Page.bodyScale
        let maxSide = options.maxSide
        let screeH = 280
        let textW = BitmapFont.width("cumulative 100.0%", scale: ts) + 12
        let spatialMax = isConv ? 220 : 0
        // Fixed columns first; the u chart and the montage (or v chart) share what the page allows.
        let fixed = Page.margin * 2 + textW + Page.gap * 2 + (isConv ? spatialMax + Page.gap : 0)
        // Below ~900 px the charts would be unreadable: that is this view's minimum width.
        let width = max(min(maxSide, fixed + 520 + 640), fixed + 400)
        let flex = width - fixed
        let uW = flex * 520 / 1160
        let montageW = isConv ? flex - uW : 0
        let vW = isConv ? 0 : flex - uW
        var notes = ["W as \(rows)×\(cols) matrix (output × \(isConv ? "input·kh·kw" : "input")) · ‖W‖² = \(formatNumber(energy)) · top \(k) of \(p) components"]
        if !svd.converged { notes.append("SVD stopped after \(svd.iterations) iterations before full convergence") }
        notes.append("u: bars over output channels · v: " + (isConv ? "spatial mean over \(g.inputs) inputs, and the strongest per-input kernels (colour: \(options.colormap.rawValue), each to its own max |v|)" : "bars over input features"))
        var header = Header(info: info, view: "expanded (SVD)", notes: notes, width: width)
        // Rows need at least 120 px: on a short page draw fewer components and say so.
        let barSpace = isConv ? ColorBar.height() + 4 : 0
        var rowsSpace = maxSide - header.height - barSpace - screeH - Page.gap - Page.margin - 8
        let requested = k
        if k > max(1, rowsSpace / 120) {
            notes.append("showing fewer than the \(requested) requested components (page height limit)")
            header = Header(info: info, view: "expanded (SVD)", notes: notes, width: width)
            rowsSpace = maxSide - header.height - barSpace - screeH - Page.gap - Page.margin - 8
            k = max(1, min(k, rowsSpace / 120))
        }
        let rowH = max(120, min(260, rowsSpace / k))
        let spatialW = isConv ? min(rowH - 40, spatialMax) : 0
        let barH = isConv ? ColorBar.height() + 4 : 0
        let height = header.height + 4 + barH + k * rowH + Page.gap + screeH + Page.margin
        var painter = Painter(width: width, height: height, recordSVG: options.svg)
        var y = header.draw(&painter) + 4
        let map = ColorMap(options.colormap)
        if isConv {
            // The kernel pictures share one map, each scaled to the ±max printed next to it.
            ColorBar.draw(&painter, x: Page.margin, y: y, w: min(512, width - 2 * Page.margin),
                          scale: .symmetric(1, map: options.colormap), map: map,
                          caption: "kernel colours: \(options.colormap.rawValue), ends = the ±max printed with each picture",
                          endLabels: ValueScale.ownScaleEndLabels(options.colormap))
            y += ColorBar.height() + 4
        }

        for i in 0..<k {
            try checkCancelled(cancellation)
            let sigma = Double(svd.singularValues[i])
            let share = sigma * sigma / energy
            var cum = 0.0
            for j in 0...i { cum += Double(svd.singularValues[j]) * Double(svd.singularValues[j]) }
            let x0 = Page.margin
            var ty = y + 8
            painter.text("component \(i + 1)", x: x0, y: ty, scale: ts, color: .ink); ty += BitmapFont.height(scale: ts) + 4
            painter.text("σ = \(formatNumber(sigma))", x: x0, y: ty, scale: ts, color: .ink); ty += BitmapFont.height(scale: ts)
            painter.text("energy \(formatPercent(share))", x: x0, y: ty, scale: ts, color: .mutedInk); ty += BitmapFont.height(scale: ts)
            painter.text("cumulative \(formatPercent(min(cum / energy, 1)))", x: x0, y: ty, scale: ts, color: .mutedInk)

            // u over output channels.
            let u = us[i]
            let um = Double(u.map { abs($0) }.max() ?? 1)
            let uTicks = niceTicks(-um, um, maxCount: 4)
            let ua = ChartAxes.layout(x: x0 + textW, y: y + 4, w: uW, h: rowH - 12, xRange: (-0.5, Double(rows) - 0.5),
                                      yRange: (-um * 1.05, um * 1.05), yTickSample: uTicks.map { formatNumber($0) }, textScale: 1)
            ua.drawIndexBars(&painter, values: u) { $0 >= 0 ? RGBA(200, 64, 52) : RGBA(48, 112, 186) }
            painter.layout.regions.append(barsRegion(ua, count: rows, label: "component \(i + 1) u", name: "out"))
            ua.drawAxes(&painter, xTicks: indexTicks(count: rows, maxCount: 6).map(Double.init), yTicks: uTicks,
                        xTitle: "output channel", yTitle: "u\(i + 1)", xFormat: { String(Int($0)) })

            let v = vs[i]
            var cx = x0 + textW + uW + Page.gap
            if isConv {
                // Spatial pattern: mean over input channels of v reshaped to [in, kh, kw].
                let ks = g.kernelSize
                var mean = [Float](repeating: 0, count: ks)
                for c in 0..<g.inputs { for j in 0..<ks { mean[j] += v[c * ks + j] } }
                for j in 0..<ks { mean[j] /= Float(g.inputs) }
                let cell = max(1, min((spatialW) / max(g.kw, 1), (rowH - 50) / max(g.kh, 1)))
                painter.text("spatial mean", x: cx, y: y + 4, scale: 1, color: .mutedInk)
                drawKernel(&painter, mean, kh: g.kh, kw: g.kw, x: cx, y: y + 18, cell: cell, map: map, scale: nil)
                let mm = mean.map { abs($0) }.max() ?? 0
                painter.text("±\(formatNumber(Double(mm)))", x: cx, y: y + 22 + g.kh * cell, scale: 1, color: .mutedInk)
                cx += spatialW + Page.gap
                // Montage of the strongest per-input kernels of v.
                var norms = (0..<g.inputs).map { c -> (Float, Int) in
                    var s: Float = 0
                    for j in 0..<ks { s += v[c * ks + j] * v[c * ks + j] }
                    return (s, c)
                }
                norms.sort { $0.0 > $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }
                let labelW = BitmapFont.width(String(g.inputs - 1), scale: 1) + 4
                // Largest tiles (≤ 96 px) at which the wanted number of kernels fits the area.
                let target = min(g.inputs, 48)
                var tile = 96, perRow = 1, count = 1
                while true {
                    let kc = max(1, tile / max(g.kw, 1))
                    perRow = max(1, montageW / (kc * g.kw + 6))
                    let fitRows = max(1, (rowH - 34) / (kc * g.kh + 14))
                    count = min(g.inputs, perRow * fitRows)
                    if count >= target || tile <= max(labelW, g.kw) { break }
                    tile -= 2
                }
                let kcell = max(1, tile / max(g.kw, 1))
                let th = kcell * g.kh
                let shared = norms.prefix(count).reduce(Float(0)) { acc, n in
                    var m = acc
                    for j in 0..<ks { m = max(m, abs(v[n.1 * ks + j])) }
                    return m
                }
                painter.text(count < g.inputs ? "strongest \(count) of \(g.inputs) input channels (±\(formatNumber(Double(shared))))"
                                                : "all \(g.inputs) input channels (±\(formatNumber(Double(shared))))",
                             x: cx, y: y + 4, scale: 1, color: .mutedInk)
                // One layout row per montage row (the last may be short), cells at the tile pitch.
                for start in stride(from: 0, to: count, by: perRow) {
                    let channels = norms[start..<min(count, start + perRow)].map(\.1)
                    var montageRow = PageLayout.Region(x: cx, y: y + 18 + (start / perRow) * (th + 14),
                                                       w: channels.count * (kcell * g.kw + 6), h: th + 14, label: "component \(i + 1) v")
                    montageRow.rows = 1; montageRow.cols = channels.count
                    montageRow.colName = "in"; montageRow.colIndex = .shared(channels)
                    painter.layout.regions.append(montageRow)
                }
                for (n, item) in norms.prefix(count).enumerated() {
                    let tx = cx + (n % perRow) * (kcell * g.kw + 6)
                    let tyy = y + 18 + (n / perRow) * (th + 14)
                    let kv = Array(v[(item.1 * ks)..<((item.1 + 1) * ks)])
                    drawKernel(&painter, kv, kh: g.kh, kw: g.kw, x: tx, y: tyy, cell: kcell, map: map, scale: shared)
                    painter.text(String(item.1), x: tx + kcell * g.kw / 2, y: tyy + th + 2, scale: 1, color: .mutedInk, align: .center)
                }
            } else {
                let vm = Double(v.map { abs($0) }.max() ?? 1)
                let vTicks = niceTicks(-vm, vm, maxCount: 4)
                let va = ChartAxes.layout(x: cx, y: y + 4, w: vW, h: rowH - 12, xRange: (-0.5, Double(cols) - 0.5),
                                          yRange: (-vm * 1.05, vm * 1.05), yTickSample: vTicks.map { formatNumber($0) }, textScale: 1)
                va.drawIndexBars(&painter, values: v) { $0 >= 0 ? RGBA(200, 64, 52) : RGBA(48, 112, 186) }
                painter.layout.regions.append(barsRegion(va, count: cols, label: "component \(i + 1) v", name: "in"))
                va.drawAxes(&painter, xTicks: indexTicks(count: cols, maxCount: 6).map(Double.init), yTicks: vTicks,
                            xTitle: "input feature", yTitle: "v\(i + 1)", xFormat: { String(Int($0)) })
            }
            // The rest of the row names its component (after the charts: the first match wins).
            painter.layout.regions.append(PageLayout.Region(x: 0, y: y, w: width, h: rowH, label: "component \(i + 1)"))
            y += rowH
            painter.hline(Page.margin, width - Page.margin - 1, y - 2, .rule)
        }

        // Scree plot.
        y += Page.gap
        drawScree(&painter, sigmas: svd.singularValues.map(Double.init), energy: energy, drawn: k, total: p,
                  x: Page.margin, y: y, w: width - 2 * Page.margin, h: screeH - Page.gap)
        return painter
    }

    /// A bar chart over `count` indices as one layout row: bar i fills the i-th equal slot of the plot.
    static func barsRegion(_ a: ChartAxes, count: Int, label: String, name: String) -> PageLayout.Region {
        var r = PageLayout.Region(x: a.plotX, y: a.plotY, w: a.plotW, h: a.plotH, label: label)
        r.rows = 1; r.cols = count
        r.colName = name
        return r
    }

    /// A kernel as a cell grid; `scale` nil = its own max |v|.
    static func drawKernel(_ p: inout Painter, _ values: [Float], kh: Int, kw: Int, x: Int, y: Int, cell: Int,
                           map: ColorMap, scale: Float?) {
        let m = max(scale ?? (values.map { abs($0) }.max() ?? 0), Float.leastNormalMagnitude)
        let colors = ValueScale.symmetric(m, map: map.name).colors(values, map: map)
        p.cells(colors, rows: kh, cols: kw, x: x, y: y, cellW: cell, cellH: cell)
        p.stroke(x - 1, y - 1, kw * cell + 2, kh * cell + 2, .rule)
    }

    /// σ as bars on a log axis, cumulative energy as a line on a 0–100 % right axis.
    static func drawScree(_ p: inout Painter, sigmas: [Double], energy: Double, drawn: Int, total: Int,
                          x: Int, y: Int, w: Int, h: Int) {
        let ts = Page.bodyScale
        let n = sigmas.count
        let topEnergy = sigmas.reduce(0) { $0 + $1 * $1 } / energy
        let positive = sigmas.filter { $0 > 0 }
        let hi = (positive.max() ?? 1) * 1.3
        let lo = max((positive.min() ?? hi / 10) / 1.5, hi * 1e-6)
        // 1·10ⁿ ticks; when the range spans less than two decades add 2·10ⁿ and 5·10ⁿ.
        var ticks: [Double] = []
        var t = pow(10, floor(log10(lo)))
        while t <= hi { if t >= lo { ticks.append(t) }; t *= 10 }
        if ticks.count < 3 {
            ticks = []
            t = pow(10, floor(log10(lo)))
            while t <= hi { for m in [1.0, 2.0, 5.0] where t * m >= lo && t * m <= hi { ticks.append(t * m) }; t *= 10 }
        }
        if ticks.count < 2 { ticks = [lo, hi / 1.3] }
        let rightW = BitmapFont.width("100%", scale: ts) + 10
        let title = "scree: σ (bars, log scale), cumulative energy (line, right axis) · top \(n) of \(total) hold \(formatPercent(min(topEnergy, 1))) of ‖W‖²"
        p.text(BitmapFont.truncated(title, maxWidth: w, scale: ts), x: x, y: y, scale: ts, color: .ink)
        let top = y + BitmapFont.height(scale: ts) + 4
        let a = ChartAxes.layout(x: x, y: top, w: w - rightW, h: h - (top - y), xRange: (0.5, Double(n) + 0.5),
                                 yRange: (lo, hi), yLog: true, yTickSample: ticks.map { formatNumber($0) }, textScale: ts)
        let slot = Double(a.plotW) / Double(max(n, 1))
        for (i, s) in sigmas.enumerated() {
            let x0 = a.plotX + Int((Double(i) * slot).rounded()) + 2
            let x1 = a.plotX + Int((Double(i + 1) * slot).rounded()) - 2
            let yy = a.py(max(s, lo))
            p.fill(x0, yy, max(1, x1 - x0), a.plotY + a.plotH - yy, RGBA.accent)
        }
        a.drawAxes(&p, xTicks: (1...max(n, 1)).map(Double.init), yTicks: ticks, xTitle: "component", yTitle: "σ",
                   xFormat: { String(Int($0)) })
        // Cumulative energy on the right axis.
        func cy(_ f: Double) -> Int { a.plotY + a.plotH - 1 - Int((min(max(f, 0), 1) * Double(a.plotH - 1)).rounded()) }
        var cum = 0.0
        var prev: (Int, Int)? = nil
        for (i, s) in sigmas.enumerated() {
            cum += s * s
            let px = a.plotX + Int(((Double(i) + 0.5) * slot).rounded())
            let py = cy(cum / energy)
            if let q = prev { p.line(q.0, q.1, px, py, .accent2, thickness: 2) }
            p.fill(px - 2, py - 2, 5, 5, .accent2)
            prev = (px, py)
        }
        let rx = a.plotX + a.plotW + 4
        for f in [0.0, 0.25, 0.5, 0.75, 1.0] {
            let yy = cy(f)
            p.hline(a.plotX + a.plotW, a.plotX + a.plotW + 2, yy, .accent2)
            p.text("\(Int(f * 100))%", x: rx, y: min(max(yy - BitmapFont.height(scale: ts) / 2, a.plotY - 4), a.plotY + a.plotH - BitmapFont.height(scale: ts)),
                   scale: ts, color: .accent2)
        }
    }
}

/// Σ v² in Double, by the Double-accumulating dot kernel of the run-time instruction-set path
/// (a plain Double loop is one long chain of dependent adds: about 15 ms on 13 M values), over
/// fixed 1 M-value chunks in parallel whose sums are added in order (same result on every run).
func sumOfSquares(_ p: UnsafeBufferPointer<Float>) -> Double {
    guard let base = p.baseAddress else { return 0 }
    let kernels = wl_current()
    let n = p.count, chunk = 1 << 20
    let chunks = (n + chunk - 1) / chunk
    if chunks <= 1 { return kernels.pointee.dot_f64acc(base, base, n) }
    let sums = UnsafeMutablePointer<Double>.allocate(capacity: chunks)
    defer { sums.deallocate() }
    nonisolated(unsafe) let src = base, out = sums, table = kernels
    DispatchQueue.concurrentPerform(iterations: chunks) { c in
        let start = c * chunk, count = min(n, start + chunk) - start
        out[c] = table.pointee.dot_f64acc(src + start, src + start, count)
    }
    return (0..<chunks).reduce(0.0) { $0 + sums[$1] }
}
