import ModelCatalog

/// Where one LoRA module lands: a layer, or a band of its rows (a diffusers `to_q` inside a fused `qkv`).
public struct LoraTarget: Sendable, Equatable {
    public let layer: Layer
    /// First row of the layer the module's ΔW covers.
    public let rowOffset: Int
    /// Rows covered; nil for the whole layer.
    public let rows: Int?

    /// Elements of the covered band.
    var count: Int {
        guard let rows else { return layer.parameters }
        return rows * (layer.shape.count > 1 ? layer.shape.dropFirst().reduce(1, *) : 1)
    }
}

/// LoRA module names → the model's layers, built from the model's own layer names the way
/// ComfyUI's `comfy/lora.py` builds its key map: kohya `lora_unet_…` / `lora_te…` names (dots as
/// underscores), diffusers names with `unet.` / `transformer.` / `text_encoder.` prefixes, PEFT's
/// `base_model.model.`, ComfyUI's `diffusion_model.…`, LyCORIS' `lycoris_…`; diffusers U-Net names
/// onto LDM (`input_blocks…`) layers; diffusers Flux / SD3 q, k, v onto bands of fused qkv layers.
public struct LoraKeyMap: Sendable {
    public let identity: ModelIdentity
    private(set) var targets: [String: LoraTarget] = [:]

    public init(identity: ModelIdentity, layers: [Layer]) {
        self.identity = identity
        for layer in layers {
            switch layer.part {
            case "unet": addDiffusion(layer)
            case "text_encoder", "text_encoder_2", "text_encoder_3": addTextEncoder(layer)
            default: break
            }
        }
    }

    public func target(_ module: String) -> LoraTarget? { targets[module] }

    /// Number of distinct names known (for tests and diagnostics).
    public var count: Int { targets.count }

    private mutating func add(_ key: String, _ layer: Layer, offset: Int = 0, rows: Int? = nil) {
        if targets[key] == nil { targets[key] = LoraTarget(layer: layer, rowOffset: offset, rows: rows) }
    }

    static func underscored(_ s: String) -> String { String(s.map { $0 == "." ? "_" : $0 }) }

    // MARK: diffusion model

    private mutating func addDiffusion(_ layer: Layer) {
        let n = layer.name
        add("lora_unet_" + Self.underscored(n), layer)
        add("diffusion_model." + n, layer)
        add("model.diffusion_model." + n, layer)
        var diffusersNames: [(name: String, offset: Int, rows: Int?)] = []
        switch (identity.blocks, identity.naming) {
        case (.unet?, .original):
            if let d = UNetNames.diffusers(ldm: n) { diffusersNames.append((d, 0, nil)) }
        case (.flux?, .original):
            diffusersNames = DiTNames.fluxDiffusers(bfl: n, shape: layer.shape)
        case (.mmdit?, .original):
            diffusersNames = DiTNames.sd3Diffusers(mmdit: n, shape: layer.shape)
        case (_, .diffusers):
            diffusersNames.append((n, 0, nil))
        default:
            break
        }
        let isUNet: Bool = { if case .unet? = identity.blocks { return true } else { return false } }()
        for d in diffusersNames {
            let u = Self.underscored(d.name)
            add("lycoris_" + u, layer, offset: d.offset, rows: d.rows)
            add("base_model.model." + d.name, layer, offset: d.offset, rows: d.rows)
            add(d.name, layer, offset: d.offset, rows: d.rows)
            if isUNet {
                add("lora_unet_" + u, layer, offset: d.offset, rows: d.rows)
                add("unet." + d.name, layer, offset: d.offset, rows: d.rows)
                // diffusers' old attention-processor names: `attn1.processor.to_q`, `…processor.to_out`.
                var processor = d.name.replacingAll(".to_", with: ".processor.to_")
                if processor.hasSuffix(".to_out.0") { processor = String(processor.dropLast(2)) }
                add(processor, layer)
                add("unet." + processor, layer)
            } else {
                add("transformer." + d.name, layer, offset: d.offset, rows: d.rows)
                add("lora_transformer_" + u, layer, offset: d.offset, rows: d.rows)
            }
        }
    }

    // MARK: text encoders

    private mutating func addTextEncoder(_ layer: Layer) {
        let m = layer.name
        add(m, layer)
        add("text_encoders." + m, layer)
        // Hugging Face CLIP layout: `…transformer.text_model.encoder.layers.N.self_attn.q_proj`.
        if let r = m.range(of: "transformer.text_model.") {
            let t = "text_model." + m[r.upperBound...]
            let isSecond = layer.part == "text_encoder_2"
            if layer.part == "text_encoder" {
                add("lora_te_" + Self.underscored(t), layer)
                add("lora_te1_" + Self.underscored(t), layer)
                add("text_encoder." + t, layer)
            } else if isSecond {
                add("lora_te2_" + Self.underscored(t), layer)
                add("text_encoder_2." + t, layer)
            }
            return
        }
        // OpenCLIP layout (SDXL's second encoder in a checkpoint). Its fused q/k/v is stored as
        // `attn.in_proj_weight`, listed by the catalogue as the layer `attn.in_proj`; the Hugging
        // Face names of q, k and v patch its first, second and third row band.
        guard layer.part == "text_encoder_2", let r = m.range(of: "model.transformer.resblocks.") else { return }
        let rest = m[r.upperBound...]
        guard let dot = rest.firstIndex(of: "."), let block = Int(rest[..<dot]) else { return }
        let inner = String(rest[rest.index(after: dot)...])
        let base = "text_model.encoder.layers.\(block)."
        func both(_ hf: String, offset: Int = 0, rows: Int? = nil) {
            add("lora_te2_" + Self.underscored(base + hf), layer, offset: offset, rows: rows)
            add("text_encoder_2." + base + hf, layer, offset: offset, rows: rows)
        }
        switch inner {
        case "attn.in_proj":
            let h = (layer.shape.first ?? 0) / 3
            both("self_attn.q_proj", offset: 0, rows: h)
            both("self_attn.k_proj", offset: h, rows: h)
            both("self_attn.v_proj", offset: 2 * h, rows: h)
        case "attn.out_proj": both("self_attn.out_proj")
        case "mlp.c_fc": both("mlp.fc1")
        case "mlp.c_proj": both("mlp.fc2")
        default: break
        }
    }
}

extension String {
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var out = ""
        var rest = Substring(self)
        while let r = rest.range(of: target) {
            out += rest[..<r.lowerBound]
            out += replacement
            rest = rest[r.upperBound...]
        }
        return out + rest
    }
}
