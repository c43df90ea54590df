#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file mapped read-only (`MAP_PRIVATE`), unmapped when the last reference goes.
///
/// The mapping is never written, so sharing it between threads is safe; that is why this class
/// is `@unchecked Sendable`. Only the pages a reader touches are loaded, so a 7 GB checkpoint
/// costs nothing until tensors are read.
final class MappedFile: @unchecked Sendable {
    /// Start of the mapping; nil for an empty file (mmap refuses length 0).
    let base: UnsafeRawPointer?
    /// File size in bytes.
    let count: Int
    /// False for a borrowed buffer (`init(borrowing:)`), which is never unmapped.
    private let owned: Bool

    /// Maps `path`; throws `CheckpointError.cannotOpen` / `.notARegularFile`.
    init(path: String) throws(CheckpointError) {
        // O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        if fd < 0 { throw .cannotOpen(path: path, call: "open", errno: errno) }
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) != 0 { throw .cannotOpen(path: path, call: "fstat", errno: errno) }
        if (st.st_mode & S_IFMT) != S_IFREG { throw .notARegularFile(path: path) }
        let size = Int(st.st_size)
        count = size
        owned = true
        if size == 0 {
            base = nil
            return
        }
        let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        if p == MAP_FAILED || p == nil { throw .cannotOpen(path: path, call: "mmap", errno: errno) }
        base = UnsafeRawPointer(p!)
    }

    /// Wraps bytes the caller keeps alive and unchanged for as long as this object (and any
    /// checkpoint opened on it) lives. For the fuzz targets and tests: the readers then see exactly
    /// the caller's buffer, so AddressSanitizer catches a read one byte past its end.
    init(borrowing buffer: UnsafeRawBufferPointer) {
        base = buffer.count == 0 ? nil : buffer.baseAddress
        count = buffer.count
        owned = false
    }

    /// The mapped bytes (empty for an empty file).
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    deinit {
        if owned, let base { munmap(UnsafeMutableRawPointer(mutating: base), count) }
    }
}
