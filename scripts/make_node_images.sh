#!/usr/bin/env bash
# Regenerates the pictures of the analysis nodes in docs/NODES.md with `weightlens render`, which
# runs the nodes' own code headless (the same PNGs a workflow gets). Real trained weights where
# the fixture has the layer kind (Tests/Fixtures/real/facenet_onet.safetensors: convs and dense
# layers of the MTCNN O-Net); the SDXL-only views (attention, depth by U-Net block) on the
# synthetic SDXL checkpoint at 1/16 width that `serve` writes as its demo.
#
#   scripts/make_node_images.sh            release build, then docs/images/nodes_*.png
#   WEIGHTLENS_BIN=path scripts/make_node_images.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${WEIGHTLENS_BIN:-}" ]; then
    swift build -c release --product weightlens >&2
    WEIGHTLENS_BIN="$(swift build -c release --show-bin-path)/weightlens"
fi
bin="$WEIGHTLENS_BIN"
real=Tests/Fixtures/real/facenet_onet.safetensors
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
demo="$work/weightlens_demo_sdxl_synthetic.safetensors"
"$bin" make-checkpoint --layout sdxl --scale 16 --out "$demo" >/dev/null
out=docs/images
"$bin" render "$real" --view nmf-factors --layer conv2 --num-filters 16 --rank 3 --out "$out/nodes_nmf.png"
"$bin" render "$real" --view stats --bins 64 --out "$out/nodes_stats.png"
"$bin" render "$real" --view top-inputs --layer conv3 --output-channel 5 --top-k 8 --out "$out/nodes_top_inputs.png"
"$bin" render "$real" --view conv-chain --layers conv2,conv3 --out "$out/nodes_conv_chain.png"
"$bin" render "$demo" --view attention-qk --layer input_blocks.4.1.transformer_blocks.0.attn1 --head=-1 \
    --out "$out/nodes_attention_qk.png"
"$bin" render "$demo" --view depth --metric alpha --out "$out/nodes_overview_alpha.png"
