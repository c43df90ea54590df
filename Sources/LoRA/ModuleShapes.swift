import Checkpoint
import TensorCore

/// Shape checks of one module's factors, its rank, alpha and scale, and ΔW's shape, all from the
/// header (alpha is the only value read). Mirrors how ComfyUI combines the factors.
enum ModuleShapes {
    static func validate(name: String, kind: LoraKind, keys: [LoraRole: String], file: CheckpointFile) throws(LoraError) -> LoraModule {
        let path = file.path
        func entry(_ role: LoraRole) throws(LoraError) -> TensorEntry? {
            guard let key = keys[role], let e = file.entry(named: key) else { return nil }
            guard e.dtype.isFloatingPoint else { throw .notFloatingPoint(path: path, tensor: key, dtype: e.dtype.torchName) }
            return e
        }
        func shape(_ role: LoraRole) throws(LoraError) -> [Int] { try entry(role)?.shape ?? [] }
        func mismatch(_ reason: String) -> LoraError { .shapeMismatch(path: path, module: name, reason: reason) }
        func product(_ dims: [Int]) throws(LoraError) -> Int {
            var n = 1
            for d in dims {
                let (p, o) = n.multipliedReportingOverflow(by: d)
                if o || p > LoraFile.maxDeltaElements {
                    throw .tooLarge(path: path, module: name, reason: "a delta of shape \(dims) exceeds \(LoraFile.maxDeltaElements) elements")
                }
                n = p
            }
            return n
        }
        func nonEmpty(_ s: [Int], _ role: LoraRole) throws(LoraError) {
            if s.isEmpty || s.contains(where: { $0 <= 0 }) {
                if s.count >= 1, s.contains(0) { throw .zeroRank(path: path, module: name) }
                throw mismatch("\(role.rawValue) has shape \(s)")
            }
        }
        /// Rank checks: positive and not beyond the larger side of ΔW (a "rank" that large is no low-rank factor).
        func checkRank(_ r: Int, _ delta: [Int]) throws(LoraError) {
            if r <= 0 { throw .zeroRank(path: path, module: name) }
            let out = delta.first ?? 1
            let inner = delta.count > 1 ? delta.dropFirst().reduce(1, *) : 1
            let limit = max(out, inner)
            if r > limit { throw .rankTooLarge(path: path, module: name, rank: r, limit: limit) }
        }

        var rank: Int?
        var delta: [Int]
        switch kind {
        case .lora:
            let up = try shape(.up), down = try shape(.down)
            try nonEmpty(up, .up)
            try nonEmpty(down, .down)
            guard up.count == 2 || (up.count >= 3 && up.dropFirst(2).allSatisfy { $0 == 1 }) else {
                throw mismatch("up has shape \(up); expected [out, rank] or [out, rank, 1, 1]")
            }
            let r = down[0]
            guard up[1] == r else { throw mismatch("up \(up) has \(up[1]) columns but down \(down) has rank \(r)") }
            if let mid = try entry(.mid)?.shape {
                guard mid.count == 4, mid[0] == r, mid[1] == r, mid[2] > 0, mid[3] > 0 else {
                    throw mismatch("mid has shape \(mid); expected [\(r), \(r), kh, kw]")
                }
                guard down.count == 2 || (down.count == 4 && down[2] == 1 && down[3] == 1) else {
                    throw mismatch("down \(down) must be 1x1 when a Tucker mid is present")
                }
                delta = [up[0], down[1], mid[2], mid[3]]
            } else if down.count == 4 {
                delta = [up[0], down[1], down[2], down[3]]
            } else if down.count == 2 {
                delta = [up[0], down[1]]
            } else {
                throw mismatch("down has shape \(down); expected [rank, in] or [rank, in, kh, kw]")
            }
            try checkRank(r, delta)
            rank = r
        case .loha:
            let w1a = try shape(.hadaW1a), w1b = try shape(.hadaW1b), w2a = try shape(.hadaW2a), w2b = try shape(.hadaW2b)
            for (s, role) in [(w1a, LoraRole.hadaW1a), (w1b, .hadaW1b), (w2a, .hadaW2a), (w2b, .hadaW2b)] {
                try nonEmpty(s, role)
                guard s.count == 2 else { throw mismatch("\(role.rawValue) has shape \(s); expected a matrix") }
            }
            if keys[.hadaT1] != nil {
                let t1 = try shape(.hadaT1), t2 = try shape(.hadaT2)
                guard t1.count == 4, t2.count == 4, t1[0] == w1a[0], t1[1] == w1b[0], t2[0] == w2a[0], t2[1] == w2b[0],
                      t1[2] == t2[2], t1[3] == t2[3], w1a[1] == w2a[1], w1b[1] == w2b[1] else {
                    throw mismatch("Tucker LoHa factors t1 \(t1), w1_a \(w1a), w1_b \(w1b), t2 \(t2), w2_a \(w2a), w2_b \(w2b) do not fit")
                }
                delta = [w1a[1], w1b[1], t1[2], t1[3]]
            } else {
                guard w1a[1] == w1b[0], w2a[1] == w2b[0], w1a[0] == w2a[0], w1b[1] == w2b[1] else {
                    throw mismatch("w1_a \(w1a) x w1_b \(w1b) and w2_a \(w2a) x w2_b \(w2b) do not give two products of one shape")
                }
                delta = [w1a[0], w1b[1]]
            }
            rank = w1b[0]
            try checkRank(w1b[0], delta)
            try checkRank(w2b[0], delta)
        case .lokr:
            var w1: [Int], w2: [Int]
            var dim: Int?
            if let s = try entry(.lokrW1)?.shape {
                try nonEmpty(s, .lokrW1)
                guard s.count == 2 else { throw mismatch("lokr_w1 has shape \(s); expected a matrix") }
                w1 = s
            } else {
                let a = try shape(.lokrW1a), b = try shape(.lokrW1b)
                try nonEmpty(a, .lokrW1a)
                try nonEmpty(b, .lokrW1b)
                guard a.count == 2, b.count == 2, a[1] == b[0] else { throw mismatch("lokr_w1_a \(a) x lokr_w1_b \(b) is no product") }
                w1 = [a[0], b[1]]
                dim = b[0]
            }
            if let s = try entry(.lokrW2)?.shape {
                try nonEmpty(s, .lokrW2)
                guard s.count == 2 || s.count == 4 else { throw mismatch("lokr_w2 has shape \(s)") }
                w2 = s
            } else {
                let a = try shape(.lokrW2a), b = try shape(.lokrW2b)
                try nonEmpty(a, .lokrW2a)
                try nonEmpty(b, .lokrW2b)
                guard a.count == 2, b.count == 2 else { throw mismatch("lokr_w2_a \(a) and lokr_w2_b \(b) must be matrices") }
                if keys[.lokrT2] != nil {
                    let t = try shape(.lokrT2)
                    guard t.count == 4, t[0] == a[0], t[1] == b[0], t[2] > 0, t[3] > 0 else {
                        throw mismatch("Tucker LoKr factors t2 \(t), w2_a \(a), w2_b \(b) do not fit")
                    }
                    w2 = [a[1], b[1], t[2], t[3]]
                } else {
                    guard a[1] == b[0] else { throw mismatch("lokr_w2_a \(a) x lokr_w2_b \(b) is no product") }
                    w2 = [a[0], b[1]]
                }
                dim = b[0]
            }
            // kron(w1, w2): w1 gains trailing 1x1 dimensions when w2 is a conv kernel.
            let rows = try product([w1[0], w2[0]]), cols = try product([w1[1], w2[1]])
            delta = w2.count == 4 ? [rows, cols, w2[2], w2[3]] : [rows, cols]
            if let dim { try checkRank(dim, delta) }
            rank = dim
        case .diff:
            let s = try shape(.diff)
            if s.contains(where: { $0 <= 0 }) { throw mismatch("diff has shape \(s)") }
            delta = s
        }
        let count = try product(delta)

        var alpha: Float?
        if let key = keys[.alpha] {
            let t: Tensor
            do { t = try file.loadTensor(key) } catch { throw .unreadable(error) }
            guard t.values.count == 1 else {
                throw .invalidAlpha(path: path, module: name, reason: "it holds \(t.values.count) values, not one")
            }
            guard t.values[0].isFinite else {
                throw .invalidAlpha(path: path, module: name, reason: "it is \(t.values[0])")
            }
            alpha = t.values[0]
        }
        // ComfyUI: alpha / rank when both exist; LoKr of whole factors and full diffs use 1.
        var scale: Float = 1
        if let alpha, let rank, kind != .diff { scale = alpha / Float(rank) }
        return LoraModule(name: name, kind: kind, keys: keys, alpha: alpha, rank: rank, scale: scale,
                          deltaShape: delta, deltaCount: count)
    }
}
