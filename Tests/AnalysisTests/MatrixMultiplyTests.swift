import Kernels
import Testing
@testable import Analysis

@Suite struct MatrixMultiplyTests {
    /// Every kernel path this machine runs (forced per test); the shapes cover partial MR×NR
    /// tiles of every path (NR 8, 16, 32) and more than one KC slice.
    /// (250, 530, 40) and (1000, 600, 64) are skinny products whose left operand is read in place
    /// (one or two NR panels): partial row panels, partial column panels, three KC slices.
    // (103, 300, 16), (37, 530, 48), (1000, 257, 16): one valid vector in a two-vector panel (the
    // SVD's 16-column block on AVX-512), the half-width 12-row tiles plus 6-row and partial tails.
    @Test(arguments: [(1, 1, 1), (5, 7, 3), (6, 16, 256), (13, 300, 29), (97, 257, 1025), (200, 33, 700),
                      (250, 530, 40), (1000, 600, 64), (103, 300, 16), (37, 530, 48), (1000, 257, 16)], KernelPath.supported)
    func products_matchNaiveReference(shape: (Int, Int, Int), path: KernelPath) throws {
        let (m, k, n) = shape
        let a = TestMatrices.random(rows: m, cols: k, seed: 1)
        let b = TestMatrices.random(rows: k, cols: n, seed: 2)
        let ref = TestMatrices.naiveProduct(a, b)
        let (ab, aTb, abT) = try path.run {
            (try matmul(a, b), try matmulTransposedA(a.transposed(), b), try matmulTransposedB(a, b.transposed()))
        }
        #expect(TestMatrices.nmse(ab.values, ref) < 1e-11)
        #expect(TestMatrices.nmse(aTb.values, ref) < 1e-11)
        #expect(TestMatrices.nmse(abT.values, ref) < 1e-11)
    }

    @Test(arguments: KernelPath.supported)
    func accumulatingProduct_addsToC(path: KernelPath) throws {
        // C += A·B with strided (transposed) operands, as the SVD's Gram–Schmidt uses it.
        let a = TestMatrices.random(rows: 41, cols: 70, seed: 3), b = TestMatrices.random(rows: 70, cols: 35, seed: 4)
        let ref = TestMatrices.naiveProduct(a, b).map { $0 + 1 }
        var c = [Float](repeating: 1, count: 41 * 35)
        let at = a.transposed()
        try path.run {
            at.values.withUnsafeBufferPointer { ap in
                b.values.withUnsafeBufferPointer { bp in
                    c.withUnsafeMutableBufferPointer { cp in
                        let av = StridedOperand(base: ap.baseAddress!, rows: 70, cols: 41, rowStride: 41, colStride: 1).transposed
                        let bv = StridedOperand(base: bp.baseAddress!, rows: 70, cols: 35, rowStride: 35, colStride: 1)
                        gemm(av, bv, cp.baseAddress!, ldc: 35, accumulate: true)
                    }
                }
            }
        }
        #expect(TestMatrices.nmse(c, ref) < 1e-11)
    }

    /// The SVD's fused Krylov pass (CKernels `normal_apply`): images Z = opᵀ·Q and op·Z from one
    /// pass, against two naive products in Double. Tall (op a transposed view) and wide operators;
    /// long sides that split into several jobs with partial 8-index groups; block widths that fill
    /// whole 16-float slices or are padded to them; columns that start inside the basis.
    /// Both routes of a step on every path: the fused pass, and the two products that paths
    /// without `fused_normal` take (and that a wide operator always takes).
    @Test(arguments: [(29, 1030, true, true), (29, 1030, false, true), (70, 300, true, true), (5, 2049, false, true),
                      (29, 1030, true, false), (70, 300, true, false), (5, 2049, false, false)], KernelPath.supported)
    func normalApply_matchesTwoProducts(shape: (Int, Int, Bool, Bool), path: KernelPath) throws {
        let (p, q, tall, fused) = shape
        let ld = 40
        // The matrix as stored: q × p (tall, op = Aᵀ) or p × q (wide, op = A).
        let a = TestMatrices.random(rows: tall ? q : p, cols: tall ? p : q, seed: 5)
        let basis = TestMatrices.random(rows: p, cols: ld, seed: 6)
        for columns in [0..<16, 3..<8, 7..<(7 + min(20, ld - 7))] {
            var z = [Float](repeating: 0, count: q * ld), az = [Float](repeating: 0, count: p * ld)
            var qv = basis.values
            try path.run {
                a.values.withUnsafeBufferPointer { ap in
                    let view = StridedOperand(base: ap.baseAddress!, rows: a.rows, cols: a.cols, rowStride: a.cols, colStride: 1)
                    let solver = KrylovSVD(op: tall ? view.transposed : view, k: 1, tolerance: 1e-5, maxIterations: 1,
                                           cancellation: nil, progress: nil)
                    solver.normalApply(&qv, &z, &az, ld: ld, columns: columns, fused: fused)
                }
            }
            // References: images[t][c] = Σ_i op[i, t]·Q[i, c]; applied[i][c] = Σ_t op[i, t]·images[t][c].
            func op(_ i: Int, _ t: Int) -> Double { Double(tall ? a[t, i] : a[i, t]) }
            var images = [Double](repeating: 0, count: q * columns.count), applied = [Double](repeating: 0, count: p * columns.count)
            for t in 0..<q { for (c, col) in columns.enumerated() { for i in 0..<p { images[t * columns.count + c] += op(i, t) * Double(basis[i, col]) } } }
            for i in 0..<p { for c in 0..<columns.count { for t in 0..<q { applied[i * columns.count + c] += op(i, t) * images[t * columns.count + c] } } }
            let gotZ = (0..<q).flatMap { t in columns.map { z[t * ld + $0] } }
            let gotAZ = (0..<p).flatMap { i in columns.map { az[i * ld + $0] } }
            #expect(TestMatrices.nmse(gotZ, images) < 1e-11, "images, columns \(columns)")
            #expect(TestMatrices.nmse(gotAZ, applied) < 1e-11, "applied, columns \(columns)")
            // Columns outside the range are left alone.
            #expect((0..<q).allSatisfy { t in (0..<ld).allSatisfy { columns.contains($0) || z[t * ld + $0] == 0 } })
            #expect(qv == basis.values)
        }
    }

    @Test(arguments: KernelPath.supported)
    func accumulatingSkinnyProduct_readsRowMajorAInPlace(path: KernelPath) throws {
        // C += A·B with a row-major A and a 35-column B: the in-place kernel, over two KC slices.
        let a = TestMatrices.random(rows: 53, cols: 300, seed: 5), b = TestMatrices.random(rows: 300, cols: 35, seed: 6)
        let ref = TestMatrices.naiveProduct(a, b).map { $0 - 2 }
        var c = [Float](repeating: -2, count: 53 * 35)
        try path.run {
            a.values.withUnsafeBufferPointer { ap in
                b.values.withUnsafeBufferPointer { bp in
                    c.withUnsafeMutableBufferPointer { cp in
                        let av = StridedOperand(base: ap.baseAddress!, rows: 53, cols: 300, rowStride: 300, colStride: 1)
                        let bv = StridedOperand(base: bp.baseAddress!, rows: 300, cols: 35, rowStride: 35, colStride: 1)
                        gemm(av, bv, cp.baseAddress!, ldc: 35, accumulate: true)
                    }
                }
            }
        }
        #expect(TestMatrices.nmse(c, ref) < 1e-11)
    }

    @Test(arguments: KernelPath.supported)
    func gramRows_matchADoubleReference(path: KernelPath) throws {
        // The SVD's Gram update: 7 new columns from column 3 (a partial 4-row tile) against 37
        // columns (a partial vector tile on every path), rows 45 floats apart.
        let (rows, ld, r0, width, cols) = (50, 45, 3, 7, 37)
        let z = TestMatrices.random(rows: rows, cols: ld, seed: 8).values
        var out = [Double](repeating: 1, count: width * cols)
        try path.run {
            z.withUnsafeBufferPointer { zp in
                out.withUnsafeMutableBufferPointer { op in
                    KernelTable.current.raw.pointee.gram_rows_d(zp.baseAddress!, ld, rows, r0, width, cols, op.baseAddress!)
                }
            }
        }
        for r in 0..<width {
            for c in 0..<cols {
                var want = 1.0
                for t in 0..<rows { want += Double(z[t * ld + r0 + r]) * Double(z[t * ld + c]) }
                #expect(abs(out[r * cols + c] - want) <= 1e-12 * max(1, abs(want)), "r \(r) c \(c) path \(path)")
            }
        }
    }

    @Test func mismatchedInnerDimensions_throwShapeMismatch() {
        let a = Matrix(zeros: 3, 4), b = Matrix(zeros: 5, 2)
        #expect(throws: AnalysisError.shapeMismatch(operation: "multiply A·B", left: [3, 4], right: [5, 2])) { try matmul(a, b) }
    }

    @Test func emptyInnerDimension_givesZeros() throws {
        let c = try matmul(Matrix(zeros: 3, 0), Matrix(zeros: 0, 2))
        #expect(c == Matrix(zeros: 3, 2))
    }
}
