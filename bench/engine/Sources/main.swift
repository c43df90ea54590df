// weightlens-bench: the Swift side of bench/engine/run.sh. Reads the reference measurements and
// matrices written by reference.py, runs the same work on the engine and prints ratios.
import Analysis
import Foundation

struct Reference: Decodable {
    struct Product: Decodable { let name: String, form: String, m: Int, k: Int, n: Int, seconds: Double, gflops: Double }
    struct SVD: Decodable {
        let name: String, rows: Int, cols: Int, file: String
        let lapack_top16: [Double]
        let sklearn_seconds: Double, sklearn_max_relative_error: Double
    }
    let threads: Int
    let products: [Product]
    let svd: [SVD]
}

func cpuSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Best wall time of `repeats` runs, and the CPU time (all threads) of that run.
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
guard args.count == 2, let data = FileManager.default.contents(atPath: args[1]),
      let reference = try? JSONDecoder().decode(Reference.self, from: data) else {
    FileHandle.standardError.write(Data("usage: weightlens-bench WORKDIR/reference.json (written by bench/engine/reference.py)\n".utf8))
    exit(2)
}
#if WEIGHTLENS_FMA
print("build: native (FMA)")
#else
print("build: portable")
#endif

print("\n-- matrix products (best of 7; ratio = engine throughput / numpy throughput, target ≥ 0.70)")
for p in reference.products {
    let aRows = p.form == "atb" ? p.k : p.m, aCols = p.form == "atb" ? p.m : p.k
    let bRows = p.form == "abt" ? p.n : p.k, bCols = p.form == "abt" ? p.k : p.n
    let a = filled(aRows, aCols, seed: 1), b = filled(bRows, bCols, seed: 2)
    let run: () throws -> Void = {
        switch p.form {
        case "ab": _ = try matmul(a, b)
        case "atb": _ = try matmulTransposedA(a, b)
        default: _ = try matmulTransposedB(a, b)
        }
    }
    try run()
    let t = try measure(repeats: 7, run)
    let gflops = 2.0 * Double(p.m * p.n * p.k) / t.wall / 1e9
    print(String(format: "%-34@ engine %7.2f ms %6.1f GFLOP/s (cpu %7.2f ms) | numpy %7.2f ms %6.1f GFLOP/s | ratio %.2f",
                 p.name as NSString, t.wall * 1e3, gflops, t.cpu * 1e3, p.seconds * 1e3, p.gflops, p.seconds / t.wall))
}

print("\n-- top-16 truncated SVD (best of 3; error = max relative error of the 16 values vs LAPACK float64)")
for s in reference.svd {
    guard let raw = FileManager.default.contents(atPath: s.file), raw.count == s.rows * s.cols * 4 else {
        print("\(s.name): matrix file missing or wrong size: \(s.file)")
        continue
    }
    let values = raw.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    let a = Matrix(rows: s.rows, cols: s.cols, values: values)
    print(String(format: "%@ (%d × %d): scikit-learn randomized_svd %.0f ms, error %.2e", s.name as NSString, s.rows, s.cols,
                 s.sklearn_seconds * 1e3, s.sklearn_max_relative_error))
    for tolerance: Float in [1e-2, 1e-3, 1e-5] {
        var result: SVDResult?
        let t = try measure(repeats: 3) { result = try truncatedSVD(a, rank: 16, tolerance: tolerance) }
        let r = result!
        var worst = 0.0
        for i in 0..<16 { worst = max(worst, abs(Double(r.singularValues[i]) - s.lapack_top16[i]) / s.lapack_top16[i]) }
        print(String(format: "  engine tolerance %.0e: %6.0f ms (cpu %6.0f ms), %2d Krylov steps, error %.2e | speed-up vs sklearn %.1fx, error ratio %.3f %@",
                     Double(tolerance), t.wall * 1e3, t.cpu * 1e3, r.iterations, worst, s.sklearn_seconds / t.wall,
                     worst / s.sklearn_max_relative_error, (t.wall <= 0.3 && worst <= s.sklearn_max_relative_error ? "[meets ≤300 ms at ≥ sklearn accuracy]" : "") as NSString))
    }
}
