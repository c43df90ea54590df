#if canImport(Glibc)
import CLibMalloc
import Glibc
@testable import NodeServer
import Testing

/// The policy is process-wide and glibc serves a block from an arena's free chunks whatever the
/// threshold, so each check runs in a fresh child process (an exit test) whose arenas hold no
/// large free chunk left by other tests.
@Suite struct AllocatorPolicyTests {
    /// glibc marks a block that has its own mapping with bit 1 (IS_MMAPPED) of the size word just
    /// before the pointer; that mapping is what is unmapped, and so returned to the kernel, on free.
    static func isOwnMapping(_ pointer: UnsafeMutableRawPointer) -> Bool {
        (pointer - MemoryLayout<Int>.size).load(as: Int.self) & 2 != 0
    }

    /// Frees a 24 MiB block (glibc then raises its dynamic threshold to 24 MiB), allocates a
    /// block just over 4 MiB and says whether that one got its own mapping.
    static func blockAfterALargeFreeIsOwnMapping() -> Bool {
        guard let earlier = malloc(24 << 20) else { return false }
        earlier.storeBytes(of: 1, as: UInt8.self)
        free(earlier)
        guard let block = malloc(AllocatorPolicy.mmapThreshold + 4096) else { return false }
        defer { free(block) }
        return isOwnMapping(block)
    }

    @Test func serverPolicy_largeBuffersKeepTheirOwnMapping_afterALargeFree() async {
        await #expect(processExitsWith: .success) {
            guard AllocatorPolicy.applyServerPolicy(environment: [:]) == .fixedMmapThreshold(bytes: 4 << 20) else { exit(2) }
            exit(AllocatorPolicyTests.blockAfterALargeFreeIsOwnMapping() ? 0 : 1)
        }
    }

    /// The control: with glibc's defaults the same block comes from the arena, where freeing it
    /// does not give the memory back; this is what the policy changes.
    @Test func glibcDefaults_serveTheBlockFromTheArena() async {
        await #expect(processExitsWith: .success) {
            exit(AllocatorPolicyTests.blockAfterALargeFreeIsOwnMapping() ? 1 : 0)
        }
    }

    @Test func environmentSettings_win() {
        #expect(AllocatorPolicy.applyServerPolicy(environment: ["MALLOC_MMAP_THRESHOLD_": "262144"])
                == .leftToEnvironment(variable: "MALLOC_MMAP_THRESHOLD_"))
        #expect(AllocatorPolicy.applyServerPolicy(environment: ["MALLOC_TRIM_THRESHOLD_": "131072"])
                == .leftToEnvironment(variable: "MALLOC_TRIM_THRESHOLD_"))
    }
}
#endif
