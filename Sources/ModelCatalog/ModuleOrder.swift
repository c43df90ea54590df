/// The order in which a model's code registers its modules (what PyTorch's `named_modules()` and so
/// LatentTools' layer list show), per architecture and naming.
///
/// Files store keys alphabetically (safetensors) or in save order, so the listing re-sorts them:
/// numeric path components numerically, named ones by these tables, names not in the table by
/// first appearance in the file after the known ones.
enum ModuleOrder {
    /// Registration order of attributes, per class, as the constructors assign them. A name keeps
    /// the rank of its first group, so the tables only rank siblings consistently within one architecture.
    static func rank(_ groups: [[String]]) -> [String: Int] {
        var rank: [String: Int] = [:]
        var r = 0
        for g in groups { for name in g where rank[name] == nil { rank[name] = r; r += 1 } }
        return rank
    }

    /// LDM / ComfyUI U-Net (`openaimodel.py`).
    static let ldmUNet = rank([
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
    ])

    /// Flux as Black Forest Labs' code (and ComfyUI's `comfy/ldm/flux`) builds it.
    static let flux = rank([
        // Flux
        ["img_in", "time_in", "vector_in", "guidance_in", "txt_in", "double_blocks", "single_blocks", "final_layer"],
        // MLPEmbedder
        ["in_layer", "out_layer"],
        // DoubleStreamBlock
        ["img_mod", "img_norm1", "img_attn", "img_norm2", "img_mlp", "txt_mod", "txt_norm1", "txt_attn", "txt_norm2", "txt_mlp"],
        // SelfAttention, QKNorm, Modulation
        ["qkv", "norm", "proj", "query_norm", "key_norm", "lin"],
        // SingleStreamBlock
        ["linear1", "linear2", "pre_norm", "mlp_act", "modulation"],
        // LastLayer
        ["norm_final", "linear", "adaLN_modulation"],
    ])

    /// SD3 / SD3.5 MMDiT as Stability's code (and ComfyUI's `mmdit.py`) builds it.
    static let mmdit = rank([
        // MMDiT
        ["x_embedder", "t_embedder", "y_embedder", "context_embedder", "pos_embed", "joint_blocks", "final_layer"],
        // JointBlock
        ["context_block", "x_block"],
        // DismantledBlock (norm1, attn, attn2, norm2, mlp, adaLN_modulation) and FinalLayer
        // (norm_final, linear, adaLN_modulation) in one consistent order
        ["norm1", "attn", "attn2", "norm2", "mlp", "norm_final", "linear", "adaLN_modulation"],
        // SelfAttention (its projection is created before the q/k norms), Mlp, PatchEmbed
        ["qkv", "proj", "ln_q", "ln_k", "fc1", "act", "fc2"],
    ])

    // diffusers' classes, one table per model class. Where two classes of one model share a
    // name (ResnetBlock2D and BasicTransformerBlock both have norm1/norm2), the name sits where both
    // orders allow. Checked against `named_modules()` of real diffusers models
    // (Tests/Fixtures/tools/*.layers.txt).

    /// diffusers' UNet2DConditionModel. It creates `down_blocks` and `up_blocks` together before
    /// `mid_block`, so its up blocks list before the middle block.
    static let diffusersUNet = rank([
        ["conv_in", "time_proj", "time_embedding", "add_time_proj", "add_embedding", "down_blocks", "up_blocks", "mid_block",
         "conv_norm_out", "conv_act", "conv_out"],
        // TimestepEmbedding
        ["linear_1", "act", "linear_2"],
        // Cross-attention and plain down/mid/up blocks
        ["attentions", "resnets", "downsamplers", "upsamplers"],
        // Transformer2DModel
        ["norm", "proj_in", "transformer_blocks", "proj_out"],
        // ResnetBlock2D (norm1, conv1, time_emb_proj, norm2, conv2, conv_shortcut) with
        // BasicTransformerBlock (norm1, attn1, norm2, attn2, norm3, ff)
        ["norm1", "conv1", "time_emb_proj", "attn1", "norm2", "conv2", "conv_shortcut", "attn2", "norm3", "ff"],
        // Attention, FeedForward / GEGLU, Downsample2D / Upsample2D
        ["to_q", "to_k", "to_v", "to_out", "net", "proj", "conv"],
    ])

    /// diffusers' FluxTransformer2DModel.
    static let diffusersFlux = rank([
        // The model, with FluxSingleTransformerBlock (norm, proj_mlp, proj_out, attn) and
        // FluxTransformerBlock (norm1, norm1_context, attn, norm2, ff, norm2_context, ff_context)
        ["pos_embed", "time_text_embed", "context_embedder", "x_embedder", "transformer_blocks", "single_transformer_blocks",
         "norm_out", "norm", "proj_mlp", "act_mlp", "proj_out", "norm1", "norm1_context", "attn", "norm2", "ff",
         "norm2_context", "ff_context"],
        // CombinedTimestepGuidanceTextProjEmbeddings, TimestepEmbedding
        ["timestep_embedder", "guidance_embedder", "text_embedder", "linear_1", "linear_2"],
        // FluxAttention
        ["norm_q", "norm_k", "to_q", "to_k", "to_v", "to_out", "norm_added_q", "norm_added_k", "add_q_proj", "add_k_proj",
         "add_v_proj", "to_add_out"],
        // AdaLayerNorm*, FeedForward / GELU
        ["linear", "net", "proj"],
    ])

    /// diffusers' SD3Transformer2DModel.
    static let diffusersSD3 = rank([
        ["pos_embed", "time_text_embed", "context_embedder", "transformer_blocks", "norm_out", "proj_out"],
        // PatchEmbed, CombinedTimestepTextProjEmbeddings, TimestepEmbedding
        ["proj", "timestep_embedder", "text_embedder", "linear_1", "linear_2"],
        // JointTransformerBlock
        ["norm1", "norm1_context", "attn", "attn2", "norm2", "ff", "norm2_context", "ff_context"],
        // Attention
        ["norm_q", "norm_k", "to_q", "to_k", "to_v", "add_k_proj", "add_v_proj", "add_q_proj", "to_out", "to_add_out",
         "norm_added_q", "norm_added_k"],
        // AdaLayerNorm*, FeedForward / GELU
        ["linear", "net"],
    ])

    static func table(for identity: ModelIdentity) -> [String: Int] {
        switch (identity.family, identity.naming) {
        case (.flux, .diffusers): return diffusersFlux
        case (.sd3, .diffusers): return diffusersSD3
        case (_, .diffusers): return diffusersUNet
        case (.flux, _): return flux
        case (.sd3, _): return mmdit
        default: return ldmUNet
        }
    }
    /// Sorts diffusion-model layers into module registration order (see the type's summary).
    static func sorted(_ layers: [Layer], rank: [String: Int]) -> [Layer] {
        var firstSeen: [Substring: Int] = [:]
        let split = layers.map { $0.name.split(separator: ".", omittingEmptySubsequences: false) }
        for parts in split { for c in parts where firstSeen[c] == nil { firstSeen[c] = firstSeen.count } }
        let keys: [[Int]] = split.map { parts in
            parts.map { c in
                if let n = Int(c), n >= 0 { return n }
                if let r = rank[String(c)] { return 1 << 40 | r }
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
