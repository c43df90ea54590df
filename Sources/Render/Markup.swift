/// Escaping for text placed inside XML or HTML markup (SVG documents, the nodes' `ui.html`).
public enum Markup {
    /// `s` with `&`, `<`, `>` and `"` replaced by entities, safe in element text and in
    /// double-quoted attribute values.
    public static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for ch in s {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(ch)
            }
        }
        return out
    }
}
