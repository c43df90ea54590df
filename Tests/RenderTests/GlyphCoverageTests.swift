import Foundation
import Testing
@testable import Render

/// Every non-ASCII character in a string literal under Sources/ can end up in a picture (titles,
/// notes, node texts drawn by the bitmap font), so each must have a glyph: a missing one draws as
/// a hollow box. A failure names the character, its code point and the files that use it.
@Suite struct GlyphCoverageTests {
    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Sources")

    /// Files whose literals never reach a picture: the embedded copy of nodes.json only feeds the
    /// frontend's node menu (its "🐍" display name is ComfyUI-pysssss's own).
    static let exempt: Set<String> = ["LTNodes/EmbeddedNodesJSON.swift"]

    @Test func everyNonASCIICharacterInSourceStringLiteralsHasAGlyph() throws {
        let root = Self.sources.standardizedFileURL.path
        guard let walker = FileManager.default.enumerator(atPath: root) else {
            Issue.record("cannot list \(root)"); return
        }
        var missing: [Character: Set<String>] = [:]
        var scanned = 0
        for case let relative as String in walker where relative.hasSuffix(".swift") && !Self.exempt.contains(relative) {
            let text = try String(contentsOfFile: root + "/" + relative, encoding: .utf8)
            scanned += 1
            for literal in SwiftLiterals.strings(in: text) {
                for ch in literal where !ch.isASCII && !BitmapFont.hasGlyph(ch) {
                    missing[ch, default: []].insert("Sources/" + relative)
                }
            }
        }
        #expect(scanned > 50, "found only \(scanned) Swift files under \(root)")
        for (ch, files) in missing.sorted(by: { $0.key < $1.key }) {
            let codes = ch.unicodeScalars.map { "U+" + String($0.value, radix: 16, uppercase: true) }.joined(separator: " ")
            Issue.record("""
                '\(ch)' (\(codes)) is in a string literal of \(files.sorted().joined(separator: ", ")) but has no glyph \
                in the bitmap font: add one to Sources/Render/BitmapFont+Glyphs.swift or use ASCII
                """)
        }
    }

    @Test func literalScannerSeesStringsNotCommentsAndFollowsInterpolation() {
        let source = #"""
            // a comment with ⊠ is not a literal
            /* nor is ⊡ in /* a nested */ block */
            let a = "σ = \(f("≈", x)) ·"
            let b = #"raw ‖ "quoted" "#
            let c = """
                multi ᵀ line \(g())
                """
            let d = "escaped \" ∘ quote"
            """#
        let literals = SwiftLiterals.strings(in: source)
        let joined = literals.joined(separator: "|")
        #expect(!joined.contains("⊠") && !joined.contains("⊡"))
        for ch in ["σ", "≈", "·", "‖", "ᵀ", "∘"] { #expect(joined.contains(ch), "\(ch) not found in \(literals)") }
    }

    @Test func mathSymbolsOtherCodeUsesHaveGlyphs() {
        for ch in "≤≥−ᵀ∘↗⊗⊙⊕·×σ‖Δ≈→←αβγελμπρτφψωΣΛ∈∝⋯⟨⟩¹²³⁻ⁿᵢ₁₂½√∞≠÷±°…–—" {
            #expect(BitmapFont.hasGlyph(ch), "no glyph for \(ch)")
        }
    }

    @Test func comparisonGlyphsAreChevronsOverABar() {
        // ≤ and ≥ once drew like ξ and $: a chevron pointing the right way, a full-width bar below.
        let le = BitmapFont.rows(for: "≤"), ge = BitmapFont.rows(for: "≥")
        #expect(le[0] == 0b00001 && le[2] == 0b11000 && le[4] == 0b00001 && le[6] == 0b11111)
        #expect(ge[0] == 0b10000 && ge[2] == 0b00011 && ge[4] == 0b10000 && ge[6] == 0b11111)
        for ch in BitmapFont.extraGlyphs.map(\.0) {
            #expect(BitmapFont.extraGlyphs.filter { $0.0 == ch }.count == 1, "U+\(String(ch, radix: 16)) defined twice")
        }
    }
}

/// The contents of Swift string literals in a source text (comments skipped, raw and multi-line
/// strings, escapes, and literals nested in interpolations). Enough of Swift's lexical grammar for
/// scanning our own sources, not a validating lexer.
enum SwiftLiterals {
    static func strings(in text: String) -> [String] {
        let s = Array(text.unicodeScalars)
        var out: [String] = []
        var i = 0
        while i < s.count {
            if at(s, i, "//") {
                while i < s.count && s[i] != "\n" { i += 1 }
            } else if at(s, i, "/*") {
                var depth = 1
                i += 2
                while i < s.count && depth > 0 {
                    if at(s, i, "/*") { depth += 1; i += 2 } else if at(s, i, "*/") { depth -= 1; i += 2 } else { i += 1 }
                }
            } else if isLiteralStart(s, i) {
                i = literal(s, i, into: &out)
            } else {
                i += 1
            }
        }
        return out
    }

    private static func at(_ s: [Unicode.Scalar], _ i: Int, _ token: String) -> Bool {
        var j = i
        for c in token.unicodeScalars {
            guard j < s.count, s[j] == c else { return false }
            j += 1
        }
        return true
    }

    /// `"` or `#…#"` (a raw string's opening delimiter).
    private static func isLiteralStart(_ s: [Unicode.Scalar], _ i: Int) -> Bool {
        if s[i] == "\"" { return true }
        var j = i
        while j < s.count && s[j] == "#" { j += 1 }
        return j > i && j < s.count && s[j] == "\""
    }

    /// Reads the literal starting at `i`; appends its text (and that of nested literals); returns the index after it.
    private static func literal(_ s: [Unicode.Scalar], _ start: Int, into out: inout [String]) -> Int {
        var i = start
        var hashes = 0
        while s[i] == "#" { hashes += 1; i += 1 }
        let pounds = String(repeating: "#", count: hashes)
        let quote = at(s, i, "\"\"\"") ? "\"\"\"" : "\""
        i += quote.count
        var text = String.UnicodeScalarView()
        while i < s.count {
            if at(s, i, quote + pounds) {
                out.append(String(text))
                return i + quote.count + hashes
            }
            if s[i] == "\\" && at(s, i + 1, pounds) {
                let j = i + 1 + hashes
                if j < s.count && s[j] == "(" {
                    i = interpolation(s, j + 1, into: &out)
                    continue
                }
                if j < s.count { text.append(s[j]) }
                i = j + 1
                continue
            }
            if quote == "\"" && s[i] == "\n" { break }  // unterminated: stop at the line end
            text.append(s[i])
            i += 1
        }
        out.append(String(text))
        return i
    }

    /// Skips an interpolation's expression (balanced parentheses), collecting literals inside it.
    private static func interpolation(_ s: [Unicode.Scalar], _ start: Int, into out: inout [String]) -> Int {
        var i = start
        var depth = 1
        while i < s.count && depth > 0 {
            if isLiteralStart(s, i) { i = literal(s, i, into: &out); continue }
            if s[i] == "(" { depth += 1 } else if s[i] == ")" { depth -= 1 }
            i += 1
        }
        return i
    }
}
