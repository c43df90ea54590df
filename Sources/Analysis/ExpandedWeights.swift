import TensorCore

// Expanded weights (Distill, "Visualizing Weights"): products of adjacent layers' weights with
// the non-linearities between them ignored, showing how a later unit reads an earlier input.

/// The QK and OV circuits of one attention head.
public struct AttentionHeadCircuit: Sendable {
    public let head: Int
    /// W_Q,hᵀ · W_K,h: (query input dim × key input dim). Entry (i, j) is how much query
    /// feature i attends to key feature j through this head.
    public let qk: Matrix
    /// W_O,h · W_V,h: (output dim × value input dim): what the head writes for each read feature.
    public let ov: Matrix
}

/// QK = W_Qᵀ W_K and OV = W_O W_V per head, from linear weights in torch layout [out, in]:
/// query/key/value [heads·d_head, d_in], output [d_model, heads·d_head].
/// - Parameter heads: head count (from the model family); `only` picks a single head.
public func attentionCircuits(query: Tensor, key: Tensor, value: Tensor, output: Tensor, heads: Int,
                              only head: Int? = nil, cancellation: Cancellation? = nil) throws(AnalysisError) -> [AttentionHeadCircuit] {
    for (name, t) in [("query", query), ("key", key), ("value", value), ("output", output)] where t.rank != 2 {
        throw .unsupportedShape(operation: "build attention circuits from \(name) weight", shape: t.shape, expected: "a linear weight [out, in]")
    }
    let inner = query.shape[0]
    guard key.shape[0] == inner, value.shape[0] == inner, output.shape[1] == inner else {
        throw .shapeMismatch(operation: "pair attention projections (query/key/value outputs and output input)",
                             left: query.shape, right: [key.shape[0], value.shape[0], output.shape[1]])
    }
    guard heads >= 1, inner % heads == 0 else {
        throw .invalidArgument(name: "heads", value: heads, allowed: "a divisor of the inner width \(inner)")
    }
    if let head, head < 0 || head >= heads {
        throw .invalidArgument(name: "head", value: head, allowed: "0..<\(heads)")
    }
    let dh = inner / heads
    let q = Matrix(query), k = Matrix(key), v = Matrix(value), o = Matrix(output)
    var result = [AttentionHeadCircuit]()
    for h in head.map({ [$0] }) ?? Array(0..<heads) {
        try cancellation.check()
        let rows = (h * dh)..<((h + 1) * dh)
        let qk = try matmulTransposedA(q.rows(rows), k.rows(rows))     // d_q × d_k
        let ov = try matmul(o.columns(rows), v.rows(rows))             // d_model × d_v
        result.append(AttentionHeadCircuit(head: h, qk: qk, ov: ov))
    }
    return result
}

/// Views a linear [out, in] weight as a 1×1 conv; conv weights pass through.
private func asConv(_ t: Tensor, position: Int) throws(AnalysisError) -> Tensor {
    switch t.rank {
    case 4: return t
    case 2: return Tensor(shape: t.shape + [1, 1], values: t.values)
    default:
        throw .unsupportedShape(operation: "expand layer \(position + 1)", shape: t.shape, expected: "conv [out, in, kh, kw] or linear [out, in]")
    }
}

/// The single kernel equivalent to applying `first` then `second` (stride 1, no padding
/// effects, non-linearity ignored): [c2, c0, kh1+kh2−1, kw1+kw2−1], e.g. 3×3 ∘ 3×3 → 5×5 and
/// 3×3 ∘ 1×1 → 3×3 (a 1×1 bottleneck is jumped over). Linear weights act as 1×1 convs.
public func composeConvolutions(first: Tensor, second: Tensor) throws(AnalysisError) -> Tensor {
    let a = try asConv(first, position: 0), b = try asConv(second, position: 1)
    let (c1, c0, h1, w1) = (a.shape[0], a.shape[1], a.shape[2], a.shape[3])
    let (c2, c1b, h2, w2) = (b.shape[0], b.shape[1], b.shape[2], b.shape[3])
    guard c1 == c1b else {
        throw .shapeMismatch(operation: "compose convolutions (second's input channels must equal first's output channels)",
                             left: first.shape, right: second.shape)
    }
    let hOut = h1 + h2 - 1, wOut = w1 + w2 - 1
    let (count, overflow) = c2.multipliedReportingOverflow(by: c0 * hOut * wOut)
    guard !overflow, count <= maxElements else {
        throw .tooLarge(operation: "The composed kernel", elementCount: overflow ? Int.max : count, limit: maxElements)
    }
    // First as (c1 × c0·h1·w1): row m = W1[m, :, :, :] flattened (already its layout).
    let m1 = Matrix(rows: c1, cols: c0 * h1 * w1, values: a.values)
    var out = [Float](repeating: 0, count: count)
    for dy in 0..<h2 {
        for dx in 0..<w2 {
            // W2[:, :, dy, dx] as c2 × c1.
            var s = Matrix(zeros: c2, c1)
            for o in 0..<c2 { for m in 0..<c1 { s[o, m] = b.values[((o * c1 + m) * h2 + dy) * w2 + dx] } }
            let p = try matmul(s, m1)   // c2 × (c0·h1·w1)
            // Scatter: tap (y, x) of the first kernel lands at (dy + y, dx + x).
            for o in 0..<c2 {
                for i in 0..<c0 {
                    let src = (o * c0 + i) * h1 * w1
                    let dst = (o * c0 + i) * hOut * wOut
                    for y in 0..<h1 {
                        for x in 0..<w1 { out[dst + (dy + y) * wOut + dx + x] += p.values[src + y * w1 + x] }
                    }
                }
            }
        }
    }
    return Tensor(shape: [c2, c0, hOut, wOut], values: out)
}

/// Expands a chain of layers applied in order (`layers[0]` first): the product of linear
/// weights (result [out_last, in_first]) or the composed kernel when any layer is a conv.
public func expandChain(_ layers: [Tensor], cancellation: Cancellation? = nil) throws(AnalysisError) -> Tensor {
    guard let first = layers.first else {
        throw .invalidArgument(name: "layers", value: 0, allowed: "at least one weight")
    }
    let allLinear = layers.allSatisfy { $0.rank == 2 }
    var acc = try asConv(first, position: 0)
    for (i, next) in layers.enumerated().dropFirst() {
        try cancellation.check()
        let n = try asConv(next, position: i)
        guard n.shape[1] == acc.shape[0] else {
            throw .shapeMismatch(operation: "chain layer \(i + 1) after layer \(i) (input channels must equal the previous output channels)",
                                 left: layers[i - 1].shape, right: next.shape)
        }
        acc = try composeConvolutions(first: acc, second: n)
    }
    return allLinear ? Tensor(shape: [acc.shape[0], acc.shape[1]], values: acc.values) : acc
}

/// Singular values of Aᵀ·B (largest first) for A (r × m) and B (r × n) with a small inner size
/// r, without forming the m × n product: they are the square roots of the eigenvalues of
/// D^½ Vᵀ (A Aᵀ) V D^½, where B Bᵀ = V D Vᵀ. Costs O(r²·(m + n) + r³) instead of O(m·n·r).
/// Used for attention circuits (QK = W_Q,hᵀ W_K,h and OV = W_O,h W_V,h, inner size d_head).
public func singularValuesOfTransposedProduct(_ a: Matrix, _ b: Matrix) throws(AnalysisError) -> [Double] {
    guard a.rows == b.rows else {
        throw .shapeMismatch(operation: "multiply Aᵀ·B (A and B need the same number of rows)", left: a.shape, right: b.shape)
    }
    let r = a.rows
    if r == 0 { return [] }
    let ga = try matmulTransposedB(a, a).values.map(Double.init)   // r × r
    let gb = try matmulTransposedB(b, b).values.map(Double.init)
    let eb = try symmetricEigen(gb, n: r, vectors: true)
    // S = D^½ Vᵀ Ga V D^½
    var t = [Double](repeating: 0, count: r * r)   // Ga V
    for i in 0..<r { for j in 0..<r {
        var s = 0.0
        for k in 0..<r { s += ga[i * r + k] * eb.vectors[k * r + j] }
        t[i * r + j] = s
    } }
    var sym = [Double](repeating: 0, count: r * r)
    let root = eb.values.map { max($0, 0).squareRoot() }
    for i in 0..<r { for j in 0...i {
        var s = 0.0
        for k in 0..<r { s += eb.vectors[k * r + i] * t[k * r + j] }
        sym[i * r + j] = s * root[i] * root[j]
    } }
    let e = try symmetricEigen(sym, n: r, vectors: false)
    return e.values.prefix(min(r, a.cols, b.cols)).map { max($0, 0).squareRoot() }
}
