import TensorCore

/// Where one tensor's elements live inside a mapped file, as a (possibly strided) view of a storage.
///
/// Readers validate every source when the checkpoint is opened (the view stays inside its
/// storage, the storage inside the file), so `loadTensor` can read without further checks.
struct TensorSource: Sendable {
    /// Index into `CheckpointFile.regions`.
    let region: Int
    /// Byte offset of the storage's first element inside the region.
    let storageByteOffset: Int
    /// Number of elements the storage holds.
    let storageCount: Int
    /// Element type of the storage (what the bytes are).
    let dtype: DType
    /// Element offset of the view's first element inside the storage.
    let elementOffset: Int
    /// Element strides per dimension; nil when the view is contiguous (C order).
    let strides: [Int]?
    /// The GGML block quantization of a GGUF tensor (the storage is then blocks, not `dtype`
    /// elements, and always contiguous); nil for plain elements.
    var quantization: GGMLType? = nil
}

/// Most elements a view may have when it has more than its storage (it repeats elements): 16 Mi,
/// 64 MB once converted to float32.
let maxRepeatedViewElements = 1 << 24

/// Checks a strided view against its storage and returns nil when it is plain C order.
///
/// - Returns: `strides` when they differ from C order, else nil.
/// - Throws: `.storageOutOfRange` when any element falls outside the storage, `.sizeOverflow`
///   when the index arithmetic overflows.
func validateView(path: String, tensor: String, shape: [Int], strides: [Int], offset: Int,
                  storageCount: Int) throws(CheckpointError) -> [Int]? {
    guard strides.count == shape.count else {
        throw .storageOutOfRange(path: path, tensor: tensor, reason: "\(strides.count) strides for \(shape.count) dimensions")
    }
    guard offset >= 0 else {
        throw .storageOutOfRange(path: path, tensor: tensor, reason: "negative storage offset \(offset)")
    }
    var count = 1
    for d in shape {
        guard d >= 0 else { throw .invalidEntry(path: path, tensor: tensor, reason: "negative dimension \(d)") }
        let (c, o) = count.multipliedReportingOverflow(by: d)
        if o { throw .sizeOverflow(path: path, tensor: tensor) }
        count = c
    }
    if count == 0 { return nil }
    // A view can have more elements than its storage only by repeating them (stride 0, overlap).
    // Torch saves such views (an expanded tensor), but a 600-byte file declaring a 2^17 × 2^17 view
    // of one float would make loadTensor allocate 64 GB; repeated views are capped.
    guard count <= storageCount || count <= maxRepeatedViewElements else {
        throw .storageOutOfRange(path: path, tensor: tensor,
                                 reason: "the view has \(count) elements but its storage only \(storageCount); views that repeat elements are limited to \(maxRepeatedViewElements)")
    }
    var last = offset
    for (d, s) in zip(shape, strides) {
        guard s >= 0 else {
            throw .storageOutOfRange(path: path, tensor: tensor, reason: "negative stride \(s)")
        }
        let (m, o1) = (d - 1).multipliedReportingOverflow(by: s)
        let (a, o2) = last.addingReportingOverflow(m)
        if o1 || o2 { throw .sizeOverflow(path: path, tensor: tensor) }
        last = a
    }
    guard last < storageCount else {
        throw .storageOutOfRange(path: path, tensor: tensor,
                                 reason: "last element \(last) but the storage holds \(storageCount)")
    }
    // C-order strides: skip size-1 dimensions, whose stride never matters.
    var expected = 1
    var contiguous = true
    for (d, s) in zip(shape, strides).reversed() {
        if d != 1 && s != expected { contiguous = false; break }
        expected &*= d
    }
    return contiguous ? nil : strides
}
