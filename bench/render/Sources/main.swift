// Render benchmark: end-to-end previews of full-size SDXL layers (open + read + analysis + draw +
// PNG), best of N, with ratios against the original Python node's times measured on the same
// kind of checkpoint (docs/BENCHMARKS.md), and PNG encoder throughput at the default settings.
//
// Usage: weightlens-render-bench CHECKPOINT [REPEATS] [OUTDIR]
import Analysis
import Checkpoint
import Dispatch
import Foundation
import Kernels
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

try KernelPath.checkEnvironment()
print("== render benchmark: \(path)")
print("kernels: \(KernelPath.process)")
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

// Where the time of the linear layers goes: each phase alone, best of N (wall and CPU).
func timed(_ body: () throws -> Void) rethrows -> (wall: Double, cpu: Double) {
    var best = (wall: Double.infinity, cpu: Double.infinity)
    for _ in 0..<repeats {
        let t0 = now(), c0 = cpuSeconds()
        try body()
        best = (min(best.wall, now() - t0), min(best.cpu, cpuSeconds() - c0))
    }
    return best
}
print("== phases (each alone, best of \(repeats))")
for layer in ["output_blocks.0.1.transformer_blocks.0.ff.net.0.proj", "middle_block.1.proj_in"] {
    do {
        let file = try CheckpointFile.open(path: path)
        let key = "model.diffusion_model.\(layer).weight"
        var t = try file.loadTensor(key)
        let load = try timed { t = try file.loadTensor(key) }
        let info = LayerInfo(name: layer, shape: t.shape, dtype: "float16", parameters: t.count)
        let weights = try timed { _ = try LayerRenderer.render(.weights, weight: t, layer: info) }
        let expanded = try timed { _ = try LayerRenderer.render(.expanded, weight: t, layer: info) }
        let both = try timed { _ = try LayerRenderer.render(.both, weight: t, layer: info) }
        func f(_ x: (wall: Double, cpu: Double)) -> String { String(format: "%.1f ms (CPU %.1f)", x.wall * 1000, x.cpu * 1000) }
        print("\(layer): load+convert \(f(load)) · weights \(f(weights)) · expanded \(f(expanded)) · both \(f(both))")
    } catch {
        print("FAILED phases \(layer): \(error)")
        failed = true
    }
}

// SVD tolerance against accuracy on the linear layers: time of the top-8 truncated SVD and the
// largest relative error of its singular values against a run at tolerance 1e-7.
print("== truncated SVD, top 8: tolerance vs time and error (best of \(repeats))")
/// A harder case than the synthetic checkpoint's layers (whose spectra fall steeply, so every
/// tolerance converges in 3 steps): a 10240×1280 matrix whose top singular values, decaying like
/// 1/√i, sit just above a noise floor, so they are close together (deterministic).
func slowSpectrum(rows: Int, cols: Int) -> Matrix {
    var state: UInt64 = 0x1234_5678_9ABC_DEF1
    func uniform() -> Float {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Float(state >> 40) / Float(1 << 24) - 0.5
    }
    let r = 64
    let u = (0..<(rows * r)).map { _ in uniform() }, v = (0..<(r * cols)).map { _ in uniform() }
    var values = (0..<(rows * cols)).map { _ in 0.5 * uniform() }
    for i in 0..<rows {
        for j in 0..<r {
            let a = 0.1 * u[i * r + j] / Float(j + 1).squareRoot()
            for c in 0..<cols { values[i * cols + c] += a * v[j * cols + c] }
        }
    }
    return Matrix(rows: rows, cols: cols, values: values)
}
for layer in ["output_blocks.0.1.transformer_blocks.0.ff.net.0.proj", "middle_block.1.proj_in", "slow spectrum 10240×1280"] {
    do {
        let m: Matrix
        if layer.hasPrefix("slow") { m = slowSpectrum(rows: 10240, cols: 1280) } else {
            let file = try CheckpointFile.open(path: path)
            m = Matrix(try file.loadTensor("model.diffusion_model.\(layer).weight"))
        }
        let reference = try truncatedSVD(m, rank: 8, tolerance: 1e-7, maxIterations: 400)
        for tol: Float in [1e-5, 1e-4, 2e-4, 5e-4, 1e-3, 1e-2] {
            var r: SVDResult? = nil
            let time = try timed { r = try truncatedSVD(m, rank: 8, tolerance: tol) }
            let err = zip(r!.singularValues, reference.singularValues).map { abs(Double($0) - Double($1)) / Double($1) }.max() ?? 0
            print(String(format: "%@ tol %.0e: %.1f ms (CPU %.1f), %d steps, max rel. error of σ %.1e", layer as NSString, Double(tol),
                         time.wall * 1000, time.cpu * 1000, r!.iterations, err))
        }
    } catch {
        print("FAILED svd \(layer): \(error)")
        failed = true
    }
}

// PNG throughput at the default settings on the pictures just rendered (decoded back to RGBA).
print("== PNG encoding at the default level 1 (palette/RGB reduction; best of Up, Up + RLE, Sub + RLE, as the renderer tunes pages)")
var totalBytes = 0.0, totalTime = 0.0, totalCPU = 0.0
for (layer, img) in allImages {
    guard let decoded = try? PNGDecoder.decode(img.png) else { continue }
    let mb = Double(decoded.rgba.count) / 1e6
    var best = Double.infinity
    var bestCPU = Double.infinity
    var size = 0
    for options in [PNGOptions(), PNGOptions(compressionLevel: 1, filter: .up, strategy: .rle),
                    PNGOptions(compressionLevel: 1, filter: .sub, strategy: .rle)] {
        var b = Double.infinity, bc = Double.infinity
        var s = 0
        for _ in 0..<repeats {
            let t0 = now(), c0 = cpuSeconds()
            let out = (try? PNGEncoder.encode(rgba: decoded.rgba, width: decoded.width, height: decoded.height, options: options)) ?? []
            b = min(b, now() - t0)
            bc = min(bc, cpuSeconds() - c0)
            s = out.count
        }
        // The renderer picks one of these by page (PNGEncoder.encode(page:)); report the faster.
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
// Encoder settings compared on the largest heatmap and an expanded page (set PNG_VARIANTS=1).
if ProcessInfo.processInfo.environment["PNG_VARIANTS"] != nil {
    print("== PNG variants")
    for (layer, img) in allImages where layer.hasSuffix("ff.net.0.proj") || layer == "input_blocks.1.0.in_layers.2" {
        guard let d = try? PNGDecoder.decode(img.png) else { continue }
        for reduce in [false, true] {
            for filter in [PNGFilter.none, .sub, .up] {
                for strategy in [PNGStrategy.standard, .rle] {
                    for level in [1, 2] {
                        let o = PNGOptions(compressionLevel: level, filter: filter, strategy: strategy, reduceColors: reduce)
                        var size = 0
                        let t = timed { size = ((try? PNGEncoder.encode(rgba: d.rgba, width: d.width, height: d.height, options: o)) ?? []).count }
                        print(String(format: "%@ / %@: reduce=%@ level %d %@ %@: %d KB in %.1f ms", layer as NSString, img.title as NSString,
                                     "\(reduce)" as NSString, level, filter.rawValue as NSString, "\(strategy)" as NSString, size / 1024, t.cpu * 1000))
                    }
                }
            }
        }
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
