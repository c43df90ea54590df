import Render

/// ComfyUI's `IMAGE`: a batch of pictures of one size, which ComfyUI holds as a float tensor
/// [B, H, W, C] with C = 3 and values in 0…1. Here each picture is kept as opaque RGBA8 bytes
/// (what our renderer draws and libpng writes); `shape` gives the tensor shape ComfyUI would show.
///
/// ComfyUI's image nodes assume every picture of a batch has the same size, so pictures of
/// different sizes are placed at the top left of a white page of the largest width and height.
package struct ImageBatch: Sendable {
    package let width: Int
    package let height: Int
    /// One `width · height · 4`-byte RGBA8 buffer per picture, rows top to bottom, alpha 255.
    package let pictures: [[UInt8]]

    /// Longest side and pixel count a batch accepts, so a bad input cannot exhaust memory.
    package static let maxSide = 16_384
    package static let maxPixels = 256 << 20

    package var count: Int { pictures.count }
    /// ComfyUI's IMAGE tensor shape: [B, H, W, C].
    package var shape: [Int] { [pictures.count, height, width, 3] }

    /// Builds a batch from RGBA8 pictures of any sizes (at least one). Alpha is composited onto
    /// white, as ComfyUI's IMAGE has no alpha channel.
    package init(rgbaPictures: [(rgba: [UInt8], width: Int, height: Int)]) throws(NodeFailure) {
        guard !rgbaPictures.isEmpty else {
            throw .failed(type: "ValueError", message: "An IMAGE batch needs at least one picture.")
        }
        let width = rgbaPictures.map(\.width).max() ?? 0
        let height = rgbaPictures.map(\.height).max() ?? 0
        for p in rgbaPictures {
            guard p.width > 0, p.height > 0, p.width <= Self.maxSide, p.height <= Self.maxSide,
                  p.rgba.count == p.width * p.height * 4 else {
                throw .failed(type: "ValueError", message: "A picture of \(p.width)×\(p.height) with \(p.rgba.count) bytes is not a valid RGBA8 image (sides 1–\(Self.maxSide)).")
            }
        }
        let total = width * height * rgbaPictures.count
        guard total <= Self.maxPixels else {
            throw .failed(type: "MemoryError", message: "An IMAGE batch of \(rgbaPictures.count) pictures of \(width)×\(height) exceeds \(Self.maxPixels) pixels.")
        }
        self.width = width
        self.height = height
        self.pictures = rgbaPictures.map { Self.placed($0.rgba, width: $0.width, height: $0.height, onto: width, height) }
    }

    /// A batch of rendered pictures (their kept pixels, else the decoded PNG).
    package init(rendered images: [RenderedImage]) throws(NodeFailure) {
        var pictures: [(rgba: [UInt8], width: Int, height: Int)] = []
        for image in images {
            if let rgba = image.rgba {
                pictures.append((rgba, image.width, image.height))
            } else {
                do {
                    let decoded = try PNGDecoder.decode(image.png)
                    pictures.append((decoded.rgba, decoded.width, decoded.height))
                } catch {
                    throw .failed(type: "RenderError", message: "Cannot read the picture '\(image.title)': \(error.description)")
                }
            }
        }
        try self.init(rgbaPictures: pictures)
    }

    /// The picture at `index` as a PNG, with `texts` as text chunks before the image data.
    package func png(at index: Int, compressionLevel: Int, texts: [PNGTextChunk] = []) throws(NodeFailure) -> [UInt8] {
        do {
            return try PNGEncoder.encode(rgba: pictures[index], width: width, height: height,
                                         options: PNGOptions(compressionLevel: compressionLevel), texts: texts)
        } catch {
            throw .failed(type: "RenderError", message: "Cannot encode picture \(index) of the batch as PNG: \(error.description)")
        }
    }

    /// `rgba` (alpha composited onto white) at the top left of a white `pageWidth × pageHeight` page.
    private static func placed(_ rgba: [UInt8], width: Int, height: Int, onto pageWidth: Int, _ pageHeight: Int) -> [UInt8] {
        let opaque = stride(from: 3, to: rgba.count, by: 4).allSatisfy { rgba[$0] == 255 }
        if opaque && width == pageWidth && height == pageHeight { return rgba }
        var page = [UInt8](repeating: 255, count: pageWidth * pageHeight * 4)
        for y in 0..<height {
            for x in 0..<width {
                let s = (y * width + x) * 4, d = (y * pageWidth + x) * 4
                let a = UInt32(rgba[s + 3])
                for c in 0..<3 {
                    // Over white: c·a + 255·(1 − a), rounded.
                    page[d + c] = UInt8((UInt32(rgba[s + c]) * a + 255 * (255 - a) + 127) / 255)
                }
            }
        }
        return page
    }
}
