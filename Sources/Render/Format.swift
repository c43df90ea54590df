import Foundation

/// A number with 3 significant digits, trailing zeros trimmed; scientific outside [1e-3, 1e4).
/// Used for every number drawn on an image so colour bars and stats boxes read the same way.
func formatNumber(_ v: Double, digits: Int = 3) -> String {
    if v == 0 { return "0" }
    if !v.isFinite { return v.isNaN ? "NaN" : (v > 0 ? "inf" : "-inf") }
    let a = abs(v)
    if a >= 1e4 || a < 1e-3 {
        // "1.23e-05" → "1.23e-5": shorter, same meaning.
        var s = String(format: "%.\(max(digits - 1, 0))e", v)
        if let e = s.firstIndex(of: "e") {
            var mantissa = String(s[..<e])
            var exp = String(s[s.index(after: e)...])
            if mantissa.contains(".") {
                while mantissa.hasSuffix("0") { mantissa.removeLast() }
                if mantissa.hasSuffix(".") { mantissa.removeLast() }
            }
            let negative = exp.hasPrefix("-")
            exp = String(exp.drop(while: { $0 == "-" || $0 == "+" || $0 == "0" }))
            s = mantissa + "e" + (negative ? "-" : "") + (exp.isEmpty ? "0" : exp)
        }
        return s
    }
    let intDigits = a >= 1 ? Int(log10(a)) + 1 : 0
    let decimals = max(0, digits - intDigits + (a < 1 ? Int(-floor(log10(a))) - 1 : 0))
    var s = String(format: "%.\(decimals)f", v)
    if s.contains(".") {
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
    }
    return s == "-0" ? "0" : s
}

/// An integer with thousands separators: 921600 → "921,600".
func formatCount(_ n: Int) -> String {
    let digits = String(abs(n))
    var out = ""
    for (i, ch) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(ch)
    }
    return n < 0 ? "-" + out : out
}

/// `[320, 320, 3, 3]` as torch prints a shape.
func formatShape(_ shape: [Int]) -> String {
    "[" + shape.map(String.init).joined(separator: ", ") + "]"
}

/// A percentage with one decimal: 0.4567 → "45.7%".
func formatPercent(_ fraction: Double) -> String {
    String(format: "%.1f%%", fraction * 100)
}
