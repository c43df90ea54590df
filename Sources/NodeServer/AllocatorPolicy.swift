#if canImport(Glibc)
import CLibMalloc
import Glibc
#endif

/// How the long-running server asks glibc's allocator to give freed memory back.
///
/// Why: glibc raises its mmap threshold to the size of each large block freed (up to 32 MiB) and
/// its trim threshold to twice that. After the first prompts free matrices and canvases of a few
/// MiB, every such buffer comes from a thread's arena instead of its own mapping, and each arena
/// keeps up to twice that much at its top when it is freed. The prompt's threads are Dispatch pool
/// threads, each with its own arena, so anonymous RSS climbed as more arenas filled: in a 10-minute
/// soak (bench/soak, session 6) the heap held 212→269 MB from the system while only 9-59 MB was in
/// use (`malloc_stats`), and the 30-minute soak of session 5 ended at 351 MB, still rising.
///
/// A fixed threshold turns the dynamic adjustment off: blocks of `mmapThreshold` or more get their
/// own mapping and go back to the kernel when freed, and arena tops are trimmed past glibc's
/// default 128 KiB. Measured in four 6-minute soaks run side by side (same binary, thresholds set
/// through glibc's environment variables): anonymous RSS stayed at 14-116 MB with 4 MiB against
/// 95→253 MB without, for 21 % fewer prompts in the same time (page faults of fresh mappings);
/// 256 KiB cost 25 %, and a fixed 128 KiB trim threshold with a 32 MiB mmap threshold cost 16 % but
/// still crept up (17→88 MB). docs/SECURITY.md ("Soak") has the figures.
public enum AllocatorPolicy {
    /// Blocks of this size or larger are mapped on their own (4 MiB: a 1024×1024 f32 matrix).
    public static let mmapThreshold = 4 << 20

    public enum Outcome: Equatable, Sendable {
        /// `mallopt(M_MMAP_THRESHOLD, bytes)` took effect.
        case fixedMmapThreshold(bytes: Int)
        /// The environment already tunes glibc (`MALLOC_MMAP_THRESHOLD_` or `MALLOC_TRIM_THRESHOLD_`):
        /// left as given, so a measurement can compare settings without rebuilding.
        case leftToEnvironment(variable: String)
        /// mallopt refused the value, or the platform's allocator is not glibc's.
        case unchanged
    }

    /// Applies the server's policy once at start-up (`weightlens serve`), before any large block
    /// exists: glibc consults the threshold only when an arena has no free chunk big enough, so
    /// large free chunks left from before would still be handed out. The CLI's one-shot
    /// commands keep glibc's defaults, which favour speed and lose nothing when the process exits.
    @discardableResult
    public static func applyServerPolicy(environment: [String: String]) -> Outcome {
        #if canImport(Glibc)
        for variable in ["MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"] where environment[variable] != nil {
            return .leftToEnvironment(variable: variable)
        }
        return mallopt(M_MMAP_THRESHOLD, Int32(mmapThreshold)) == 1 ? .fixedMmapThreshold(bytes: mmapThreshold) : .unchanged
        #else
        return .unchanged
        #endif
    }
}
