/// Draws on a raster canvas and, when asked, records the same primitives as SVG.
///
/// Views draw only through a painter, so the chart-like views get an SVG twin for free and the
/// raster stays the single source of layout truth (SVG text uses the same cell metrics).
struct Painter {
    var canvas: Canvas
    private(set) var svg: SVGDocument?
    /// Set by views whose pixels are mostly heatmap noise, so the encoder picks its noisy default.
    var mostlyNoise = false
    /// Panels and tiles drawn so far, written into the PNG for the viewer's hover read-out.
    var layout = PageLayout()

    init(width: Int, height: Int, recordSVG: Bool = false) {
        canvas = Canvas(width: width, height: height)
        svg = recordSVG ? SVGDocument(width: width, height: height) : nil
    }

    var width: Int { canvas.width }
    var height: Int { canvas.height }

    mutating func fill(_ x: Int, _ y: Int, _ w: Int, _ h: Int, _ c: RGBA) {
        guard w > 0, h > 0 else { return }
        canvas.fill(x, y, w, h, c)
        svg?.rect(x, y, w, h, fill: c)
    }

    mutating func stroke(_ x: Int, _ y: Int, _ w: Int, _ h: Int, _ c: RGBA) {
        canvas.stroke(x, y, w, h, c)
        svg?.frame(x, y, w, h, stroke: c)
    }

    mutating func hline(_ x0: Int, _ x1: Int, _ y: Int, _ c: RGBA) {
        canvas.hline(x0, x1, y, c)
        svg?.line(Double(min(x0, x1)), Double(y) + 0.5, Double(max(x0, x1) + 1), Double(y) + 0.5, stroke: c)
    }

    mutating func vline(_ x: Int, _ y0: Int, _ y1: Int, _ c: RGBA) {
        canvas.vline(x, y0, y1, c)
        svg?.line(Double(x) + 0.5, Double(min(y0, y1)), Double(x) + 0.5, Double(max(y0, y1) + 1), stroke: c)
    }

    mutating func line(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ c: RGBA, thickness: Int = 1) {
        canvas.line(x0, y0, x1, y1, c, thickness: thickness)
        svg?.line(Double(x0) + 0.5, Double(y0) + 0.5, Double(x1) + 0.5, Double(y1) + 0.5, stroke: c, width: Double(thickness))
    }

    @discardableResult
    mutating func text(_ s: String, x: Int, y: Int, scale: Int = 1, color: RGBA = .ink, align: TextAlign = .left) -> Int {
        svg?.text(s, x: x, y: y, scale: scale, color: color, align: align)
        return canvas.drawText(s, x: x, y: y, scale: scale, color: color, align: align)
    }

    mutating func verticalText(_ s: String, x: Int, centerY: Int, scale: Int = 1, color: RGBA = .ink) {
        canvas.drawTextVertical(s, x: x, centerY: centerY, scale: scale, color: color)
        svg?.verticalText(s, x: x, centerY: centerY, scale: scale, color: color)
    }

    /// A grid of colour cells (heatmaps, kernels). In SVG, small grids become rects and large
    /// ones one embedded PNG, so the file stays small.
    mutating func cells(_ colors: [RGBA], rows: Int, cols: Int, x: Int, y: Int, cellW: Int, cellH: Int) {
        canvas.paintCells(colors, rows: rows, cols: cols, x: x, y: y, cellW: cellW, cellH: cellH)
        guard svg != nil else { return }
        if rows * cols <= 4096 {
            for r in 0..<rows { for c in 0..<cols { svg?.rect(x + c * cellW, y + r * cellH, cellW, cellH, fill: colors[r * cols + c]) } }
        } else {
            var px = [UInt8](); px.reserveCapacity(rows * cols * 4)
            for c in colors { px.append(c.r); px.append(c.g); px.append(c.b); px.append(c.a) }
            if let png = try? PNGEncoder.encode(rgba: px, width: cols, height: rows) {
                svg?.image(png: png, x: x, y: y, w: cols * cellW, h: rows * cellH)
            }
        }
    }
}
