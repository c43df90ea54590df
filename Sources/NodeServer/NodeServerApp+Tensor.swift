import Checkpoint
import Foundation
import HTTPWire
import ModelCatalog
import OrderedJSON
import Synchronization
import TensorCore

/// `GET /weightlens/tensor?ckpt=NAME&layer=LAYER[&index=I,J…][&format=json|npy]`: a layer's weight,
/// or the slice `W[I, J, …]` of it, as the analyses see it (Float32, scaled-fp8 weights times their
/// scale). JSON carries `shape` (of the whole weight), `index`, `slice_shape` and the slice's
/// `values` in C order (the viewer's hover read-out asks for one kernel `W[out, in]` or one row
/// `W[out]`); `format=npy` sends the same slice as a NumPy `.npy` file for download.
extension NodeServerApp {
    /// Largest slice answered as JSON (a 1280×2560 linear row block is far below this).
    static let maxJSONSliceElements = 1 << 20
    /// Largest slice answered as `.npy` (256 MB of float32).
    static let maxNPYSliceElements = 1 << 26

    func getTensor(_ r: HTTPRequest) -> HTTPResponse {
        guard let ckpt = r.queryValue("ckpt"), !ckpt.isEmpty, let layerName = r.queryValue("layer"), !layerName.isEmpty else {
            return Reply.error("ckpt and layer are required", status: 400)
        }
        let format = r.queryValue("format") ?? "json"
        guard format == "json" || format == "npy" else { return Reply.error("format must be json or npy", status: 400) }
        var index: [Int] = []
        if let text = r.queryValue("index"), !text.isEmpty {
            let parts = text.split(separator: ",", omittingEmptySubsequences: false)
            guard parts.count <= 8 else { return Reply.error("index has more than 8 parts", status: 400) }
            for part in parts {
                guard let i = Int(part.trimmingCharacters(in: .whitespaces)), i >= 0 else {
                    return Reply.error("index must be non-negative integers separated by commas", status: 400)
                }
                index.append(i)
            }
        }
        guard let path = models.checkpointPath(named: ckpt) else {
            return Reply.error("no checkpoint named '\(ckpt)' in models/checkpoints", status: 404)
        }
        let weight: Tensor
        switch tensorCache.weight(path: path, layer: layerName) {
        case .success(let t): weight = t
        case .failure(let message): return Reply.error(message, status: 404)
        }
        guard index.count <= weight.shape.count else {
            return Reply.error("index \(index) has more parts than the weight's shape \(weight.shape)", status: 400)
        }
        for (axis, i) in index.enumerated() where i >= weight.shape[axis] {
            return Reply.error("index \(i) is out of range for axis \(axis) of shape \(weight.shape)", status: 400)
        }
        let sliceShape = Array(weight.shape.dropFirst(index.count))
        let count = sliceShape.reduce(1, *)
        var start = 0
        for (axis, i) in index.enumerated() { start = start * weight.shape[axis] + i }
        start *= count
        let limit = format == "npy" ? Self.maxNPYSliceElements : Self.maxJSONSliceElements
        guard count <= limit else {
            return Reply.error("the slice has \(count) values (at most \(limit) as \(format)); give a longer index", status: 413)
        }
        let values = weight.values[start..<(start + count)]
        if format == "npy" {
            let base = Self.fileSafe(layerName).replacingOccurrences(of: " ", with: "_")
            let name = base + (index.isEmpty ? "" : "_" + index.map(String.init).joined(separator: "_")) + ".npy"
            return HTTPResponse(status: 200, headers: [
                "Content-Type": "application/octet-stream",
                "Content-Disposition": "attachment; filename=\"\(Self.headerSafe(name))\"",
                "Cache-Control": "no-store",
            ], body: .bytes(Self.npy(shape: sliceShape, values: values)))
        }
        let ints: ([Int]) -> JSON = { .array($0.map { .int(Int64($0)) }) }
        return Reply.json(.object(JSONObject([
            ("ckpt", .string(ckpt)), ("layer", .string(layerName)), ("dtype", "float32"),
            ("shape", ints(weight.shape)), ("index", ints(index)), ("slice_shape", ints(sliceShape)),
            ("values", .array(values.map { $0.isFinite ? .double(Double($0)) : .null })),
        ])))
    }

    /// NumPy `.npy` version 1.0: magic, header dict padded so the data starts on a 64-byte boundary, little-endian float32.
    static func npy(shape: [Int], values: ArraySlice<Float>) -> [UInt8] {
        let dims = shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? "," : "")
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(dims)), }"
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
        let n = header.utf8.count
        out += [UInt8(n & 0xFF), UInt8(n >> 8)]
        out += Array(header.utf8)
        out.reserveCapacity(out.count + values.count * 4)
        for v in values {
            let bits = v.bitPattern.littleEndian
            out += [UInt8(bits & 0xFF), UInt8((bits >> 8) & 0xFF), UInt8((bits >> 16) & 0xFF), UInt8(bits >> 24)]
        }
        return out
    }
}

/// The last weight the tensor endpoint loaded, so hovering over one picture (a request per kernel
/// or row) reads the checkpoint once. Keyed by path, size, modification time and layer name.
final class TensorCache: Sendable {
    enum Outcome { case success(Tensor), failure(String) }
    private struct Entry { let key: String; let tensor: Tensor }
    private let last = Mutex<Entry?>(nil)

    func weight(path: String, layer: String) -> Outcome {
        var st = stat()
        guard stat(path, &st) == 0 else { return .failure("cannot read the checkpoint") }
        #if canImport(Darwin)
        let mtime = Int64(st.st_mtimespec.tv_sec) * 1_000_000_000 + Int64(st.st_mtimespec.tv_nsec)
        #else
        let mtime = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
        #endif
        let key = "\(path)\u{0}\(st.st_size)\u{0}\(mtime)\u{0}\(layer)"
        if let hit = last.withLock({ $0?.key == key ? $0?.tensor : nil }) { return .success(hit) }
        do {
            let file = try CheckpointFile.open(path: path)
            let catalog = LayerCatalog(checkpoint: file)
            let tensor = try catalog.loadWeight(try catalog.layer(named: layer))
            last.withLock { $0 = Entry(key: key, tensor: tensor) }
            return .success(tensor)
        } catch let error as CatalogError {
            return .failure(error.description)
        } catch {
            return .failure("cannot load '\(layer)': \(error)")
        }
    }
}
