// GGUF dequantization benchmark (bench/gguf/run.sh): writes Flux's double_blocks.0.img_mlp.0
// (12288 x 3072) once per GGML type as a one-tensor GGUF file, then times `loadTensor` (map +
// dequantize to Float32), best of N, next to the plain F16 -> F32 conversion of the same tensor.
// The files stay in OUT so gguf-py's numpy dequantization can be timed on the very same bytes.
//
//   weightlens-gguf-bench OUT [REPEATS]
import Checkpoint
import Dispatch
import Foundation
import TensorCore

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    FileHandle.standardError.write(Data("usage: weightlens-gguf-bench OUT [REPEATS]\n".utf8))
    exit(2)
}
let out = arguments[1]
let repeats = arguments.count > 2 ? max(1, Int(arguments[2]) ?? 5) : 5
let rows = 12288, cols = 3072
let name = "double_blocks.0.img_mlp.0.weight"

// Low-rank structure plus noise, scaled like a trained Linear (std about 0.02).
func makeValues() -> [Float] {
    var values = [Float](repeating: 0, count: rows * cols)
    var rng = SplitMix64(seed: 11)
    let basis = (0..<(4 * cols)).map { _ in rng.nextSigned() }
    let coefficients = (0..<(4 * rows)).map { _ in rng.nextSigned() }
    values.withUnsafeMutableBufferPointer { v in
        nonisolated(unsafe) let p = v.baseAddress!
        DispatchQueue.concurrentPerform(iterations: 8) { w in
            var local = SplitMix64(seed: 100 + UInt64(w))
            for r in (rows * w / 8)..<(rows * (w + 1) / 8) {
                for c in 0..<cols {
                    var x: Float = 0
                    for k in 0..<4 { x += coefficients[4 * r + k] * basis[4 * c + k] }
                    p[r * cols + c] = 0.01 * x + 0.01 * local.nextSigned()
                }
            }
        }
    }
    return values
}
let values = makeValues()

func write(_ type: GGMLType) throws -> String {
    let path = "\(out)/img_mlp0_\(type.name).gguf"
    let tensor = GGUFWriter.Tensor(name: name, shape: [rows, cols], type: type)
    let (header, _) = GGUFWriter.header(metadata: [("general.architecture", .string("flux"))], tensors: [tensor])
    var data = [UInt8](repeating: 0, count: GGUFWriter.padded(tensor.byteCount))
    let rowBytes = tensor.byteCount / rows
    values.withUnsafeBufferPointer { v in
        data.withUnsafeMutableBytes { d in
            nonisolated(unsafe) let src = v.baseAddress!, dst = d.baseAddress!
            DispatchQueue.concurrentPerform(iterations: 64) { c in
                for r in (rows * c / 64)..<(rows * (c + 1) / 64) {
                    quantizeGGML(src + r * cols, count: cols, type: type, into: dst + r * rowBytes)
                }
            }
        }
    }
    try Data(header + data).write(to: URL(fileURLWithPath: path))
    return path
}

func bestMilliseconds(_ path: String) throws -> Double {
    let file = try CheckpointFile.open(path: path)
    var best = Double.infinity
    var sink: Float = 0
    for _ in 0..<repeats {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let t = try file.loadTensor(name)
        let t1 = DispatchTime.now().uptimeNanoseconds
        sink += t.values[t.count / 2]
        best = min(best, Double(t1 - t0) / 1e6)
    }
    if sink.isNaN { print("nan") }
    return best
}

let types: [GGMLType] = [.f16, .f32, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K]
var reference = 0.0
for type in types {
    let path = try write(type)
    let ms = try bestMilliseconds(path)
    if type == .f16 { reference = ms }
    // One machine-readable line per type: type, best ms, Melem/s, file bytes, ratio to F16->F32.
    let bytes = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    print(String(format: "weightlens %@ %.2f %.0f %d %.2f", type.name, ms, Double(rows * cols) / ms / 1e3, bytes, ms / reference))
}
