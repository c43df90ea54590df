import CKernels
import Dispatch

// Blocked, packed, multithreaded single-precision matrix products.
//
// Layout follows the usual GotoBLAS scheme: the right operand is packed once into NR-wide column
// panels (per KC-deep slice), each worker packs an MC×KC block of the left operand into MR-tall
// row panels, and an MR×NR register-blocked micro-kernel does the arithmetic. The packing and the
// micro-kernels are C (CKernels), compiled per instruction set: NR is 32 on the AVX-512 path, 16
// on AVX2, 8 on SSE2, so the blocking comes from the table chosen at run time. Work is split into
// (row block, column block) jobs run with `DispatchQueue.concurrentPerform`; the jobs write
// disjoint tiles of C, so no synchronisation is needed.

/// A read-only strided view: element (i, j) lives at `base[i * rowStride + j * colStride]`.
/// Transposes are views with swapped strides, so no operand is ever copied before packing.
struct StridedOperand: @unchecked Sendable {
    let base: UnsafePointer<Float>
    let rows: Int
    let cols: Int
    let rowStride: Int
    let colStride: Int

    var transposed: StridedOperand {
        StridedOperand(base: base, rows: cols, cols: rows, rowStride: colStride, colStride: rowStride)
    }

    var view: wl_view { wl_view(base: base, rows: rows, cols: cols, rs: rowStride, cs: colStride) }
}

/// Raw output pointer handed to workers; each job writes only its own tile.
struct OutputPointer: @unchecked Sendable { let base: UnsafeMutablePointer<Float> }

/// Columns per job before splitting for parallelism (a multiple of every path's NR).
private let columnsPerJob = 1024

/// Runs `body` for 0..<count, across the cores unless `parallel` is false (callers that are
/// already inside a parallel loop).
@inline(__always)
func runJobs(_ count: Int, parallel: Bool, _ body: @Sendable (Int) -> Void) {
    if parallel && count > 1 {
        DispatchQueue.concurrentPerform(iterations: count, execute: body)
    } else {
        for i in 0..<count { body(i) }
    }
}

/// C (m×n, row stride `ldc`) = A (m×k) · B (k×n), or C += A·B when `accumulate`. With `lowerOnly`
/// (a Gram product, where C is symmetric) the blocks and register tiles wholly above the diagonal
/// are skipped: C's lower triangle is computed at about half the cost, the upper one unspecified.
func gemm(_ a: StridedOperand, _ b: StridedOperand, _ c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool,
          parallel: Bool = true, lowerOnly: Bool = false, kernels: KernelTable = .current) {
    let m = a.rows, n = b.cols, k = a.cols
    precondition(b.rows == k, "inner dimensions differ")
    if m == 0 || n == 0 { return }
    if k == 0 {
        if !accumulate { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }
        return
    }
    let t = kernels
    let nr = t.raw.pointee.nr, mc = t.raw.pointee.mc
    let (pb, panelsB) = packRight(b, kernels: t, parallel: parallel)
    defer { pb.base.deallocate() }

    let rowBlocks = (m + mc - 1) / mc
    // Enough column blocks to keep both cores busy when there are few row blocks.
    // (Not when single-threaded: narrow column blocks would send a Gram product of a LoRA factor,
    // 128 columns deep in thousands, to the skinny kernels, several times slower there.)
    var ncChoice = lowerOnly ? 256 : columnsPerJob
    while parallel && rowBlocks * ((n + ncChoice - 1) / ncChoice) < 8 && ncChoice > nr * 4 { ncChoice /= 2 }
    let nc = ncChoice
    let colBlocks = (n + nc - 1) / nc
    let out = OutputPointer(base: c)
    runJobs(rowBlocks * colBlocks, parallel: parallel) { job in
        let i0 = (job / colBlocks) * mc, j0 = (job % colBlocks) * nc
        if lowerOnly && j0 >= i0 + mc { return }
        t.raw.pointee.gemm_tile(a.view, pb.base, panelsB, k, i0, min(mc, m - i0), j0, min(nc, n - j0), n,
                                out.base, ldc, (accumulate ? WL_GEMM_ACCUMULATE : 0) | (lowerOnly ? WL_GEMM_LOWER : 0))
    }
}

/// B (k×n) packed for `gemm_tile`: for each KC slice starting at p0 (depth kcb), NR-wide panel j
/// sits at p0·panels·NR + j·kcb·NR. The caller deallocates `packed.base`.
func packRight(_ b: StridedOperand, kernels t: KernelTable, parallel: Bool) -> (packed: OutputPointer, panels: Int) {
    let k = b.rows, n = b.cols
    let nr = t.raw.pointee.nr, kc = t.raw.pointee.kc
    let panelsB = (n + nr - 1) / nr
    let pb = OutputPointer(base: UnsafeMutablePointer<Float>.allocate(capacity: panelsB * nr * k))
    let packJobs = min(panelsB, 64)
    runJobs(packJobs, parallel: parallel) { job in
        let jStart = job * panelsB / packJobs, jEnd = (job + 1) * panelsB / packJobs
        var p0 = 0
        while p0 < k {
            let kcb = min(kc, k - p0)
            for j in jStart..<jEnd {
                t.raw.pointee.gemm_pack_b(b.view, p0, kcb, j * nr, pb.base + p0 * panelsB * nr + j * kcb * nr)
            }
            p0 += kcb
        }
    }
    return (pb, panelsB)
}

// MARK: - Public products

/// Which operands of a product are used transposed.
enum ProductForm { case ab, aTb, abT }

private func product(_ a: Matrix, _ b: Matrix, _ form: ProductForm) throws(AnalysisError) -> Matrix {
    let (m, k, kb, n): (Int, Int, Int, Int)
    let name: String
    switch form {
    case .ab: (m, k, kb, n, name) = (a.rows, a.cols, b.rows, b.cols, "multiply A·B")
    case .aTb: (m, k, kb, n, name) = (a.cols, a.rows, b.rows, b.cols, "multiply Aᵀ·B")
    case .abT: (m, k, kb, n, name) = (a.rows, a.cols, b.cols, b.rows, "multiply A·Bᵀ")
    }
    guard k == kb else { throw .shapeMismatch(operation: name, left: a.shape, right: b.shape) }
    let (count, overflow) = m.multipliedReportingOverflow(by: n)
    guard !overflow, count <= maxElements else {
        throw .tooLarge(operation: "The product", elementCount: overflow ? Int.max : count, limit: maxElements)
    }
    var c = [Float](repeating: 0, count: count)
    a.values.withUnsafeBufferPointer { ap in
        b.values.withUnsafeBufferPointer { bp in
            c.withUnsafeMutableBufferPointer { cp in
                guard let abase = ap.baseAddress, let bbase = bp.baseAddress, let cbase = cp.baseAddress else { return }
                let av = StridedOperand(base: abase, rows: a.rows, cols: a.cols, rowStride: a.cols, colStride: 1)
                let bv = StridedOperand(base: bbase, rows: b.rows, cols: b.cols, rowStride: b.cols, colStride: 1)
                switch form {
                case .ab: gemm(av, bv, cbase, ldc: n, accumulate: false)
                case .aTb: gemm(av.transposed, bv, cbase, ldc: n, accumulate: false)
                case .abT: gemm(av, bv.transposed, cbase, ldc: n, accumulate: false)
                }
            }
        }
    }
    return Matrix(rows: m, cols: n, values: c)
}

/// The lower triangle of the smaller Gram matrix of `a` (A·Aᵀ when rows ≤ cols, else Aᵀ·A),
/// row-major; the upper triangle is unspecified (tiles above the diagonal are not computed).
public func gramLowerTriangle(_ a: Matrix) throws(AnalysisError) -> Matrix {
    let p = min(a.rows, a.cols)
    let (count, overflow) = p.multipliedReportingOverflow(by: p)
    guard !overflow, count <= maxElements else {
        throw .tooLarge(operation: "The Gram matrix", elementCount: overflow ? Int.max : count, limit: maxElements)
    }
    var c = [Float](repeating: 0, count: count)
    a.values.withUnsafeBufferPointer { ap in
        c.withUnsafeMutableBufferPointer { cp in
            guard let abase = ap.baseAddress, let cbase = cp.baseAddress else { return }
            let av = StridedOperand(base: abase, rows: a.rows, cols: a.cols, rowStride: a.cols, colStride: 1)
            let left = a.rows <= a.cols ? av : av.transposed
            gemm(left, left.transposed, cbase, ldc: p, accumulate: false, lowerOnly: true)
        }
    }
    return Matrix(rows: p, cols: p, values: c)
}

/// Largest result (elements) one call may allocate: 1 Gi floats = 4 GiB.
let maxElements = 1 << 30

/// A·B.
public func matmul(_ a: Matrix, _ b: Matrix) throws(AnalysisError) -> Matrix { try product(a, b, .ab) }
/// Aᵀ·B without forming Aᵀ.
public func matmulTransposedA(_ a: Matrix, _ b: Matrix) throws(AnalysisError) -> Matrix { try product(a, b, .aTb) }
/// A·Bᵀ without forming Bᵀ.
public func matmulTransposedB(_ a: Matrix, _ b: Matrix) throws(AnalysisError) -> Matrix { try product(a, b, .abT) }
