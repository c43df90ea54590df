import Testing
@testable import Render

@Suite struct ColorTests {
    @Test func diverging_isBlueWhiteRed() {
        let m = ColorMap(.diverging)
        let lo = m.color(0), mid = m.color(0.5), hi = m.color(1)
        #expect(lo.b > lo.r + 60)
        #expect(hi.r > hi.b + 60)
        #expect(mid.r > 240 && mid.g > 240 && mid.b > 240)
    }

    @Test func sequentialMaps_haveTheirEndpoints() {
        #expect(ColorMap(.grayscale).color(0) == .black)
        #expect(ColorMap(.grayscale).color(1) == .white)
        #expect(ColorMap(.magnitude).color(0) == .white)
        #expect(ColorMap(.magnitude).color(1) == .black)
        let centre = ColorMap(.redBlue).color(0.5)
        #expect(centre.r <= 3 && centre.g <= 3 && centre.b <= 3)
        // viridis-like: luminance rises monotonically.
        let v = ColorMap(.viridis)
        var last = -1.0
        for i in stride(from: 0, through: 255, by: 15) {
            let c = v.color(Float(i) / 255)
            let lum = 0.2126 * Double(c.r) + 0.7152 * Double(c.g) + 0.0722 * Double(c.b)
            #expect(lum >= last - 0.5)
            last = lum
        }
    }

    @Test func outOfRangeAndNaN_areClamped() {
        let m = ColorMap(.diverging)
        #expect(m.color(-3) == m.color(0))
        #expect(m.color(7) == m.color(1))
        #expect(m.color(.nan) == m.table[128])
    }

    @Test func autoScale_isSymmetricForSignedMaps() {
        let s = ValueScale.make(values: [-0.2, 0.1, 0.5], transform: .auto, map: .diverging, clipPercentile: nil)
        #expect(s.lo == -0.5 && s.hi == 0.5)
        #expect(s.position(0) == 0.5)
        let u = ValueScale.make(values: [-0.2, 0.1, 0.5], transform: .auto, map: .viridis, clipPercentile: nil)
        #expect(u.lo == -0.2 && u.hi == 0.5)
        let mag = ValueScale.make(values: [-0.8, 0.1], transform: .auto, map: .magnitude, clipPercentile: nil)
        #expect(mag.position(-0.8) == 1 && mag.position(0) == 0)
    }

    @Test func transforms_mapAsDocumented() {
        let lin = ValueScale.make(values: [0], transform: .linear(min: -1, max: 3), map: .grayscale, clipPercentile: nil)
        #expect(lin.position(1) == 0.5)
        #expect(lin.position(-1) == 0)
        let sig = ValueScale.make(values: [0], transform: .sigmoid(gain: 4, offset: 1), map: .grayscale, clipPercentile: nil)
        #expect(abs(sig.position(1) - 0.5) < 1e-6)
        #expect(sig.position(3) > 0.99 && sig.position(-1) < 0.01)
    }

    @Test func percentileClipping_ignoresOneOutlierAndSaysSo() {
        var values = pseudoRandom(10_000, seed: 3).map { $0 * 0.1 }
        values[17] = 50
        let s = ValueScale.make(values: values, transform: .auto, map: .diverging, clipPercentile: 99.9)
        #expect(s.hi < 0.2 && s.hi > 0.05)
        #expect(s.clipNote != nil)
        let full = ValueScale.make(values: values, transform: .auto, map: .diverging, clipPercentile: nil)
        #expect(full.hi == 50 && full.clipNote == nil)
    }
}
