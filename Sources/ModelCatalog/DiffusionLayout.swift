import Checkpoint

/// How a file names the diffusion model's tensors.
public enum KeyNaming: String, Sendable {
    /// The original code's names, as ComfyUI uses them: LDM U-Nets (`input_blocks.4.1…`), Black Forest
    /// Labs' Flux (`double_blocks.0.img_attn.qkv`), Stability's MMDiT (`joint_blocks.0.x_block.attn.qkv`).
    case original
    /// Hugging Face diffusers' names (`down_blocks.1.attentions.0…`, `transformer_blocks.0.attn.to_q`,
    /// `single_transformer_blocks.0.proj_mlp`).
    case diffusers
}

/// What a file's keys say about the model in it.
public struct ModelIdentity: Sendable, Equatable {
    public let family: ModelFamily
    /// A readable model name: `Flux.1-dev`, `Flux.1-schnell`, `SD3.5 large`, `SDXL`…
    public let variant: String
    /// Block labels the layers carry, nil when the model has none (unknown files).
    public let blocks: BlockScheme?
    public let naming: KeyNaming
    /// Resnets per down block of a diffusers U-Net (2 in every released SD U-Net), which fixes
    /// how its blocks map onto the LDM labels.
    let layersPerBlock: Int

    init(family: ModelFamily, variant: String, blocks: BlockScheme?, naming: KeyNaming, layersPerBlock: Int = 2) {
        self.family = family
        self.variant = variant
        self.blocks = blocks
        self.naming = naming
        self.layersPerBlock = layersPerBlock
    }

    static let unknown = ModelIdentity(family: .unknown, variant: "unknown", blocks: nil, naming: .original)
}

/// Knowledge of diffusion checkpoint layouts: where the diffusion model lives, which family it is,
/// which part a key belongs to and which block a layer is in. Pure functions of the key list.
enum DiffusionLayout {
    static let unetPrefix = "model.diffusion_model."

    /// `model.diffusion_model.` when any key has it; nil for files without a diffusion model.
    static func diffusionPrefix(_ entries: [TensorEntry]) -> String? {
        entries.contains { $0.name.hasPrefix(unetPrefix) } ? unetPrefix : nil
    }

    /// Family from key names, falling back to shapes where names are shared (SD 1.x vs 2.x).
    static func detectFamily(_ entries: [TensorEntry], prefix: String?) -> ModelFamily {
        identify(entries, prefix: prefix).family
    }

    /// Family, variant, block scheme and naming of the diffusion model whose keys start with `prefix`.
    static func identify(_ entries: [TensorEntry], prefix: String?) -> ModelIdentity {
        let keys = KeyIndex(entries, prefix: prefix ?? "")
        if let dit = identifyDiT(keys) { return dit }
        if let unet = identifyLDMUNet(keys, entries: entries) { return unet }
        if let unet = identifyDiffusersUNet(keys) { return unet }
        return .unknown
    }

    /// Flux and SD3/SD3.5 in either naming.
    private static func identifyDiT(_ k: KeyIndex) -> ModelIdentity? {
        // Flux (Black Forest Labs names): 19 double + 38 single blocks for Flux.1; dev-type models
        // have the guidance embedder (`guidance_in`), schnell does not.
        if k.hasPrefix("double_blocks."), k.hasPrefix("single_blocks.") {
            let scheme = BlockScheme.flux(double: k.count("double_blocks."), single: k.count("single_blocks."))
            return ModelIdentity(family: .flux, variant: fluxVariant(guidance: k.hasPrefix("guidance_in."), scheme),
                                 blocks: scheme, naming: .original)
        }
        if k.hasPrefix("single_transformer_blocks."), k.hasPrefix("transformer_blocks.") {
            let scheme = BlockScheme.flux(double: k.count("transformer_blocks."), single: k.count("single_transformer_blocks."))
            return ModelIdentity(family: .flux, variant: fluxVariant(guidance: k.hasPrefix("time_text_embed.guidance_embedder."), scheme),
                                 blocks: scheme, naming: .diffusers)
        }
        // SD3 / SD3.5 (Stability's MMDiT names). SD3 medium: 24 blocks of width 1536; SD3.5 medium:
        // the same plus a second self-attention (`x_block.attn2`, MMDiT-X); SD3.5 large: 38 blocks of 2432.
        if k.hasPrefix("joint_blocks.") {
            let n = k.count("joint_blocks.")
            let width = k.shape("x_embedder.proj.weight")?.first ?? k.shape("context_embedder.weight")?.first
            return ModelIdentity(family: .sd3, variant: sd3Variant(blocks: n, width: width, attn2: k.hasPrefix("joint_blocks.0.x_block.attn2.")),
                                 blocks: .mmdit(joint: n), naming: .original)
        }
        if k.hasPrefix("transformer_blocks."), k.has("pos_embed.proj.weight"), k.hasPrefix("context_embedder.") {
            let n = k.count("transformer_blocks.")
            return ModelIdentity(family: .sd3, variant: sd3Variant(blocks: n, width: k.shape("pos_embed.proj.weight")?.first,
                                                                   attn2: k.hasPrefix("transformer_blocks.0.attn2.")),
                                 blocks: .mmdit(joint: n), naming: .diffusers)
        }
        return nil
    }

    static func fluxVariant(guidance: Bool, _ scheme: BlockScheme) -> String {
        let name = guidance ? "Flux.1-dev" : "Flux.1-schnell"
        return scheme == .flux(double: 19, single: 38) ? name : "\(name) type (\(scheme.summary))"
    }

    static func sd3Variant(blocks: Int, width: Int?, attn2: Bool) -> String {
        func widthNote(_ expected: Int) -> String { width.map { $0 == expected ? "" : " type (width \($0))" } ?? "" }
        switch (blocks, attn2) {
        case (38, _): return "SD3.5 large" + widthNote(2432)
        case (24, true): return "SD3.5 medium" + widthNote(1536)
        case (24, false): return "SD3 medium" + widthNote(1536)
        default: return "SD3 type (\(blocks) joint blocks" + (width.map { ", width \($0)" } ?? "") + ")"
        }
    }

    /// LDM U-Nets (`input_blocks`, `middle_block`, `output_blocks`): SDXL, SD 1.x, SD 2.x.
    private static func identifyLDMUNet(_ k: KeyIndex, entries: [TensorEntry]) -> ModelIdentity? {
        guard k.has("input_blocks.0.0.weight"), k.hasPrefix("middle_block."), k.hasPrefix("output_blocks.") else { return nil }
        func id(_ f: ModelFamily) -> ModelIdentity {
            ModelIdentity(family: f, variant: f.displayName, blocks: f.defaultBlocks, naming: .original)
        }
        // SDXL: class-embedding MLP (label_emb) and 9 input blocks; SD 1.x/2.x: 12 input blocks.
        if k.hasPrefix("label_emb.") && !k.hasPrefix("input_blocks.9.") { return id(.sdxl) }
        guard k.hasPrefix("input_blocks.11.") else { return nil }
        // SD 2.x uses an OpenCLIP text encoder and linear proj_in; SD 1.x CLIP-L and 1×1 conv proj_in.
        if entries.contains(where: { $0.name.hasPrefix("cond_stage_model.model.") }) { return id(.sd2) }
        if entries.contains(where: { $0.name.hasPrefix("cond_stage_model.transformer.") }) { return id(.sd1) }
        if let toK = k.first(where: { $0.hasPrefix("input_blocks.1.1.") && $0.hasSuffix("attn2.to_k.weight") }),
           let shape = k.shape(toK), shape.count == 2 {
            if shape[1] == 1024 { return id(.sd2) }
            if shape[1] == 768 { return id(.sd1) }
        }
        if let projIn = k.shape("input_blocks.1.1.proj_in.weight") {
            return id(projIn.count == 4 ? .sd1 : .sd2)
        }
        return id(.sd1)
    }

    /// diffusers' UNet2DConditionModel (`down_blocks`, `mid_block`, `up_blocks`). Its blocks are
    /// labelled like the LDM U-Net's: `conv_in` is IN00, each down block's resnets/attentions are
    /// one input block each and its downsampler the next; `mid_block` is M00; each up block gives
    /// layers+1 output blocks, its upsampler joining the last.
    private static func identifyDiffusersUNet(_ k: KeyIndex) -> ModelIdentity? {
        guard k.has("conv_in.weight"), k.hasPrefix("down_blocks."), k.hasPrefix("mid_block."), k.hasPrefix("up_blocks.") else { return nil }
        let downs = k.count("down_blocks.")
        let perBlock = k.count("down_blocks.0.resnets.")
        guard downs > 0, perBlock > 0 else { return nil }
        let inputs = 1 + downs * perBlock + (downs - 1)
        let family: ModelFamily
        if k.hasPrefix("add_embedding.") {
            family = .sdxl
        } else if let toK = k.first(where: { $0.hasPrefix("down_blocks.") && $0.hasSuffix("attn2.to_k.weight") }),
                  k.shape(toK)?.last == 1024 {
            family = .sd2
        } else {
            family = .sd1
        }
        let variant = inputs == family.unetBlockCount ? family.displayName : "\(family.displayName) type (\(inputs) input blocks)"
        return ModelIdentity(family: family, variant: variant, blocks: .unet(count: inputs), naming: .diffusers,
                             layersPerBlock: perBlock)
    }

    /// Which component a module (full path, outside the diffusion model) belongs to.
    static func part(of module: String) -> String {
        if module.hasPrefix("conditioner.embedders.0.") || module.hasPrefix("cond_stage_model.")
            || module.hasPrefix("text_encoders.clip_l.") { return "text_encoder" }
        if module.hasPrefix("conditioner.embedders.1.") || module.hasPrefix("text_encoders.clip_g.") { return "text_encoder_2" }
        if module.hasPrefix("text_encoders.t5xxl.") { return "text_encoder_3" }
        if module.hasPrefix("first_stage_model.") || module.hasPrefix("vae.") { return "vae" }
        return "other"
    }

    /// U-Net block label of a diffusion-model layer name (relative), or nil outside the blocks.
    static func block(of name: String, family: ModelFamily) -> String? {
        guard let scheme = family.defaultBlocks else { return nil }
        let naming: KeyNaming = name.hasPrefix("down_blocks.") || name.hasPrefix("up_blocks.") || name.hasPrefix("mid_block.")
            || name.hasPrefix("transformer_blocks.") || name.hasPrefix("single_transformer_blocks.") ? .diffusers : .original
        return block(of: name, scheme: scheme, naming: naming)
    }

    /// The block label of a diffusion-model layer name (relative to the prefix), or nil outside the blocks.
    static func block(of name: String, scheme: BlockScheme, naming: KeyNaming, layersPerBlock: Int = 2) -> String? {
        /// The number after `head` when `name` is `head<digits>.…`.
        func index(_ head: String) -> Int? {
            guard name.hasPrefix(head) else { return nil }
            let digits = name.dropFirst(head.count).prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, digits.count <= 6, let n = Int(digits),
                  name.dropFirst(head.count + digits.count).first == "." else { return nil }
            return n
        }
        func labelled(_ prefix: String, _ n: Int?, below count: Int) -> String? {
            guard let n, n < count else { return nil }
            return BlockScheme.label(prefix, n)
        }
        switch (scheme, naming) {
        case (.unet(let count), .original):
            if name.hasPrefix("middle_block.") { return "M00" }
            return labelled("IN", index("input_blocks."), below: count) ?? labelled("OUT", index("output_blocks."), below: count)
        case (.unet(let count), .diffusers):
            return diffusersUNetBlock(name, inputs: count, perBlock: layersPerBlock, index: index)
        case (.flux(let d, let s), .original):
            return labelled("D", index("double_blocks."), below: d) ?? labelled("S", index("single_blocks."), below: s)
        case (.flux(let d, let s), .diffusers):
            return labelled("D", index("transformer_blocks."), below: d) ?? labelled("S", index("single_transformer_blocks."), below: s)
        case (.mmdit(let n), .original):
            return labelled("J", index("joint_blocks."), below: n)
        case (.mmdit(let n), .diffusers):
            return labelled("J", index("transformer_blocks."), below: n)
        }
    }

    /// LDM block label of a diffusers U-Net layer (see `identifyDiffusersUNet` for the mapping).
    private static func diffusersUNetBlock(_ name: String, inputs: Int, perBlock: Int, index: (String) -> Int?) -> String? {
        if name == "conv_in" || name.hasPrefix("conv_in.") { return "IN00" }
        if name.hasPrefix("mid_block.") { return "M00" }
        func components(_ head: String) -> (block: Int, kind: Substring, j: Int)? {
            guard let b = index(head) else { return nil }
            let rest = name.dropFirst(head.count + String(b).count + 1)
            let parts = rest.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count >= 2, let j = Int(parts[1]), j >= 0 else { return nil }
            return (b, parts[0], j)
        }
        if let c = components("down_blocks.") {
            let base = 1 + c.block * (perBlock + 1)
            let i: Int
            switch c.kind {
            case "resnets", "attentions": i = base + c.j
            case "downsamplers": i = base + perBlock
            default: return nil
            }
            return i < inputs ? BlockScheme.label("IN", i) : nil
        }
        if let c = components("up_blocks.") {
            let base = c.block * (perBlock + 1)
            let i: Int
            switch c.kind {
            case "resnets", "attentions": i = base + c.j
            case "upsamplers": i = base + perBlock
            default: return nil
            }
            return i < inputs ? BlockScheme.label("OUT", i) : nil
        }
        return nil
    }
}

/// Exact-name and prefix lookups over the keys of one diffusion model (keys relative to its prefix).
struct KeyIndex {
    private var shapes: [String: [Int]] = [:]
    private let sorted: [String]

    init(_ entries: [TensorEntry], prefix: String) {
        var names: [String] = []
        names.reserveCapacity(entries.count)
        for e in entries where e.name.hasPrefix(prefix) {
            let name = String(e.name.dropFirst(prefix.count))
            if shapes[name] == nil { shapes[name] = e.shape; names.append(name) }
        }
        sorted = names.sorted()
    }

    func has(_ key: String) -> Bool { shapes[key] != nil }
    func shape(_ key: String) -> [Int]? { shapes[key] }

    /// Whether any key starts with `prefix` (binary search on the sorted keys).
    func hasPrefix(_ prefix: String) -> Bool {
        var lo = 0, hi = sorted.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if sorted[mid] < prefix { lo = mid + 1 } else { hi = mid }
        }
        return lo < sorted.count && sorted[lo].hasPrefix(prefix)
    }

    func first(where predicate: (String) -> Bool) -> String? { sorted.first(where: predicate) }

    /// One more than the largest N among keys `head<N>.…` (0 when there are none): the block count.
    func count(_ head: String) -> Int {
        var largest = -1
        for k in sorted where k.hasPrefix(head) {
            let digits = k.dropFirst(head.count).prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, digits.count <= 6, let n = Int(digits),
                  k.dropFirst(head.count + digits.count).first == "." else { continue }
            largest = max(largest, n)
        }
        return largest + 1
    }
}
