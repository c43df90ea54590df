#!/usr/bin/env python3
"""Writes the small LoRA files the LoRA tests read, with the real tools, and ΔW as those tools merge it.

    .venv/bin/python Tests/Fixtures/tools/make_lora_fixtures.py

Needs torch (CPU), diffusers, peft, lycoris-lora and safetensors; versions go to lora/versions.txt.
The LoRAs adapt the tiny randomly initialised models of make_fixtures.py (diffusers_unet, diffusers_flux),
with fixed seeds; their factors are re-drawn at random (the tools start lora_B / lora_up at zero).

- lora/peft_unet.safetensors      PEFT LoraConfig on the UNet, saved by diffusers' save_lora_weights
                                  (keys `unet.<module>.lora_A.weight` / `lora_B`; r = lora_alpha = 4,
                                  so peft's alpha/r scale and ComfyUI's "no alpha key: scale 1" agree)
- lora/peft_flux.safetensors      the same on the Flux transformer (keys `transformer.<module>.lora_A…`)
- lora/lycoris_lora.safetensors   LyCORIS algo=lora with conv modules (kohya `lora_unet_…` names,
                                  lora_down / lora_up / alpha; 3x3 convs as LoCon), alpha != rank
- lora/lycoris_loha.safetensors   LyCORIS algo=loha (`lycoris_…` names; hada_w1_a … hada_w2_b, alpha)
- lora/lycoris_lokr.safetensors   LyCORIS algo=lokr (`lycoris_…` names; lokr_w1, lokr_w2, factor 4)
- lora/<name>.expected.safetensors  per changed module (diffusers name of the model): ΔW at strength 1
                                  as the tool computes it, float32: peft's merge() minus the base weight,
                                  LyCORIS merge_to minus the base (LoRA) or the module's get_weight (LoHa,
                                  LoKr: LyCORIS 4.1.3's merge applies alpha / rank twice there, ComfyUI once)
"""
import os
import sys

import torch
import diffusers
import peft
import safetensors
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "lora")


def unet():
    return diffusers.UNet2DConditionModel.from_pretrained(os.path.join(HERE, "diffusers_unet", "unet"))


def flux():
    return diffusers.FluxTransformer2DModel.from_pretrained(os.path.join(HERE, "diffusers_flux", "transformer"))


def snapshot(model):
    return {k: v.detach().clone().float() for k, v in model.state_dict().items() if k.endswith(".weight")}


def deltas(before, model, strip=""):
    out = {}
    for k, v in model.state_dict().items():
        k2 = k.replace(strip, "") if strip else k
        if k2 in before and k2.endswith(".weight"):
            d = v.detach().float() - before[k2]
            if d.abs().max() > 0:
                out[k2[:-len(".weight")]] = d.contiguous()
    return out


def randomize(module, names, gen, scale=0.2):
    with torch.no_grad():
        for n, p in module.named_parameters():
            if any(s in n for s in names):
                p.copy_(torch.randn(p.shape, generator=gen) * scale)


def peft_lora(model, targets, pipeline, arg, name, gen):
    from peft import LoraConfig, get_peft_model_state_dict
    before = snapshot(model)
    model.add_adapter(LoraConfig(r=4, lora_alpha=4, target_modules=targets, init_lora_weights=False))
    randomize(model, ["lora_A", "lora_B"], gen)
    layers = get_peft_model_state_dict(model)
    pipeline.save_lora_weights(OUT, weight_name=name + ".safetensors", **{arg: layers})
    # peft's own merge: W + scale * B A into every adapted module.
    for m in model.modules():
        if isinstance(m, peft.tuners.lora.LoraLayer):
            m.merge()
    merged = {}
    for n, m in model.named_modules():
        if isinstance(m, peft.tuners.lora.LoraLayer):
            merged[n] = (m.base_layer.weight.detach().float() - before[n + ".weight"]).contiguous()
    save_file(merged, os.path.join(OUT, name + ".expected.safetensors"))


def lycoris_net(model, algo, name, gen, prefix="lycoris", **kw):
    from lycoris import create_lycoris, LycorisNetwork
    before = snapshot(model)
    LycorisNetwork.apply_preset({"target_name": [".*attn1.*", ".*proj_in", ".*conv1", ".*conv2", ".*ff.net.0.proj"],
                                 "lora_prefix": prefix})
    net = create_lycoris(model, 1.0, algo=algo, **kw)
    net.apply_to()
    randomize(net, ["lora_up", "lora_down", "hada_w1_a", "hada_w1_b", "hada_w2_a", "hada_w2_b", "lokr_w1", "lokr_w2"], gen, 0.1)
    net.save_weights(os.path.join(OUT, name + ".safetensors"), torch.float32, {"ss_network_module": "lycoris.kohya", "ss_note": "fixture"})
    if algo == "lora":
        net.restore()
        net.merge_to(1.0)
        save_file(deltas(before, model), os.path.join(OUT, name + ".expected.safetensors"))
        return
    # LoHa / LoKr: the module's own get_weight (alpha / rank applied once, as ComfyUI applies it).
    # LyCORIS 4.1.3's get_diff_weight / merge_to multiply that by the scale a second time.
    names = {f"{prefix}_{n}".replace(".", "_"): n for n, _ in model.named_modules()}
    out = {}
    with torch.no_grad():
        for m in net.loras:
            target = names[m.lora_name]
            out[target] = m.get_weight(before[target + ".weight"].shape).float().contiguous()
    save_file(out, os.path.join(OUT, name + ".expected.safetensors"))


def main():
    os.makedirs(OUT, exist_ok=True)
    gen = torch.Generator().manual_seed(13)
    peft_lora(unet(), ["to_q", "to_k", "to_v", "to_out.0", "proj_in", "conv1"], diffusers.StableDiffusionPipeline,
              "unet_lora_layers", "peft_unet", gen)
    peft_lora(flux(), ["to_q", "to_k", "to_v", "add_q_proj", "proj_mlp", "proj_out", "ff.net.2"], diffusers.FluxPipeline,
              "transformer_lora_layers", "peft_flux", gen)
    lycoris_net(unet(), "lora", "lycoris_lora", gen, prefix="lora_unet", linear_dim=4, linear_alpha=2, conv_dim=2, conv_alpha=1)
    lycoris_net(unet(), "loha", "lycoris_loha", gen, linear_dim=2, linear_alpha=1, conv_dim=2, conv_alpha=2)
    lycoris_net(unet(), "lokr", "lycoris_lokr", gen, linear_dim=2, linear_alpha=1, conv_dim=2, conv_alpha=1, factor=4)
    import importlib.metadata as md
    with open(os.path.join(OUT, "versions.txt"), "w") as f:
        f.write(f"python {sys.version.split()[0]}\ntorch {torch.__version__}\ndiffusers {diffusers.__version__}\n"
                f"peft {peft.__version__}\nlycoris-lora {md.version('lycoris-lora')}\nsafetensors {safetensors.__version__}\n")


if __name__ == "__main__":
    main()
