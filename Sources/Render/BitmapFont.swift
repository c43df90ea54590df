/// A monospaced 5×9 bitmap font drawn at integer scales, so text is always pixel-crisp.
///
/// A glyph occupies a 6×11 cell at scale 1 (one column and two rows of spacing). Monospace keeps
/// measuring exact, which is what lets layouts guarantee that text never overlaps or runs off.
/// Characters without a glyph draw as a hollow box rather than disappearing.
enum BitmapFont {
    static let glyphWidth = 5
    static let glyphHeight = 9
    /// Horizontal advance per character at scale 1.
    static let advance = 6
    /// Line height at scale 1 (cap height 7 + descenders 2 + 2 rows of leading).
    static let lineHeight = 11

    /// The hollow box drawn for characters the font lacks.
    static let missingGlyph: [UInt8] = [0x1F, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1F, 0, 0]

    static func rows(for ch: Character) -> [UInt8] { glyphRows[ch] ?? missingGlyph }

    static func hasGlyph(_ ch: Character) -> Bool { glyphRows[ch] != nil }

    /// Width in pixels of `text` at `scale` (no trailing spacing column).
    static func width(_ text: String, scale: Int) -> Int {
        let n = text.count
        return n == 0 ? 0 : (n * advance - 1) * scale
    }

    /// Height of one line of text at `scale`, including leading.
    static func height(scale: Int) -> Int { lineHeight * scale }

    /// `text` shortened with a trailing "…" so it fits `maxWidth` pixels at `scale`.
    static func truncated(_ text: String, maxWidth: Int, scale: Int) -> String {
        if width(text, scale: scale) <= maxWidth { return text }
        let fit = (maxWidth / scale + 1) / advance
        if fit <= 1 { return fit == 1 ? "…" : "" }
        return String(text.prefix(fit - 1)) + "…"
    }

    /// `text` shortened by dropping its start ("…blocks.0.attn1.to_q"): the end of a layer path is the distinctive part.
    static func truncatedHead(_ text: String, maxWidth: Int, scale: Int) -> String {
        if width(text, scale: scale) <= maxWidth { return text }
        let fit = (maxWidth / scale + 1) / advance
        if fit <= 1 { return fit == 1 ? "…" : "" }
        return "…" + String(text.suffix(fit - 1))
    }

    /// Largest scale in `range` at which `text` fits `maxWidth`, or the smallest scale.
    static func fittingScale(_ text: String, maxWidth: Int, range: ClosedRange<Int>) -> Int {
        for s in range.reversed() where width(text, scale: s) <= maxWidth { return s }
        return range.lowerBound
    }
}
