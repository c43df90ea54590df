// Checkpoint: reads checkpoint containers (safetensors, sharded safetensors, torch zip and legacy, GGUF) without loading whole files.

/// The container a checkpoint file was read from.
public enum CheckpointFormat: String, Sendable {
    /// A single `.safetensors` / `.sft` file.
    case safetensors
    /// Several safetensors shards joined by a `*.safetensors.index.json` weight map.
    case shardedSafetensors
    /// PyTorch ≥ 1.6 zip archive (`data.pkl` + `data/<key>` records).
    case torchZip
    /// PyTorch legacy stream: magic, protocol, sys-info and main pickles, then raw storages.
    case torchLegacy
    /// GGUF (versions 2 and 3), as llama.cpp's gguf-py and ComfyUI-GGUF write and read it.
    case gguf
}
