/// The diffusers name of an LDM U-Net layer (SD 1.x, SD 2.x, SDXL; two resnets per down block), as
/// ComfyUI's `unet_to_diffusers` relates them. Nil for layers diffusers names differently or not at all.
enum UNetNames {
    static let perBlock = 2

    static let resnetNames: [String: String] = [
        "in_layers.0": "norm1", "in_layers.2": "conv1", "emb_layers.1": "time_emb_proj",
        "out_layers.0": "norm2", "out_layers.3": "conv2", "skip_connection": "conv_shortcut",
    ]

    static let basic: [String: String] = [
        "input_blocks.0.0": "conv_in", "time_embed.0": "time_embedding.linear_1", "time_embed.2": "time_embedding.linear_2",
        "label_emb.0.0": "add_embedding.linear_1", "label_emb.0.2": "add_embedding.linear_2",
        "out.0": "conv_norm_out", "out.2": "conv_out",
    ]

    static func diffusers(ldm name: String) -> String? {
        if let b = basic[name] { return b }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 3 else { return nil }
        let rest = parts.dropFirst(3).joined(separator: ".")
        func resnet() -> String? { resnetNames[rest] }
        switch parts[0] {
        case "input_blocks":
            guard let n = Int(parts[1]), n >= 1, let j = Int(parts[2]) else { return nil }
            let x = (n - 1) / (perBlock + 1), i = (n - 1) % (perBlock + 1)
            if i == perBlock {
                return j == 0 && rest == "op" ? "down_blocks.\(x).downsamplers.0.conv" : nil
            }
            if j == 0 { return resnet().map { "down_blocks.\(x).resnets.\(i).\($0)" } }
            if j == 1 { return "down_blocks.\(x).attentions.\(i).\(rest)" }
            return nil
        case "middle_block":
            guard let j = Int(parts[1]) else { return nil }
            let tail = parts.dropFirst(2).joined(separator: ".")
            if j == 1 { return "mid_block.attentions.0.\(tail)" }
            if j == 0 || j == 2 { return resnetNames[tail].map { "mid_block.resnets.\(j / 2).\($0)" } }
            return nil
        case "output_blocks":
            guard let n = Int(parts[1]), let j = Int(parts[2]) else { return nil }
            let x = n / (perBlock + 1), i = n % (perBlock + 1)
            if j == 0 { return resnet().map { "up_blocks.\(x).resnets.\(i).\($0)" } }
            if rest == "conv" { return "up_blocks.\(x).upsamplers.0.conv" }
            if j == 1 { return "up_blocks.\(x).attentions.\(i).\(rest)" }
            return nil
        default:
            return nil
        }
    }
}
