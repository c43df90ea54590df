import Dispatch
import Foundation
import OrderedJSON
import TensorCore

/// Deterministic synthetic checkpoints with a real key layout and structured (not random) weights.
///
/// The layouts are the bundled manifests (`Resources/manifests`). The file is written tensor by
/// tensor in bounded chunks (at most a few tens of MB in memory), so a full-size 6.9 GB SDXL file
/// never has to fit in RAM; each chunk's rows are generated on all cores.
public enum SyntheticCheckpoint {
    /// Key layouts shipped as resources.
    public enum Layout: String, Sendable, CaseIterable {
        case sdxl, sd15
        /// Flux.1-dev; `fluxSchnell` is the same without the guidance embedder.
        case flux, fluxSchnell = "flux-schnell"
        /// SD3.5 large.
        case sd35

        var manifestName: String {
            switch self {
            case .sdxl: return "sdxl_base"
            case .sd15: return "sd15"
            case .flux, .fluxSchnell: return "flux1_dev"
            case .sd35: return "sd35_large"
            }
        }

        /// DiT layouts list only the diffusion model, under `model.diffusion_model.`.
        var isDiT: Bool { self == .flux || self == .fluxSchnell || self == .sd35 }
    }
    /// Which tensors to write.
    public enum Parts: String, Sendable, CaseIterable {
        /// Only `model.diffusion_model.*`, keys as a single-file checkpoint names them.
        case unet
        /// Every tensor of the layout (U-Net, text encoders, VAE; the DiT layouts hold only the
        /// diffusion model, so for them this equals `unet`).
        case all
        /// Only the diffusion model, keys without `model.diffusion_model.`: a diffusion-model-only
        /// file as ComfyUI's models/diffusion_models holds them.
        case diffusionModel = "diffusion-model"
    }

    /// One planned tensor: key, scaled shape, stored dtype, byte range in the data section.
    public struct PlannedTensor: Sendable, Equatable {
        public let key: String
        public let shape: [Int]
        public let dtype: DType
        public let byteCount: Int
    }

    /// The tensors a `write` with these arguments produces, in data order (dtype, widest first, then key),
    /// as a file written by the safetensors library lays them out.
    public static func plan(layout: Layout, scale: Int = 1, dtype: DType = .f16, parts: Parts = .all)
        throws(SyntheticCheckpointError) -> [PlannedTensor] {
        guard scale >= 1, scale <= 4096 else { throw .unsupported(reason: "scale must be between 1 and 4096, not \(scale)") }
        guard dtype == .f16 || dtype == .bf16 || dtype == .f32 else {
            throw .unsupported(reason: "dtype must be f16, bf16 or f32, not \(dtype.rawValue)")
        }
        let manifest = try Manifest.bundled(layout.manifestName)
        let scaleShape: (String, [Int]) -> [Int]
        if layout.isDiT {
            let scaler = DiTLayoutScaler(manifest, scale: scale)
            scaleShape = scaler.shape
        } else {
            let scaler = LayoutScaler(manifest, scale: scale)
            scaleShape = scaler.shape
        }
        var items: [PlannedTensor] = []
        for t in manifest.tensors {
            if parts != .all && !t.key.hasPrefix(LayoutScaler.unet) { continue }
            if layout == .fluxSchnell && t.key.hasPrefix(LayoutScaler.unet + "guidance_in.") { continue }
            let stored = t.dtype.isFloatingPoint ? dtype : t.dtype
            let shape = scaleShape(t.key, t.shape)
            let key = parts == .diffusionModel ? String(t.key.dropFirst(LayoutScaler.unet.count)) : t.key
            items.append(PlannedTensor(key: key, shape: shape, dtype: stored,
                                       byteCount: shape.reduce(1, *) * stored.byteSize))
        }
        let order: [DType: Int] = [.i64: 0, .f32: 1, .i32: 2, .bf16: 3, .f16: 4]
        items.sort { a, b in
            let (x, y) = (order[a.dtype] ?? 9, order[b.dtype] ?? 9)
            return x != y ? x < y : a.key.utf8.lexicographicallyPrecedes(b.key.utf8)
        }
        return items
    }

    /// Writes a safetensors file. `scale` divides channel widths (1 = full size, 6.9 GB for SDXL
    /// f16 with parts all); float tensors use `dtype` (f16, bf16 or f32), integers keep theirs.
    /// The file appears atomically (written to `path.part`, then renamed).
    public static func write(layout: Layout, scale: Int = 1, dtype: DType = .f16, parts: Parts = .all,
                             seed: UInt64 = 0, to path: String) throws(SyntheticCheckpointError) {
        let items = try plan(layout: layout, scale: scale, dtype: dtype, parts: parts)
        var header = JSONObject()
        header.set("__metadata__", .object(JSONObject([("format", "pt")])))
        var offset = 0
        for t in items {
            header.set(t.key, .object(JSONObject([
                ("dtype", .string(t.dtype.rawValue)),
                ("shape", .array(t.shape.map { .number($0) })),
                ("data_offsets", .array([.number(offset), .number(offset + t.byteCount)])),
            ])))
            offset += t.byteCount
        }
        var headerBytes = JSON.object(header).serializedBytes()
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }

        let partPath = path + ".part"
        // Errors name `path`, the file the caller asked for; the `.part` name is our detail.
        let out = try OutputFile(path: partPath, reportedPath: path)
        var prefix = [UInt8](repeating: 0, count: 8)
        for i in 0..<8 { prefix[i] = UInt8((UInt64(headerBytes.count) >> (8 * UInt64(i))) & 0xFF) }
        try out.write(prefix)
        try out.write(headerBytes)
        let noise = SyntheticWeights.noiseTable(seed: seed)
        for t in items {
            let generator = SyntheticWeights.generator(seed: seed, key: t.key, shape: t.shape,
                                                       isInteger: !t.dtype.isFloatingPoint, noise: noise)
            try writeTensor(generator, dtype: t.dtype, to: out)
        }
        try out.close()
        if rename(partPath, path) != 0 { throw .writeFailed(path: path, call: "rename", errno: errno) }
    }

    /// Generates and writes one tensor in chunks of about 4 M elements, rows split across cores.
    static func writeTensor(_ g: RowGenerator, dtype: DType, to out: OutputFile) throws(SyntheticCheckpointError) {
        let rowsPerChunk = max(1, (4 << 20) / max(g.cols, 1))
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, 8))
        let elementSize = dtype.byteSize
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, min(g.rows, rowsPerChunk) * g.cols * elementSize),
                                                           alignment: 16)
        defer { chunk.deallocate() }
        let base = UncheckedPointer(chunk.baseAddress!)
        var firstRow = 0
        while firstRow < g.rows {
            let rows = min(rowsPerChunk, g.rows - firstRow)
            let byteCount = rows * g.cols * elementSize
            let start = firstRow
            let slices = min(workers, rows)
            DispatchQueue.concurrentPerform(iterations: slices) { w in
                let lo = rows * w / slices, hi = rows * (w + 1) / slices
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: max(g.cols, 1))
                defer { scratch.deallocate() }
                for r in lo..<hi {
                    g.row(start + r, into: scratch)
                    encode(scratch, count: g.cols, dtype: dtype, into: base.pointer + r * g.cols * elementSize)
                }
            }
            try out.write(UnsafeRawBufferPointer(rebasing: chunk[0..<byteCount]))
            firstRow += rows
        }
    }

    /// Encodes Float32 values as the stored dtype, little-endian.
    static func encode(_ src: UnsafePointer<Float>, count: Int, dtype: DType, into dst: UnsafeMutableRawPointer) {
        switch dtype {
        case .f16:
            let d = dst.assumingMemoryBound(to: UInt16.self)
            for i in 0..<count { d[i] = floatToHalfBits(src[i]).littleEndian }
        case .bf16:
            let d = dst.assumingMemoryBound(to: UInt16.self)
            for i in 0..<count { d[i] = floatToBFloat16Bits(src[i]).littleEndian }
        case .f32:
            dst.copyMemory(from: src, byteCount: count * 4)
        case .i64:
            let d = dst.assumingMemoryBound(to: Int64.self)
            for i in 0..<count { d[i] = Int64(src[i]).littleEndian }
        case .i32:
            let d = dst.assumingMemoryBound(to: Int32.self)
            for i in 0..<count { d[i] = Int32(src[i]).littleEndian }
        default:
            // Layouts only hold float and I64/I32 tensors; other integers are written as zero bytes.
            dst.initializeMemory(as: UInt8.self, repeating: 0, count: count * dtype.byteSize)
        }
    }
}

/// Round-to-nearest-even Float32 → IEEE half bits, branch-free on the common normal range.
@inline(__always)
func floatToHalfBits(_ f: Float) -> UInt16 {
    let x = f.bitPattern
    let sign = UInt16((x >> 16) & 0x8000)
    let a = x & 0x7FFF_FFFF
    if a >= 0x4780_0000 {  // ≥ 65536 (overflow), inf or NaN
        return sign | (a > 0x7F80_0000 ? 0x7E00 : 0x7C00)
    }
    if a < 0x3880_0000 {  // below the smallest normal half: subnormal or zero, exact rounding in float
        return sign | UInt16((Float(bitPattern: a) * 0x1p24).rounded(.toNearestOrEven))
    }
    // Rebias the exponent (127 → 15) and round the 13 dropped mantissa bits to nearest even.
    let rounded = a &- 0x3800_0000 &+ 0x0FFF &+ ((a >> 13) & 1)
    return sign | UInt16(truncatingIfNeeded: rounded >> 13)
}

/// Round-to-nearest-even Float32 → bfloat16 bits (top 16 bits); NaN stays a quiet NaN.
@inline(__always)
func floatToBFloat16Bits(_ f: Float) -> UInt16 {
    let x = f.bitPattern
    if x & 0x7FFF_FFFF > 0x7F80_0000 { return UInt16(x >> 16) | 0x0040 }
    return UInt16(truncatingIfNeeded: (x &+ 0x7FFF &+ ((x >> 16) & 1)) >> 16)
}

/// A raw pointer that crosses into `concurrentPerform`; workers write disjoint row ranges.
struct UncheckedPointer: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    init(_ p: UnsafeMutableRawPointer) { pointer = p }
}

/// A file opened for sequential writing with `write(2)`, retrying short writes and EINTR.
final class OutputFile {
    /// The path named in errors (the final file's name when `path` is a temporary one).
    let path: String
    private var fd: Int32

    init(path: String, reportedPath: String? = nil) throws(SyntheticCheckpointError) {
        self.path = reportedPath ?? path
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 { throw .writeFailed(path: self.path, call: "open", errno: errno) }
    }

    func write(_ bytes: [UInt8]) throws(SyntheticCheckpointError) {
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
        defer { copy.deallocate() }
        copy.copyBytes(from: bytes)
        try write(UnsafeRawBufferPointer(rebasing: copy[0..<bytes.count]))
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws(SyntheticCheckpointError) {
        var done = 0
        while done < bytes.count {
            let n = Foundation.write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw .writeFailed(path: path, call: "write", errno: errno)
            }
            done += n
        }
    }

    func close() throws(SyntheticCheckpointError) {
        let r = Foundation.close(fd)
        fd = -1
        if r != 0 { throw .writeFailed(path: path, call: "close", errno: errno) }
    }

    deinit { if fd >= 0 { _ = Foundation.close(fd) } }
}

/// Why a synthetic checkpoint could not be written.
public enum SyntheticCheckpointError: Error, CustomStringConvertible, Equatable {
    /// Arguments out of range (scale < 1, non-float dtype).
    case unsupported(reason: String)
    /// The bundled manifest is missing or malformed.
    case badManifest(name: String, reason: String)
    /// A write to the output file failed.
    case writeFailed(path: String, call: String, errno: Int32)

    public var description: String {
        switch self {
        case .unsupported(let r): return "cannot generate the checkpoint: \(r)"
        case .badManifest(let n, let r): return "the bundled manifest \(n) is unusable: \(r)"
        case .writeFailed(let p, let call, let e): return "\(p): cannot be written (\(call) failed: \(String(cString: strerror(e))))"
        }
    }
}
