// Client for WeightLens' public ComfyUI-compatible API: REST under /api and the /ws socket.
// The viewer uses nothing else: it queues prompts like any ComfyUI client and follows them
// through WebSocket events (with a /history poll when the socket is down).

/** A prompt the server refused (400) or a run that ended in an error. */
export class PromptError extends Error {
    constructor(message, detail) {
        super(message);
        this.name = "PromptError";
        this.detail = detail;
    }
}

const RECENT_PROMPTS = 32;

/** Text of a POST /prompt 400 body: the error, then each node's errors (as ComfyUI shows them). */
function describeRejection(body) {
    const error = body?.error ?? {};
    const lines = [[error.message, error.details].filter(Boolean).join(": ") || "prompt rejected"];
    for (const [id, entry] of Object.entries(body?.node_errors ?? {})) {
        for (const e of entry.errors ?? []) {
            lines.push(`node ${id} (${entry.class_type ?? "?"}): ${[e.message, e.details].filter(Boolean).join(": ")}`);
        }
    }
    return lines.join("\n");
}

export class ApiClient {
    constructor() {
        this.clientId = null;
        this.socket = null;
        this.listeners = new Map();
        // Events of recent prompts, kept so that a run can replay what arrived before
        // POST /prompt answered with its id (a cached prompt can finish that fast).
        this.events = new Map();
        this.runs = new Map();
        this.reconnectDelay = 300;
        // Resolves with the client id the first time any socket connects (reconnects included).
        this.ready = new Promise((resolve) => (this.resolveReady = resolve));
    }

    on(type, handler) {
        if (!this.listeners.has(type)) this.listeners.set(type, new Set());
        this.listeners.get(type).add(handler);
    }

    emit(type, data) {
        for (const handler of this.listeners.get(type) ?? []) handler(data);
    }

    async getJSON(path) {
        const response = await fetch("/api" + path, { cache: "no-store" });
        if (!response.ok) throw new Error(`GET /api${path}: HTTP ${response.status}`);
        return response.json();
    }

    /** Opens /ws (reopening it whenever it closes); resolves once a status message named our client id. */
    connect() {
        const scheme = location.protocol === "https:" ? "wss:" : "ws:";
        const query = this.clientId ? `?clientId=${encodeURIComponent(this.clientId)}` : "";
        const socket = new WebSocket(`${scheme}//${location.host}/ws${query}`);
        this.socket = socket;
        let resolved = false;
        socket.addEventListener("message", (event) => {
            if (typeof event.data !== "string") return; // binary previews: not used here
            let message;
            try {
                message = JSON.parse(event.data);
            } catch {
                return;
            }
            if (message.type === "status" && message.data?.sid) {
                this.clientId = message.data.sid;
                if (!resolved) {
                    resolved = true;
                    this.reconnectDelay = 300;
                    this.emit("open", this.clientId);
                    this.resolveReady(this.clientId);
                    // Runs whose events may have been missed while disconnected.
                    if (this.runs.size > 0) this.pollRuns();
                }
            }
            this.dispatch(message.type, message.data ?? {});
        });
        socket.addEventListener("close", () => {
            this.emit("close", null);
            // Reconnect with the same client id, backing off to 5 s while the server is away.
            setTimeout(() => this.connect(), this.reconnectDelay);
            this.reconnectDelay = Math.min(this.reconnectDelay * 2, 5000);
            if (this.runs.size > 0) this.pollRuns();
        });
        return this.ready;
    }

    get connected() {
        return this.socket?.readyState === WebSocket.OPEN;
    }

    dispatch(type, data) {
        this.emit(type, data);
        const promptId = data.prompt_id;
        if (!promptId) return;
        let list = this.events.get(promptId);
        if (!list) {
            list = [];
            this.events.set(promptId, list);
            if (this.events.size > RECENT_PROMPTS) this.events.delete(this.events.keys().next().value);
        }
        list.push({ type, data });
        this.runs.get(promptId)?.handle(type, data);
    }

    /**
     * Queues an API-format prompt and resolves with `{promptId, outputs}` (node id → ui output)
     * when it has run. `onEvent(type, data)` sees every event of this prompt (progress bars).
     */
    async run(prompt, onEvent = () => {}) {
        const response = await fetch("/api/prompt", {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ prompt, client_id: this.clientId ?? undefined }),
        });
        let body = null;
        try {
            body = await response.json();
        } catch {
            body = null;
        }
        if (!response.ok) throw new PromptError(describeRejection(body), body);
        const promptId = body.prompt_id;
        return new Promise((resolve, reject) => {
            const outputs = {};
            const run = {
                done: false,
                handle: (type, data) => {
                    if (run.done) return;
                    onEvent(type, data);
                    if (type === "executed" && data.node != null) {
                        outputs[data.display_node ?? data.node] = data.output ?? {};
                    } else if (type === "execution_success" || (type === "executing" && data.node == null)) {
                        finish(() => resolve({ promptId, outputs }));
                    } else if (type === "execution_error") {
                        const where = data.node_type ? `${data.node_type} (node ${data.node_id})` : "the prompt";
                        finish(() => reject(new PromptError(`${where} failed: ${data.exception_message ?? "error"}`, data)));
                    } else if (type === "execution_interrupted") {
                        finish(() => reject(new PromptError("interrupted", data)));
                    }
                },
                // Used when the socket was down: the finished history record has every output.
                fromHistory: (record) => {
                    if (run.done || !record?.status) return;
                    if (record.status.status_str === "success" || record.status.completed) {
                        Object.assign(outputs, record.outputs ?? {});
                        finish(() => resolve({ promptId, outputs }));
                    } else if (record.status.status_str === "error") {
                        const failure = (record.status.messages ?? []).find(([name]) => name === "execution_error");
                        const message = failure?.[1]?.exception_message ?? "the prompt failed";
                        finish(() => reject(new PromptError(message, failure?.[1])));
                    }
                },
            };
            const finish = (settle) => {
                run.done = true;
                this.runs.delete(promptId);
                settle();
            };
            this.runs.set(promptId, run);
            for (const { type, data } of this.events.get(promptId) ?? []) run.handle(type, data);
            if (!this.connected) this.pollRuns();
        });
    }

    /** Finishes runs from /history while the socket is not connected. */
    async pollRuns() {
        if (this.polling) return;
        this.polling = true;
        try {
            while (this.runs.size > 0) {
                for (const [promptId, run] of [...this.runs]) {
                    try {
                        const history = await this.getJSON(`/history/${encodeURIComponent(promptId)}`);
                        run.fromHistory(history[promptId]);
                    } catch {
                        // server unreachable: try again below
                    }
                }
                if (this.connected && this.runs.size > 0) {
                    // Events resume on the socket; one more history check above caught anything missed.
                    break;
                }
                await new Promise((r) => setTimeout(r, 1000));
            }
        } finally {
            this.polling = false;
        }
    }

    async interrupt() {
        await fetch("/api/interrupt", { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
    }
}

/** URL of a file in an output/temp/input folder, as ComfyUI's frontend builds it. */
export function viewURL(ref) {
    const query = new URLSearchParams({ filename: ref.filename, type: ref.type ?? "output", subfolder: ref.subfolder ?? "" });
    return `/api/view?${query}`;
}
