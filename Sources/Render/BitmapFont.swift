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

    /// The hollow box drawn for characters the font lacks (rows 1F 11 11 11 11 11 1F).
    static let missingGlyph: UInt64 = packed([0x1F, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1F, 0, 0])

    /// Packed rows of `ch` (see `BitmapFont+Glyphs.swift`), nil when the font lacks it.
    @inline(__always) static func packedGlyph(_ ch: Character) -> UInt64? {
        guard let scalar = ch.unicodeScalars.first, ch.unicodeScalars.count == 1 else { return nil }
        let v = scalar.value
        if v >= 32 && v < 127 { return asciiGlyphs[Int(v - 32)] }
        for (code, bits) in extraGlyphs where code == v { return bits }
        return nil
    }

    /// The 9 rows of `ch`, bit 4 = leftmost column.
    static func rows(for ch: Character) -> [UInt8] {
        let bits = packedGlyph(ch) ?? missingGlyph
        return (0..<glyphHeight).map { UInt8((bits >> UInt64(5 * $0)) & 0x1F) }
    }

    static func hasGlyph(_ ch: Character) -> Bool { packedGlyph(ch) != nil }

    static func packed(_ rows: [UInt8]) -> UInt64 {
        rows.enumerated().reduce(0) { $0 | UInt64($1.element & 0x1F) << UInt64(5 * $1.offset) }
    }

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
