import Checkpoint

/// Knowledge of single-file diffusion checkpoint layouts: where the diffusion model lives,
/// which family it is, which part a key belongs to, U-Net block labels and module order.
enum DiffusionLayout {
    static let unetPrefix = "model.diffusion_model."

    /// `model.diffusion_model.` when any key has it; nil for files without a diffusion model.
    static func diffusionPrefix(_ entries: [TensorEntry]) -> String? {
        entries.contains { $0.name.hasPrefix(unetPrefix) } ? unetPrefix : nil
    }

    /// Family from key names, falling back to shapes where names are shared (SD 1.x vs 2.x).
    static func detectFamily(_ entries: [TensorEntry], prefix: String?) -> ModelFamily {
        let p = prefix ?? ""
        var names = Set<String>()
        names.reserveCapacity(entries.count)
        for e in entries { names.insert(e.name) }
        func has(_ k: String) -> Bool { names.contains(p + k) }
        func hasPrefix(_ k: String) -> Bool { entries.contains { $0.name.hasPrefix(p + k) } }

        if hasPrefix("joint_blocks.") { return .sd3 }
        if hasPrefix("double_blocks.") && hasPrefix("single_blocks.") { return .flux }
        guard has("input_blocks.0.0.weight"), hasPrefix("middle_block."), hasPrefix("output_blocks.") else { return .unknown }
        // SDXL: class-embedding MLP (label_emb) and 9 input blocks; SD 1.x/2.x: 12 input blocks.
        if hasPrefix("label_emb.") && !hasPrefix("input_blocks.9.") { return .sdxl }
        guard hasPrefix("input_blocks.11.") else { return .unknown }
        // SD 2.x uses an OpenCLIP text encoder and linear proj_in; SD 1.x CLIP-L and 1×1 conv proj_in.
        if entries.contains(where: { $0.name.hasPrefix("cond_stage_model.model.") }) { return .sd2 }
        if entries.contains(where: { $0.name.hasPrefix("cond_stage_model.transformer.") }) { return .sd1 }
        if let toK = entries.first(where: { $0.name.hasPrefix(p + "input_blocks.1.1.") && $0.name.hasSuffix("attn2.to_k.weight") }),
           toK.shape.count == 2 {
            if toK.shape[1] == 1024 { return .sd2 }
            if toK.shape[1] == 768 { return .sd1 }
        }
        if let projIn = entries.first(where: { $0.name == p + "input_blocks.1.1.proj_in.weight" }) {
            return projIn.shape.count == 4 ? .sd1 : .sd2
        }
        return .sd1
    }

    /// Which component a module (full path, outside the diffusion model) belongs to.
    static func part(of module: String) -> String {
        if module.hasPrefix("conditioner.embedders.0.") || module.hasPrefix("cond_stage_model.")
            || module.hasPrefix("text_encoders.clip_l.") { return "text_encoder" }
        if module.hasPrefix("conditioner.embedders.1.") || module.hasPrefix("text_encoders.clip_g.") { return "text_encoder_2" }
        if module.hasPrefix("first_stage_model.") || module.hasPrefix("vae.") { return "vae" }
        return "other"
    }

    /// U-Net block label of a diffusion-model layer name (relative), or nil outside the blocks.
    static func block(of name: String, family: ModelFamily) -> String? {
        guard let count = family.unetBlockCount else { return nil }
        func numbered(_ head: String, _ label: String) -> String? {
            guard name.hasPrefix(head) else { return nil }
            let digits = name.dropFirst(head.count).prefix { $0.isASCII && $0.isNumber }
            guard let n = Int(digits), n < count, name.dropFirst(head.count + digits.count).first == "." else { return nil }
            return label + (n < 10 ? "0" : "") + String(n)
        }
        if name.hasPrefix("middle_block.") { return "M00" }
        return numbered("input_blocks.", "IN") ?? numbered("output_blocks.", "OUT")
    }

    /// Registration order of module attributes in the LDM/ComfyUI U-Net classes: the order in which
    /// `named_modules()` visits siblings. Names not in the table keep their file order after known ones.
    static let registrationRank: [String: Int] = {
        let groups: [[String]] = [
            // UNetModel
            ["time_embed", "label_emb", "input_blocks", "middle_block", "output_blocks", "out", "id_predictor"],
            // ResBlock
            ["in_layers", "emb_layers", "out_layers", "skip_connection"],
            // SpatialTransformer
            ["norm", "proj_in", "transformer_blocks", "proj_out"],
            // BasicTransformerBlock (norm2 is created before norm1 and norm3)
            ["attn1", "ff", "attn2", "norm2", "norm1", "norm3"],
            // CrossAttention / FeedForward / GEGLU / Downsample / Upsample
            ["to_q", "to_k", "to_v", "to_out", "net", "proj", "op", "conv"],
        ]
        var rank: [String: Int] = [:]
        var r = 0
        for g in groups { for name in g where rank[name] == nil { rank[name] = r; r += 1 } }
        return rank
    }()

    /// Sorts diffusion-model layers into module registration order: numeric path components
    /// numerically, named ones by `registrationRank`, unknown names by first appearance in the file.
    static func moduleOrder(_ layers: [Layer]) -> [Layer] {
        var firstSeen: [Substring: Int] = [:]
        let split = layers.map { $0.name.split(separator: ".", omittingEmptySubsequences: false) }
        for parts in split { for c in parts where firstSeen[c] == nil { firstSeen[c] = firstSeen.count } }
        let keys: [[Int]] = split.map { parts in
            parts.map { c in
                if let n = Int(c), n >= 0 { return n }
                if let r = registrationRank[String(c)] { return 1 << 40 | r }
                return 1 << 41 | firstSeen[c]!
            }
        }
        let order = layers.indices.sorted { a, b in
            let ka = keys[a], kb = keys[b]
            for (x, y) in zip(ka, kb) where x != y { return x < y }
            return ka.count != kb.count ? ka.count < kb.count : a < b
        }
        return order.map { layers[$0] }
    }
}
