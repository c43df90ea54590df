// Checkpoint: reads checkpoint containers (safetensors, sharded safetensors, torch zip and legacy) without loading whole files.
