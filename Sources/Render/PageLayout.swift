import OrderedJSON

/// Where the panels and tiles of a rendered page lie, so a viewer can name the channel under
/// the cursor. Written into the PNG as the text chunk `weightlens:layout` (docs/FRONTEND.md).
///
/// Each region is a rectangle split into `rows × cols` equal cells; cell (r, c) stands for row
/// index `rowIndex[r]` (or `r · rowStep` when absent) and column index `colIndex` likewise. A
/// step above 1 means each cell covers a block of indices (block-reduced heatmaps); the viewer
/// then shows the range `r · step … min(count, (r + 1) · step) − 1`.
public struct PageLayout: Sendable, Equatable {
    /// The PNG text chunk keyword the viewer looks for.
    public static let keyword = "weightlens:layout"
    /// Layouts longer than this are dropped rather than bloating the PNG (a kernel grid of
    /// 64 rows × 32 top-k columns serializes to about 10 kB).
    static let maxSerializedBytes = 1 << 20

    /// Column indices of a region: one list for every row, or one list per row (top-k grids).
    public enum ColumnIndex: Sendable, Equatable {
        case shared([Int])
        case perRow([[Int]])
    }

    /// How a region's cells relate to the weight, so a viewer can read the value under the
    /// pointer from `/weightlens/tensor`: `kernel` cells are `W[row, col]` drawn as a `kh × kw`
    /// picture at the cell's top-left (`cellW × cellH` px per weight, the rest of the cell is gap);
    /// `matrix` cells are `W[row]` flattened, element `col` (one pixel block per value).
    public enum Values: String, Sendable, Equatable { case kernel, matrix }

    public struct KernelCells: Sendable, Equatable {
        public var kh: Int, kw: Int, cellW: Int, cellH: Int
        public init(kh: Int, kw: Int, cellW: Int, cellH: Int) { (self.kh, self.kw, self.cellW, self.cellH) = (kh, kw, cellW, cellH) }
    }

    public struct Region: Sendable, Equatable {
        public var x: Int, y: Int, w: Int, h: Int
        public var label: String
        public var rows: Int = 0
        public var cols: Int = 0
        public var rowName: String? = nil
        public var colName: String? = nil
        public var rowIndex: [Int]? = nil
        public var colIndex: ColumnIndex? = nil
        /// Indices per cell along each axis (1 unless block-reduced).
        public var rowStep: Int = 1
        public var colStep: Int = 1
        /// Number of indices along each axis, which clips the last block's range.
        public var rowCount: Int? = nil
        public var colCount: Int? = nil
        /// Set when a cell stands for weight values (see `PageLayout.Values`).
        public var values: Values? = nil
        /// The kernel picture inside each cell of a `kernel` region.
        public var kernel: KernelCells? = nil

        public init(x: Int, y: Int, w: Int, h: Int, label: String) {
            (self.x, self.y, self.w, self.h, self.label) = (x, y, w, h, label)
        }

        /// Whether image pixel (px, py) lies inside.
        public func contains(x px: Int, y py: Int) -> Bool { px >= x && py >= y && px < x + w && py < y + h }

        /// The (row, column) index pair the pixel (px, py) stands for: the first index of its
        /// block when the region is block-reduced. Nil outside the region or when it has no cells.
        /// The same arithmetic as the viewer's `describeLayout`.
        public func indices(x px: Int, y py: Int) -> (row: Int, col: Int)? {
            guard contains(x: px, y: py), rows > 0, cols > 0 else { return nil }
            let r = min(rows - 1, (py - y) * rows / h)
            let c = min(cols - 1, (px - x) * cols / w)
            let row = rowIndex.map { $0[r] } ?? r * rowStep
            let col: Int
            switch colIndex {
            case .shared(let list): col = list[c]
            case .perRow(let lists): col = lists[r][c]
            case nil: col = c * colStep
            }
            return (row, col)
        }

        /// The weight element under pixel (px, py): `[row, col, position in the kernel]` for a
        /// `kernel` region (nil over the gap between kernels), `[row, col]` for a `matrix` region
        /// with one index per cell. The same arithmetic as the viewer's `locateLayout`.
        public func weightIndex(x px: Int, y py: Int) -> [Int]? {
            guard let values, let (row, col) = indices(x: px, y: py) else { return nil }
            switch values {
            case .matrix:
                return rowStep == 1 && colStep == 1 ? [row, col] : nil
            case .kernel:
                guard let k = kernel, k.cellW > 0, k.cellH > 0 else { return nil }
                let r = min(rows - 1, (py - y) * rows / h), c = min(cols - 1, (px - x) * cols / w)
                let box = cell(row: r, col: c)
                let kx = (px - box.x) / k.cellW, ky = (py - box.y) / k.cellH
                guard px >= box.x, py >= box.y, kx < k.kw, ky < k.kh else { return nil }
                return [row, col, ky * k.kw + kx]
            }
        }

        /// The pixel rectangle of cell (r, c).
        public func cell(row r: Int, col c: Int) -> (x: Int, y: Int, w: Int, h: Int) {
            let x0 = x + (c * w + cols - 1) / cols, x1 = x + ((c + 1) * w + cols - 1) / cols
            let y0 = y + (r * h + rows - 1) / rows, y1 = y + ((r + 1) * h + rows - 1) / rows
            return (x0, y0, x1 - x0, y1 - y0)
        }

        var json: JSON {
            var o = JSONObject()
            o.set("x", .int(Int64(x))); o.set("y", .int(Int64(y)))
            o.set("w", .int(Int64(w))); o.set("h", .int(Int64(h)))
            o.set("label", .string(label))
            if rows > 0 && cols > 0 {
                o.set("rows", .int(Int64(rows))); o.set("cols", .int(Int64(cols)))
                if let rowName { o.set("row_name", .string(rowName)) }
                if let colName { o.set("col_name", .string(colName)) }
                if let rowIndex { o.set("row_index", .array(rowIndex.map { .int(Int64($0)) })) }
                switch colIndex {
                case .shared(let list): o.set("col_index", .array(list.map { .int(Int64($0)) }))
                case .perRow(let lists): o.set("col_index", .array(lists.map { .array($0.map { .int(Int64($0)) }) }))
                case nil: break
                }
                if rowStep > 1 { o.set("row_step", .int(Int64(rowStep))) }
                if colStep > 1 { o.set("col_step", .int(Int64(colStep))) }
                if let rowCount { o.set("row_count", .int(Int64(rowCount))) }
                if let colCount { o.set("col_count", .int(Int64(colCount))) }
                if let values { o.set("values", .string(values.rawValue)) }
                if let kernel {
                    o.set("kernel", .object(JSONObject([("kh", .int(Int64(kernel.kh))), ("kw", .int(Int64(kernel.kw))),
                                                        ("cell_w", .int(Int64(kernel.cellW))), ("cell_h", .int(Int64(kernel.cellH)))])))
                }
            }
            return .object(o)
        }

        /// Reads a region back; nil when a required member is missing, mistyped or inconsistent.
        init?(json: JSON) {
            func int(_ key: String) -> Int? { json[key]?.intValue.flatMap { Int(exactly: $0) } }
            func ints(_ j: JSON?) -> [Int]? {
                guard let a = j?.arrayValue else { return nil }
                let out = a.compactMap { $0.intValue.flatMap { Int(exactly: $0) } }
                return out.count == a.count ? out : nil
            }
            guard let x = int("x"), let y = int("y"), let w = int("w"), let h = int("h"), w > 0, h > 0 else { return nil }
            self.init(x: x, y: y, w: w, h: h, label: json["label"]?.stringValue ?? "")
            rows = int("rows") ?? 0
            cols = int("cols") ?? 0
            guard rows >= 0, cols >= 0 else { return nil }
            rowName = json["row_name"]?.stringValue
            colName = json["col_name"]?.stringValue
            if let j = json["row_index"] {
                guard let list = ints(j), list.count == rows else { return nil }
                rowIndex = list
            }
            if let j = json["col_index"] {
                if let list = ints(j), list.count == cols {
                    colIndex = .shared(list)
                } else if let outer = j.arrayValue, outer.count == rows {
                    let lists = outer.compactMap { ints($0) }
                    guard lists.count == rows, lists.allSatisfy({ $0.count == cols }) else { return nil }
                    colIndex = .perRow(lists)
                } else {
                    return nil
                }
            }
            rowStep = max(1, int("row_step") ?? 1)
            colStep = max(1, int("col_step") ?? 1)
            rowCount = int("row_count")
            colCount = int("col_count")
            values = json["values"]?.stringValue.flatMap(Values.init(rawValue:))
            if let k = json["kernel"] {
                func int(_ key: String) -> Int? { k[key]?.intValue.flatMap { Int(exactly: $0) } }
                guard let kh = int("kh"), let kw = int("kw"), let cw = int("cell_w"), let ch = int("cell_h"),
                      kh > 0, kw > 0, cw > 0, ch > 0 else { return nil }
                kernel = KernelCells(kh: kh, kw: kw, cellW: cw, cellH: ch)
            }
        }
    }

    public var regions: [Region]

    public init(regions: [Region] = []) { self.regions = regions }

    /// The first region containing pixel (x, y), as the viewer picks it.
    public func region(atX x: Int, y: Int) -> Region? { regions.first { $0.contains(x: x, y: y) } }

    /// Compact JSON, the text of the chunk.
    public func serialized() -> String {
        JSON.object(JSONObject([("regions", .array(regions.map(\.json)))])).serialized()
    }

    /// Parses the chunk text; nil when it is not a layout.
    public init?(parsing text: String) {
        guard let json = try? JSON.parse(Array(text.utf8)), let list = json["regions"]?.arrayValue else { return nil }
        var regions: [Region] = []
        for item in list {
            guard let r = Region(json: item) else { return nil }
            regions.append(r)
        }
        self.regions = regions
    }
}
