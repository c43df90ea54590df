import Foundation
import OrderedJSON
import TensorCore

/// A key layout: every tensor of a checkpoint (key, shape, dtype), no weights.
struct Manifest: Sendable {
    struct Tensor: Sendable {
        var key: String
        var shape: [Int]
        var dtype: DType
    }
    var tensors: [Tensor]

    /// Loads a bundled layout (`Resources/manifests/<name>.json` in the module's resource bundle).
    ///
    /// The bundle is looked up by hand instead of through `Bundle.module`, whose accessor stops the
    /// process when the bundle is missing (for example a binary copied without its resources); here
    /// that is an ordinary error.
    static func bundled(_ name: String) throws(SyntheticCheckpointError) -> Manifest {
        guard let folder = resourceFolder() else {
            throw .badManifest(name: name, reason: "the ModelCatalog resource bundle is not installed next to the executable")
        }
        let url = folder.appendingPathComponent("Resources/manifests/\(name).json")
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw .badManifest(name: name, reason: "\(url.path) cannot be read (\(error.localizedDescription))")
        }
        return try parse([UInt8](data), name: name)
    }

    /// The `<Package>_ModelCatalog.resources` folder next to the running executable (or test bundle).
    static func resourceFolder() -> URL? {
        var folders = [Bundle.main.bundleURL]
        if let exe = Bundle.main.executableURL { folders.append(exe.resolvingSymlinksInPath().deletingLastPathComponent()) }
        if let arg0 = CommandLine.arguments.first {
            folders.append(URL(fileURLWithPath: arg0).resolvingSymlinksInPath().deletingLastPathComponent())
        }
        for folder in folders {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { continue }
            for n in names.sorted() where n.hasSuffix("_ModelCatalog.resources") || n == "ModelCatalog_ModelCatalog.resources" {
                let candidate = folder.appendingPathComponent(n)
                if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("Resources/manifests").path) {
                    return candidate
                }
            }
        }
        return nil
    }

    /// Parses `{"tensors": [{"key", "shape", "dtype"}, …]}`.
    static func parse(_ bytes: [UInt8], name: String) throws(SyntheticCheckpointError) -> Manifest {
        let json: JSON
        do { json = try JSON.parse(bytes) } catch { throw .badManifest(name: name, reason: "\(error)") }
        guard let list = json["tensors"]?.arrayValue else { throw .badManifest(name: name, reason: "no tensors array") }
        var tensors: [Tensor] = []
        tensors.reserveCapacity(list.count)
        for t in list {
            guard let key = t["key"]?.stringValue, let dims = t["shape"]?.arrayValue,
                  let dt = t["dtype"]?.stringValue, let dtype = DType(rawValue: dt) else {
                throw .badManifest(name: name, reason: "an entry lacks key, shape or a known dtype")
            }
            var shape: [Int] = []
            for d in dims {
                guard let v = d.intValue, v >= 0, v < 1 << 31 else { throw .badManifest(name: name, reason: "\(key) has a bad dimension") }
                shape.append(Int(v))
            }
            tensors.append(Tensor(key: key, shape: shape, dtype: dtype))
        }
        return Manifest(tensors: tensors)
    }
}

/// Maps every dimension of a layout to its size at width divisor `n`, keeping derived widths
/// consistent (skip concatenations, context and ADM widths), as docs/FORMATS.md describes.
struct LayoutScaler: Sendable {
    static let unet = "model.diffusion_model."
    enum Family { case unet, clipL, clipG, vae, other }

    let n: Int
    let isSDXL: Bool
    let unetUnit: Int, vaeUnit: Int
    let unetUnitScaled: Int, vaeUnitScaled: Int
    let head: Int
    let vocab = 49408, vocabScaled: Int
    let context: Int, contextScaled: Int
    let adm: Int, admScaled: Int

    init(_ manifest: Manifest, scale n: Int) {
        var shapes: [String: [Int]] = [:]
        for t in manifest.tensors { shapes[t.key] = t.shape }
        func first(_ keys: [String], _ fallback: Int) -> Int {
            for k in keys { if let s = shapes[k], let d = s.first { return d } }
            return fallback
        }
        self.n = n
        isSDXL = manifest.tensors.contains { $0.key.hasPrefix("conditioner.embedders.1.") }
        let clipL = first(["conditioner.embedders.0.transformer.text_model.final_layer_norm.weight",
                           "cond_stage_model.transformer.text_model.final_layer_norm.weight"], 768)
        let clipG = first(["conditioner.embedders.1.model.ln_final.weight"], 0)
        unetUnit = first([Self.unet + "input_blocks.0.0.bias"], 320)
        vaeUnit = first(["first_stage_model.encoder.conv_in.bias"], 128)
        // Python-style round half to even, so the widths match the reference tool's.
        func units(_ unit: Int) -> Int { 32 * max(1, Int((Double(unit) / 32 / Double(n)).rounded(.toNearestOrEven))) }
        let fourier = 256
        let fourierScaled: Int
        if n == 1 {
            unetUnitScaled = unetUnit; vaeUnitScaled = vaeUnit; head = 64; vocabScaled = vocab; fourierScaled = fourier
        } else {
            unetUnitScaled = units(unetUnit); vaeUnitScaled = units(vaeUnit); head = max(1, 64 / n)
            vocabScaled = Int((Double(vocab) / Double(n) / 8).rounded(.up)) * 8
            fourierScaled = max(1, fourier / n)
        }
        let clipLScaled = clipL / 64 * head, clipGScaled = clipG / 64 * head
        context = isSDXL ? clipL + clipG : clipL
        contextScaled = isSDXL ? clipLScaled + clipGScaled : clipLScaled
        adm = clipG + 6 * fourier
        admScaled = clipGScaled + 6 * fourierScaled
    }

    static func family(_ key: String) -> Family {
        if key.hasPrefix(unet) { return .unet }
        if key.hasPrefix("conditioner.embedders.0.") || key.hasPrefix("cond_stage_model.") { return .clipL }
        if key.hasPrefix("conditioner.embedders.1.") { return .clipG }
        if key.hasPrefix("first_stage_model.") { return .vae }
        return .other
    }

    func dim(_ family: Family, _ d: Int, key: String) -> Int {
        if n == 1 { return d }
        switch family {
        case .unet:
            if d == context && key.contains("attn2.to_") { return contextScaled }
            if isSDXL && d == adm && key.contains("label_emb") { return admScaled }
            if d >= unetUnit && d % unetUnit == 0 { return d / unetUnit * unetUnitScaled }
            return d
        case .vae:
            if d >= vaeUnit && d % vaeUnit == 0 { return d / vaeUnit * vaeUnitScaled }
            return d
        case .clipL, .clipG:
            if d == vocab { return vocabScaled }
            if d == 77 { return 77 }
            if d % 64 == 0 { return d / 64 * head }
            return d
        case .other:
            return d
        }
    }

    /// Scaled shape; conv kernels keep their spatial size.
    func shape(_ key: String, _ shape: [Int]) -> [Int] {
        let f = Self.family(key)
        if shape.count == 4 { return [dim(f, shape[0], key: key), dim(f, shape[1], key: key), shape[2], shape[3]] }
        return shape.map { dim(f, $0, key: key) }
    }
}

/// Maps every dimension of a DiT layout (Flux, SD3.5) to its size at width divisor `n`.
///
/// The attention head count stays, the head dimension is divided by `n` (at least 1), and every
/// width that is a multiple of the hidden size (qkv 3H, modulation 6H, MLP 4H, Flux's fused
/// 7H / 5H projections) keeps its multiple of the new hidden size = heads × new head dimension.
/// Input widths that come from elsewhere (latent patches, timestep frequencies, text-encoder
/// widths, position count) stay as they are.
struct DiTLayoutScaler: Sendable {
    let n: Int
    let hidden: Int, hiddenScaled: Int
    let head: Int, headScaled: Int

    init(_ manifest: Manifest, scale n: Int) {
        var shapes: [String: [Int]] = [:]
        for t in manifest.tensors { shapes[String(t.key.dropFirst(LayoutScaler.unet.count))] = t.shape }
        self.n = n
        hidden = shapes["img_in.bias"]?.first ?? shapes["x_embedder.proj.bias"]?.first ?? 3072
        head = shapes["double_blocks.0.img_attn.norm.query_norm.scale"]?.first
            ?? shapes["joint_blocks.0.x_block.attn.ln_q.weight"]?.first ?? 128
        headScaled = max(1, Int((Double(head) / Double(n)).rounded(.toNearestOrEven)))
        hiddenScaled = hidden / max(head, 1) * headScaled
    }

    /// True for the per-head q/k norm gains, whose only dimension is the head dimension.
    static func isHeadNorm(_ key: String) -> Bool {
        key.hasSuffix("query_norm.scale") || key.hasSuffix("key_norm.scale") || key.hasSuffix("ln_q.weight") || key.hasSuffix("ln_k.weight")
    }

    func shape(_ key: String, _ shape: [Int]) -> [Int] {
        if n == 1 { return shape }
        if Self.isHeadNorm(key) { return shape.map { $0 == head ? headScaled : $0 } }
        func dim(_ d: Int) -> Int { d >= hidden && d % hidden == 0 ? d / hidden * hiddenScaled : d }
        if shape.count == 4 { return [dim(shape[0]), dim(shape[1]), shape[2], shape[3]] }
        // pos_embed [1, positions, hidden]: the position count is not a width.
        if shape.count == 3 && shape[0] == 1 { return [1, shape[1], dim(shape[2])] }
        return shape.map(dim)
    }
}
