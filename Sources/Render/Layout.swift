import Foundation

/// Shared page geometry: every view uses the same margins and text sizes so pictures read alike.
enum Page {
    static let margin = 16
    /// Scale of body text (captions, tick labels on large charts).
    static let bodyScale = 2
    static let gap = 12
}

/// The header every view starts with: layer name, then shape · parameters · dtype · view,
/// then optional notes (scale, clipping, reductions). Text is fitted to the page width:
/// the name's scale shrinks first, then it is shortened from the left with "…".
struct Header {
    struct Line { var text: String; var scale: Int; var color: RGBA }
    let lines: [Line]

    init(info: LayerInfo, view: String, notes: [String], width: Int) {
        let avail = width - 2 * Page.margin
        let title = info.name.isEmpty ? "(unnamed tensor)" : info.name
        let ts = BitmapFont.fittingScale(title, maxWidth: avail, range: 2...3)
        var ls = [Line(text: BitmapFont.truncatedHead(title, maxWidth: avail, scale: ts), scale: ts, color: .ink)]
        let meta = "\(formatShape(info.shape)) · \(formatCount(info.parameters)) parameters · \(info.dtype) · \(view)"
        let ms = BitmapFont.fittingScale(meta, maxWidth: avail, range: 1...2)
        ls.append(Line(text: BitmapFont.truncated(meta, maxWidth: avail, scale: ms), scale: ms, color: .mutedInk))
        for n in notes {
            for piece in wrapText(n, maxWidth: avail, scale: Page.bodyScale) {
                ls.append(Line(text: piece, scale: Page.bodyScale, color: .mutedInk))
            }
        }
        lines = ls
    }

    var height: Int { lines.reduce(Page.margin) { $0 + BitmapFont.height(scale: $1.scale) } + 6 }

    /// Draws at the top of the page; returns the y below the header (including a rule).
    func draw(_ p: inout Painter) -> Int {
        var y = Page.margin
        for l in lines {
            p.text(l.text, x: Page.margin, y: y, scale: l.scale, color: l.color)
            y += BitmapFont.height(scale: l.scale)
        }
        p.hline(Page.margin, p.width - Page.margin - 1, y + 2, .rule)
        return y + 6
    }
}

/// A horizontal colour bar with its end values, zero (for symmetric scales) and a caption.
enum ColorBar {
    static let barHeight = 14

    static func height(scale: Int = Page.bodyScale) -> Int {
        barHeight + 4 + 2 * BitmapFont.height(scale: scale) + 4
    }

    /// Draws the bar at (x, y) with width `w`. End labels state the exact values that map to
    /// the ends of the map (with ≤/≥ when values beyond them were clipped).
    static func draw(_ p: inout Painter, x: Int, y: Int, w: Int, scale vs: ValueScale, map: ColorMap,
                     caption: String, textScale: Int = Page.bodyScale, endLabels: (String, String)? = nil) {
        let w = max(w, 40)
        var colors = [RGBA]()
        colors.reserveCapacity(w)
        for i in 0..<w { colors.append(map.color(Float(i) / Float(w - 1))) }
        p.cells(colors, rows: 1, cols: w, x: x, y: y, cellW: 1, cellH: barHeight)
        p.stroke(x - 1, y - 1, w + 2, barHeight + 2, .mutedInk)
        let ly = y + barHeight + 4
        let clipped = vs.clipNote != nil
        let loText = endLabels?.0 ?? ((clipped ? "≤" : "") + formatNumber(Double(vs.lo)))
        let hiText = endLabels?.1 ?? ((clipped ? "≥" : "") + formatNumber(Double(vs.hi)))
        let loW = p.text(loText, x: x, y: ly, scale: textScale, color: .ink)
        let hiW = BitmapFont.width(hiText, scale: textScale)
        p.text(hiText, x: x + w, y: ly, scale: textScale, color: .ink, align: .right)
        p.vline(x, y + barHeight, y + barHeight + 2, .ink)
        p.vline(x + w - 1, y + barHeight, y + barHeight + 2, .ink)
        // The centre value: 0 for symmetric scales, the offset for sigmoid, else the midpoint.
        let mid: Double
        switch vs.curve {
        case .linear: mid = Double(vs.lo + vs.hi) / 2
        case .sigmoid(_, let o): mid = Double(o)
        }
        let midText = formatNumber(abs(mid) < 1e-12 * Double(max(abs(vs.hi), abs(vs.lo))) ? 0 : mid)
        let mw = BitmapFont.width(midText, scale: textScale)
        let cx = x + w / 2
        if cx - mw / 2 > x + loW + 8 && cx + mw / 2 < x + w - hiW - 8 {
            p.text(midText, x: cx, y: ly, scale: textScale, color: .ink, align: .center)
            p.vline(cx, y + barHeight, y + barHeight + 2, .ink)
        }
        let cy = ly + BitmapFont.height(scale: textScale)
        let avail = p.width - x - Page.margin
        p.text(BitmapFont.truncated(caption, maxWidth: avail, scale: textScale), x: x, y: cy, scale: textScale, color: .mutedInk)
    }
}

/// Up to about `maxCount` round tick values covering [lo, hi] (1, 2, 5 × 10ⁿ steps).
func niceTicks(_ lo: Double, _ hi: Double, maxCount: Int) -> [Double] {
    guard hi > lo, maxCount >= 2, lo.isFinite, hi.isFinite else { return [lo] }
    let raw = (hi - lo) / Double(maxCount)
    let mag = pow(10, floor(log10(raw)))
    let step = [1.0, 2.0, 2.5, 5.0, 10.0].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
    var t = ceil(lo / step) * step
    var out: [Double] = []
    while t <= hi + step * 1e-9 && out.count < 100 {
        out.append(abs(t) < step * 1e-9 ? 0 : t)
        t += step
    }
    return out
}

/// Integer ticks for index axes (channel numbers), always including 0.
func indexTicks(count n: Int, maxCount: Int) -> [Int] {
    guard n > 1 else { return [0] }
    return niceTicks(0, Double(n - 1), maxCount: maxCount).map { Int($0.rounded()) }.filter { $0 >= 0 && $0 < n }
}

/// Greedy word wrap at spaces so every line fits `maxWidth`; a word longer than a line is
/// shortened with "…". Never returns an empty array.
func wrapText(_ text: String, maxWidth: Int, scale: Int) -> [String] {
    var lines: [String] = []
    var current = ""
    for word in text.split(separator: " ", omittingEmptySubsequences: false).map(String.init) {
        let candidate = current.isEmpty ? word : current + " " + word
        if BitmapFont.width(candidate, scale: scale) <= maxWidth {
            current = candidate
        } else {
            if !current.isEmpty { lines.append(current) }
            current = BitmapFont.truncated(word, maxWidth: maxWidth, scale: scale)
        }
    }
    if !current.isEmpty || lines.isEmpty { lines.append(current) }
    return lines
}
