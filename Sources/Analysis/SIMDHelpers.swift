// The engine's vector kernels come from CKernels, compiled once per instruction set; the table is
// chosen at run time (docs/ENGINE.md, "Kernel dispatch"). An operation reads `KernelTable.current`
// once and hands it to its worker threads, so every part of it runs the same path.
import CKernels

/// One path's kernel table, passable to `concurrentPerform` workers.
struct KernelTable: @unchecked Sendable {
    let raw: UnsafePointer<wl_kernels>

    /// The table for work started on this thread (a forced path in tests, else the process's).
    @inline(__always) static var current: KernelTable { KernelTable(raw: wl_current()) }
}

/// Dot product of two Float vectors, accumulated in Float lanes.
@inline(__always)
func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    wl_current().pointee.dot(a, b, n)
}

/// Dot product of two Float vectors accumulated in Double (for norms and Gram entries that must
/// stay accurate over tens of thousands of terms).
@inline(__always)
func dotDouble(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Double {
    wl_current().pointee.dot_f64acc(a, b, n)
}

/// `y += alpha * x` over `n` Floats.
@inline(__always)
func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    wl_current().pointee.axpy(alpha, x, y, n)
}
