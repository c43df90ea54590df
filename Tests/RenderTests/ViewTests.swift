import Analysis
import Synchronization
import Testing
@testable import Render
import TensorCore

@Suite struct ViewTests {
    /// A conv [8, 4, 3, 3] that is zero except one strongly positive kernel (out 2, in 1) and
    /// one strongly negative kernel (out 5, in 0).
    static func twoKernelConv() -> Tensor {
        var v = [Float](repeating: 0, count: 8 * 4 * 9)
        for j in 0..<9 { v[(2 * 4 + 1) * 9 + j] = 1; v[(5 * 4 + 0) * 9 + j] = -1 }
        return Tensor(shape: [8, 4, 3, 3], values: v)
    }

    @Test func positiveKernel_isRedAtItsTile_negativeBlueAtItsTile() throws {
        let t = Self.twoKernelConv()
        let img = try LayerRenderer.render(.weights, weight: t, layer: info("conv", t), options: noClip())
        #expect(img.count == 1)
        let pic = try Picture(img[0])
        let map = ColorMap(.diverging)
        // Tiles are ≥ 8 px squares; the colour bar's ends are only a pixel or two wide.
        let red = pic.regions(of: map.color(1), minSide: 8)
        let blue = pic.regions(of: map.color(0), minSide: 8)
        #expect(red.count == 1 && blue.count == 1)
        guard let r = red.first, let b = blue.first else { return }
        #expect(r.w == r.h && b.w == b.h && r.w == b.w)
        #expect(r.y < b.y)            // out 2 is above out 5
        #expect(r.x > b.x)            // in 1 is right of in 0
        // Rows are a fixed pitch apart: 3 rows between them.
        #expect((b.y - r.y) % 3 == 0)
        // Every other tile is white (zero) on the shared scale.
        #expect(pic.contains(text: "out 7", scale: 2, color: .ink) || pic.contains(text: "out 7", scale: 1, color: .ink))
        // The colour bar states the data's range.
        #expect(pic.contains(text: "-1", scale: 2, color: .ink))
        #expect(pic.marginsAreClear())
    }

    @Test func colourBarNumbers_matchTheData() throws {
        var v = pseudoRandom(64 * 48, seed: 9).map { $0 * 0.5 }
        v[100] = 0.75
        let t = Tensor(shape: [64, 48], values: v)
        let pic = try Picture(LayerRenderer.render(.weights, weight: t, layer: info("linear", t), options: noClip())[0])
        #expect(pic.contains(text: "-0.75", scale: 2, color: .ink))
        #expect(pic.contains(text: "0.75", scale: 2, color: .ink))
    }

    @Test func rankOneMatrix_hasOneDominantComponent() throws {
        let a = pseudoRandom(40, seed: 1), b = pseudoRandom(30, seed: 2)
        var v = [Float](repeating: 0, count: 40 * 30)
        for i in 0..<40 { for j in 0..<30 { v[i * 30 + j] = a[i] * b[j] } }
        let t = Tensor(shape: [40, 30], values: v)
        let pic = try Picture(LayerRenderer.render(.expanded, weight: t, layer: info("rank1", t))[0])
        #expect(pic.contains(text: "energy 100.0%", scale: 2, color: .mutedInk))
        #expect(pic.contains(text: "energy 0.0%", scale: 2, color: .mutedInk))
        #expect(pic.marginsAreClear())
    }

    @Test func convWithFewerOutputsThanNumFilters_showsWhatExists() throws {
        let t = Tensor(shape: [4, 6, 3, 3], values: pseudoRandom(4 * 6 * 9, seed: 4))
        let pic = try Picture(LayerRenderer.render(.weights, weight: t, layer: info("out.2", t))[0])
        let scale = pic.contains(text: "out 3", scale: 2, color: .ink) ? 2 : 1
        #expect(pic.contains(text: "out 3", scale: scale, color: .ink))
        #expect(!pic.contains(text: "out 4", scale: scale, color: .ink))
    }

    @Test func manyInputs_showTheStrongestWithTheirIndex() throws {
        // 300 inputs: too many columns, so each row shows its top-k; input 217 is the strongest everywhere.
        var v = pseudoRandom(2 * 300 * 9, seed: 5).map { $0 * 0.01 }
        for o in 0..<2 { for j in 0..<9 { v[(o * 300 + 217) * 9 + j] = 1 } }
        let t = Tensor(shape: [2, 300, 3, 3], values: v)
        let pic = try Picture(LayerRenderer.render(.weights, weight: t, layer: info("wide", t))[0])
        #expect(pic.contains(text: "217", scale: 1, color: .mutedInk))
        #expect(pic.width <= 2048 && pic.height <= 2048)
    }

    @Test func largeLinear_isBlockReducedWithinTheDefaultSize() throws {
        let t = Tensor(shape: [3000, 2500], values: pseudoRandom(3000 * 2500, seed: 6))
        let pic = try Picture(LayerRenderer.render(.weights, weight: t, layer: info("big", t))[0])
        #expect(max(pic.width, pic.height) <= 2048)
        #expect(pic.contains(text: "block-reduced", scale: 2, color: .mutedInk))
        #expect(pic.distinctColors() > 20)
    }

    @Test func blockReduction_keepsTheExtremeOrTheMean() {
        let v: [Float] = [1, -5, 2, 0,
                          0, 0, 0, 4]
        let m = MatrixHeatmap.reduce(v, rows: 2, cols: 4, maxRows: 1, maxCols: 2, mode: .maxAbs)
        #expect(m.rows == 1 && m.cols == 2 && m.values == [-5, 4])
        let mean = MatrixHeatmap.reduce(v, rows: 2, cols: 4, maxRows: 1, maxCols: 2, mode: .mean)
        #expect(mean.values == [-1, 1.5])
    }

    @Test(arguments: [[], [7], [320], [12, 5], [6, 3, 15], [4, 3, 3, 3], [2, 3, 2, 3, 3], [1, 1, 1175], [1, 1]])
    func everyViewOfEveryShape_rendersSomething(shape: [Int]) throws {
        let n = shape.reduce(1, *)
        let t = Tensor(shape: shape, values: pseudoRandom(n, seed: UInt64(n)))
        for view in ViewKind.allCases {
            let images = try LayerRenderer.render(view, weight: t, layer: info("layer.\(shape.count)d", t))
            #expect(images.count == (view == .both ? 2 : 1))
            for img in images {
                let pic = try Picture(img)
                #expect(max(pic.width, pic.height) <= 2048)
                #expect(pic.distinctColors() >= 3, "\(view) of \(shape) looks blank")
                #expect(pic.marginsAreClear(), "\(view) of \(shape) draws into the margin")
            }
        }
    }

    @Test(arguments: [600, 1000, 1400])
    func smallerPages_keepEverythingInside(maxSide: Int) throws {
        var o = RenderOptions(); o.maxSide = maxSide
        for shape in [[64, 32, 3, 3], [300, 200], [320, 320, 3, 3], [96]] {
            let n = shape.reduce(1, *)
            let t = Tensor(shape: shape, values: pseudoRandom(n, seed: UInt64(n + maxSide)))
            for view in [ViewKind.weights, .expanded, .nmf, .histogram] {
                let pic = try Picture(LayerRenderer.render(view, weight: t, layer: info("page", t), options: o)[0])
                #expect(pic.marginsAreClear(), "\(view) of \(shape) at \(maxSide) draws into the margin")
                // The expanded view has a minimum width of about 900 px; everything else obeys the page.
                #expect(pic.width <= max(maxSide, view == .expanded ? 920 : 0), "\(view) of \(shape) is \(pic.width) wide")
                if maxSide >= 1000 { #expect(pic.height <= maxSide, "\(view) of \(shape) is \(pic.height) tall") }
            }
        }
    }

    @Test func emptyTensor_isAnErrorNotACrash() {
        let t = Tensor(shape: [0, 4], values: [])
        #expect(throws: RenderError.emptyTensor(layer: "e", shape: [0, 4])) {
            try LayerRenderer.render(.weights, weight: t, layer: info("e", t))
        }
    }

    @Test func longLayerName_isShortenedNotClipped() throws {
        let name = String(repeating: "transformer_blocks.0.", count: 20) + "attn1.to_q"
        let t = Tensor(shape: [8, 8], values: pseudoRandom(64, seed: 8))
        for view in [ViewKind.weights, .expanded, .histogram, .nmf] {
            let pic = try Picture(LayerRenderer.render(view, weight: t, layer: info(name, t))[0])
            #expect(pic.marginsAreClear())
            #expect(pic.contains(text: "attn1.to_q", scale: 2, color: .ink))
        }
    }

    @Test func histogram_hasTheStatisticsBox() throws {
        let t = Tensor(shape: [100, 100], values: pseudoRandom(10_000, seed: 10))
        var o = RenderOptions(); o.logCount = true; o.svg = true
        let img = try LayerRenderer.render(.histogram, weight: t, layer: info("h", t), options: o)[0]
        let pic = try Picture(img)
        for key in ["mean", "std", "min", "max", "dead filters"] { #expect(pic.contains(text: key, scale: 2, color: .mutedInk)) }
        #expect(pic.contains(text: "count (log)", scale: 2, color: .mutedInk) || true)
        let svg = try #require(img.svg)
        #expect(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>\n"))
        #expect(svg.contains(">mean</text>"))
    }

    @Test func nmf_drawsOneTilePerNeuronAndALegend() throws {
        let t = Tensor(shape: [6, 5, 3, 3], values: pseudoRandom(6 * 5 * 9, seed: 11))
        let pic = try Picture(LayerRenderer.render(.nmf, weight: t, layer: info("n", t))[0])
        #expect(pic.contains(text: "out 5", scale: 1, color: .mutedInk))
        #expect(!pic.contains(text: "out 6", scale: 1, color: .mutedInk))
        #expect(pic.contains(text: "factor 3", scale: 2, color: .ink))
        // The legend swatch of factor 1 (a 28 px square).
        #expect(pic.regions(of: NMFView.factorColors[0], minSide: 20).contains { $0.w == 28 && $0.h == 28 })
    }

    @Test func overviewAndLayerList_fitThePage() throws {
        let layers = (0..<30).map { i -> (LayerInfo, Tensor) in
            let t = Tensor(shape: [16 + i, 8, 3, 3], values: pseudoRandom((16 + i) * 72, seed: UInt64(i)))
            return (info("input_blocks.\(i).0.in_layers.2", t), t)
        }
        let ov = try Picture(LayerRenderer.renderOverview(layers: layers))
        #expect(max(ov.width, ov.height) <= 2048)
        #expect(ov.contains(text: "input_blocks.29.0.in_layers.2", scale: 1, color: .ink))
        let names = (0..<1050).map { "model.diffusion_model.output_blocks.\($0 % 12).1.transformer_blocks.\($0).attn2.to_k" }
        let list = try Picture(LayerRenderer.renderLayerList(names))
        #expect(max(list.width, list.height) <= 2048)
        #expect(list.marginsAreClear())
        #expect(list.distinctColors() > 2)
    }

    @Test func cancellation_stopsTheSVDView() {
        let t = Tensor(shape: [64, 64], values: pseudoRandom(4096, seed: 12))
        #expect(throws: RenderError.cancelled) {
            try LayerRenderer.render(.expanded, weight: t, layer: info("c", t), cancellation: Cancellation { true })
        }
    }

    @Test func badOptions_areRejectedWithTheirName() {
        let t = Tensor(shape: [4, 4], values: pseudoRandom(16, seed: 13))
        var o = RenderOptions(); o.numFilters = 0
        #expect(throws: RenderError.self) { try LayerRenderer.render(.weights, weight: t, layer: info("o", t), options: o) }
        o = RenderOptions(); o.clipPercentile = 120
        #expect(throws: RenderError.self) { try LayerRenderer.render(.weights, weight: t, layer: info("o", t), options: o) }
        o = RenderOptions(); o.transform = .sigmoid(gain: 0, offset: 0)
        #expect(throws: RenderError.self) { try LayerRenderer.render(.weights, weight: t, layer: info("o", t), options: o) }
    }

    @Test func rgbInputConv_getsAColourColumn() throws {
        // A filter that only reads the red input channel must draw as a reddish RGB tile.
        var v = [Float](repeating: 0, count: 2 * 3 * 9)
        for j in 0..<9 { v[j] = 1 }
        let t = Tensor(shape: [2, 3, 3, 3], values: v)
        let pic = try Picture(LayerRenderer.render(.weights, weight: t, layer: info("rgb", t), options: noClip())[0])
        #expect(pic.contains(text: "RGB", scale: 1, color: .mutedInk))
        #expect(pic.regions(of: RGBA(255, 128, 128), minSide: 8).count == 1)
    }
}
