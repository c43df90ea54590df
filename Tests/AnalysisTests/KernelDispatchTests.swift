import CKernels
import Foundation
import Kernels
import Testing
@testable import Analysis

/// The run-time choice of kernel path (docs/ENGINE.md, "Kernel dispatch").
@Suite struct KernelDispatchTests {
    /// The best path by the CPU's own report (Linux's /proc/cpuinfo flags, read independently of
    /// the CPUID code under test), or nil where that report is not available.
    static func bestPathFromCPUInfo() -> KernelPath? {
        #if arch(x86_64)
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return nil }
        let flags = Set(line.split(separator: ":").last!.split(separator: " ").map(String.init))
        if ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx2", "fma", "f16c"].allSatisfy(flags.contains) { return .avx512 }
        if ["avx2", "fma", "f16c"].allSatisfy(flags.contains) { return .avx2 }
        return .baseline
        #elseif arch(arm64)
        return .neon
        #else
        return nil
        #endif
    }

    @Test func defaultChoice_isTheBestPathTheCPUReports() throws {
        let expected = try #require(Self.bestPathFromCPUInfo())
        #expect(KernelPath.best == expected)
        #expect(KernelPath.supported.first == expected)
        // The process runs the best path unless WEIGHTLENS_KERNELS chose another one.
        if ProcessInfo.processInfo.environment["WEIGHTLENS_KERNELS", default: ""].isEmpty {
            #expect(KernelPath.process == expected)
            #expect(KernelPath.current == expected)
        }
        #if arch(x86_64)
        #expect(KernelPath.supported.contains(.baseline) && !KernelPath.supported.contains(.neon))
        #endif
    }

    /// The AVX-512 path takes VNNI and the AVX2 path AVX-VNNI for the integer screen exactly when
    /// the CPU reports them (Linux's flags `avx512_vnni`, `avx_vnni`); no other path has an
    /// optional extension.
    @Test func vnniScreen_followsTheCPUReport() throws {
        #if arch(x86_64)
        let text = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("flags") })
        let flags = Set(line.split(separator: ":").last!.split(separator: " ").map(String.init))
        let avx512 = KernelPath.supported.contains(.avx512), avx2 = KernelPath.supported.contains(.avx2)
        #expect(KernelPath.avx512.hasExtensions == (avx512 && flags.contains("avx512_vnni")))
        #expect(KernelPath.avx512.description.contains("VNNI") == KernelPath.avx512.hasExtensions)
        #expect(KernelPath.avx2.hasExtensions == (avx2 && flags.contains("avx_vnni")))
        #expect(KernelPath.avx2.description.contains("AVX-VNNI") == KernelPath.avx2.hasExtensions)
        #endif
        for path in KernelPath.allCases where path != .avx512 && path != .avx2 { #expect(!path.hasExtensions) }
        let variants = KernelPath.supportedVariants
        #expect(variants.count == KernelPath.supported.count + KernelPath.supported.filter(\.hasExtensions).count)
        for v in variants {
            let depth = try v.run { wl_current().pointee.qdepth }
            #expect(depth == (v.extensions && v.path.hasExtensions ? 4 : 2), "\(v)")
        }
    }

    @Test func forcedPath_appliesToThisThreadOnly_andIsUndone() throws {
        let before = KernelPath.current
        for path in KernelPath.supported {
            let inside = try path.run { KernelPath.current }
            #expect(inside == path)
            #expect(KernelPath.current == before)
        }
    }

    @Test func unsupportedPath_isRefusedWithAClearMessage() throws {
        #expect(throws: KernelPathError.unsupported(requested: "avx512", supported: [.avx2, .baseline])) {
            try KernelPath.resolve("avx512", supported: [.avx2, .baseline])
        }
        #expect(KernelPathError.unsupported(requested: "avx512", supported: [.avx2, .baseline]).description
            == "The avx512 kernels cannot run on this machine's CPU; it supports avx2, baseline.")
        #expect(throws: KernelPathError.unknown(requested: "sse9", supported: [.baseline])) {
            try KernelPath.resolve("sse9", supported: [.baseline])
        }
        #expect(try KernelPath.resolve("avx2", supported: [.avx2, .baseline]) == .avx2)
        // A path of another architecture is never runnable here.
        for path in KernelPath.allCases where !KernelPath.supported.contains(path) {
            #expect(throws: KernelPathError.self) { try path.run { () } }
        }
    }
}
