import Analysis
import Checkpoint
import TensorCore

/// ΔW of one module at scale 1 (before alpha / rank and the strength), in the shape its factors
/// give (`LoraModule.deltaShape`). The formulas are ComfyUI's (comfy/weight_adapter).
enum LoraDelta {
    static func compute(_ module: LoraModule, in file: LoraFile) throws(CheckpointError) -> Tensor {
        func load(_ role: LoraRole) throws(CheckpointError) -> Tensor { try file.load(module, role) }
        func matrix(_ t: Tensor, rows: Int) -> Matrix { Matrix(rows: rows, cols: t.count / max(rows, 1), values: t.values) }
        func mul(_ a: Matrix, _ b: Matrix) throws(CheckpointError) -> Matrix {
            do { return try matmul(a, b) } catch {
                throw .invalidEntry(path: file.path, tensor: module.name, reason: error.description)
            }
        }
        let shape = module.deltaShape
        switch module.kind {
        case .lora:
            let (up, down) = try factors(module, in: file)
            return Tensor(shape: shape, values: try mul(up, down).values)
        case .loha:
            let w1a = try load(.hadaW1a), w1b = try load(.hadaW1b), w2a = try load(.hadaW2a), w2b = try load(.hadaW2b)
            let m1: [Float], m2: [Float]
            if module.keys[.hadaT1] != nil {
                m1 = try tucker(try load(.hadaT1), a: w1a, b: w1b, path: file.path, name: module.name)
                m2 = try tucker(try load(.hadaT2), a: w2a, b: w2b, path: file.path, name: module.name)
            } else {
                m1 = try mul(matrix(w1a, rows: w1a.shape[0]), matrix(w1b, rows: w1b.shape[0])).values
                m2 = try mul(matrix(w2a, rows: w2a.shape[0]), matrix(w2b, rows: w2b.shape[0])).values
            }
            var v = m1
            for i in v.indices { v[i] *= m2[i] }
            return Tensor(shape: shape, values: v)
        case .lokr:
            let w1: Tensor
            if module.keys[.lokrW1] != nil {
                w1 = try load(.lokrW1)
            } else {
                let a = try load(.lokrW1a), b = try load(.lokrW1b)
                w1 = Tensor(shape: [a.shape[0], b.shape[1]], values: try mul(matrix(a, rows: a.shape[0]), matrix(b, rows: b.shape[0])).values)
            }
            let w2: Tensor
            if module.keys[.lokrW2] != nil {
                w2 = try load(.lokrW2)
            } else {
                let a = try load(.lokrW2a), b = try load(.lokrW2b)
                if module.keys[.lokrT2] != nil {
                    let t = try load(.lokrT2)
                    w2 = Tensor(shape: [a.shape[1], b.shape[1], t.shape[2], t.shape[3]],
                                values: try tucker(t, a: a, b: b, path: file.path, name: module.name))
                } else {
                    w2 = Tensor(shape: [a.shape[0], b.shape[1]], values: try mul(matrix(a, rows: a.shape[0]), matrix(b, rows: b.shape[0])).values)
                }
            }
            return Tensor(shape: shape, values: kron(w1, w2))
        case .diff:
            let d = try load(.diff)
            return Tensor(shape: shape, values: d.values)
        }
    }

    /// ΔW of a `.lora` module at scale 1 as the two factors whose product it is: up [out, r] and
    /// down [r, in·kh·kw] (through the Tucker core when there is one), the columns in the layer's order.
    static func factors(_ module: LoraModule, in file: LoraFile) throws(CheckpointError) -> (up: Matrix, down: Matrix) {
        precondition(module.kind == .lora, "factors of a \(module.kind) module")
        let up = try file.load(module, .up), down = try file.load(module, .down)
        let r = down.shape[0]
        var d = Matrix(rows: r, cols: down.count / max(r, 1), values: down.values)
        if module.keys[.mid] != nil {
            d = try tuckerDown(mid: try file.load(module, .mid), down: d)
        }
        return (Matrix(rows: up.shape[0], cols: up.count / max(up.shape[0], 1), values: up.values), d)
    }

    /// The 1x1 `down` [r, in] through a Tucker core `mid` [r, r, kh, kw]:
    /// D'[a, i, k] = sum_b mid[a, b, k] down[b, i], laid out as [r, in * kh * kw].
    static func tuckerDown(mid: Tensor, down: Matrix) throws(CheckpointError) -> Matrix {
        let r = mid.shape[0], k = mid.shape[2] * mid.shape[3], n = down.cols
        var out = [Float](repeating: 0, count: r * n * k)
        for a in 0..<r {
            for b in 0..<r {
                for s in 0..<k {
                    let m = mid.values[(a * r + b) * k + s]
                    if m == 0 { continue }
                    for i in 0..<n { out[(a * n + i) * k + s] += m * down.values[b * n + i] }
                }
            }
        }
        return Matrix(rows: r, cols: n * k, values: out)
    }

    /// LyCORIS' Tucker product `einsum("i j k l, j r, i p -> p r k l", t, b, a)`: t [ra, rb, kh, kw],
    /// a [ra, out], b [rb, in] → [out, in, kh, kw].
    static func tucker(_ t: Tensor, a: Tensor, b: Tensor, path: String, name: String) throws(CheckpointError) -> [Float] {
        let ra = t.shape[0], rb = t.shape[1], k = t.shape[2] * t.shape[3]
        let outDim = a.shape[1], inDim = b.shape[1]
        var result = [Float](repeating: 0, count: outDim * inDim * k)
        var tb = [Float](repeating: 0, count: ra * inDim)  // sum_j t[i, j, s] b[j, r] for one s
        for s in 0..<k {
            for i in tb.indices { tb[i] = 0 }
            for i in 0..<ra {
                for j in 0..<rb {
                    let tv = t.values[(i * rb + j) * k + s]
                    if tv == 0 { continue }
                    for r in 0..<inDim { tb[i * inDim + r] += tv * b.values[j * inDim + r] }
                }
            }
            for p in 0..<outDim {
                for i in 0..<ra {
                    let av = a.values[i * outDim + p]
                    if av == 0 { continue }
                    for r in 0..<inDim { result[(p * inDim + r) * k + s] += av * tb[i * inDim + r] }
                }
            }
        }
        return result
    }

    /// torch.kron of w1 [a, b] with w2 [c, d] or [c, d, kh, kw] (w1 taken as [a, b, 1, 1]).
    static func kron(_ w1: Tensor, _ w2: Tensor) -> [Float] {
        let a = w1.shape[0], b = w1.shape[1], c = w2.shape[0], d = w2.shape[1]
        let k = w2.shape.count == 4 ? w2.shape[2] * w2.shape[3] : 1
        let cols = b * d
        var out = [Float](repeating: 0, count: a * c * cols * k)
        for i in 0..<a {
            for j in 0..<b {
                let x = w1.values[i * b + j]
                for p in 0..<c {
                    let row = i * c + p
                    for q in 0..<d {
                        let dst = (row * cols + j * d + q) * k
                        let src = (p * d + q) * k
                        for s in 0..<k { out[dst + s] = x * w2.values[src + s] }
                    }
                }
            }
        }
        return out
    }
}
