import CLibPNG
import Glibc

/// Row filters libpng applies before deflate. `none` is fastest; `up`/`adaptive` compress
/// smooth images better.
public enum PNGFilter: String, Sendable, CaseIterable {
    case none, sub, up, paeth, adaptive
}

/// zlib's match-search strategies (zlib.h `Z_*` strategy constants).
public enum PNGStrategy: Int32, Sendable, CaseIterable {
    case standard = 0, filtered = 1, huffmanOnly = 2, rle = 3
}

/// Encoder settings. The default favours speed (previews are viewed once and thrown away):
/// zlib level 1 with the Up filter, which suits our pages of flat colour, repeated rows and text.
/// Views made mostly of per-pixel noise (large heatmaps) switch the default to Sub + RLE, which
/// measured about twice as fast there at a similar size (see docs/BENCHMARKS.md).
public struct PNGOptions: Sendable, Equatable {
    /// zlib level 0–9.
    public var compressionLevel: Int
    public var filter: PNGFilter
    public var strategy: PNGStrategy
    public init(compressionLevel: Int = 1, filter: PNGFilter = .up, strategy: PNGStrategy = .standard) {
        self.compressionLevel = compressionLevel
        self.filter = filter
        self.strategy = strategy
    }
    /// The default for heatmap-dominated images.
    static let noisyDefault = PNGOptions(compressionLevel: 1, filter: .sub, strategy: .rle)
    /// Smallest files, slower (for images written to disk and kept).
    public static let small = PNGOptions(compressionLevel: 9, filter: .adaptive)
}

/// RGBA8 → PNG through libpng, in memory.
public enum PNGEncoder {
    /// Encodes `rgba` (`width · height · 4` bytes, rows top to bottom) as an 8-bit RGBA PNG.
    /// `text` (keyword, UTF-8 text) adds one uncompressed iTXt chunk before the image data; a
    /// keyword libpng would reject (empty, over 79 bytes, not printable Latin-1) fails the encode.
    public static func encode(rgba: [UInt8], width: Int, height: Int, options: PNGOptions = PNGOptions(),
                              text: (keyword: String, text: String)? = nil) throws(RenderError) -> [UInt8] {
        guard width > 0, height > 0, width <= 1_000_000, height <= 1_000_000 else {
            throw .invalidImageSize(width: width, height: height)
        }
        let (count, overflow) = width.multipliedReportingOverflow(by: height * 4)
        guard !overflow, rgba.count == count else { throw .invalidImageSize(width: width, height: height) }
        let level = Int32(min(max(options.compressionLevel, 0), 9))
        let filters: Int32
        switch options.filter {
        case .none: filters = CLibPNG_FILTER_NONE
        case .sub: filters = CLibPNG_FILTER_SUB
        case .up: filters = CLibPNG_FILTER_UP
        case .paeth: filters = CLibPNG_FILTER_PAETH
        case .adaptive: filters = CLibPNG_ALL_FILTERS
        }
        let strategy = options.strategy.rawValue
        var out: UnsafeMutablePointer<UInt8>? = nil
        var size = 0
        let rc = rgba.withUnsafeBufferPointer { p in
            guard let text else {
                return CLibPNG_encodeRGBA(p.baseAddress, UInt32(width), UInt32(height), width * 4, level, filters, strategy, &out, &size)
            }
            // A NUL inside the text would silently cut it short in C.
            guard !text.keyword.utf8.contains(0), !text.text.utf8.contains(0) else { return Int32(-1) }
            return CLibPNG_encodeRGBAWithText(p.baseAddress, UInt32(width), UInt32(height), width * 4, level, filters, strategy,
                                              text.keyword, text.text, &out, &size)
        }
        guard rc == 0, let data = out else { throw .pngEncodingFailed(width: width, height: height) }
        defer { free(data) }
        return Array(UnsafeBufferPointer(start: data, count: size))
    }

    /// Encodes a canvas.
    static func encode(_ canvas: Canvas, options: PNGOptions = PNGOptions(),
                       text: (keyword: String, text: String)? = nil) throws(RenderError) -> [UInt8] {
        try encode(rgba: canvas.pixels, width: canvas.width, height: canvas.height, options: options, text: text)
    }
}

/// A decoded PNG: RGBA8 pixels.
public struct DecodedPNG: Sendable {
    public let width: Int
    public let height: Int
    public let rgba: [UInt8]

    public func pixel(x: Int, y: Int) -> (r: UInt8, g: UInt8, b: UInt8, a: UInt8) {
        let i = (y * width + x) * 4
        return (rgba[i], rgba[i + 1], rgba[i + 2], rgba[i + 3])
    }
}

/// PNG → RGBA8 through libpng's simplified read API (which traps libpng errors itself).
/// Used by tests and by tools that check what the encoder wrote.
public enum PNGDecoder {
    public static func decode(_ bytes: [UInt8]) throws(RenderError) -> DecodedPNG {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        let ok = bytes.withUnsafeBytes { raw in
            png_image_begin_read_from_memory(&image, raw.baseAddress, raw.count)
        }
        guard ok != 0 else { throw .pngDecodingFailed(reason: imageMessage(&image)) }
        image.format = CLibPNG_FORMAT_RGBA
        let width = Int(image.width), height = Int(image.height)
        guard width > 0, height > 0, width <= 100_000, height <= 100_000 else {
            png_image_free(&image)
            throw .invalidImageSize(width: width, height: height)
        }
        var pixels = [UInt8](repeating: 0, count: width * height * 4)
        let done = bytes.withUnsafeBytes { _ in
            pixels.withUnsafeMutableBytes { out in
                png_image_finish_read(&image, nil, out.baseAddress, Int32(width * 4), nil)
            }
        }
        guard done != 0 else { throw .pngDecodingFailed(reason: imageMessage(&image)) }
        return DecodedPNG(width: width, height: height, rgba: pixels)
    }

    /// The text of chunk `keyword` (tEXt, zTXt or iTXt) among the chunks before the image
    /// data, or nil when there is none. Texts over `maxBytes` are refused as malformed.
    public static func text(_ bytes: [UInt8], keyword: String, maxBytes: Int = 8 << 20) throws(RenderError) -> String? {
        var out: UnsafeMutablePointer<CChar>? = nil
        var size = 0
        let rc = bytes.withUnsafeBufferPointer { p in
            CLibPNG_readText(p.baseAddress, p.count, keyword, max(maxBytes, 1024), &out, &size)
        }
        defer { free(out) }
        guard rc >= 0 else { throw .pngDecodingFailed(reason: "libpng could not read the chunks before the image data") }
        guard rc == 1, let out else { return nil }
        return out.withMemoryRebound(to: UInt8.self, capacity: size) { String(decoding: UnsafeBufferPointer(start: $0, count: size), as: UTF8.self) }
    }

    private static func imageMessage(_ image: inout png_image) -> String {
        withUnsafeBytes(of: &image.message) { raw in
            let chars = raw.bindMemory(to: UInt8.self).prefix { $0 != 0 }
            return String(decoding: chars, as: UTF8.self)
        }
    }
}
