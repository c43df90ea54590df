#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CKernels
import TensorCore

// Streaming access to one tensor: a range of its elements converted into a caller's buffer, and the
// pages of the mapping released once the caller is done with the tensor. Whole-model passes
// (`weightlens diff`, LTCompareModels) read every tensor of two files this way, so neither model is
// ever held whole in memory and the file pages they touched do not pile up in the process.

extension CheckpointFile {
    /// Converts elements `start..<start+count` of tensor `name` (flat C-order indices of its view)
    /// to Float32 into `dst`, honouring strided views. The caller may convert any sub-range, in
    /// any order and from several threads.
    ///
    /// - Throws: `.tensorNotFound`; `.storageOutOfRange` when the range lies outside the tensor.
    public func readElements(_ name: String, start: Int, count: Int, into dst: UnsafeMutablePointer<Float>) throws(CheckpointError) {
        guard let i = indexByName[name] else { throw .tensorNotFound(path: path, name: name) }
        let entry = entries[i]
        let total = entry.parameterCount
        guard start >= 0, count >= 0, start <= total, count <= total - start else {
            throw .storageOutOfRange(path: path, tensor: name, reason: "elements \(start)..<\(start + count) of \(total)")
        }
        if count == 0 { return }
        let source = sources[i]
        if source.quantization != nil {
            // GGUF blocks do not split at arbitrary elements: dequantize the tensor, copy the range.
            // Whole-model passes ask `canReadElements` first and load such tensors once instead.
            let values = try loadTensor(name).values
            values.withUnsafeBufferPointer { dst.update(from: $0.baseAddress! + start, count: count) }
            return
        }
        let region = regions[source.region]
        // Validated at open time: the storage lies inside the mapping, the view inside the storage.
        let storage = region.base! + source.storageByteOffset
        withExtendedLifetime(region) {
            guard let strides = source.strides, entry.shape.count > 0 else {
                convertElements(storage, dtype: source.dtype, start: source.elementOffset + start, stride: 1, count: count, into: dst)
                return
            }
            // Strided view: walk the odometer from the multi-index of `start`, one innermost run at a time.
            let shape = entry.shape
            let rank = shape.count
            var index = [Int](repeating: 0, count: rank)
            var rest = start
            for d in stride(from: rank - 1, through: 0, by: -1) {
                index[d] = rest % shape[d]
                rest /= shape[d]
            }
            var base = source.elementOffset
            for d in 0..<rank { base += index[d] * strides[d] }
            var written = 0
            while written < count {
                let run = min(shape[rank - 1] - index[rank - 1], count - written)
                convertElements(storage, dtype: source.dtype, start: base, stride: strides[rank - 1], count: run, into: dst + written)
                written += run
                base += run * strides[rank - 1]
                index[rank - 1] += run
                var d = rank - 1
                while d > 0 && index[d] == shape[d] {
                    base -= strides[d] * shape[d]
                    index[d] = 0
                    base += strides[d - 1]
                    index[d - 1] += 1
                    d -= 1
                }
            }
        }
    }

    /// Whether `readElements` converts a range straight from the file (false for GGUF
    /// block-quantized tensors, which it has to dequantize whole).
    public func canReadElements(_ name: String) -> Bool {
        guard let i = indexByName[name] else { return false }
        return sources[i].quantization == nil
    }

    /// The bytes of the mapping that tensor `name`'s elements occupy: (region, first byte, end byte);
    /// nil for GGUF block-quantized tensors (their pages are not released).
    private func byteSpan(_ name: String) -> (MappedFile, Int, Int)? {
        guard let i = indexByName[name] else { return nil }
        let source = sources[i]
        guard source.quantization == nil else { return nil }
        let size = max(1, source.dtype.byteSize)
        let lo = source.storageByteOffset + source.elementOffset * size
        let count = entries[i].parameterCount
        guard count > 0 else { return nil }
        // A strided view stays inside its storage; take the whole storage from the view's start.
        let hi = source.strides == nil ? lo + count * size : source.storageByteOffset + source.storageCount * size
        return (regions[source.region], lo, hi)
    }

    /// Tells the kernel tensor `name` is about to be read from start to end (read-ahead).
    public func willRead(_ name: String) {
        guard let (region, lo, hi) = byteSpan(name), let base = region.base else { return }
        let page = Self.pageSize
        let start = lo / page * page
        _ = madvise(UnsafeMutableRawPointer(mutating: base + start), min(hi, region.count) - start, MADV_WILLNEED)
    }

    /// Drops this process's mapping of the pages that lie wholly inside tensor `name` (the file
    /// stays in the page cache; a later read faults them in again). Whole-model passes call it
    /// after each tensor so their resident set stays at one layer's worth of pages.
    public func releasePages(_ name: String) {
        guard let (region, lo, hi) = byteSpan(name), let base = region.base else { return }
        let page = Self.pageSize
        let start = (lo + page - 1) / page * page
        let end = min(hi, region.count) / page * page
        guard end > start else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, MADV_DONTNEED)
    }

    private static let pageSize: Int = max(4096, Int(sysconf(Int32(_SC_PAGESIZE))))
}
