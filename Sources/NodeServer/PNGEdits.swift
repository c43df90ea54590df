import Render

/// Why an uploaded or stored picture could not be edited (`/upload/mask`, `/view?channel=`).
enum PNGEditError: Error, CustomStringConvertible, Equatable {
    /// The bytes do not start with the PNG signature (JPEG, WebP… are not decoded here).
    case notPNG(what: String)
    /// The header declares more pixels than the server decodes (memory stays bounded).
    case tooLarge(what: String, width: Int, height: Int, limit: Int)
    /// libpng could not decode or encode the picture.
    case codec(what: String, reason: String)

    var description: String {
        switch self {
        case .notPNG(let what):
            return "The \(what) is not a PNG file (only PNG can be decoded by this server)."
        case .tooLarge(let what, let w, let h, let limit):
            return "The \(what) is \(w)×\(h) pixels, more than the \(limit) pixels this server decodes."
        case .codec(let what, let reason):
            return "The \(what) could not be processed: \(reason)"
        }
    }
}

/// An RGBA8 picture, rows top to bottom.
struct RGBAPicture: Equatable {
    var width: Int
    var height: Int
    var rgba: [UInt8]
}

/// The few pixel edits the API does on PNG files: decode, encode, copy a mask's alpha,
/// split channels. Pure: bytes in, bytes out.
enum PNGEdits {
    /// 40 megapixels: 160 MB of RGBA, the most one request may make the server hold per picture.
    static let maxPixels = 40_000_000

    static func isPNG(_ bytes: [UInt8]) -> Bool {
        bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
    }

    /// Decodes a PNG after checking the declared size in its IHDR chunk, so that a small file
    /// claiming a huge picture is refused before any pixel memory is allocated.
    static func decode(_ bytes: [UInt8], what: String) throws(PNGEditError) -> RGBAPicture {
        guard isPNG(bytes) else { throw .notPNG(what: what) }
        guard bytes.count >= 24, Array(bytes[12..<16]) == Array("IHDR".utf8) else {
            throw .codec(what: what, reason: "the PNG header chunk is missing.")
        }
        func be32(_ at: Int) -> Int { bytes[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) } }
        let width = be32(16), height = be32(20)
        let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
        guard !overflow, pixels <= maxPixels else {
            throw .tooLarge(what: what, width: width, height: height, limit: maxPixels)
        }
        do {
            let decoded = try PNGDecoder.decode(bytes)
            return RGBAPicture(width: decoded.width, height: decoded.height, rgba: decoded.rgba)
        } catch {
            throw .codec(what: what, reason: error.description)
        }
    }

    static func encode(_ picture: RGBAPicture, what: String) throws(PNGEditError) -> [UInt8] {
        do {
            return try PNGEncoder.encode(rgba: picture.rgba, width: picture.width, height: picture.height)
        } catch {
            throw .codec(what: what, reason: error.description)
        }
    }

    /// `original` with its alpha replaced by `mask`'s alpha, as ComfyUI's mask upload does.
    /// A mask of another size is scaled to the original with nearest-neighbour sampling
    /// (ComfyUI resizes it too; nearest keeps a painted mask's hard edges).
    static func applyingAlpha(of mask: RGBAPicture, to original: RGBAPicture) -> RGBAPicture {
        var out = original
        let sameSize = mask.width == original.width && mask.height == original.height
        for y in 0..<original.height {
            let my = sameSize ? y : min(mask.height - 1, y * mask.height / original.height)
            for x in 0..<original.width {
                let mx = sameSize ? x : min(mask.width - 1, x * mask.width / original.width)
                out.rgba[(y * original.width + x) * 4 + 3] = mask.rgba[(my * mask.width + mx) * 4 + 3]
            }
        }
        return out
    }

    /// `/view?channel=rgb`: the colours with the alpha dropped (every pixel opaque).
    static func opaque(_ picture: RGBAPicture) -> RGBAPicture {
        var out = picture
        for i in stride(from: 3, to: out.rgba.count, by: 4) { out.rgba[i] = 255 }
        return out
    }

    /// `/view?channel=a`: only the alpha, carried in the alpha channel of a black picture, as
    /// ComfyUI answers it (the frontend's mask editor reads the alpha of this picture).
    static func alphaOnly(_ picture: RGBAPicture) -> RGBAPicture {
        var out = picture
        for i in stride(from: 0, to: out.rgba.count, by: 4) {
            out.rgba[i] = 0; out.rgba[i + 1] = 0; out.rgba[i + 2] = 0
        }
        return out
    }
}
