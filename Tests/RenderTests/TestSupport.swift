import Testing
@testable import Render
import TensorCore

/// Helpers shared by the Render tests: decode what the encoder wrote, find colours and text.
struct Picture {
    let png: DecodedPNG

    init(_ image: RenderedImage) throws {
        #expect(Array(image.png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        png = try PNGDecoder.decode(image.png)
        #expect(png.width == image.width && png.height == image.height)
    }

    var width: Int { png.width }
    var height: Int { png.height }

    func rgba(_ x: Int, _ y: Int) -> RGBA {
        let p = png.pixel(x: x, y: y)
        return RGBA(p.r, p.g, p.b, p.a)
    }

    /// Bounding boxes of 4-connected regions of exactly `color`, at least `minSide` on both sides.
    func regions(of color: RGBA, minSide: Int = 1, maxY: Int? = nil) -> [(x: Int, y: Int, w: Int, h: Int)] {
        let h = min(maxY ?? height, height)
        var seen = [Bool](repeating: false, count: width * height)
        var out: [(Int, Int, Int, Int)] = []
        for y in 0..<h { for x in 0..<width where !seen[y * width + x] && rgba(x, y) == color {
            var stack = [(x, y)]; seen[y * width + x] = true
            var x0 = x, x1 = x, y0 = y, y1 = y
            while let (cx, cy) = stack.popLast() {
                x0 = min(x0, cx); x1 = max(x1, cx); y0 = min(y0, cy); y1 = max(y1, cy)
                for (nx, ny) in [(cx + 1, cy), (cx - 1, cy), (cx, cy + 1), (cx, cy - 1)]
                where nx >= 0 && ny >= 0 && nx < width && ny < h && !seen[ny * width + nx] && rgba(nx, ny) == color {
                    seen[ny * width + nx] = true; stack.append((nx, ny))
                }
            }
            if x1 - x0 + 1 >= minSide && y1 - y0 + 1 >= minSide { out.append((x0, y0, x1 - x0 + 1, y1 - y0 + 1)) }
        } }
        return out.map { (x: $0.0, y: $0.1, w: $0.2, h: $0.3) }
    }

    /// Whether `text` drawn by the bitmap font at `scale` in `color` appears anywhere: every ink
    /// pixel of the glyphs matches and every blank pixel inside the glyph boxes differs.
    func contains(text: String, scale: Int, color: RGBA) -> Bool {
        let w = BitmapFont.width(text, scale: scale), h = BitmapFont.glyphHeight * scale
        var c = Canvas(width: w + 2, height: h + 2, background: RGBA(1, 2, 3))
        c.drawText(text, x: 0, y: 0, scale: scale, color: color)
        var ink: [(Int, Int)] = [], blank: [(Int, Int)] = []
        for y in 0..<h { for x in 0..<w { (c.pixel(x, y) == color ? { ink.append((x, y)) } : { blank.append((x, y)) })() } }
        guard let anchor = ink.first else { return false }
        for y in 0..<height { for x in 0..<width where rgba(x, y) == color {
            let ox = x - anchor.0, oy = y - anchor.1
            guard ox >= 0, oy >= 0, ox + w <= width, oy + h <= height else { continue }
            if ink.allSatisfy({ rgba(ox + $0.0, oy + $0.1) == color }) && blank.allSatisfy({ rgba(ox + $0.0, oy + $0.1) != color }) {
                return true
            }
        } }
        return false
    }

    /// Number of distinct colours (capped), to show an image is not blank or uniform.
    func distinctColors(limit: Int = 64) -> Int {
        var set = Set<RGBA>()
        for y in stride(from: 0, to: height, by: 2) { for x in stride(from: 0, to: width, by: 2) {
            set.insert(rgba(x, y)); if set.count >= limit { return limit }
        } }
        return set.count
    }

    /// True when the outermost `band` columns and rows are all page background (nothing runs off).
    func marginsAreClear(band: Int = 6) -> Bool {
        for y in 0..<height { for x in 0..<width where x < band || x >= width - band || y < band || y >= height - band {
            if rgba(x, y) != .white { return false }
        } }
        return true
    }
}

extension Picture: CustomTestStringConvertible {
    // Keeps failure messages short instead of dumping every pixel.
    var testDescription: String { "\(width)×\(height) picture" }
}

/// Deterministic pseudo-random values in [-1, 1] (xorshift), so tests need no fixtures.
func pseudoRandom(_ n: Int, seed: UInt64) -> [Float] {
    var s = seed &* 0x9E3779B97F4A7C15 | 1
    return (0..<n).map { _ in
        s ^= s << 13; s ^= s >> 7; s ^= s << 17
        return Float(Double(s >> 11) / Double(1 << 53)) * 2 - 1
    }
}

func info(_ name: String, _ t: Tensor) -> LayerInfo { LayerInfo(name: name, tensor: t, dtype: "float32") }

func noClip() -> RenderOptions { var o = RenderOptions(); o.clipPercentile = nil; return o }
