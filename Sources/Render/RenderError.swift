/// Why a picture could not be produced.
public enum RenderError: Error, CustomStringConvertible, Equatable {
    /// Image dimensions are zero, negative or beyond what PNG and memory allow.
    case invalidImageSize(width: Int, height: Int)
    /// libpng reported an error while writing (normally out of memory).
    case pngEncodingFailed(width: Int, height: Int)
    /// libpng could not read the bytes as a PNG.
    case pngDecodingFailed(reason: String)
    /// The tensor has no elements, so there is nothing to draw.
    case emptyTensor(layer: String, shape: [Int])
    /// The view needs a weight of a different kind (e.g. NMF needs a conv or linear weight).
    case unsupportedShape(view: String, layer: String, shape: [Int], reason: String)
    /// The numerical analysis behind a view failed.
    case analysisFailed(view: String, layer: String, reason: String)
    /// The caller cancelled the render.
    case cancelled
    /// An option is out of range.
    case invalidOption(name: String, value: String, reason: String)

    public var description: String {
        switch self {
        case .invalidImageSize(let w, let h):
            return "Cannot make a \(w)×\(h) image: each side must be between 1 and 1,000,000 pixels."
        case .pngEncodingFailed(let w, let h):
            return "libpng failed to encode a \(w)×\(h) image (out of memory?)."
        case .pngDecodingFailed(let reason):
            return "The bytes are not a readable PNG: \(reason.isEmpty ? "libpng gave no reason" : reason)."
        case .emptyTensor(let layer, let shape):
            return "Layer \(layer) has an empty weight of shape \(formatShape(shape)), so there is nothing to draw."
        case .unsupportedShape(let view, let layer, let shape, let reason):
            return "The \(view) view cannot show layer \(layer) of shape \(formatShape(shape)): \(reason)."
        case .analysisFailed(let view, let layer, let reason):
            return "The \(view) view of layer \(layer) failed in the analysis: \(reason)."
        case .cancelled:
            return "Rendering was cancelled."
        case .invalidOption(let name, let value, let reason):
            return "Option \(name) = \(value) is not usable: \(reason)."
        }
    }
}
