import Testing
@testable import Render
import Analysis
import TensorCore

/// `colormap` reaches every view that colours values: the expanded view's kernels, the top-inputs
/// kernels and the overview panels (they once stayed red/blue whatever the choice).
@Suite struct ColormapEveryViewTests {
    /// Pixels of `pic` whose colour belongs to `map`'s table but not to `other`'s.
    static func exclusivePixels(_ pic: Picture, of map: ColorMapName, notIn other: ColorMapName) -> Int {
        let mine = Set(ColorMap(map).table), theirs = Set(ColorMap(other).table)
        let only = mine.subtracting(theirs).subtracting([RGBA.white, RGBA.ink, RGBA.mutedInk, RGBA.rule, RGBA.panel])
        var n = 0
        for y in 0..<pic.height { for x in 0..<pic.width where only.contains(pic.rgba(x, y)) { n += 1 } }
        return n
    }

    static func pictures(_ map: ColorMapName) throws -> [(String, Picture)] {
        let t = Tensor(shape: [8, 6, 3, 3], values: pseudoRandom(8 * 6 * 9, seed: 21))
        var o = noClip()
        o.colormap = map
        let expanded = try Picture(LayerRenderer.render(.expanded, weight: t, layer: info("conv", t), options: o)[0])
        let inputs = try topInputChannels(of: t, outputChannel: 2, k: 4)
        let top = try Picture(LayerRenderer.renderTopInputs(weight: t, outputChannel: 2, inputs: inputs, layer: info("conv", t), options: o))
        let overview = try Picture(LayerRenderer.renderOverview(layers: [(info("conv", t), t)], options: o))
        return [("expanded", expanded), ("top inputs", top), ("overview", overview)]
    }

    @Test(arguments: [ColorMapName.viridis, .grayscale, .magnitude])
    func chosenMapColoursTheKernels(map: ColorMapName) throws {
        for (view, pic) in try Self.pictures(map) {
            #expect(Self.exclusivePixels(pic, of: map, notIn: .diverging) > 40, "\(view) drawn without \(map.rawValue)")
        }
    }

    @Test func defaultIsStillDiverging() throws {
        for (view, pic) in try Self.pictures(.diverging) {
            #expect(Self.exclusivePixels(pic, of: .viridis, notIn: .diverging) == 0, "\(view) has viridis colours")
            #expect(Self.exclusivePixels(pic, of: .diverging, notIn: .viridis) > 40, "\(view) lacks diverging colours")
        }
    }
}
