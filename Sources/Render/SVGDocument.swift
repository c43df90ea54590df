import Foundation

/// A minimal SVG writer for the chart-like views (rects, lines, text, embedded PNG).
///
/// Coordinates are the raster's pixel coordinates; text uses a monospace font sized so one
/// character advances 6 px per scale, matching `BitmapFont`, so the layout holds in both.
struct SVGDocument: Sendable {
    let width: Int
    let height: Int
    private var body: [String] = []

    init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }

    mutating func rect(_ x: Int, _ y: Int, _ w: Int, _ h: Int, fill: RGBA) {
        body.append("<rect x=\"\(x)\" y=\"\(y)\" width=\"\(w)\" height=\"\(h)\" fill=\"\(fill.hex)\"/>")
    }

    mutating func frame(_ x: Int, _ y: Int, _ w: Int, _ h: Int, stroke: RGBA) {
        body.append("<rect x=\"\(Double(x) + 0.5)\" y=\"\(Double(y) + 0.5)\" width=\"\(w - 1)\" height=\"\(h - 1)\" fill=\"none\" stroke=\"\(stroke.hex)\"/>")
    }

    mutating func line(_ x0: Double, _ y0: Double, _ x1: Double, _ y1: Double, stroke: RGBA, width: Double = 1) {
        body.append("<line x1=\"\(x0)\" y1=\"\(y0)\" x2=\"\(x1)\" y2=\"\(y1)\" stroke=\"\(stroke.hex)\" stroke-width=\"\(width)\"/>")
    }

    mutating func text(_ s: String, x: Int, y: Int, scale: Int, color: RGBA, align: TextAlign) {
        let anchor: String
        switch align { case .left: anchor = "start"; case .center: anchor = "middle"; case .right: anchor = "end" }
        // Baseline sits 7 rows below the glyph top (cap height of the bitmap font).
        body.append("<text x=\"\(x)\" y=\"\(y + 7 * scale)\" font-size=\"\(10 * scale)\" text-anchor=\"\(anchor)\" fill=\"\(color.hex)\">\(Markup.escape(s))</text>")
    }

    mutating func verticalText(_ s: String, x: Int, centerY: Int, scale: Int, color: RGBA) {
        let bx = x + 7 * scale
        body.append("<text transform=\"translate(\(bx),\(centerY)) rotate(-90)\" font-size=\"\(10 * scale)\" text-anchor=\"middle\" fill=\"\(color.hex)\">\(Markup.escape(s))</text>")
    }

    mutating func image(png: [UInt8], x: Int, y: Int, w: Int, h: Int) {
        body.append("<image x=\"\(x)\" y=\"\(y)\" width=\"\(w)\" height=\"\(h)\" preserveAspectRatio=\"none\" style=\"image-rendering:pixelated\" href=\"data:image/png;base64,\(Data(png).base64EncodedString())\"/>")
    }

    /// The finished document.
    func rendered() -> String {
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" font-family=\"DejaVu Sans Mono, Menlo, Consolas, monospace\">\n"
        s += "<rect width=\"\(width)\" height=\"\(height)\" fill=\"#ffffff\"/>\n"
        s += body.joined(separator: "\n")
        s += "\n</svg>\n"
        return s
    }
}
