import Analysis
import TensorCore

/// The `nmf` view (Distill, "Visualizing Weights"): the input-channel dimension of a conv is
/// factored into three non-negative factors F (3 × in) with signed loadings, so each output
/// neuron's kernel becomes a small RGB image — red, green, blue = how strongly the neuron reads
/// factor 1, 2, 3 at each kernel position (grey = 0). A legend shows which inputs make up each factor.
enum NMFView {
    /// Factors 1–3 are the kernels' red, green and blue; 4–8 get legend colours of their own.
    static let factorColors = [RGBA(220, 40, 40), RGBA(30, 160, 60), RGBA(40, 90, 220), RGBA(200, 140, 20),
                               RGBA(140, 60, 180), RGBA(20, 150, 160), RGBA(120, 120, 120), RGBA(190, 80, 130)]
    static let factorNames = ["red", "green", "blue", "legend only", "legend only", "legend only", "legend only", "legend only"]

    static func render(weight: Tensor, info: LayerInfo, options: RenderOptions,
                       cancellation: Cancellation?, progress: ProgressHandler?) throws(RenderError) -> Painter {
        guard weight.count > 0 else { throw .emptyTensor(layer: info.name, shape: weight.shape) }
        if weight.rank < 2 || weight.shape[0] * weight.matrixShape.cols == weight.count && weight.rank == 2 && weight.shape[1] == 1 {
            return VectorView.render(values: weight.values, info: info, options: options,
                                     viewName: "nmf (needs input channels to factor; showing the values)")
        }
        let (result, g) = try factor(weight: weight, info: info, options: options, cancellation: cancellation, progress: progress)
        return draw(result, geometry: g, info: info, options: options)
    }

    /// The factorisation the view draws: the first `numFilters` output channels of the weight
    /// (folded to [out, in, kh, kw]) over their input channels, `rank` factors (capped by the sizes).
    static func factor(weight: Tensor, info: LayerInfo, options: RenderOptions, cancellation: Cancellation?,
                       progress: ProgressHandler?) throws(RenderError) -> (NMFResult, KernelGeometry) {
        let g = KernelGeometry(shape: weight.shape)
        let folded = Tensor(shape: [g.out, g.inputs, g.kh, g.kw], values: weight.values)
        let neurons = Array(0..<min(g.out, options.numFilters))
        let rank = max(1, min(options.rank, g.inputs, neurons.count * g.kernelSize))
        let result: NMFResult
        do {
            result = try oneSidedNMF(convWeight: folded, rank: rank, outputChannels: neurons,
                                     cancellation: cancellation, progress: progress)
        } catch {
            if case .cancelled = error { throw .cancelled }
            throw .analysisFailed(view: "nmf", layer: info.name, reason: error.description)
        }
        try checkCancelled(cancellation)
        return (result, g)
    }

    /// Draws a factorisation made by `oneSidedNMF` of the weight with geometry `g`.
    static func draw(_ result: NMFResult, geometry g: KernelGeometry, info: LayerInfo, options: RenderOptions) -> Painter {
        let neurons = result.outputChannels
        let rank = result.rank
        let ks = g.kernelSize
        let L = result.loadings.values   // [neurons, kh, kw, rank]
        var m: Float = 0
        for v in L where v.isFinite { m = max(m, abs(v)) }
        if m == 0 { m = 1 }

        // Neuron grid geometry.
        let ts = Page.bodyScale
        let width = min(options.maxSide, 1400)
        let avail = width - 2 * Page.margin
        let labelH = BitmapFont.height(scale: 1) + 2
        var cell = max(1, 96 / max(g.kw, g.kh))
        var perRow = max(1, avail / (g.kw * cell + 10))
        let legendRowH = 110
        let fixed = 140 + rank * legendRowH + 40
        while cell > 1 {
            perRow = max(1, avail / (g.kw * cell + 10))
            let rows = (neurons.count + perRow - 1) / perRow
            if rows * (g.kh * cell + labelH + 8) <= options.maxSide - fixed { break }
            cell -= 1
        }
        let tileW = g.kw * cell, tileH = g.kh * cell
        perRow = max(1, avail / (tileW + 10))
        let gridRows = (neurons.count + perRow - 1) / perRow
        var notes = [
            "\(neurons.count) output channel\(neurons.count == 1 ? "" : "s") (0–\(neurons.count - 1) of \(g.out)) factored over \(g.inputs) input channels into \(rank) non-negative factor\(rank == 1 ? "" : "s")",
            "relative error \(formatPercent(Double(result.relativeError))) after \(result.iterations) iterations · colour = 0.5 + 0.5 · loading / \(formatNumber(Double(m))) per channel (grey = 0)",
        ]
        if rank > 3 { notes.append("kernels show factors 1–3 as red, green, blue; factors 4–\(rank) appear in the legend only") }
        let header = Header(info: info, view: "nmf", notes: notes, width: width)
        let gridH = gridRows * (tileH + labelH + 8)
        let height = header.height + 8 + gridH + 12 + BitmapFont.height(scale: ts) + rank * legendRowH + Page.margin
        var p = Painter(width: width, height: height)
        var y = header.draw(&p) + 8

        for (n, o) in neurons.enumerated() {
            let x = Page.margin + (n % perRow) * (tileW + 10)
            let ty = y + (n / perRow) * (tileH + labelH + 8)
            var colors = [RGBA]()
            colors.reserveCapacity(ks)
            for j in 0..<ks {
                func ch(_ f: Int) -> UInt8 {
                    guard f < rank else { return 128 }
                    let v = L[(n * ks + j) * rank + f]
                    return UInt8(min(max((0.5 + 0.5 * v / m) * 255, 0), 255).rounded())
                }
                colors.append(RGBA(ch(0), ch(1), ch(2)))
            }
            p.cells(colors, rows: g.kh, cols: g.kw, x: x, y: ty, cellW: cell, cellH: cell)
            p.stroke(x - 1, ty - 1, tileW + 2, tileH + 2, .rule)
            p.text(BitmapFont.truncated("out \(o)", maxWidth: tileW + 8, scale: 1), x: x, y: ty + tileH + 3, scale: 1, color: .mutedInk)
        }
        y += gridH + 12

        // Legend: each factor's mix of input channels.
        p.text("factors (non-negative mixes of input channels)", x: Page.margin, y: y, scale: ts, color: .ink)
        y += BitmapFont.height(scale: ts)
        for f in 0..<rank {
            let row = Array(result.factors.values[(f * g.inputs)..<((f + 1) * g.inputs)])
            let ry = y + f * legendRowH
            p.fill(Page.margin, ry + 10, 28, 28, factorColors[f])
            p.text("factor \(f + 1)", x: Page.margin + 36, y: ry + 8, scale: ts, color: .ink)
            p.text(factorNames[f], x: Page.margin + 36, y: ry + 8 + BitmapFont.height(scale: ts), scale: ts, color: .mutedInk)
            let top = row.enumerated().sorted { $0.element > $1.element || ($0.element == $1.element && $0.offset < $1.offset) }.prefix(4)
            let chartX = Page.margin + 200
            let chartW = width - chartX - Page.margin
            let fm = Double(row.max() ?? 1)
            let a = ChartAxes.layout(x: chartX, y: ry + 2, w: chartW, h: legendRowH - 22, xRange: (-0.5, Double(g.inputs) - 0.5),
                                     yRange: (0, max(fm, 1e-12) * 1.05), yTickSample: [formatNumber(fm)], textScale: 1, hasYTitle: false)
            a.drawIndexBars(&p, values: row) { _ in factorColors[f] }
            a.drawAxes(&p, xTicks: indexTicks(count: g.inputs, maxCount: 8).map(Double.init), yTicks: [0, fm], xTitle: "", yTitle: "",
                       xFormat: { String(Int($0)) })
            var ly = ry + 8 + 2 * BitmapFont.height(scale: ts) + 2
            for t in top {
                p.text(BitmapFont.truncated("in \(t.offset): \(formatNumber(Double(t.element)))", maxWidth: chartX - Page.margin - 8, scale: 1),
                       x: Page.margin + 36, y: ly, scale: 1, color: .mutedInk)
                ly += BitmapFont.height(scale: 1)
            }
        }
        return p
    }
}
