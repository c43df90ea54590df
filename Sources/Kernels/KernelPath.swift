// Kernels: which instruction-set path of the engine's hot loops (CKernels) this process runs,
// and the means to force one (WEIGHTLENS_KERNELS for whole processes, `KernelPath.run` for one
// thread's work in tests and benchmarks). docs/ENGINE.md, "Kernel dispatch".
import CKernels

/// One compiled version of the kernels.
public enum KernelPath: String, CaseIterable, Sendable, CustomStringConvertible {
    /// x86-64 with AVX-512 F/VL/BW/DQ, FMA and F16C: 16 Float lanes.
    case avx512
    /// x86-64 with AVX2, FMA and F16C: 8 Float lanes.
    case avx2
    /// Any x86-64 (SSE2): 4 Float lanes, separate multiply and add.
    case baseline
    /// aarch64 Advanced SIMD: 4 Float lanes with FMA.
    case neon

    var index: Int32 {
        switch self {
        case .avx512: Int32(WL_PATH_AVX512)
        case .avx2: Int32(WL_PATH_AVX2)
        case .baseline: Int32(WL_PATH_BASELINE)
        case .neon: Int32(WL_PATH_NEON)
        }
    }

    init?(table: UnsafePointer<wl_kernels>) {
        self.init(rawValue: String(cString: table.pointee.name))
    }

    /// What the path uses, for `--version`, `/system_stats` and benchmark output.
    public var description: String {
        switch self {
        case .avx512: hasExtensions ? "avx512 (AVX-512 F/VL/BW/DQ, VNNI, FMA, F16C; 16 lanes)" : "avx512 (AVX-512 F/VL/BW/DQ, FMA, F16C; 16 lanes)"
        case .avx2: hasExtensions ? "avx2 (AVX2, AVX-VNNI, FMA, F16C; 8 lanes)" : "avx2 (AVX2, FMA, F16C; 8 lanes)"
        case .baseline: "baseline (SSE2; 4 lanes, no FMA)"
        case .neon: "neon (Advanced SIMD with FMA; 4 lanes)"
        }
    }

    /// Whether this CPU gives the path an optional extension for the integer screen (AVX-512 VNNI on
    /// the avx512 path, AVX-VNNI on the avx2 path).
    public var hasExtensions: Bool {
        guard let table = wl_table(index), let base = wl_table_base(index) else { return false }
        return table != base
    }

    /// Whether this binary carries the path and this CPU (and OS) can run it.
    public var isSupported: Bool { wl_cpu_supports(index) != 0 }

    /// The paths this machine can run, best first.
    public static var supported: [KernelPath] { allCases.filter(\.isSupported) }

    /// The best path this machine supports: what a process uses unless told otherwise.
    public static var best: KernelPath { allCases.first { $0.index == wl_best_path() } ?? .baseline }

    /// The path of the whole process, chosen once on first use from the CPU and WEIGHTLENS_KERNELS.
    public static var process: KernelPath { KernelPath(table: wl_process_table()) ?? .baseline }

    /// The path work started on this thread uses now (a `run(_:)` override, else `process`).
    public static var current: KernelPath { KernelPath(table: wl_current()) ?? .baseline }

    /// Runs `body` with this path's kernels for the work it starts on the calling thread (the
    /// engine hands the table to its worker threads). For tests and benchmarks; other threads
    /// keep their own path.
    public func run<T>(_ body: () throws -> T) throws -> T {
        try run(extensions: true, body)
    }

    /// `run(_:)`, optionally without the path's optional extensions (`hasExtensions`): tests check
    /// both tables on a machine that has them.
    public func run<T>(extensions: Bool, _ body: () throws -> T) throws -> T {
        guard isSupported, let table = extensions ? wl_table(index) : wl_table_base(index) else {
            throw KernelPathError.unsupported(requested: rawValue, supported: Self.supported)
        }
        let previous = wl_set_thread_override(table)
        defer { wl_set_thread_override(previous) }
        return try body()
    }

    /// Every table this machine runs, for tests: each supported path, and where it has optional
    /// extensions the same path without them.
    public static var supportedVariants: [Variant] {
        supported.flatMap { p in p.hasExtensions ? [Variant(path: p, extensions: true), Variant(path: p, extensions: false)] : [Variant(path: p, extensions: true)] }
    }

    /// One kernel table: a path with or without its optional extensions.
    public struct Variant: Sendable, CustomStringConvertible {
        public let path: KernelPath
        public let extensions: Bool
        public var description: String { path.hasExtensions && !extensions ? "\(path.rawValue) without extensions" : path.rawValue }
        public func run<T>(_ body: () throws -> T) throws -> T { try path.run(extensions: extensions, body) }
    }

    /// Parses a WEIGHTLENS_KERNELS value and checks it against `supported` (pure, for tests).
    public static func resolve(_ value: String, supported: [KernelPath]) throws(KernelPathError) -> KernelPath {
        guard let path = KernelPath(rawValue: value) else { throw .unknown(requested: value, supported: supported) }
        guard supported.contains(path) else { throw .unsupported(requested: value, supported: supported) }
        return path
    }

    /// Throws when WEIGHTLENS_KERNELS names a path this machine cannot run or no path at all
    /// (the process then runs the best path; the CLI refuses to start instead).
    public static func checkEnvironment() throws(KernelPathError) {
        let value = String(cString: wl_environment_value())
        switch wl_environment_status() {
        case 1: throw .unknown(requested: value, supported: supported)
        case 2: throw .unsupported(requested: value, supported: supported)
        default: return
        }
    }
}

/// A kernel path that cannot be used, with what can.
public enum KernelPathError: Error, Equatable, CustomStringConvertible {
    /// Not a path name.
    case unknown(requested: String, supported: [KernelPath])
    /// A path this CPU or this binary's architecture lacks.
    case unsupported(requested: String, supported: [KernelPath])

    public var description: String {
        switch self {
        case .unknown(let requested, let supported):
            "WEIGHTLENS_KERNELS=\(requested) is not a kernel path; use one of "
                + KernelPath.allCases.map(\.rawValue).joined(separator: ", ")
                + " (this machine supports \(supported.map(\.rawValue).joined(separator: ", ")))."
        case .unsupported(let requested, let supported):
            "The \(requested) kernels cannot run on this machine's CPU; it supports "
                + supported.map(\.rawValue).joined(separator: ", ") + "."
        }
    }
}
