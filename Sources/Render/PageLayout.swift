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
