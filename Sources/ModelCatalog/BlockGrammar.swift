/// The block grammar of the sd-webui U-Net feature-map tool.
///
/// Labels: `IN00`…`IN{n-1}`, `M00`, `OUT00`…`OUT{n-1}` (n = 9 for SDXL, 12 for SD 1.x/2.x), in that
/// sequence, so `IN{n-1}`, `M00` and `OUT00` are adjacent. An expression is a comma list of items;
/// an item is a label, an inclusive range `A-B`, or a range with a step `A-B(+k)` taking every
/// k-th label from A. Spaces around items are ignored; labels are case-insensitive.
enum BlockGrammar {
    /// True when every non-empty comma item starts like a block label, so the text is meant as block grammar.
    static func looksLikeBlocks(_ text: String) -> Bool {
        // Empty items (`IN01,`) still count as block grammar so that `resolve` reports them.
        let items = text.split(separator: ",", omittingEmptySubsequences: true)
        return !items.isEmpty && items.allSatisfy { item in
            let s = item.trimmingCharacters(in: " ").uppercased()
            guard s.hasPrefix("IN") || s.hasPrefix("M") || s.hasPrefix("OUT") else { return false }
            let afterLetters = s.drop { $0.isLetter }
            return afterLetters.first?.isNumber ?? false
        }
    }

    /// All labels of a family in sequence order.
    static func sequence(count: Int) -> [String] {
        func two(_ i: Int) -> String { i < 10 ? "0\(i)" : "\(i)" }
        return (0..<count).map { "IN" + two($0) } + ["M00"] + (0..<count).map { "OUT" + two($0) }
    }

    /// The set of labels an expression selects.
    static func resolve(_ text: String, family: ModelFamily) throws(CatalogError) -> Set<String> {
        guard let count = family.unetBlockCount else { throw .noBlocks(family: family) }
        let labels = sequence(count: count)
        var position: [String: Int] = [:]
        for (i, l) in labels.enumerated() { position[l] = i }

        func label(_ raw: Substring) throws(CatalogError) -> Int {
            let s = raw.trimmingCharacters(in: " ").uppercased()
            // Accept IN4 / OUT8 as IN04 / OUT08.
            let letters = String(s.prefix { $0.isLetter })
            let digits = s.dropFirst(letters.count)
            guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), digits.count <= 3, let n = Int(digits) else {
                throw .invalidBlockExpression(text: text, reason: "'\(raw)' is not a block label like IN04, M00 or OUT08")
            }
            let normal = letters + (n < 10 ? "0" : "") + String(n)
            guard let p = position[normal] else {
                throw .invalidBlockExpression(text: text, reason: "\(family.displayName) has no block \(normal) (it has IN00-IN\(labels[count - 1].dropFirst(2)), M00, OUT00-\(labels.last!))")
            }
            return p
        }

        var selected = Set<String>()
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            var body = Substring(item.trimmingCharacters(in: " "))
            guard !body.isEmpty else { throw .invalidBlockExpression(text: text, reason: "an empty item between commas") }
            var step = 1
            if body.hasSuffix(")") {
                guard let open = body.lastIndex(of: "(") else {
                    throw .invalidBlockExpression(text: text, reason: "')' without '(' in '\(item)'")
                }
                var inside = body[body.index(after: open)..<body.index(before: body.endIndex)]
                if inside.hasPrefix("+") { inside = inside.dropFirst() }
                guard inside.count <= 4, let k = Int(inside), k >= 1 else {
                    throw .invalidBlockExpression(text: text, reason: "the step in '\(item)' must be a positive integer like (+2)")
                }
                step = k
                body = body[..<open]
            }
            let ends = body.split(separator: "-", omittingEmptySubsequences: false)
            switch ends.count {
            case 1:
                guard step == 1 else { throw .invalidBlockExpression(text: text, reason: "a step needs a range, as in IN00-OUT08(+2)") }
                selected.insert(labels[try label(ends[0])])
            case 2:
                let a = try label(ends[0])
                let b = try label(ends[1])
                guard a <= b else {
                    throw .invalidBlockExpression(text: text, reason: "the range \(labels[a])-\(labels[b]) runs backwards")
                }
                for i in stride(from: a, through: b, by: step) { selected.insert(labels[i]) }
            default:
                throw .invalidBlockExpression(text: text, reason: "'\(item)' has more than one '-'")
            }
        }
        return selected
    }
}

extension StringProtocol {
    /// The text without leading/trailing occurrences of `c`.
    func trimmingCharacters(in c: Character) -> String {
        guard let first = firstIndex(where: { $0 != c }), let last = lastIndex(where: { $0 != c }) else { return "" }
        return String(self[first...last])
    }
}
