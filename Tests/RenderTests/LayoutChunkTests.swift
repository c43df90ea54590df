import Testing
@testable import Render
import TensorCore

/// The `weightlens:layout` chunk read back through libpng: its cells must sit where the
/// pictured channels are, so the viewer's hover read-out names the right one.
@Suite struct LayoutChunkTests {
    static func layout(of image: RenderedImage) throws -> PageLayout {
        let text = try #require(try PNGDecoder.text(image.png, keyword: PageLayout.keyword))
        return try #require(PageLayout(parsing: text))
    }

    /// Every pixel of cell (r, c) of `region` that has `color`, counted.
    static func count(_ color: RGBA, in cell: (x: Int, y: Int, w: Int, h: Int), of pic: Picture) -> Int {
        var n = 0
        for y in cell.y..<(cell.y + cell.h) { for x in cell.x..<(cell.x + cell.w) where pic.rgba(x, y) == color { n += 1 } }
        return n
    }

    /// A conv [6, 8, 3, 3], zero except one strongly positive kernel at (out 2, in 5).
    static func oneKernelConv(inputs: Int = 8) -> Tensor {
        var v = [Float](repeating: 0, count: 6 * inputs * 9)
        for j in 0..<9 { v[(2 * inputs + 5) * 9 + j] = 1 }
        return Tensor(shape: [6, inputs, 3, 3], values: v)
    }

    @Test func kernelGrid_cellOfOut2In5_holdsTheRedKernel() throws {
        let t = Self.oneKernelConv()
        let image = try LayerRenderer.render(.weights, weight: t, layer: info("conv", t), options: noClip())[0]
        let pic = try Picture(image)
        let layout = try Self.layout(of: image)
        let grid = try #require(layout.regions.first { $0.label == "weights" })
        #expect(grid.rows == 6 && grid.cols == 8 && grid.rowName == "out" && grid.colName == "in")
        let red = ColorMap(.diverging).color(1)
        // The whole red tile lies in cell (2, 5), and no other cell has any red.
        let tile = try #require(pic.regions(of: red, minSide: 8).first)
        let cell = grid.cell(row: 2, col: 5)
        #expect(tile.x >= cell.x && tile.y >= cell.y && tile.x + tile.w <= cell.x + cell.w && tile.y + tile.h <= cell.y + cell.h)
        #expect(Self.count(red, in: cell, of: pic) == tile.w * tile.h)
        for r in 0..<grid.rows { for c in 0..<grid.cols where (r, c) != (2, 5) {
            #expect(Self.count(red, in: grid.cell(row: r, col: c), of: pic) == 0)
        } }
        // The tile's centre reads back as (out 2, in 5).
        let hit = try #require(layout.region(atX: tile.x + tile.w / 2, y: tile.y + tile.h / 2)?.indices(x: tile.x + tile.w / 2, y: tile.y + tile.h / 2))
        #expect(hit == (2, 5))
    }

    @Test func topKGrid_namesTheInputChannelOfEachColumn() throws {
        // 300 inputs do not fit as columns: each row lists its strongest; row 2's is input 5.
        var v = pseudoRandom(6 * 300 * 9, seed: 3).map { $0 * 0.01 }
        for j in 0..<9 { v[(2 * 300 + 5) * 9 + j] = 1 }
        let t = Tensor(shape: [6, 300, 3, 3], values: v)
        let image = try LayerRenderer.render(.weights, weight: t, layer: info("wide", t), options: noClip())[0]
        let pic = try Picture(image)
        let grid = try #require(try Self.layout(of: image).regions.first { $0.label == "weights" })
        guard case .perRow(let picks) = grid.colIndex else { Issue.record("expected per-row column indices"); return }
        #expect(picks.count == grid.rows && picks.allSatisfy { $0.count == grid.cols })
        // The strongest input comes first in its row, and its tile there is the page's only red one.
        #expect(picks[2][0] == 5)
        let red = ColorMap(.diverging).color(1)
        let tile = try #require(pic.regions(of: red, minSide: 8).first)
        let hit = try #require(grid.indices(x: tile.x + 1, y: tile.y + 1))
        #expect(hit == (2, 5))
    }

    @Test func blockReducedHeatmap_cellsCoverIndexBlocks() throws {
        // 3000 × 40 linear: rows are block-reduced; output row 2345 alone is strongly positive.
        var v = [Float](repeating: 0, count: 3000 * 40)
        v[2345 * 40 + 17] = 1
        v[0] = -1
        let t = Tensor(shape: [3000, 40], values: v)
        let image = try LayerRenderer.render(.weights, weight: t, layer: info("lin", t), options: noClip())[0]
        let pic = try Picture(image)
        let region = try #require(try Self.layout(of: image).regions.first { $0.label == "weights" })
        #expect(region.rowStep > 1 && region.rowCount == 3000 && region.colStep == 1)
        #expect(region.rowName == "out" && region.colName == "in")
        let r = 2345 / region.rowStep
        let cell = region.cell(row: r, col: 17)
        let red = ColorMap(.diverging).color(1)
        #expect(Self.count(red, in: cell, of: pic) == cell.w * cell.h)
        let hit = try #require(region.indices(x: cell.x, y: cell.y))
        #expect(hit.row == r * region.rowStep && hit.row <= 2345 && 2345 < hit.row + region.rowStep && hit.col == 17)
    }

    @Test func expandedView_namesComponentsAndChannels() throws {
        let t = Tensor(shape: [12, 10], values: pseudoRandom(120, seed: 8))
        var options = RenderOptions()
        options.components = 2
        let image = try LayerRenderer.render(.expanded, weight: t, layer: info("lin", t), options: options)[0]
        let layout = try Self.layout(of: image)
        let u = try #require(layout.regions.first { $0.label == "component 1 u" })
        #expect(u.cols == 12 && u.colName == "out")
        #expect(layout.regions.contains { $0.label == "component 2 v" && $0.cols == 10 && $0.colName == "in" })
        // The last bar's slot reads as output channel 11.
        #expect(u.indices(x: u.x + u.w - 1, y: u.y)?.col == 11)
    }

    @Test func expandedConv_montageNamesTheStrongestInputFirst() throws {
        // Rank one: W[o, i] = a[o] · b[i] · kernel, with input 3 by far the largest b.
        let a = pseudoRandom(6, seed: 2).map { $0 + 2 }
        var b = pseudoRandom(10, seed: 4).map { $0 * 0.1 }
        b[3] = 5
        let kernel = pseudoRandom(9, seed: 7)
        var v = [Float](repeating: 0, count: 6 * 10 * 9)
        for o in 0..<6 { for i in 0..<10 { for j in 0..<9 { v[(o * 10 + i) * 9 + j] = a[o] * b[i] * kernel[j] } } }
        let t = Tensor(shape: [6, 10, 3, 3], values: v)
        var options = RenderOptions()
        options.components = 1
        let image = try LayerRenderer.render(.expanded, weight: t, layer: info("conv", t), options: options)[0]
        let layout = try Self.layout(of: image)
        let montage = try #require(layout.regions.first { $0.label == "component 1 v" })
        guard case .shared(let channels) = montage.colIndex else { Issue.record("expected the tiles' channels"); return }
        #expect(channels.first == 3 && Set(channels).count == channels.count)
        #expect(montage.indices(x: montage.x + 1, y: montage.y + 1)?.col == 3)
        // Outside the charts the component row still names its component.
        #expect(layout.region(atX: 2, y: montage.y + 1)?.label == "component 1")
    }

    @Test func kernelGrid_weightIndexNamesThePixelsWeightAndNothingOverGaps() throws {
        // Distinct values per weight: a pixel's colour must be that of the weight its index names.
        let t = Tensor(shape: [4, 5, 3, 2], values: (0..<(4 * 5 * 6)).map { Float($0 % 11) - 5 })
        var o = noClip()
        o.colormap = .viridis
        let image = try LayerRenderer.render(.weights, weight: t, layer: info("conv", t), options: o)[0]
        let pic = try Picture(image)
        let grid = try #require(try Self.layout(of: image).regions.first { $0.label == "weights" })
        #expect(grid.values == .kernel && grid.kernel?.kh == 3 && grid.kernel?.kw == 2)
        let scale = ValueScale.make(values: t.values, transform: o.transform, map: .viridis, clipPercentile: nil)
        let map = ColorMap(.viridis)
        var hits = 0, gaps = 0
        for y in grid.y..<(grid.y + grid.h) { for x in grid.x..<(grid.x + grid.w) {
            guard let idx = grid.weightIndex(x: x, y: y) else {
                gaps += 1
                #expect(pic.rgba(x, y) == .white, "gap pixel (\(x), \(y)) is not white space")
                continue
            }
            hits += 1
            let v = t.values[(idx[0] * 5 + idx[1]) * 6 + idx[2]]
            #expect(pic.rgba(x, y) == map.color(scale.position(v)), "pixel (\(x), \(y)) → \(idx)")
        } }
        #expect(hits >= 4 * 5 * 6 && gaps > 0)
    }

    @Test func layout_roundTripsThroughJSON() throws {
        var r = PageLayout.Region(x: 3, y: 4, w: 50, h: 60, label: "weights")
        r.rows = 2; r.cols = 3; r.rowName = "out"; r.colName = "in"
        r.values = .kernel; r.kernel = PageLayout.KernelCells(kh: 3, kw: 3, cellW: 4, cellH: 5)
        r.colIndex = .perRow([[7, 8, 9], [1, 2, 3]])
        var s = PageLayout.Region(x: 0, y: 0, w: 10, h: 10, label: "heat")
        s.rows = 5; s.cols = 5; s.rowStep = 4; s.rowCount = 18; s.values = .matrix
        let layout = PageLayout(regions: [r, s, PageLayout.Region(x: 1, y: 1, w: 1, h: 1, label: "note")])
        #expect(PageLayout(parsing: layout.serialized()) == layout)
        #expect(PageLayout(parsing: "{\"regions\": [{\"x\": 0}]}") == nil)
        #expect(PageLayout(parsing: "not json") == nil)
    }

    @Test func pagesWithoutChannels_haveNoChunk_andBadPNGsAreErrors() throws {
        let t = Tensor(shape: [20], values: pseudoRandom(20, seed: 1))
        let image = try LayerRenderer.render(.weights, weight: t, layer: info("bias", t))[0]
        #expect(try PNGDecoder.text(image.png, keyword: PageLayout.keyword) == nil)
        #expect(throws: RenderError.self) { try PNGDecoder.text(Array(image.png.prefix(40)), keyword: PageLayout.keyword) }
        #expect(throws: RenderError.self) { try PNGDecoder.text([1, 2, 3], keyword: PageLayout.keyword) }
    }
}
