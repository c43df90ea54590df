// weightlens-bench: the Swift side of bench/engine/run.sh. Runs the plan written by
// `reference.py prepare` (same product shapes, same SVD matrices) and writes engine-ROUND.json,
// which `reference.py summarize` sets against numpy and scikit-learn.
import Analysis
import Foundation
import Kernels
import CKernels

struct Plan: Decodable {
    struct Product: Decodable { let name: String, form: String, m: Int, k: Int, n: Int }
    struct SVD: Decodable { let name: String, rows: Int, cols: Int, file: String, lapack_top16: [Double] }
    let products: [Product]
    let svd: [SVD]
    let tolerances: [Double]
    let repeats: Int
}

func cpuSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Best wall time of `repeats` runs, with the CPU time (all threads) of that run.
func measure(repeats: Int, _ body: () throws -> Void) rethrows -> (wall: Double, cpu: Double) {
    var best = (wall: Double.infinity, cpu: Double.infinity)
    for _ in 0..<repeats {
        let t0 = Date(), c0 = cpuSeconds()
        try body()
        let wall = Date().timeIntervalSince(t0), cpu = cpuSeconds() - c0
        if wall < best.wall { best = (wall, cpu) }
    }
    return best
}

func filled(_ rows: Int, _ cols: Int, seed: UInt64) -> Matrix {
    var state = seed
    let values = (0..<(rows * cols)).map { _ -> Float in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Float(Int32(truncatingIfNeeded: state >> 32)) / Float(Int32.max)
    }
    return Matrix(rows: rows, cols: cols, values: values)
}

let args = CommandLine.arguments
if args.count == 2 && args[1] == "--paths" {
    // The kernel paths this machine can run, best first (run.sh forces each in turn).
    print(KernelPath.supported.map(\.rawValue).joined(separator: " "))
    exit(0)
}
if args.count == 3 && args[1] == "--spectrum-loop" {
    // For profiling the r×r part of productSpectrum: a small product's spectrum N times.
    let size = Int(ProcessInfo.processInfo.environment["SPECTRUM_M"] ?? "320") ?? 320
    let width = Int(ProcessInfo.processInfo.environment["SPECTRUM_N"] ?? "320") ?? 320
    let l = filled(size, 128, seed: 11), rr = filled(128, width, seed: 12)
    for _ in 0..<(Int(args[2]) ?? 100) { _ = try productSpectrum(l, rr, top: 4, parallel: false) }
    exit(0)
}
if args.count >= 2 && args[1] == "--normal-pass" {
    // One Krylov step's fused pass (CKernels `normal_apply`) on one core over a whole tall layer
    // (10240×1280 stored row-major, read as op = Aᵀ): block widths 16 and 32, best of N, in
    // G multiply-adds per second (2·m·n·b of them: both products of the step).
    try KernelPath.checkEnvironment()
    let repeats = args.count >= 3 ? Int(args[2]) ?? 5 : 5
    let (rows, cols) = (10240, 1280)
    let a = filled(rows, cols, seed: 21)
    print("fused pass bench: \(KernelPath.process.description); one core, best of \(repeats), op = (\(rows)×\(cols))ᵀ")
    for b in [16, 32] {
        let x = filled(cols, b, seed: 22)
        var y = [Float](repeating: 0, count: rows * b), w = [Float](repeating: 0, count: cols * b)
        var best = Double.infinity
        a.values.withUnsafeBufferPointer { ap in
            x.values.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { yp in
                    w.withUnsafeMutableBufferPointer { wp in
                        let view = wl_view(base: ap.baseAddress!, rows: cols, cols: rows, rs: 1, cs: cols)
                        for _ in 0..<repeats {
                            wp.baseAddress!.update(repeating: 0, count: cols * b)
                            let t0 = Date()
                            wl_current().pointee.normal_apply(view, 0, rows, xp.baseAddress!, b, b, yp.baseAddress!, b, wp.baseAddress!, b)
                            best = min(best, Date().timeIntervalSince(t0))
                        }
                    }
                }
            }
        }
        print(String(format: "  block %2d: %6.2f ms, %6.1f G MAC/s", b, best * 1e3, Double(2 * rows * cols * b) / best / 1e9))
    }
    exit(0)
}
if args.count >= 2 && args[1] == "--screen" {
    // The integer screen of a LoRA's largest |ΔW| entry (productMaxAbs) against the Float GEMM pass
    // over every entry (productEntryMoments), one core, same shapes, same run: the four LoRA
    // layer shapes of bench/lora with Gaussian-like factors of rank 128.
    try KernelPath.checkEnvironment()
    let repeats = args.count >= 3 ? Int(args[2]) ?? 3 : 3
    print("screen bench: \(KernelPath.process.description); one core, best of \(repeats)")
    print("shape (m×r·r×n)        variant                    screen   GEMM pass  ratio  G MAC/s (screen)")
    for (m, r, n) in [(1280, 128, 11520), (10240, 128, 1280), (640, 128, 5760), (5120, 128, 1280)] {
        let l = filled(m, r, seed: 11), rr = filled(r, n, seed: 12)
        var gemmBest = Double.infinity
        for _ in 0..<repeats {
            let t0 = Date()
            _ = try productEntryMoments(l, rr, parallel: false)
            gemmBest = min(gemmBest, Date().timeIntervalSince(t0))
        }
        for v in KernelPath.supportedVariants where v.path == KernelPath.process {
            var best = Double.infinity
            var value: Float = 0
            try v.run {
                for _ in 0..<repeats {
                    let t0 = Date()
                    value = try productMaxAbs(l, rr)
                    best = min(best, Date().timeIntervalSince(t0))
                }
            }
            let shape = "\(m)×\(r)·\(r)×\(n)".padding(toLength: 22, withPad: " ", startingAt: 0)
            print(shape, v.description.padding(toLength: 26, withPad: " ", startingAt: 0),
                  String(format: "%6.1f ms  %6.1f ms  %5.2f  %6.0f   (max %.6g)", best * 1e3, gemmBest * 1e3, best / gemmBest,
                         Double(m * n * r) / best / 1e9, value))
        }
    }
    // The other half of a LoRA layer's report: the singular values and ‖ΔW‖ from the r×r Gram
    // matrices (productSpectrum), same shapes, one core.
    print("shape (m×r·r×n)        spectrum (top 4)")
    for (m, r, n) in [(1280, 128, 11520), (10240, 128, 1280), (640, 128, 5760), (5120, 128, 1280), (320, 128, 320)] {
        let l = filled(m, r, seed: 11), rr = filled(r, n, seed: 12)
        var best = Double.infinity
        for _ in 0..<repeats {
            let t0 = Date()
            _ = try productSpectrum(l, rr, top: 4, parallel: false)
            best = min(best, Date().timeIntervalSince(t0))
        }
        print("\(m)×\(r)·\(r)×\(n)".padding(toLength: 22, withPad: " ", startingAt: 0), String(format: "%6.2f ms", best * 1e3))
    }
    exit(0)
}
guard args.count == 3, let data = FileManager.default.contents(atPath: args[1] + "/plan.json"),
      let plan = try? JSONDecoder().decode(Plan.self, from: data) else {
    FileHandle.standardError.write(Data("usage: weightlens-bench WORKDIR ROUND (WORKDIR/plan.json from bench/engine/reference.py prepare)\n".utf8))
    exit(2)
}
// Kernel path: the process's (best for this CPU, or WEIGHTLENS_KERNELS); run.sh runs each path.
try KernelPath.checkEnvironment()
let build = KernelPath.process.description

var products: [String: Any] = [:]
for p in plan.products {
    let a = filled(p.form == "atb" ? p.k : p.m, p.form == "atb" ? p.m : p.k, seed: 1)
    let b = filled(p.form == "abt" ? p.n : p.k, p.form == "abt" ? p.k : p.n, seed: 2)
    let run: () throws -> Void = {
        switch p.form {
        case "ab": _ = try matmul(a, b)
        case "atb": _ = try matmulTransposedA(a, b)
        default: _ = try matmulTransposedB(a, b)
        }
    }
    try run()
    let t = try measure(repeats: plan.repeats, run)
    products[p.name] = ["seconds": t.wall, "cpu": t.cpu]
}

var svd: [String: Any] = [:]
for s in plan.svd {
    guard let raw = FileManager.default.contents(atPath: s.file), raw.count == s.rows * s.cols * 4 else {
        FileHandle.standardError.write(Data("\(s.name): matrix file missing or of the wrong size: \(s.file)\n".utf8))
        exit(1)
    }
    let a = Matrix(rows: s.rows, cols: s.cols, values: raw.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) })
    var perTolerance: [String: Any] = [:]
    for tolerance in plan.tolerances {
        var result: SVDResult?
        let t = try measure(repeats: 2) { result = try truncatedSVD(a, rank: 16, tolerance: Float(tolerance)) }
        let r = result!
        var worst = 0.0
        for i in 0..<16 { worst = max(worst, abs(Double(r.singularValues[i]) - s.lapack_top16[i]) / s.lapack_top16[i]) }
        perTolerance[String(format: "%.0e", tolerance)] = ["seconds": t.wall, "cpu": t.cpu, "steps": r.iterations, "error": worst]
    }
    svd[s.name] = perTolerance
}
let out: [String: Any] = ["build": build, "path": KernelPath.process.rawValue, "products": products, "svd": svd]
let json = try JSONSerialization.data(withJSONObject: out, options: [.prettyPrinted, .sortedKeys])
try json.write(to: URL(fileURLWithPath: args[1] + "/engine-\(KernelPath.process.rawValue)-\(args[2]).json"))
