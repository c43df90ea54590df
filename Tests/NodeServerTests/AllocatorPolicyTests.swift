#if canImport(Glibc)
import CLibMalloc
import Glibc
@testable import NodeServer
import Testing

@Suite struct AllocatorPolicyTests {
    /// glibc marks a block that has its own mapping with bit 1 (IS_MMAPPED) of the size word just
    /// before the pointer; that mapping is what is unmapped, and so returned to the kernel, on free.
    static func isOwnMapping(_ pointer: UnsafeMutableRawPointer) -> Bool {
        (pointer - MemoryLayout<Int>.size).load(as: Int.self) & 2 != 0
    }

    @Test func serverPolicy_fixesTheMmapThreshold_soLargeBuffersGetTheirOwnMapping() throws {
        #expect(AllocatorPolicy.applyServerPolicy(environment: [:]) == .fixedMmapThreshold(bytes: 4 << 20))
        // Without the fixed threshold, glibc raises it after a large free and serves the next
        // buffers of that size from the thread's arena, where freeing them does not shrink RSS.
        let earlier = try #require(malloc(24 << 20))
        earlier.storeBytes(of: 1, as: UInt8.self)
        free(earlier)
        let big = try #require(malloc(AllocatorPolicy.mmapThreshold + 4096))
        defer { free(big) }
        #expect(Self.isOwnMapping(big))
        let small = try #require(malloc(4096))
        defer { free(small) }
        #expect(!Self.isOwnMapping(small))
    }

    @Test func environmentSettings_win() {
        #expect(AllocatorPolicy.applyServerPolicy(environment: ["MALLOC_MMAP_THRESHOLD_": "262144"])
                == .leftToEnvironment(variable: "MALLOC_MMAP_THRESHOLD_"))
        #expect(AllocatorPolicy.applyServerPolicy(environment: ["MALLOC_TRIM_THRESHOLD_": "131072"])
                == .leftToEnvironment(variable: "MALLOC_TRIM_THRESHOLD_"))
    }
}
#endif
