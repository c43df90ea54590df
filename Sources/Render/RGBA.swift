/// One 8-bit sRGB colour with alpha, the canvas pixel format.
public struct RGBA: Sendable, Equatable, Hashable {
    public var r: UInt8, g: UInt8, b: UInt8, a: UInt8

    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8, _ a: UInt8 = 255) {
        self.r = r; self.g = g; self.b = b; self.a = a
    }

    public static let white = RGBA(255, 255, 255)
    public static let black = RGBA(0, 0, 0)
    /// Body text: near-black reads softer than pure black on white.
    public static let ink = RGBA(24, 24, 28)
    /// Secondary text, axes and captions.
    public static let mutedInk = RGBA(96, 96, 104)
    /// Frames and grid lines.
    public static let rule = RGBA(200, 200, 206)
    /// Background of tile areas, so white (zero) tiles stay distinguishable from the page.
    public static let panel = RGBA(236, 236, 240)
    /// Bars of charts.
    public static let accent = RGBA(40, 110, 180)
    /// Second series (cumulative energy).
    public static let accent2 = RGBA(220, 110, 30)

    /// `#rrggbb` for SVG.
    var hex: String {
        let digits = Array("0123456789abcdef")
        var s = "#"
        for v in [r, g, b] { s.append(digits[Int(v >> 4)]); s.append(digits[Int(v & 15)]) }
        return s
    }

    /// Linear interpolation in sRGB space; `t` in [0, 1].
    static func mix(_ a: RGBA, _ b: RGBA, _ t: Float) -> RGBA {
        let t = min(max(t, 0), 1)
        @inline(__always) func m(_ x: UInt8, _ y: UInt8) -> UInt8 {
            UInt8((Float(x) + (Float(y) - Float(x)) * t).rounded())
        }
        return RGBA(m(a.r, b.r), m(a.g, b.g), m(a.b, b.b), m(a.a, b.a))
    }
}
