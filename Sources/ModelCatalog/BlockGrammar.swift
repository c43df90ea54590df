/// The block labels of a diffusion model, in sequence order.
///
/// - `unet`: `IN00`…`IN{n-1}`, `M00`, `OUT00`…`OUT{n-1}` (the sd-webui feature-map tool's labels;
///   n = 9 for SDXL, 12 for SD 1.x/2.x).
/// - `flux`: `D00`…`D{d-1}` (double-stream blocks), then `S00`…`S{s-1}` (single-stream blocks), so
///   the last D block and `S00` are adjacent (Flux.1: d = 19, s = 38).
/// - `mmdit`: `J00`…`J{n-1}` (SD3/SD3.5 joint blocks; 24 for SD3 medium and SD3.5 medium, 38 for SD3.5 large).
public enum BlockScheme: Sendable, Equatable, Hashable {
    case unet(count: Int)
    case flux(double: Int, single: Int)
    case mmdit(joint: Int)

    /// Every label in sequence order.
    public var labels: [String] {
        switch self {
        case .unet(let n): return Self.numbered("IN", n) + ["M00"] + Self.numbered("OUT", n)
        case .flux(let d, let s): return Self.numbered("D", d) + Self.numbered("S", s)
        case .mmdit(let n): return Self.numbered("J", n)
        }
    }

    /// The label runs for messages: `IN00-IN08, M00, OUT00-OUT08`.
    public var summary: String {
        func run(_ prefix: String, _ n: Int) -> String {
            n == 0 ? "" : n == 1 ? BlockScheme.label(prefix, 0) : BlockScheme.label(prefix, 0) + "-" + BlockScheme.label(prefix, n - 1)
        }
        let runs: [String]
        switch self {
        case .unet(let n): runs = [run("IN", n), "M00", run("OUT", n)]
        case .flux(let d, let s): runs = [run("D", d), run("S", s)]
        case .mmdit(let n): runs = [run("J", n)]
        }
        return runs.filter { !$0.isEmpty }.joined(separator: ", ")
    }

    /// `prefix` and the number with at least two digits (`D07`, `S37`, `J100`).
    public static func label(_ prefix: String, _ n: Int) -> String { prefix + (n < 10 ? "0" : "") + String(n) }

    static func numbered(_ prefix: String, _ n: Int) -> [String] { (0..<max(0, n)).map { label(prefix, $0) } }
}

/// The block grammar: U-Net labels as the sd-webui feature-map tool writes them, and the DiT labels
/// of `BlockScheme`.
///
/// An expression is a comma list of items; an item is a label, an inclusive range `A-B` in sequence
/// order (`IN07-OUT01`, `D17-S01`), or a range with a step `A-B(+k)` taking every k-th label from A.
/// Spaces around items are ignored; labels are case-insensitive and `IN4` means `IN04`.
/// Pure: text in, a set of labels (or an error) out — the fuzzers call `resolve` directly.
public enum BlockGrammar {
    /// Letter parts a label can start with.
    static let labelLetters: Set<String> = ["IN", "M", "OUT", "D", "S", "J"]

    /// True when every non-empty comma item starts like a block label (label letters, then a digit),
    /// so the text is meant as block grammar rather than a substring of layer names.
    public static func looksLikeBlocks(_ text: String) -> Bool {
        // Empty items (`IN01,`) still count as block grammar so that `resolve` reports them.
        let items = text.split(separator: ",", omittingEmptySubsequences: true)
        return !items.isEmpty && items.allSatisfy { item in
            let s = item.trimmingCharacters(in: " ").uppercased()
            let letters = String(s.prefix { $0.isASCII && $0.isLetter })
            guard labelLetters.contains(letters) else { return false }
            return s.dropFirst(letters.count).first.map { $0.isASCII && $0.isNumber } ?? false
        }
    }

    /// All U-Net labels in sequence order (`BlockScheme.unet(count:).labels`).
    static func sequence(count: Int) -> [String] { BlockScheme.unet(count: count).labels }

    /// The set of labels an expression selects, with the family's usual block counts
    /// (SDXL 9, SD 1.x/2.x 12, Flux.1 19 + 38, SD3 38). Catalogs use the counts found in the file.
    public static func resolve(_ text: String, family: ModelFamily) throws(CatalogError) -> Set<String> {
        guard let scheme = family.defaultBlocks else { throw .noBlocks(family: family) }
        return try resolve(text, scheme: scheme, modelName: family.displayName)
    }

    /// The set of labels an expression selects from `scheme`; `modelName` only appears in messages.
    public static func resolve(_ text: String, scheme: BlockScheme, modelName: String) throws(CatalogError) -> Set<String> {
        let labels = scheme.labels
        var position: [String: Int] = [:]
        for (i, l) in labels.enumerated() { position[l] = i }

        func label(_ raw: Substring) throws(CatalogError) -> Int {
            let s = raw.trimmingCharacters(in: " ").uppercased()
            let letters = String(s.prefix { $0.isASCII && $0.isLetter })
            let digits = s.dropFirst(letters.count)
            guard !letters.isEmpty, !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), digits.count <= 3,
                  let n = Int(digits) else {
                throw .invalidBlockExpression(text: text, reason: "'\(raw)' is not a block label like \(example(scheme))")
            }
            let normal = BlockScheme.label(letters, n)
            guard let p = position[normal] else {
                throw .invalidBlockExpression(text: text, reason: "\(modelName) has no block \(normal) (it has \(scheme.summary))")
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
                guard step == 1 else {
                    throw .invalidBlockExpression(text: text, reason: "a step needs a range, as in \(labels.first ?? "IN00")-\(labels.last ?? "OUT08")(+2)")
                }
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

    /// A few labels of the scheme for "not a block label like …" messages.
    static func example(_ scheme: BlockScheme) -> String {
        switch scheme {
        case .unet: return "IN04, M00 or OUT08"
        case .flux: return "D00, S12 or D18-S00"
        case .mmdit: return "J00 or J12"
        }
    }
}

extension StringProtocol {
    /// The text without leading/trailing occurrences of `c`.
    func trimmingCharacters(in c: Character) -> String {
        guard let first = firstIndex(where: { $0 != c }), let last = lastIndex(where: { $0 != c }) else { return "" }
        return String(self[first...last])
    }
}
