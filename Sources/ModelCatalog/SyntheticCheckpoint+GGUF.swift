import Checkpoint
import Dispatch
import Foundation
import TensorCore

/// Synthetic checkpoints as GGUF files, laid out as ComfyUI-GGUF's converted diffusion models are:
/// the same keys and values as the safetensors `write` (so a `--dtype f32` safetensors file holds
/// exactly the values this quantizes), `general.architecture` naming the family.
extension SyntheticCheckpoint {
    /// ComfyUI-GGUF's architecture names (`general.architecture`).
    static func ggufArchitecture(_ layout: Layout) -> String {
        switch layout {
        case .flux, .fluxSchnell: return "flux"
        case .sd35: return "sd3"
        case .sdxl: return "sdxl"
        case .sd15: return "sd1"
        }
    }

    /// The tensors a `writeGGUF` produces, in key order, each with its GGML type: float tensors of
    /// two or more dimensions, more than 1,024 elements and rows of whole `quant` blocks take
    /// `quant`; other float tensors stay F32 when 1-D or small and F16 otherwise (as GGUF
    /// converters keep norms and biases unquantized); integer tensors keep I64 / I32.
    public static func planGGUF(layout: Layout, scale: Int = 1, parts: Parts = .all, quant: GGMLType)
        throws(SyntheticCheckpointError) -> [GGUFWriter.Tensor] {
        guard GGMLType.quantizable.contains(quant) else {
            let names = GGMLType.quantizable.map(\.name).joined(separator: ", ")
            throw .unsupported(reason: "GGUF type \(quant.name) cannot be written (types: \(names))")
        }
        let items = try plan(layout: layout, scale: scale, dtype: .f32, parts: parts)
            .sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        return items.map { t in
            let type: GGMLType
            if !t.dtype.isFloatingPoint {
                type = t.dtype == .i32 ? .i32 : .i64
            } else if quant.plainDType != nil {
                type = quant
            } else {
                let count = t.shape.reduce(1, *)
                let row = t.shape.last ?? 1
                if t.shape.count >= 2 && count > 1024 && row % quant.blockGeometry.elements == 0 {
                    type = quant
                } else {
                    type = t.shape.count <= 1 || count <= 1024 ? .f32 : .f16
                }
            }
            return GGUFWriter.Tensor(name: t.key, shape: t.shape, type: type)
        }
    }

    /// Writes a GGUF file (version 3, alignment 32) of the layout with float tensors quantized to
    /// `quant` as `planGGUF` says. Streams tensor by tensor like `write`; atomic (`path.part`, then rename).
    public static func writeGGUF(layout: Layout, scale: Int = 1, parts: Parts = .all, quant: GGMLType,
                                 seed: UInt64 = 0, to path: String) throws(SyntheticCheckpointError) {
        let tensors = try planGGUF(layout: layout, scale: scale, parts: parts, quant: quant)
        var metadata: [(key: String, value: GGUFWriter.Value)] = [
            ("general.architecture", .string(ggufArchitecture(layout))),
            ("general.quantization_version", .uint32(2)),
        ]
        if let fileType = GGUFWriter.fileType(quant) { metadata.append(("general.file_type", .uint32(fileType))) }
        let (header, _) = GGUFWriter.header(metadata: metadata, tensors: tensors)
        let partPath = path + ".part"
        let out = try OutputFile(path: partPath, reportedPath: path)
        try out.write(header)
        let noise = SyntheticWeights.noiseTable(seed: seed)
        for t in tensors {
            let generator = SyntheticWeights.generator(seed: seed, key: t.name, shape: t.shape,
                                                       isInteger: t.type == .i64 || t.type == .i32, noise: noise)
            try writeGGUFTensor(generator, type: t.type, to: out)
            let padding = GGUFWriter.padded(t.byteCount) - t.byteCount
            if padding > 0 { try out.write([UInt8](repeating: 0, count: padding)) }
        }
        try out.close()
        if rename(partPath, path) != 0 { throw .writeFailed(path: path, call: "rename", errno: errno) }
    }

    /// Generates, encodes and writes one tensor in chunks of about 4 M elements, rows split across cores.
    static func writeGGUFTensor(_ g: RowGenerator, type: GGMLType, to out: OutputFile) throws(SyntheticCheckpointError) {
        let (n, size) = type.blockGeometry
        let rowBytes = g.cols / n * size
        let rowsPerChunk = max(1, (4 << 20) / max(g.cols, 1))
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, 8))
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, min(g.rows, rowsPerChunk) * rowBytes), alignment: 16)
        defer { chunk.deallocate() }
        let base = UncheckedPointer(chunk.baseAddress!)
        var firstRow = 0
        while firstRow < g.rows {
            let rows = min(rowsPerChunk, g.rows - firstRow)
            let start = firstRow
            let slices = min(workers, rows)
            DispatchQueue.concurrentPerform(iterations: slices) { w in
                let lo = rows * w / slices, hi = rows * (w + 1) / slices
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: max(g.cols, 1))
                defer { scratch.deallocate() }
                for r in lo..<hi {
                    g.row(start + r, into: scratch)
                    let dst = base.pointer + r * rowBytes
                    if let plain = type.plainDType, plain == .i64 || plain == .i32 {
                        encode(scratch, count: g.cols, dtype: plain, into: dst)
                    } else {
                        quantizeGGML(scratch, count: g.cols, type: type, into: dst)
                    }
                }
            }
            try out.write(UnsafeRawBufferPointer(rebasing: chunk[0..<(rows * rowBytes)]))
            firstRow += rows
        }
    }
}
