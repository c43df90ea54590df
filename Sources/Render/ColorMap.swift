/// The colour maps a view can use. Raw values are the CLI / node spellings.
public enum ColorMapName: String, Sendable, CaseIterable, Codable {
    /// Blue (negative) → white (≈ 0) → red (positive); symmetric around zero. The default.
    case diverging
    /// Black (low) → white (high).
    case grayscale
    /// White (0) → black (largest |v|): where the weight mass is, regardless of sign.
    case magnitude
    /// Blue (negative) → black (0) → red (positive): sign on a dark background.
    case redBlue = "redblue"
    /// Dark purple → teal → yellow: a perceptually ordered sequential map (viridis-like).
    case viridis

    /// Whether the map is read as sign around a centre (so the default scale is symmetric).
    var isSigned: Bool { self == .diverging || self == .redBlue }
}

/// A 256-entry lookup table built from a few anchor colours.
///
/// Lookups are `t ∈ [0, 1]` → colour; views convert values to `t` through a `ValueScale`.
struct ColorMap: Sendable {
    let name: ColorMapName
    /// 256 entries, index = round(t · 255), holding `levels` distinct colours.
    let table: [RGBA]

    init(_ name: ColorMapName) {
        self.name = name
        self.table = ColorMap.buildTable(ColorMap.anchors(name))
    }

    /// Colour for `t` in [0, 1]; values outside are clamped, NaN maps to the midpoint.
    @inline(__always) func color(_ t: Float) -> RGBA {
        guard t == t else { return table[128] }
        let i = Int((min(max(t, 0), 1) * 255).rounded())
        return table[i]
    }

    /// Anchor colours at evenly spaced positions. Chosen by eye for contrast at the ends and a
    /// neutral centre that is visibly different from the panel background.
    static func anchors(_ name: ColorMapName) -> [RGBA] {
        switch name {
        case .diverging:
            return [RGBA(18, 52, 130), RGBA(48, 112, 186), RGBA(130, 182, 222), RGBA(214, 232, 244),
                    RGBA(250, 250, 250),
                    RGBA(250, 216, 200), RGBA(236, 150, 120), RGBA(200, 64, 52), RGBA(120, 8, 30)]
        case .grayscale:
            return [RGBA(0, 0, 0), RGBA(255, 255, 255)]
        case .magnitude:
            return [RGBA(255, 255, 255), RGBA(0, 0, 0)]
        case .redBlue:
            return [RGBA(60, 120, 255), RGBA(20, 40, 110), RGBA(0, 0, 0), RGBA(120, 24, 16), RGBA(255, 64, 40)]
        case .viridis:
            return [RGBA(68, 1, 84), RGBA(71, 44, 122), RGBA(59, 81, 139), RGBA(44, 113, 142),
                    RGBA(33, 144, 141), RGBA(39, 173, 129), RGBA(92, 200, 99), RGBA(170, 220, 50),
                    RGBA(253, 231, 37)]
        }
    }

    /// Distinct colours in a table. Fewer than the 256 entries on purpose: a page then holds at
    /// most this many map colours plus its ink, rules and panels, which fits a 256-colour PNG
    /// palette (one byte per pixel instead of four: a noise-like heatmap page encodes about 4×
    /// faster and smaller). Neighbouring levels differ by about 2 units per channel, below what
    /// the eye separates; the count is odd so that t = 0.5 (zero on signed maps) has its own level.
    static let levels = 225

    static func buildTable(_ anchors: [RGBA]) -> [RGBA] {
        let segments = anchors.count - 1
        let steps = Float(levels - 1)
        return (0..<256).map { i in
            let pos = (Float(i) / 255 * steps).rounded() / steps * Float(segments)
            let k = min(Int(pos), segments - 1)
            return RGBA.mix(anchors[k], anchors[k + 1], pos - Float(k))
        }
    }
}
