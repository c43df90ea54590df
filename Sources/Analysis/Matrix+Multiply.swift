import Dispatch

// Blocked, packed, multithreaded single-precision matrix products.
//
// Layout follows the usual GotoBLAS scheme: the right operand is packed once into NR-wide column
// panels (per KC-deep slice), each worker packs an MC×KC block of the left operand into MR-tall
// row panels, and a 6×16 register-blocked micro-kernel (12 SIMD8 accumulators, which fit the 16
// AVX2 registers with room for two B vectors and one broadcast) does the arithmetic. Work is split
// into (row block, column block) jobs run with `DispatchQueue.concurrentPerform`; the jobs write
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
}

/// Raw output pointer handed to workers; each job writes only its own tile.
struct OutputPointer: @unchecked Sendable { let base: UnsafeMutablePointer<Float> }

enum GEMMBlocking {
    static let mr = 6
    #if WEIGHTLENS_AVX512
    static let nr = 32     // two SIMD16 (zmm) vectors per kernel row
    #else
    static let nr = 16     // two SIMD8 (ymm) vectors per kernel row
    #endif
    static let kc = 256
    static let mc = 96     // multiple of mr; an MC×KC block (96 KiB) stays in L2
    static let nc = 1024   // multiple of nr; columns per job
}

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

/// C (m×n, row stride `ldc`) = A (m×k) · B (k×n), or C += A·B when `accumulate`.
func gemm(_ a: StridedOperand, _ b: StridedOperand, _ c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool,
          parallel: Bool = true) {
    let m = a.rows, n = b.cols, k = a.cols
    precondition(b.rows == k, "inner dimensions differ")
    if m == 0 || n == 0 { return }
    if k == 0 {
        if !accumulate { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }
        return
    }
    typealias B = GEMMBlocking
    let panelsB = (n + B.nr - 1) / B.nr
    let packedB = UnsafeMutablePointer<Float>.allocate(capacity: panelsB * B.nr * k)
    defer { packedB.deallocate() }
    let pb = OutputPointer(base: packedB)

    // Pack B: for each KC slice starting at p0 (depth kcb), panel j sits at p0*panelsB*NR + j*kcb*NR.
    let packJobs = min(panelsB, 64)
    runJobs(packJobs, parallel: parallel) { job in
        let jStart = job * panelsB / packJobs, jEnd = (job + 1) * panelsB / packJobs
        var p0 = 0
        while p0 < k {
            let kcb = min(B.kc, k - p0)
            for j in jStart..<jEnd {
                packPanelB(b, p0: p0, kcb: kcb, j0: j * B.nr, into: pb.base + p0 * panelsB * B.nr + j * kcb * B.nr)
            }
            p0 += kcb
        }
    }

    let rowBlocks = (m + B.mc - 1) / B.mc
    // Enough column blocks to keep both cores busy when there are few row blocks.
    var ncChoice = B.nc
    while rowBlocks * ((n + ncChoice - 1) / ncChoice) < 8 && ncChoice > B.nr * 4 { ncChoice /= 2 }
    let nc = ncChoice
    let colBlocks = (n + nc - 1) / nc
    let out = OutputPointer(base: c)
    runJobs(rowBlocks * colBlocks, parallel: parallel) { job in
        let i0 = (job / colBlocks) * B.mc, j0 = (job % colBlocks) * nc
        let mcb = min(B.mc, m - i0), ncb = min(nc, n - j0)
        let panelsA = (mcb + B.mr - 1) / B.mr
        let packedA = UnsafeMutablePointer<Float>.allocate(capacity: panelsA * B.mr * B.kc)
        defer { packedA.deallocate() }
        var tile = [Float](repeating: 0, count: B.mr * B.nr)
        tile.withUnsafeMutableBufferPointer { tileBuf in
            let t = tileBuf.baseAddress!
            var p0 = 0
            while p0 < k {
                let kcb = min(B.kc, k - p0)
                packBlockA(a, i0: i0, mcb: mcb, p0: p0, kcb: kcb, into: packedA)
                let acc = accumulate || p0 > 0
                var jj = 0
                while jj < ncb {
                    let j = j0 + jj
                    let bPanel = pb.base + p0 * panelsB * B.nr + (j / B.nr) * kcb * B.nr
                    let nrb = min(B.nr, n - j)
                    var ii = 0
                    while ii < mcb {
                        let mrb = min(B.mr, mcb - ii)
                        let aPanel = packedA + (ii / B.mr) * B.mr * kcb
                        let cTile = out.base + (i0 + ii) * ldc + j
                        if mrb == B.mr && nrb == B.nr {
                            microKernel(kcb, aPanel, bPanel, cTile, ldc, acc)
                        } else {
                            microKernel(kcb, aPanel, bPanel, t, B.nr, false)
                            for r in 0..<mrb {
                                for s in 0..<nrb {
                                    let v = t[r * B.nr + s]
                                    cTile[r * ldc + s] = acc ? cTile[r * ldc + s] + v : v
                                }
                            }
                        }
                        ii += B.mr
                    }
                    jj += B.nr
                }
                p0 += kcb
            }
        }
    }
}

/// Packs rows i0..<i0+mcb, depth p0..<p0+kcb of `a` into MR-row panels, zero-padded.
@inline(__always)
private func packBlockA(_ a: StridedOperand, i0: Int, mcb: Int, p0: Int, kcb: Int, into dst: UnsafeMutablePointer<Float>) {
    let mr = GEMMBlocking.mr
    let panels = (mcb + mr - 1) / mr
    for panel in 0..<panels {
        let d = dst + panel * mr * kcb
        let rowBase = i0 + panel * mr
        let valid = min(mr, i0 + mcb - rowBase)
        if a.rowStride == 1 && valid == mr {
            // Transposed operand: the MR values of one depth step are contiguous.
            for p in 0..<kcb {
                let s = a.base + (p0 + p) * a.colStride + rowBase
                for r in 0..<mr { d[p * mr + r] = s[r] }
            }
        } else {
            for r in 0..<mr {
                if r < valid {
                    let s = a.base + (rowBase + r) * a.rowStride + p0 * a.colStride
                    if a.colStride == 1 {
                        for p in 0..<kcb { d[p * mr + r] = s[p] }
                    } else {
                        for p in 0..<kcb { d[p * mr + r] = s[p * a.colStride] }
                    }
                } else {
                    for p in 0..<kcb { d[p * mr + r] = 0 }
                }
            }
        }
    }
}

/// Packs depth p0..<p0+kcb, columns j0..<j0+NR of `b` into one NR-wide panel, zero-padded.
@inline(__always)
private func packPanelB(_ b: StridedOperand, p0: Int, kcb: Int, j0: Int, into d: UnsafeMutablePointer<Float>) {
    let nr = GEMMBlocking.nr
    let valid = min(nr, b.cols - j0)
    if b.colStride == 1 && valid == nr {
        for p in 0..<kcb {
            let s = b.base + (p0 + p) * b.rowStride + j0
            var c = 0
            while c < nr { store8(load8(s + c), d + p * nr + c); c += 8 }
        }
    } else {
        for s in 0..<nr {
            if s < valid {
                let src = b.base + p0 * b.rowStride + (j0 + s) * b.colStride
                for p in 0..<kcb { d[p * nr + s] = src[p * b.rowStride] }
            } else {
                for p in 0..<kcb { d[p * nr + s] = 0 }
            }
        }
    }
}

/// The register-blocked kernel for this build: 6×NR tile, C (=|+=) Apanel · Bpanel.
@inline(__always)
private func microKernel(_ kc: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                         _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulate: Bool) {
    #if WEIGHTLENS_AVX512
    microKernel6x32(kc, a, b, c, ldc, accumulate)
    #else
    microKernel6x16(kc, a, b, c, ldc, accumulate)
    #endif
}

#if WEIGHTLENS_AVX512
@inline(__always)
private func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
}

@inline(__always)
private func store16(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self)
}

/// 6×32 kernel for AVX-512 (12 SIMD16 accumulators in zmm registers); FMA is guaranteed there.
@inline(__always)
private func microKernel6x32(_ kc: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                             _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulate: Bool) {
    var c00 = SIMD16<Float>(), c01 = SIMD16<Float>()
    var c10 = SIMD16<Float>(), c11 = SIMD16<Float>()
    var c20 = SIMD16<Float>(), c21 = SIMD16<Float>()
    var c30 = SIMD16<Float>(), c31 = SIMD16<Float>()
    var c40 = SIMD16<Float>(), c41 = SIMD16<Float>()
    var c50 = SIMD16<Float>(), c51 = SIMD16<Float>()
    var ap = a, bp = b
    for _ in 0..<kc {
        let b0 = load16(bp), b1 = load16(bp + 16)
        var x = SIMD16<Float>(repeating: ap[0])
        c00.addProduct(x, b0); c01.addProduct(x, b1)
        x = SIMD16<Float>(repeating: ap[1])
        c10.addProduct(x, b0); c11.addProduct(x, b1)
        x = SIMD16<Float>(repeating: ap[2])
        c20.addProduct(x, b0); c21.addProduct(x, b1)
        x = SIMD16<Float>(repeating: ap[3])
        c30.addProduct(x, b0); c31.addProduct(x, b1)
        x = SIMD16<Float>(repeating: ap[4])
        c40.addProduct(x, b0); c41.addProduct(x, b1)
        x = SIMD16<Float>(repeating: ap[5])
        c50.addProduct(x, b0); c51.addProduct(x, b1)
        ap += 6
        bp += 32
    }
    if accumulate {
        c00 += load16(c); c01 += load16(c + 16)
        c10 += load16(c + ldc); c11 += load16(c + ldc + 16)
        c20 += load16(c + 2 * ldc); c21 += load16(c + 2 * ldc + 16)
        c30 += load16(c + 3 * ldc); c31 += load16(c + 3 * ldc + 16)
        c40 += load16(c + 4 * ldc); c41 += load16(c + 4 * ldc + 16)
        c50 += load16(c + 5 * ldc); c51 += load16(c + 5 * ldc + 16)
    }
    store16(c00, c); store16(c01, c + 16)
    store16(c10, c + ldc); store16(c11, c + ldc + 16)
    store16(c20, c + 2 * ldc); store16(c21, c + 2 * ldc + 16)
    store16(c30, c + 3 * ldc); store16(c31, c + 3 * ldc + 16)
    store16(c40, c + 4 * ldc); store16(c41, c + 4 * ldc + 16)
    store16(c50, c + 5 * ldc); store16(c51, c + 5 * ldc + 16)
}
#endif

/// 6×16 register-blocked kernel: C[0..<6, 0..<16] (=|+=) Apanel · Bpanel over `kc` steps.
@inline(__always)
private func microKernel6x16(_ kc: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                             _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulate: Bool) {
    var c00 = SIMD8<Float>(), c01 = SIMD8<Float>()
    var c10 = SIMD8<Float>(), c11 = SIMD8<Float>()
    var c20 = SIMD8<Float>(), c21 = SIMD8<Float>()
    var c30 = SIMD8<Float>(), c31 = SIMD8<Float>()
    var c40 = SIMD8<Float>(), c41 = SIMD8<Float>()
    var c50 = SIMD8<Float>(), c51 = SIMD8<Float>()
    var ap = a, bp = b
    for _ in 0..<kc {
        let b0 = load8(bp), b1 = load8(bp + 8)
        var x = SIMD8<Float>(repeating: ap[0])
        fusedMultiplyAdd(&c00, x, b0); fusedMultiplyAdd(&c01, x, b1)
        x = SIMD8<Float>(repeating: ap[1])
        fusedMultiplyAdd(&c10, x, b0); fusedMultiplyAdd(&c11, x, b1)
        x = SIMD8<Float>(repeating: ap[2])
        fusedMultiplyAdd(&c20, x, b0); fusedMultiplyAdd(&c21, x, b1)
        x = SIMD8<Float>(repeating: ap[3])
        fusedMultiplyAdd(&c30, x, b0); fusedMultiplyAdd(&c31, x, b1)
        x = SIMD8<Float>(repeating: ap[4])
        fusedMultiplyAdd(&c40, x, b0); fusedMultiplyAdd(&c41, x, b1)
        x = SIMD8<Float>(repeating: ap[5])
        fusedMultiplyAdd(&c50, x, b0); fusedMultiplyAdd(&c51, x, b1)
        ap += 6
        bp += 16
    }
    if accumulate {
        c00 += load8(c); c01 += load8(c + 8)
        c10 += load8(c + ldc); c11 += load8(c + ldc + 8)
        c20 += load8(c + 2 * ldc); c21 += load8(c + 2 * ldc + 8)
        c30 += load8(c + 3 * ldc); c31 += load8(c + 3 * ldc + 8)
        c40 += load8(c + 4 * ldc); c41 += load8(c + 4 * ldc + 8)
        c50 += load8(c + 5 * ldc); c51 += load8(c + 5 * ldc + 8)
    }
    store8(c00, c); store8(c01, c + 8)
    store8(c10, c + ldc); store8(c11, c + ldc + 8)
    store8(c20, c + 2 * ldc); store8(c21, c + 2 * ldc + 8)
    store8(c30, c + 3 * ldc); store8(c31, c + 3 * ldc + 8)
    store8(c40, c + 4 * ldc); store8(c41, c + 4 * ldc + 8)
    store8(c50, c + 5 * ldc); store8(c51, c + 5 * ldc + 8)
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

/// Largest result (elements) one call may allocate: 1 Gi floats = 4 GiB.
let maxElements = 1 << 30

/// A·B.
public func matmul(_ a: Matrix, _ b: Matrix) throws(AnalysisError) -> Matrix { try product(a, b, .ab) }
/// Aᵀ·B without forming Aᵀ.
public func matmulTransposedA(_ a: Matrix, _ b: Matrix) throws(AnalysisError) -> Matrix { try product(a, b, .aTb) }
/// A·Bᵀ without forming Bᵀ.
public func matmulTransposedB(_ a: Matrix, _ b: Matrix) throws(AnalysisError) -> Matrix { try product(a, b, .abT) }
