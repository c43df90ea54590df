/// diffusers names of Flux (Black Forest Labs names) and SD3 / SD3.5 (MMDiT names) layers, as
/// ComfyUI's `flux_to_diffusers` / `mmdit_to_diffusers` relate them. A fused qkv (or Flux's
/// single-block `linear1`, q k v and the MLP input stacked) gets one name per band of rows.
enum DiTNames {
    typealias Band = (name: String, offset: Int, rows: Int?)

    /// `head<N>.rest` → (N, rest).
    static func indexed(_ name: String, _ head: String) -> (Int, String)? {
        guard name.hasPrefix(head) else { return nil }
        let tail = name.dropFirst(head.count)
        guard let dot = tail.firstIndex(of: "."), let n = Int(tail[..<dot]) else { return nil }
        return (n, String(tail[tail.index(after: dot)...]))
    }

    static func qkv(_ prefix: String, _ names: [String], rows: Int) -> [Band] {
        let h = rows / 3
        guard h > 0 else { return [] }
        return names.enumerated().map { (prefix + $0.element, $0.offset * h, h) }
    }

    static let fluxTop: [String: String] = [
        "img_in": "x_embedder", "txt_in": "context_embedder",
        "time_in.in_layer": "time_text_embed.timestep_embedder.linear_1", "time_in.out_layer": "time_text_embed.timestep_embedder.linear_2",
        "guidance_in.in_layer": "time_text_embed.guidance_embedder.linear_1", "guidance_in.out_layer": "time_text_embed.guidance_embedder.linear_2",
        "vector_in.in_layer": "time_text_embed.text_embedder.linear_1", "vector_in.out_layer": "time_text_embed.text_embedder.linear_2",
        "final_layer.linear": "proj_out",
    ]

    static func fluxDiffusers(bfl name: String, shape: [Int]) -> [Band] {
        let rows = shape.first ?? 0
        if let t = fluxTop[name] { return [(t, 0, nil)] }
        if let (n, rest) = indexed(name, "double_blocks.") {
            let p = "transformer_blocks.\(n)."
            switch rest {
            case "img_attn.qkv": return qkv(p, ["attn.to_q", "attn.to_k", "attn.to_v"], rows: rows)
            case "txt_attn.qkv": return qkv(p, ["attn.add_q_proj", "attn.add_k_proj", "attn.add_v_proj"], rows: rows)
            case "img_attn.proj": return [(p + "attn.to_out.0", 0, nil)]
            case "txt_attn.proj": return [(p + "attn.to_add_out", 0, nil)]
            case "img_mlp.0": return [(p + "ff.net.0.proj", 0, nil)]
            case "img_mlp.2": return [(p + "ff.net.2", 0, nil)]
            case "txt_mlp.0": return [(p + "ff_context.net.0.proj", 0, nil)]
            case "txt_mlp.2": return [(p + "ff_context.net.2", 0, nil)]
            case "img_mod.lin": return [(p + "norm1.linear", 0, nil)]
            case "txt_mod.lin": return [(p + "norm1_context.linear", 0, nil)]
            default: return []
            }
        }
        if let (n, rest) = indexed(name, "single_blocks.") {
            let p = "single_transformer_blocks.\(n)."
            switch rest {
            case "linear1":
                // q, k, v (hidden each) then the MLP input (4 x hidden): 7 x hidden rows in Flux.1.
                let h = rows / 7
                guard h > 0, rows == 7 * h else { return [] }
                return [(p + "attn.to_q", 0, h), (p + "attn.to_k", h, h), (p + "attn.to_v", 2 * h, h), (p + "proj_mlp", 3 * h, 4 * h)]
            case "linear2": return [(p + "proj_out", 0, nil)]
            case "modulation.lin": return [(p + "norm.linear", 0, nil)]
            default: return []
            }
        }
        return []
    }

    static let sd3Top: [String: String] = [
        "x_embedder.proj": "pos_embed.proj", "context_embedder": "context_embedder",
        "t_embedder.mlp.0": "time_text_embed.timestep_embedder.linear_1", "t_embedder.mlp.2": "time_text_embed.timestep_embedder.linear_2",
        "y_embedder.mlp.0": "time_text_embed.text_embedder.linear_1", "y_embedder.mlp.2": "time_text_embed.text_embedder.linear_2",
        "final_layer.linear": "proj_out",
    ]

    static func sd3Diffusers(mmdit name: String, shape: [Int]) -> [Band] {
        let rows = shape.first ?? 0
        if let t = sd3Top[name] { return [(t, 0, nil)] }
        guard let (n, rest) = indexed(name, "joint_blocks.") else { return [] }
        let p = "transformer_blocks.\(n)."
        switch rest {
        case "x_block.attn.qkv": return qkv(p, ["attn.to_q", "attn.to_k", "attn.to_v"], rows: rows)
        case "context_block.attn.qkv": return qkv(p, ["attn.add_q_proj", "attn.add_k_proj", "attn.add_v_proj"], rows: rows)
        case "x_block.attn2.qkv": return qkv(p, ["attn2.to_q", "attn2.to_k", "attn2.to_v"], rows: rows)
        case "x_block.attn.proj": return [(p + "attn.to_out.0", 0, nil)]
        case "context_block.attn.proj": return [(p + "attn.to_add_out", 0, nil)]
        case "x_block.attn2.proj": return [(p + "attn2.to_out.0", 0, nil)]
        case "x_block.mlp.fc1": return [(p + "ff.net.0.proj", 0, nil)]
        case "x_block.mlp.fc2": return [(p + "ff.net.2", 0, nil)]
        case "context_block.mlp.fc1": return [(p + "ff_context.net.0.proj", 0, nil)]
        case "context_block.mlp.fc2": return [(p + "ff_context.net.2", 0, nil)]
        case "x_block.adaLN_modulation.1": return [(p + "norm1.linear", 0, nil)]
        case "context_block.adaLN_modulation.1": return [(p + "norm1_context.linear", 0, nil)]
        default: return []
        }
    }
}
