import Dispatch
import TensorCore

/// A dense row-major Float32 matrix: the operand type of every kernel in this module.
public struct Matrix: Sendable, Equatable {
    public var rows: Int
    public var cols: Int
    /// `rows * cols` values, row after row.
    public var values: [Float]

    /// Creates a matrix; `values.count` must equal `rows * cols`.
    public init(rows: Int, cols: Int, values: [Float]) {
        precondition(rows >= 0 && cols >= 0 && values.count == rows * cols,
                     "\(values.count) values for a \(rows)×\(cols) matrix")
        self.rows = rows
        self.cols = cols
        self.values = values
    }

    /// A matrix of zeros.
    public init(zeros rows: Int, _ cols: Int) {
        self.init(rows: rows, cols: cols, values: [Float](repeating: 0, count: rows * cols))
    }

    /// The identity.
    public static func identity(_ n: Int) -> Matrix {
        var m = Matrix(zeros: n, n)
        for i in 0..<n { m.values[i * n + i] = 1 }
        return m
    }

    /// A tensor seen as a matrix via `tensor.matrixShape`: conv [out, in, kh, kw] → (out, in·kh·kw),
    /// linear [out, in] unchanged. No copy beyond the array's copy-on-write.
    public init(_ tensor: Tensor) {
        let s = tensor.matrixShape
        self.init(rows: s.rows, cols: s.cols, values: tensor.values)
    }

    /// Element at (row, col).
    @inlinable public subscript(row: Int, col: Int) -> Float {
        get { values[row * cols + col] }
        set { values[row * cols + col] = newValue }
    }

    /// Shape as `[rows, cols]`, for error messages.
    public var shape: [Int] { [rows, cols] }

    /// The transpose (a copy), blocked so that both sides are read in cache-sized tiles.
    public func transposed() -> Matrix {
        var out = [Float](repeating: 0, count: values.count)
        let r = rows, c = cols
        values.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                let tile = 32
                var i0 = 0
                while i0 < r {
                    var j0 = 0
                    while j0 < c {
                        for i in i0..<min(i0 + tile, r) {
                            for j in j0..<min(j0 + tile, c) { dst[j * r + i] = src[i * c + j] }
                        }
                        j0 += tile
                    }
                    i0 += tile
                }
            }
        }
        return Matrix(rows: c, cols: r, values: out)
    }

    /// Frobenius norm, accumulated in Double.
    public var frobeniusNorm: Float {
        values.withUnsafeBufferPointer { p in
            guard let base = p.baseAddress else { return 0 }
            return Float(dotDouble(base, base, p.count).squareRoot())
        }
    }

    /// Rows `range` as a new matrix.
    public func rows(_ range: Range<Int>) -> Matrix {
        Matrix(rows: range.count, cols: cols, values: Array(values[(range.lowerBound * cols)..<(range.upperBound * cols)]))
    }

    /// Columns `range` as a new matrix.
    public func columns(_ range: Range<Int>) -> Matrix {
        var out = [Float](); out.reserveCapacity(rows * range.count)
        for i in 0..<rows { out.append(contentsOf: values[(i * cols + range.lowerBound)..<(i * cols + range.upperBound)]) }
        return Matrix(rows: rows, cols: range.count, values: out)
    }

    /// Index of the first NaN or infinity, if any. Large matrices are scanned in parallel chunks
    /// (the first chunk with a hit gives the answer).
    func firstNonFiniteIndex() -> Int? {
        values.withUnsafeBufferPointer { p in
            guard let base = p.baseAddress else { return nil }
            let n = p.count, chunk = 1 << 20
            let chunks = (n + chunk - 1) / chunk
            if chunks <= 1 { return firstNonFinite(base, 0..<n) }
            let hits = UnsafeMutablePointer<Int>.allocate(capacity: chunks)
            defer { hits.deallocate() }
            nonisolated(unsafe) let src = base, out = hits
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                out[c] = firstNonFinite(src, (c * chunk)..<min(n, (c + 1) * chunk)) ?? -1
            }
            return (0..<chunks).first { hits[$0] >= 0 }.map { hits[$0] }
        }
    }
}

/// Index of the first NaN or infinity in `range` of `base` (one thread; Render's reductions use it
/// to send blocks with such values to their exact sequential path).
package func firstNonFinite(_ base: UnsafePointer<Float>, _ range: Range<Int>) -> Int? {
    // A Float is NaN or infinite exactly when its exponent bits are all ones; checking
    // that on integer lanes vectorises, unlike a floating-point reduction.
    let raw = UnsafeRawPointer(base)
    let mask = SIMD16<UInt32>(repeating: 0x7F80_0000)
    var i = range.lowerBound
    let n = range.upperBound
    while i + 16 <= n {
        let bits = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<UInt32>.self)
        if any((bits & mask) .== mask) { break }
        i += 16
    }
    while i < n {
        if !base[i].isFinite { return i }
        i += 1
    }
    return nil
}
