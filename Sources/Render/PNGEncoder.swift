import CKernels
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
/// Rendered pages with the default settings are tuned further by pixel format (see
/// `encode(page:…)` and docs/BENCHMARKS.md).
public struct PNGOptions: Sendable, Equatable {
    /// zlib level 0–9.
    public var compressionLevel: Int
    public var filter: PNGFilter
    public var strategy: PNGStrategy
    /// Lossless pixel-format reduction: a picture with at most 256 distinct opaque colours is
    /// written as an 8-bit palette image, another opaque one as RGB. Our pages draw from a
    /// 256-entry colour-map table plus a few ink colours, so most of them qualify, and deflate
    /// then sees one byte per pixel instead of four (4× less work on noise-like heatmaps).
    public var reduceColors: Bool
    public init(compressionLevel: Int = 1, filter: PNGFilter = .up, strategy: PNGStrategy = .standard,
                reduceColors: Bool = true) {
        self.compressionLevel = compressionLevel
        self.filter = filter
        self.strategy = strategy
        self.reduceColors = reduceColors
    }
    /// Smallest files, slower (for images written to disk and kept).
    public static let small = PNGOptions(compressionLevel: 9, filter: .adaptive)
}

/// RGBA8 → PNG through libpng, in memory.
public enum PNGEncoder {
    /// Encodes `rgba` (`width · height · 4` bytes, rows top to bottom) as an 8-bit PNG: palette, RGB
    /// or RGBA, whichever holds the pixels without loss (`PNGOptions.reduceColors`; RGBA when off).
    /// `text` (keyword, UTF-8 text) adds one uncompressed iTXt chunk before the image data; a
    /// keyword libpng would reject (empty, over 79 bytes, not printable Latin-1) fails the encode.
    public static func encode(rgba: [UInt8], width: Int, height: Int, options: PNGOptions = PNGOptions(),
                              text: (keyword: String, text: String)? = nil) throws(RenderError) -> [UInt8] {
        try encode(rgba: rgba, width: width, height: height, options: options,
                   texts: text.map { [PNGTextChunk(keyword: $0.keyword, text: $0.text, latin1: false)] } ?? [], tunedForNoise: nil)
    }

    /// Encodes `rgba` with several text chunks, in order, before the image data (ComfyUI's saved
    /// pictures carry `prompt` and `workflow` as tEXt chunks). A keyword libpng would reject, a NUL
    /// in a text, or a non-Latin-1 character in a tEXt chunk fails the encode.
    public static func encode(rgba: [UInt8], width: Int, height: Int, options: PNGOptions = PNGOptions(),
                              texts: [PNGTextChunk]) throws(RenderError) -> [UInt8] {
        try encode(rgba: rgba, width: width, height: height, options: options, texts: texts, tunedForNoise: nil)
    }

    /// `tunedForNoise` set: `options` are the defaults, so pick the filter and strategy that measured
    /// best for the pixel format the picture reduces to (docs/BENCHMARKS.md, Rendering): palette
    /// images Up + RLE (smaller and faster than the standard search on text pages and heatmaps
    /// alike), RGB/RGBA pages Up + standard, or Sub + RLE when the page is mostly noise-like heatmap.
    static func encode(rgba: [UInt8], width: Int, height: Int, options requested: PNGOptions,
                       texts: [PNGTextChunk], tunedForNoise: Bool?) throws(RenderError) -> [UInt8] {
        var options = requested
        guard width > 0, height > 0, width <= 1_000_000, height <= 1_000_000 else {
            throw .invalidImageSize(width: width, height: height)
        }
        let (count, overflow) = width.multipliedReportingOverflow(by: height * 4)
        guard !overflow, rgba.count == count else { throw .invalidImageSize(width: width, height: height) }
        let reduced = options.reduceColors ? rgba.withUnsafeBufferPointer { PaletteImage(rgba: $0) } : .notOpaque
        if let noisy = tunedForNoise {
            if case .palette = reduced {
                options.filter = .up; options.strategy = .rle
            } else if noisy {
                options.filter = .sub; options.strategy = .rle
            }
        }
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
        // A NUL inside the text would silently cut it short in C; tEXt holds Latin-1 only.
        for chunk in texts where chunk.keyword.utf8.contains(0) || chunk.text.utf8.contains(0)
            || (chunk.latin1 && chunk.text.unicodeScalars.contains { $0.value > 0xFF }) {
            throw .pngEncodingFailed(width: width, height: height)
        }
        // tEXt bytes are Latin-1: characters 0x80–0xFF become one byte each, not their UTF-8 pair.
        let textBytes: [[CChar]] = texts.map { chunk in
            chunk.latin1 ? chunk.text.unicodeScalars.map { CChar(bitPattern: UInt8($0.value)) } + [0]
                : chunk.text.utf8CString.map { $0 }
        }
        let keyBytes: [[CChar]] = texts.map { Array($0.keyword.utf8CString) }
        let latin1: [Int32] = texts.map { $0.latin1 ? 1 : 0 }
        func write(_ pixels: UnsafePointer<UInt8>?, stride: Int, mode: Int32, palette: [UInt8]) -> Int32 {
            withCStrings(keyBytes) { keys in
                withCStrings(textBytes) { values in
                    palette.withUnsafeBufferPointer { pal in
                        CLibPNG_encodeImageTexts(pixels, UInt32(width), UInt32(height), stride, mode, pal.baseAddress,
                                                 Int32(pal.count / 3), level, filters, strategy, keys, values, latin1,
                                                 Int32(texts.count), &out, &size)
                    }
                }
            }
        }
        let rc: Int32
        switch reduced {
        case .palette(let indices, let palette):
            rc = indices.withUnsafeBufferPointer { write($0.baseAddress, stride: width, mode: 2, palette: palette) }
        case .opaque:
            rc = rgba.withUnsafeBufferPointer { write($0.baseAddress, stride: width * 4, mode: 1, palette: []) }
        case .notOpaque:
            rc = rgba.withUnsafeBufferPointer { write($0.baseAddress, stride: width * 4, mode: 0, palette: []) }
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

    /// Encodes a page: with the default options, the settings are tuned to the page's pixel format.
    static func encode(page canvas: Canvas, options: PNGOptions, mostlyNoise: Bool,
                       text: (keyword: String, text: String)?) throws(RenderError) -> [UInt8] {
        try encode(rgba: canvas.pixels, width: canvas.width, height: canvas.height, options: options,
                   texts: text.map { [PNGTextChunk(keyword: $0.keyword, text: $0.text, latin1: false)] } ?? [],
                   tunedForNoise: options == PNGOptions() ? mostlyNoise : nil)
    }

    /// Runs `body` with a C array of pointers to the NUL-terminated strings (valid only inside).
    private static func withCStrings<R>(_ strings: [[CChar]], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
        let buffers = strings.map { s -> UnsafeMutablePointer<CChar> in
            let p = UnsafeMutablePointer<CChar>.allocate(capacity: s.count)
            p.initialize(from: s, count: s.count)
            return p
        }
        defer { for b in buffers { b.deallocate() } }
        let pointers: [UnsafePointer<CChar>?] = buffers.map { UnsafePointer($0) }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}

/// One PNG text chunk: tEXt (Latin-1) when `latin1`, else uncompressed iTXt (UTF-8).
public struct PNGTextChunk: Sendable, Equatable {
    public let keyword: String
    public let text: String
    public let latin1: Bool
    public init(keyword: String, text: String, latin1: Bool) {
        self.keyword = keyword
        self.text = text
        self.latin1 = latin1
    }
}

/// What an RGBA picture can be written as without loss.
enum PaletteImage {
    /// At most 256 colours, all opaque: one index per pixel and the RGB triples of the palette.
    case palette(indices: [UInt8], palette: [UInt8])
    /// Opaque, more than 256 colours.
    case opaque
    /// Some pixel is not fully opaque.
    case notOpaque

    /// One pass over the pixels with a small open-addressing table of the colours seen so far;
    /// runs of one colour (most of a page) cost a single comparison per pixel.
    init(rgba: UnsafeBufferPointer<UInt8>) {
        let count = rgba.count / 4
        guard count > 0, let base = rgba.baseAddress else { self = .notOpaque; return }
        let slots = 1024   // 4× the palette limit keeps probe chains short
        // Raw buffers: array bounds checks cost more than the hashing in this per-pixel loop.
        let keys = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: slots)
        let values = UnsafeMutableBufferPointer<Int16>.allocate(capacity: slots)
        defer { keys.deallocate(); values.deallocate() }
        keys.initialize(repeating: 0)
        values.initialize(repeating: -1)   // -1 = empty slot
        var colors: [UInt32] = []
        colors.reserveCapacity(256)
        var indices = [UInt8](repeating: 0, count: count)
        var overflow = false
        let opaqueMask = UInt32(littleEndian: 0xFF00_0000)
        let kernels = wl_current()
        let complete: Bool = indices.withUnsafeMutableBufferPointer { out in
            let px = UnsafeRawPointer(base)
            // Array storage is aligned for UInt32; the run kernel compares whole vectors of pixels.
            let pixels = px.assumingMemoryBound(to: UInt32.self)
            var last: UInt32 = px.loadUnaligned(as: UInt32.self) ^ 1   // differs from pixel 0
            var lastIndex: UInt8 = 0
            var i = 0
            while i < count {
                let c = pixels[i]
                if c == last {
                    // A run of the previous colour: found a vector of pixels at a time.
                    let run = kernels.pointee.run_length(pixels + i, count - i, c)
                    (out.baseAddress! + i).update(repeating: lastIndex, count: run)
                    i += run
                    continue
                }
                guard c & opaqueMask == opaqueMask else { return false }
                if overflow { last = c; i += 1; continue }   // only checking opacity from here on
                var h = Int((c &* 0x9E37_79B1) >> 22)
                while true {
                    let v = values[h]
                    if v < 0 {
                        guard colors.count < 256 else { overflow = true; break }
                        keys[h] = c
                        values[h] = Int16(colors.count)
                        colors.append(c)
                        break
                    }
                    if keys[h] == c { break }
                    h = (h + 1) & (slots - 1)
                }
                last = c
                lastIndex = overflow ? 0 : UInt8(truncatingIfNeeded: values[h])
                out[i] = lastIndex
                i += 1
            }
            return true
        }
        guard complete else { self = .notOpaque; return }
        if overflow { self = .opaque; return }
        var palette = [UInt8]()
        palette.reserveCapacity(colors.count * 3)
        for c in colors {
            let le = c.littleEndian
            palette.append(UInt8(truncatingIfNeeded: le)); palette.append(UInt8(truncatingIfNeeded: le >> 8))
            palette.append(UInt8(truncatingIfNeeded: le >> 16))
        }
        self = .palette(indices: indices, palette: palette)
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
