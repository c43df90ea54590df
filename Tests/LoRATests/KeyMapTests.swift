import Testing
@testable import LoRA
@testable import ModelCatalog

/// LoRA module names mapped onto the layers of the released models (bundled layouts), as ComfyUI maps them.
@Suite struct KeyMapTests {
    func map(_ layout: SyntheticCheckpoint.Layout) throws -> LoraKeyMap {
        let ref = try ReferenceLayers.load(layout)
        return LoraKeyMap(identity: ref.identity, layers: ref.allLayers)
    }

    func expect(_ m: LoraKeyMap, _ key: String, _ layer: String, offset: Int = 0, rows: Int? = nil,
                sourceLocation: SourceLocation = #_sourceLocation) {
        guard let t = m.target(key) else { Issue.record("\(key) maps to nothing", sourceLocation: sourceLocation); return }
        #expect(t.layer.name == layer && t.rowOffset == offset && t.rows == rows, "\(key) -> \(t.layer.name) @\(t.rowOffset)+\(String(describing: t.rows))",
                sourceLocation: sourceLocation)
    }

    @Test func sdxlKohyaAndDiffusersNamesOnLDMLayers() throws {
        let m = try map(.sdxl)
        expect(m, "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn1_to_q", "input_blocks.4.1.transformer_blocks.0.attn1.to_q")
        expect(m, "lora_unet_up_blocks_0_attentions_0_proj_in", "output_blocks.0.1.proj_in")
        expect(m, "lora_unet_mid_block_resnets_1_conv2", "middle_block.2.out_layers.3")
        expect(m, "lora_unet_down_blocks_0_downsamplers_0_conv", "input_blocks.3.0.op")
        expect(m, "lora_unet_up_blocks_1_upsamplers_0_conv", "output_blocks.5.2.conv")
        expect(m, "lora_unet_down_blocks_2_resnets_0_conv_shortcut", "input_blocks.7.0.skip_connection")
        expect(m, "lora_unet_time_embedding_linear_1", "time_embed.0")
        expect(m, "lora_unet_add_embedding_linear_2", "label_emb.0.2")
        expect(m, "unet.up_blocks.2.resnets.2.time_emb_proj", "output_blocks.8.0.emb_layers.1")
        expect(m, "lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k", "input_blocks.4.1.transformer_blocks.0.attn2.to_k")
        expect(m, "lora_te1_text_model_encoder_layers_0_self_attn_q_proj",
               "conditioner.embedders.0.transformer.text_model.encoder.layers.0.self_attn.q_proj")
        // OpenCLIP's fused `attn.in_proj_weight` is the layer `attn.in_proj`: q/k/v are its row bands.
        expect(m, "lora_te2_text_model_encoder_layers_3_self_attn_k_proj",
               "conditioner.embedders.1.model.transformer.resblocks.3.attn.in_proj", offset: 1280, rows: 1280)
        expect(m, "text_encoder_2.text_model.encoder.layers.0.self_attn.v_proj",
               "conditioner.embedders.1.model.transformer.resblocks.0.attn.in_proj", offset: 2560, rows: 1280)
        expect(m, "lora_te2_text_model_encoder_layers_3_self_attn_out_proj",
               "conditioner.embedders.1.model.transformer.resblocks.3.attn.out_proj")
        expect(m, "text_encoder_2.text_model.encoder.layers.31.mlp.fc2", "conditioner.embedders.1.model.transformer.resblocks.31.mlp.c_proj")
    }

    @Test func sd15Names() throws {
        let m = try map(.sd15)
        expect(m, "lora_unet_up_blocks_0_upsamplers_0_conv", "output_blocks.2.1.conv")
        expect(m, "lora_unet_up_blocks_3_attentions_2_transformer_blocks_0_ff_net_0_proj", "output_blocks.11.1.transformer_blocks.0.ff.net.0.proj")
        expect(m, "lora_te_text_model_encoder_layers_11_mlp_fc2", "cond_stage_model.transformer.text_model.encoder.layers.11.mlp.fc2")
        expect(m, "text_encoder.text_model.encoder.layers.0.self_attn.out_proj", "cond_stage_model.transformer.text_model.encoder.layers.0.self_attn.out_proj")
        expect(m, "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.processor.to_out", "input_blocks.1.1.transformer_blocks.0.attn1.to_out.0")
        expect(m, "down_blocks.0.attentions.0.transformer_blocks.0.attn1.processor.to_q", "input_blocks.1.1.transformer_blocks.0.attn1.to_q")
    }

    @Test func fluxDiffusersNamesOnBandsOfFusedLayers() throws {
        let m = try map(.flux)
        expect(m, "transformer.transformer_blocks.3.attn.add_k_proj", "double_blocks.3.txt_attn.qkv", offset: 3072, rows: 3072)
        expect(m, "transformer.single_transformer_blocks.5.proj_mlp", "single_blocks.5.linear1", offset: 9216, rows: 12288)
        expect(m, "transformer.single_transformer_blocks.5.attn.to_v", "single_blocks.5.linear1", offset: 6144, rows: 3072)
        expect(m, "lora_transformer_single_transformer_blocks_0_proj_out", "single_blocks.0.linear2")
        expect(m, "lora_unet_double_blocks_0_img_attn_qkv", "double_blocks.0.img_attn.qkv")
        expect(m, "diffusion_model.double_blocks.0.img_attn.qkv", "double_blocks.0.img_attn.qkv")
        expect(m, "diffusion_model.single_blocks.0.linear2", "single_blocks.0.linear2")
        expect(m, "transformer.x_embedder", "img_in")
        expect(m, "base_model.model.transformer_blocks.0.ff_context.net.2", "double_blocks.0.txt_mlp.2")
    }

    @Test func sd35Names() throws {
        let m = try map(.sd35)
        expect(m, "transformer.transformer_blocks.2.attn.to_v", "joint_blocks.2.x_block.attn.qkv", offset: 4864, rows: 2432)
        expect(m, "transformer.transformer_blocks.2.attn.to_add_out", "joint_blocks.2.context_block.attn.proj")
        expect(m, "lora_unet_joint_blocks_7_x_block_mlp_fc1", "joint_blocks.7.x_block.mlp.fc1")
    }
}
