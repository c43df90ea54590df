// NodeServer: the ComfyUI-compatible REST and WebSocket API, folders, queue and history.
