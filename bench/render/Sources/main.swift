// Render benchmark: end-to-end previews of full-size SDXL layers (open + read + analysis + draw +
// PNG), best of N, with ratios against the original Python node's times measured on the same
// kind of checkpoint (docs/BENCHMARKS.md), and PNG encoder throughput at the default settings.
//
// Usage: weightlens-render-bench CHECKPOINT [REPEATS] [OUTDIR]
import Checkpoint
import Dispatch
import Foundation
import Render
import TensorCore

let args = CommandLine.arguments
guard args.count >= 2 else {
    FileHandle.standardError.write(Data("usage: weightlens-render-bench CHECKPOINT [REPEATS] [OUTDIR]\n".utf8))
    exit(2)
}
let path = args[1]
let repeats = args.count > 2 ? max(1, Int(args[2]) ?? 5) : 5
let outDir = args.count > 3 ? args[3] : nil

struct Case {
    let layer: String
    let view: ViewKind
    /// The original node's wall time for this request, seconds (a range for the linear layers).
    let originalLow: Double
    let originalHigh: Double
}

// Original figures: latent-tools LTVisualizeWeights (matplotlib) on the same synthetic SDXL layout.
let cases = [
    Case(layer: "input_blocks.1.0.in_layers.2", view: .both, originalLow: 92, originalHigh: 92),
    Case(layer: "output_blocks.0.1.transformer_blocks.0.ff.net.0.proj", view: .both, originalLow: 0.5, originalHigh: 0.9),
    Case(layer: "middle_block.1.proj_in", view: .both, originalLow: 0.5, originalHigh: 0.9),
    Case(layer: "middle_block.0.in_layers.2", view: .weights, originalLow: 402, originalHigh: 402),
]

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

/// CPU seconds (user + system, all threads) this process has used so far. On a shared, loaded
/// machine wall time mostly measures waiting for a core; CPU time shows the work itself.
func cpuSeconds() -> Double {
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) / 1e6 + Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) / 1e6
}

print("== render benchmark: \(path)")
print("repeats: \(repeats), cores: \(ProcessInfo.processInfo.activeProcessorCount)")
if let load = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) {
    print("load average at start: \(load.split(separator: " ").prefix(3).joined(separator: " "))")
}

var allImages: [(String, RenderedImage)] = []
var failed = false
for c in cases {
    var best = Double.infinity
    var bestCPU = Double.infinity
    var last: [RenderedImage] = []
    var shape: [Int] = []
    for _ in 0..<repeats {
        let t0 = now()
        let c0 = cpuSeconds()
        do {
            // End to end: open (header parse + mmap) and read the tensor every time.
            let file = try CheckpointFile.open(path: path)
            let key = "model.diffusion_model.\(c.layer).weight"
            guard let entry = file.entry(named: key) else { print("missing \(key)"); exit(1) }
            let t = try file.loadTensor(key)
            shape = t.shape
            let info = LayerInfo(name: c.layer, shape: t.shape, dtype: entry.dtype.torchName, parameters: t.count)
            last = try LayerRenderer.render(c.view, weight: t, layer: info)
        } catch {
            print("FAILED \(c.layer): \(error)")
            failed = true
            break
        }
        best = min(best, now() - t0)
        bestCPU = min(bestCPU, cpuSeconds() - c0)
    }
    guard best.isFinite else { continue }
    let ms = best * 1000
    let sizes = last.map { "\($0.width)×\($0.height)" }.joined(separator: " + ")
    let ratio = c.originalLow == c.originalHigh
        ? String(format: "%.0f× faster than the original's %.1f s", c.originalLow / best, c.originalLow)
        : String(format: "%.1f–%.1f× faster than the original's %.1f–%.1f s", c.originalLow / best, c.originalHigh / best, c.originalLow, c.originalHigh)
    let verdict = ms < 300 ? "OK (< 300 ms)" : "OVER the 300 ms target"
    print(String(format: "%@ %@ %@  best wall %.1f ms (CPU %.1f ms, all threads)  [%@]  %@  %@", c.layer as NSString, c.view.rawValue as NSString,
                 "\(shape)" as NSString, ms, bestCPU * 1000, sizes as NSString, ratio as NSString, verdict as NSString))
    for img in last { allImages.append((c.layer, img)) }
}

// PNG throughput at the default settings on the pictures just rendered (decoded back to RGBA).
print("== PNG encoding at the default settings (zlib level 1, Up filter; Sub + RLE for heatmap pages)")
var totalBytes = 0.0, totalTime = 0.0, totalCPU = 0.0
for (layer, img) in allImages {
    guard let decoded = try? PNGDecoder.decode(img.png) else { continue }
    let mb = Double(decoded.rgba.count) / 1e6
    var best = Double.infinity
    var bestCPU = Double.infinity
    var size = 0
    for options in [PNGOptions(), PNGOptions(compressionLevel: 1, filter: .sub, strategy: .rle)] {
        var b = Double.infinity, bc = Double.infinity
        var s = 0
        for _ in 0..<repeats {
            let t0 = now(), c0 = cpuSeconds()
            let out = (try? PNGEncoder.encode(rgba: decoded.rgba, width: decoded.width, height: decoded.height, options: options)) ?? []
            b = min(b, now() - t0)
            bc = min(bc, cpuSeconds() - c0)
            s = out.count
        }
        // The renderer uses one of the two defaults depending on the page; report the faster.
        if b < best { best = b; bestCPU = bc; size = s }
    }
    totalBytes += mb; totalTime += best; totalCPU += bestCPU
    print(String(format: "%@ / %@: %.1f MB raw → %d KB in %.1f ms = %.0f MB/s (CPU %.1f ms = %.0f MB/s)", layer as NSString, img.title as NSString,
                 mb, size / 1024, best * 1000, mb / best, bestCPU * 1000, mb / max(bestCPU, 1e-6)))
    if let dir = outDir {
        let name = "\(layer)-\(img.title.lowercased().replacingOccurrences(of: " ", with: "_")).png"
        try? Data(img.png).write(to: URL(fileURLWithPath: dir).appendingPathComponent(name))
    }
}
if totalTime > 0 {
    let rate = totalBytes / totalTime
    print(String(format: "PNG overall: %.0f MB/s of raw RGBA by wall time (%@ the 100 MB/s target), %.0f MB/s per CPU second",
                 rate, (rate >= 100 ? "meets" : "BELOW") as NSString, totalBytes / max(totalCPU, 1e-6)))
}
if let load = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) {
    print("load average at end: \(load.split(separator: " ").prefix(3).joined(separator: " "))")
}
exit(failed ? 1 : 0)
