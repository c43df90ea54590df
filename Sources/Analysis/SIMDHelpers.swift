// Small SIMD helpers shared by the kernels.

/// `acc += a * b`, fused when the build targets an FMA-capable CPU.
///
/// Without an FMA target, `addProduct` lowers to a libm `fmaf` call per lane, which is an order of
/// magnitude slower than a separate multiply and add; `WEIGHTLENS_FMA` is defined by Package.swift
/// together with a native `-target-cpu` (WEIGHTLENS_NATIVE=1 or avx512).
///
/// One overload per vector type on purpose: a version generic over `SIMD` compiles to the
/// stdlib's lane-by-lane fallback in the portable build (the analysis tests went from 2 s to
/// 143 s), while the concrete types get single vector instructions.
@inline(__always)
func fusedMultiplyAdd(_ acc: inout SIMD8<Float>, _ a: SIMD8<Float>, _ b: SIMD8<Float>) {
    #if WEIGHTLENS_FMA || arch(arm64)
    acc.addProduct(a, b)
    #else
    acc += a * b
    #endif
}

@inline(__always)
func fusedMultiplyAdd(_ acc: inout SIMD4<Double>, _ a: SIMD4<Double>, _ b: SIMD4<Double>) {
    #if WEIGHTLENS_FMA || arch(arm64)
    acc.addProduct(a, b)
    #else
    acc += a * b
    #endif
}

@inline(__always)
func fusedMultiplyAdd(_ acc: inout SIMD8<Double>, _ a: SIMD8<Double>, _ b: SIMD8<Double>) {
    #if WEIGHTLENS_FMA || arch(arm64)
    acc.addProduct(a, b)
    #else
    acc += a * b
    #endif
}

@inline(__always)
func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

@inline(__always)
func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
}

/// Dot product of two Float vectors, accumulated in Float SIMD lanes.
@inline(__always)
func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
    var i = 0
    while i + 16 <= n {
        fusedMultiplyAdd(&acc0, load8(a + i), load8(b + i))
        fusedMultiplyAdd(&acc1, load8(a + i + 8), load8(b + i + 8))
        i += 16
    }
    while i + 8 <= n { fusedMultiplyAdd(&acc0, load8(a + i), load8(b + i)); i += 8 }
    var s = (acc0 + acc1).sum()
    while i < n { s += a[i] * b[i]; i += 1 }
    return s
}

/// Dot product of two Float vectors accumulated in Double (for norms and Gram entries that must
/// stay accurate over tens of thousands of terms).
@inline(__always)
func dotDouble(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Double {
    var acc0 = SIMD4<Double>(), acc1 = SIMD4<Double>()
    var i = 0
    while i + 8 <= n {
        let x = load8(a + i), y = load8(b + i)
        fusedMultiplyAdd(&acc0, SIMD4<Double>(x.lowHalf), SIMD4<Double>(y.lowHalf))
        fusedMultiplyAdd(&acc1, SIMD4<Double>(x.highHalf), SIMD4<Double>(y.highHalf))
        i += 8
    }
    var s = (acc0 + acc1).sum()
    while i < n { s += Double(a[i]) * Double(b[i]); i += 1 }
    return s
}

/// `y += alpha * x` over `n` Floats.
@inline(__always)
func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    let a = SIMD8<Float>(repeating: alpha)
    var i = 0
    while i + 8 <= n {
        var v = load8(y + i)
        fusedMultiplyAdd(&v, a, load8(x + i))
        store8(v, y + i)
        i += 8
    }
    while i < n { y[i] += alpha * x[i]; i += 1 }
}

