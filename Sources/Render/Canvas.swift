/// Horizontal text alignment relative to the x coordinate given to `drawText`.
enum TextAlign: Sendable { case left, center, right }

/// An RGBA8 raster, row-major, top-left origin. All drawing is clipped to the canvas.
struct Canvas: Sendable {
    let width: Int
    let height: Int
    /// `width · height · 4` bytes, RGBA.
    var pixels: [UInt8]

    init(width: Int, height: Int, background: RGBA = .white) {
        precondition(width > 0 && height > 0, "canvas of \(width)×\(height)")
        self.width = width
        self.height = height
        var row = [UInt8](repeating: 0, count: width * 4)
        for x in 0..<width { row[x * 4] = background.r; row[x * 4 + 1] = background.g; row[x * 4 + 2] = background.b; row[x * 4 + 3] = background.a }
        var px = [UInt8]()
        px.reserveCapacity(width * height * 4)
        for _ in 0..<height { px.append(contentsOf: row) }
        self.pixels = px
    }

    func pixel(_ x: Int, _ y: Int) -> RGBA {
        let i = (y * width + x) * 4
        return RGBA(pixels[i], pixels[i + 1], pixels[i + 2], pixels[i + 3])
    }

    @inline(__always) mutating func set(_ x: Int, _ y: Int, _ c: RGBA) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let i = (y * width + x) * 4
        pixels[i] = c.r; pixels[i + 1] = c.g; pixels[i + 2] = c.b; pixels[i + 3] = c.a
    }

    /// Fills the rectangle `[x, x+w) × [y, y+h)`, clipped.
    mutating func fill(_ x: Int, _ y: Int, _ w: Int, _ h: Int, _ c: RGBA) {
        let x0 = max(x, 0), y0 = max(y, 0), x1 = min(x + w, width), y1 = min(y + h, height)
        guard x0 < x1, y0 < y1 else { return }
        let stride = width * 4
        pixels.withUnsafeMutableBufferPointer { p in
            for yy in y0..<y1 {
                var i = yy * stride + x0 * 4
                for _ in x0..<x1 { p[i] = c.r; p[i + 1] = c.g; p[i + 2] = c.b; p[i + 3] = c.a; i += 4 }
            }
        }
    }

    mutating func hline(_ x0: Int, _ x1: Int, _ y: Int, _ c: RGBA, thickness: Int = 1) {
        fill(min(x0, x1), y, abs(x1 - x0) + 1, thickness, c)
    }

    mutating func vline(_ x: Int, _ y0: Int, _ y1: Int, _ c: RGBA, thickness: Int = 1) {
        fill(x, min(y0, y1), thickness, abs(y1 - y0) + 1, c)
    }

    /// One-pixel frame just inside `[x, x+w) × [y, y+h)`.
    mutating func stroke(_ x: Int, _ y: Int, _ w: Int, _ h: Int, _ c: RGBA) {
        guard w > 0, h > 0 else { return }
        hline(x, x + w - 1, y, c); hline(x, x + w - 1, y + h - 1, c)
        vline(x, y, y + h - 1, c); vline(x + w - 1, y, y + h - 1, c)
    }

    /// Bresenham line, `thickness` pixels wide (square pen).
    mutating func line(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ c: RGBA, thickness: Int = 1) {
        var x = x0, y = y0
        let dx = abs(x1 - x0), dy = -abs(y1 - y0)
        let sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1
        var err = dx + dy
        let off = (thickness - 1) / 2
        while true {
            if thickness == 1 { set(x, y, c) } else { fill(x - off, y - off, thickness, thickness, c) }
            if x == x1 && y == y1 { break }
            let e2 = 2 * err
            if e2 >= dy { err += dy; x += sx }
            if e2 <= dx { err += dx; y += sy }
        }
    }

    /// Draws `text` with its top at `y`; `x` is the left edge, centre or right edge per `align`.
    /// Returns the drawn width.
    @discardableResult
    mutating func drawText(_ text: String, x: Int, y: Int, scale: Int = 1, color: RGBA = .ink,
                           align: TextAlign = .left) -> Int {
        let w = BitmapFont.width(text, scale: scale)
        var cx: Int
        switch align {
        case .left: cx = x
        case .center: cx = x - w / 2
        case .right: cx = x - w
        }
        for ch in text {
            let glyph = BitmapFont.packedGlyph(ch) ?? BitmapFont.missingGlyph
            for r in 0..<BitmapFont.glyphHeight {
                let bits = (glyph >> UInt64(5 * r)) & 0x1F
                if bits == 0 { continue }
                for col in 0..<BitmapFont.glyphWidth where bits & (0x10 >> UInt64(col)) != 0 {
                    fill(cx + col * scale, y + r * scale, scale, scale, color)
                }
            }
            cx += BitmapFont.advance * scale
        }
        return w
    }

    /// Draws `text` rotated 90° counter-clockwise (reading bottom to top), centred on `centerY`,
    /// with its glyph tops at column `x`. Used for y-axis titles.
    mutating func drawTextVertical(_ text: String, x: Int, centerY: Int, scale: Int = 1, color: RGBA = .ink) {
        let w = BitmapFont.width(text, scale: scale)
        var cy = centerY + w / 2
        for ch in text {
            let glyph = BitmapFont.packedGlyph(ch) ?? BitmapFont.missingGlyph
            for r in 0..<BitmapFont.glyphHeight {
                let bits = (glyph >> UInt64(5 * r)) & 0x1F
                if bits == 0 { continue }
                for col in 0..<BitmapFont.glyphWidth where bits & (0x10 >> UInt64(col)) != 0 {
                    // Glyph (col, r) → canvas (x + r, cy - col).
                    fill(x + r * scale, cy - (col + 1) * scale + 1, scale, scale, color)
                }
            }
            cy -= BitmapFont.advance * scale
        }
    }

    /// Paints a `rows × cols` grid of colours with each cell `cellW × cellH` pixels (nearest
    /// neighbour upscaling), top-left at (x, y). `colors` is row-major. Clipped.
    mutating func paintCells(_ colors: [RGBA], rows: Int, cols: Int, x: Int, y: Int, cellW: Int, cellH: Int) {
        guard rows > 0, cols > 0, cellW > 0, cellH > 0 else { return }
        precondition(colors.count == rows * cols)
        let w = cols * cellW
        var line = [UInt8](repeating: 0, count: w * 4)
        let x0 = max(x, 0), x1 = min(x + w, width)
        guard x0 < x1 else { return }
        let stride = width * 4
        pixels.withUnsafeMutableBufferPointer { p in
            for r in 0..<rows {
                for c in 0..<cols {
                    let col = colors[r * cols + c]
                    var i = c * cellW * 4
                    for _ in 0..<cellW { line[i] = col.r; line[i + 1] = col.g; line[i + 2] = col.b; line[i + 3] = col.a; i += 4 }
                }
                for dy in 0..<cellH {
                    let yy = y + r * cellH + dy
                    guard yy >= 0, yy < height else { continue }
                    line.withUnsafeBufferPointer { l in
                        let src = l.baseAddress! + (x0 - x) * 4
                        let dst = p.baseAddress! + yy * stride + x0 * 4
                        dst.update(from: src, count: (x1 - x0) * 4)
                    }
                }
            }
        }
    }
}
