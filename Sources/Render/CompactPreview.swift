import Analysis
import CKernels
import Dispatch
import TensorCore

/// Pictures made for a node in ComfyUI's canvas rather than for a page: 512 px wide, so the
/// frontend draws them at about their own size (a node is 400–560 px wide), with a title, a few
/// numbers at a legible text size, and the picture itself large. The full-resolution pages stay
/// what they were; the node offers them one click away.
///
/// Any node can use `compose` with its own cells (a grid of colours, scaled up to fill the
/// width); `weights` is the compact form of the `weights` view.
public enum CompactPreview {
    public static let width = 512
    /// The picture's largest height, so a preview never makes a node taller than a screen.
    public static let maxPictureHeight = 512
    static let textScale = 2

    /// Title, fact lines, then `rows × cols` colour cells scaled up by a whole factor to fill the
    /// width (at most `maxPictureHeight` high); `caption` under the picture.
    public static func compose(title: String, facts: [String], cells: [RGBA], rows: Int, cols: Int,
                               caption: String = "") -> RenderedImage {
        precondition(cells.count == rows * cols && rows > 0 && cols > 0)
        let avail = width - 2 * Page.margin
        let titleScale = BitmapFont.fittingScale(title, maxWidth: avail, range: 2...3)
        var lines: [(String, Int, RGBA)] = [(BitmapFont.truncatedHead(title, maxWidth: avail, scale: titleScale), titleScale, .ink)]
        for fact in facts {
            for piece in wrapText(fact, maxWidth: avail, scale: textScale) { lines.append((piece, textScale, .mutedInk)) }
        }
        let cell = max(1, min(avail / cols, maxPictureHeight / rows))
        let pictureW = cols * cell, pictureH = rows * cell
        let captionLines = caption.isEmpty ? [] : wrapText(caption, maxWidth: avail, scale: textScale)
        let textH = lines.reduce(0) { $0 + BitmapFont.height(scale: $1.1) }
        let height = Page.margin + textH + 8 + pictureH + 8 + captionLines.count * BitmapFont.height(scale: textScale) + Page.margin
        var p = Painter(width: width, height: height)
        var y = Page.margin
        for (text, scale, color) in lines {
            p.text(text, x: Page.margin, y: y, scale: scale, color: color)
            y += BitmapFont.height(scale: scale)
        }
        y += 8
        p.cells(cells, rows: rows, cols: cols, x: (width - pictureW) / 2, y: y, cellW: cell, cellH: cell)
        y += pictureH + 8
        for piece in captionLines {
            p.text(piece, x: Page.margin, y: y, scale: textScale, color: .mutedInk)
            y += BitmapFont.height(scale: textScale)
        }
        let png = (try? PNGEncoder.encode(p.canvas, options: PNGOptions())) ?? []
        return RenderedImage(png: png, width: width, height: height, title: "Preview")
    }

    /// The `weights` view made compact: for a conv the first filters (rows) × first input
    /// channels (columns) as large kernels, the RGB filter first for 3-channel inputs; for a
    /// linear layer (or 1×1 conv) the matrix block-reduced by max |v|; for a vector, bars of cells.
    /// `facts` come first under the title (what the node wants to say: shown/total, where the
    /// full pages are).
    public static func weights(weight: Tensor, info: LayerInfo, options: RenderOptions, facts: [String]) -> RenderedImage {
        let g = KernelGeometry(shape: weight.shape)
        let map = ColorMap(options.colormap)
        let meta = "\(formatShape(info.shape)) · \(formatCount(info.parameters)) parameters · \(info.dtype)"
        if weight.rank > 2 && g.kernelSize > 1 && g.kh <= 64 && g.kw <= 64 {
            let rows = max(1, min(g.out, options.numFilters, 8))
            let rgb = g.inputs == 3
            let inputs = min(g.inputs, rgb ? 3 : 8)
            let ks = g.kernelSize
            var shown = [Float]()
            for r in 0..<rows { for i in 0..<inputs { let b = (r * g.inputs + i) * ks; shown += weight.values[b..<(b + ks)] } }
            let scale = ValueScale.make(values: shown, transform: options.transform, map: options.colormap,
                                        clipPercentile: options.clipPercentile)
            let tiles = inputs + (rgb ? 1 : 0)
            let cols = tiles * (g.kw + 1) - 1, gridRows = rows * (g.kh + 1) - 1
            var cells = [RGBA](repeating: .white, count: cols * gridRows)
            for r in 0..<rows {
                var tile = 0
                if rgb {
                    let colors = KernelGrid.rgbKernel(weight.values, row: r, g: g)
                    put(colors, kh: g.kh, kw: g.kw, row: r, tile: 0, cols: cols, into: &cells)
                    tile = 1
                }
                for i in 0..<inputs {
                    let b = (r * g.inputs + i) * ks
                    let colors = (0..<ks).map { map.color(scale.position(weight.values[b + $0])) }
                    put(colors, kh: g.kh, kw: g.kw, row: r, tile: tile + i, cols: cols, into: &cells)
                }
            }
            let what = "filters 0–\(rows - 1) of \(g.out) (rows) × " + (rgb ? "RGB, then R, G, B" : "inputs 0–\(inputs - 1) of \(g.inputs)")
            return compose(title: info.name, facts: [meta, what] + facts, cells: cells, rows: gridRows, cols: cols,
                           caption: "\(options.colormap.rawValue) · \(scale.transformLabel) · \(g.kh)×\(g.kw) kernels")
        }
        let m = weight.matrixShape
        let (reduced, rows, cols, rs, cs) = weight.values.withUnsafeBufferPointer {
            blockMaxAbs($0, rows: m.rows, cols: m.cols, limit: 128)
        }
        let scale = ValueScale.make(values: reduced, transform: options.transform, map: options.colormap,
                                    clipPercentile: options.clipPercentile)
        let cells = reduced.map { map.color(scale.position($0)) }
        let what = rs * cs > 1 ? "\(m.rows) × \(m.cols) matrix, each cell the largest |v| of \(rs)×\(cs)" : "\(m.rows) × \(m.cols) matrix"
        return compose(title: info.name, facts: [meta, what] + facts, cells: cells, rows: rows, cols: cols,
                       caption: "\(options.colormap.rawValue) · \(scale.transformLabel)")
    }

    /// `rows × cols` values shrunk by whole block factors `rs × cs` to at most `limit` per side. Each
    /// block keeps the first value (in row-major order) of largest |v|; a NaN replaces what came
    /// before it (so does the value after it). Rows of blocks are independent, so they run in
    /// parallel, in a fixed number of jobs: on a 12288 × 3072 layer this is a full pass over 37.7 M
    /// values. Rows of blocks without NaN or infinity take a vector path with the same result: the
    /// block's rows are folded by max |v| per column (CKernels `fold_maxabs`), and the winner is the
    /// first row-major element whose |v| is the block's maximum (0 when that is 0, as the scan,
    /// which starts at +0 and replaces only on a strictly larger |v|, keeps it). Other rows of
    /// blocks are scanned one value at a time, as defined.
    static func blockMaxAbs(_ values: UnsafeBufferPointer<Float>, rows height: Int, cols width: Int,
                            limit: Int) -> (values: [Float], rows: Int, cols: Int, rs: Int, cs: Int) {
        let rs = (height + limit - 1) / limit, cs = (width + limit - 1) / limit
        let rows = (height + rs - 1) / rs, cols = (width + cs - 1) / cs
        var reduced = [Float](repeating: 0, count: rows * cols)
        let jobs = min(rows, max(1, height * width / (1 << 20)), 16)
        guard let base = values.baseAddress, !reduced.isEmpty else { return (reduced, rows, cols, rs, cs) }
        nonisolated(unsafe) let kernels = wl_current()
        reduced.withUnsafeMutableBufferPointer { out in
            nonisolated(unsafe) let src = base, dst = out.baseAddress!
            DispatchQueue.concurrentPerform(iterations: jobs) { job in
                let fold = UnsafeMutablePointer<Float>.allocate(capacity: width)
                defer { fold.deallocate() }
                for br in (job * rows / jobs)..<((job + 1) * rows / jobs) {
                    let o = dst + br * cols
                    let r0 = br * rs, r1 = min(height, r0 + rs)
                    if firstNonFinite(src, (r0 * width)..<(r1 * width)) == nil {
                        fold.update(repeating: 0, count: width)
                        for r in r0..<r1 { kernels.pointee.fold_maxabs(fold, src + r * width, width) }
                        for bc in 0..<cols {
                            let c0 = bc * cs, c1 = min(width, c0 + cs)
                            var m: Float = 0
                            for c in c0..<c1 { m = max(m, abs(fold[c])) }
                            guard m > 0 else { o[bc] = 0; continue }
                            // Each column holding the maximum: its first row reaching it; the
                            // earliest row wins, then the leftmost column.
                            var bestRow = r1, bestCol = c0
                            for c in c0..<c1 where abs(fold[c]) == m {
                                var r = r0
                                while r < bestRow && abs(src[r * width + c]) != m { r += 1 }
                                if r < bestRow { bestRow = r; bestCol = c }
                            }
                            o[bc] = src[bestRow * width + bestCol]
                        }
                        continue
                    }
                    for r in r0..<r1 {
                        let row = src + r * width
                        for bc in 0..<cols {
                            var best = o[bc]
                            for c in (bc * cs)..<min(width, (bc + 1) * cs) {
                                let v = row[c]
                                if !(abs(best) >= abs(v)) { best = v }
                            }
                            o[bc] = best
                        }
                    }
                }
            }
        }
        return (reduced, rows, cols, rs, cs)
    }

    private static func put(_ colors: [RGBA], kh: Int, kw: Int, row: Int, tile: Int, cols: Int, into cells: inout [RGBA]) {
        let y0 = row * (kh + 1), x0 = tile * (kw + 1)
        for y in 0..<kh { for x in 0..<kw { cells[(y0 + y) * cols + x0 + x] = colors[y * kw + x] } }
    }
}
