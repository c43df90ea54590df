// WeightLens built-in viewer: pick a checkpoint, browse its layers, render one with
// LTVisualizeWeights or another analysis node (NMF, top inputs, statistics, conv chain, attention
// QK/OV), or draw the model overview (LTModelOverview over the filtered layers, whose report rows
// open their layer on click), and look at the PNG. Everything goes through the public API:
//   GET  /api/object_info/{class}  checkpoint list and the visualizer's options
//   POST /api/prompt               CheckpointLoaderSimple → LTListLayers → ShowText|pysssss (layer list)
//                                  CheckpointLoaderSimple → LTVisualizeWeights (the picture)
//   WS   /ws                       progress, executed outputs, errors
//   GET  /api/view                 the PNG the visualizer wrote to temp/
//   GET  /api/weightlens/tensor    the weight values under the pointer (one kernel or row at a time)
import { ApiClient, PromptError, viewURL } from "/viewer/api.js";
import { ImageCanvas, parseLayout, pngTextChunks } from "/viewer/canvas.js";
import { buildTree, renderTree } from "/viewer/tree.js";

const LOADER = "CheckpointLoaderSimple";
const VISUALIZER = "LTVisualizeWeights";
const LISTER = "LTListLayers";
const SHOW_TEXT = "ShowText|pysssss";

/** The node attention views expand: the attention module of a picked projection (…attn1.to_q → …attn1). */
function attentionModule(layer) {
    const m = layer.match(/^(.*\.attn\d*)(\..*)?$/);
    return m ? m[1] : layer;
}

/** The layer a conv chain continues with: the next convolution-like layer after `layer` in model order. */
function nextConv(layer) {
    const index = state.layers.indexOf(layer);
    const rest = state.layers.slice(index + 1);
    return rest.find((l) => /(conv[^.]*|in_layers\.2|out_layers\.3|\.op|proj_in|proj_out)$/.test(l)) ?? rest[0] ?? layer;
}

// Each view: the node that draws it, the inputs the picked layer gives, inputs set here (not shown).
const ANALYSES = {
    visualize: { node: VISUALIZER, inputs: (layer) => ({ layer_name: layer }) },
    nmf: { node: "LTWeightNMF", inputs: (layer) => ({ layer_name: layer }) },
    "top-inputs": { node: "LTTopInputs", inputs: (layer) => ({ layer_name: layer }) },
    stats: { node: "LTWeightStats", inputs: (layer) => ({ filter: layer }) },
    "conv-chain": { node: "LTExpandedWeights", inputs: (layer) => ({ layer_name: layer.includes(",") ? layer : `${layer}, ${nextConv(layer)}`, mode: "conv_chain" }) },
    "attention-qk": { node: "LTExpandedWeights", inputs: (layer) => ({ layer_name: attentionModule(layer), mode: "attention_qk" }) },
    "attention-ov": { node: "LTExpandedWeights", inputs: (layer) => ({ layer_name: attentionModule(layer), mode: "attention_ov" }) },
    overview: { node: "LTModelOverview", modelWide: true, inputs: () => ({ filter: $("filter").value.trim() }) },
};
const HIDDEN_INPUTS = new Set(["model", "layer_name", "filter", "mode"]);
// Filters the server resolves (block grammar such as IN04, M00, IN00-OUT08(+2), and globs);
// plain substrings are filtered here, instantly, with the same substring semantics.
const SERVER_FILTER = /^\s*((IN|OUT)\d|M0)|[*?]/i;

const $ = (id) => document.getElementById(id);
const api = new ApiClient();
const state = {
    checkpoint: null,
    layers: [],
    shown: [],
    selected: null,
    shownLayer: null,
    shownCheckpoint: null,
    images: [],
    current: 0,
    busy: 0,
    filterToken: 0,
    renderToken: 0,
};

// ---- hover read-out: what is under the pointer, and the weight's value -------------------

/** Slices of the shown layer's weight from /weightlens/tensor, by index (one request per kernel or row). */
const slices = new Map();
let hoverToken = 0;

function sliceValues(index) {
    const key = `${state.shownCheckpoint}\n${state.shownLayer}\n${index.join(",")}`;
    if (!slices.has(key)) {
        if (slices.size > 512) slices.clear();
        const query = new URLSearchParams({ ckpt: state.shownCheckpoint, layer: state.shownLayer, index: index.join(",") });
        slices.set(key, api.getJSON(`/weightlens/tensor?${query}`).then((j) => j.values, () => null));
    }
    return slices.get(key);
}

function formatWeight(v) {
    if (v === null || v === undefined) return "n/a";
    const a = Math.abs(v);
    return a !== 0 && (a < 1e-3 || a >= 1e4) ? v.toExponential(4) : String(Number(v.toPrecision(5)));
}

function showReadout(text, hit = null, value = undefined) {
    const readout = $("readout");
    readout.textContent = text;
    readout.hidden = !text;
    readout.dataset.x = hit ? String(hit.x) : "";
    readout.dataset.y = hit ? String(hit.y) : "";
    readout.dataset.element = hit?.spot?.value ? hit.spot.value.element.join(",") : "";
    readout.dataset.value = value === undefined || value === null ? "" : String(value);
}

const view = new ImageCanvas($("image"), (hit) => {
    const token = ++hoverToken;
    // Nothing over white space, headers or the colour bar, and nothing once the pointer has left.
    if (!hit || !hit.spot) return showReadout("");
    const base = [state.shownLayer, hit.spot.text].filter(Boolean).join(" · ");
    showReadout(base, hit);
    const wanted = hit.spot.value;
    if (!wanted || !state.shownCheckpoint || !state.shownLayer) return;
    sliceValues(wanted.index).then((values) => {
        if (token !== hoverToken || !values) return;
        const v = values[wanted.pick];
        showReadout(`${base} · [${wanted.element.join(", ")}] = ${formatWeight(v)}`, hit, v);
    });
});

function setStatus(text, isError = false) {
    $("status").textContent = text;
    $("status").classList.toggle("error", isError);
}

function setProgress(fraction, done = false) {
    $("progress-bar").style.width = `${Math.round(Math.max(0, Math.min(1, fraction)) * 100)}%`;
    $("progress").classList.toggle("done", done);
}

function busy(delta) {
    state.busy += delta;
    $("interrupt").disabled = state.busy === 0;
    $("render").disabled = state.busy > 0 || (!state.selected && !analysis().modelWide);
}

/** Runs a prompt, reporting progress and node names; errors end up in the status line. */
async function run(prompt, what) {
    busy(+1);
    setProgress(0);
    setStatus(`${what}…`);
    const names = Object.fromEntries(Object.entries(prompt).map(([id, node]) => [id, node.class_type]));
    try {
        const result = await api.run(prompt, (type, data) => {
            if (type === "executing" && data.node != null) setStatus(`${what}: ${names[data.node] ?? data.node}`);
            if (type === "progress" && data.max > 0) setProgress(data.value / data.max);
        });
        setProgress(1, true);
        return result.outputs;
    } catch (error) {
        setProgress(0);
        setStatus(error instanceof PromptError ? error.message : `${what} failed: ${error.message}`, true);
        throw error;
    } finally {
        busy(-1);
    }
}

// ---- checkpoints and options -------------------------------------------------------------

/** `[type, options]` of an /object_info input spec as {kind, options, values}. */
function describeInput(spec) {
    const [type, options = {}] = spec;
    if (Array.isArray(type)) return { kind: "combo", values: type, options };
    if (type === "COMBO") return { kind: "combo", values: options.options ?? [], options };
    return { kind: type, options };
}

/**
 * What the address asks for: `/viewer?ckpt=…&layer=…&view=…` (the node's "viewer" link) and
 * `#ckpt=…&layer=…` (kept up to date while browsing); the hash wins.
 */
function readLinkParams() {
    const params = new URLSearchParams(location.search);
    for (const [key, value] of new URLSearchParams(location.hash.slice(1))) params.set(key, value);
    return params;
}
// Read once at load: browsing rewrites the address (updateHash) before the layer is restored.
const initialLink = readLinkParams();
const linkParams = () => initialLink;

async function loadCheckpoints() {
    const info = await api.getJSON(`/object_info/${LOADER}`);
    const values = describeInput(info[LOADER].input.required.ckpt_name).values;
    const select = $("checkpoint");
    select.replaceChildren(...values.map((name) => new Option(name, name)));
    const wanted = linkParams().get("ckpt");
    if (wanted && values.includes(wanted)) select.value = wanted;
    if (values.length === 0) setStatus("No checkpoints: put .safetensors files into models/checkpoints and reload.", true);
    return values;
}

function analysis() {
    return ANALYSES[$("analysis").value] ?? ANALYSES.visualize;
}

/** Builds a control for every input of the current view's node except the model link, the layer and what the view sets. */
async function loadOptions() {
    const node = analysis().node;
    const info = (await api.getJSON(`/object_info/${node}`))[node];
    const order = [...(info.input_order?.required ?? Object.keys(info.input.required ?? {})),
        ...(info.input_order?.optional ?? Object.keys(info.input.optional ?? {}))];
    const specs = { ...(info.input.required ?? {}), ...(info.input.optional ?? {}) };
    const container = $("options");
    container.replaceChildren();
    for (const name of order) {
        if (HIDDEN_INPUTS.has(name) || !specs[name]) continue;
        const input = describeInput(specs[name]);
        let control;
        if (input.kind === "combo") {
            control = document.createElement("select");
            control.append(...input.values.map((v) => new Option(String(v), String(v))));
            if (input.options.default != null) control.value = String(input.options.default);
        } else if (input.kind === "INT" || input.kind === "FLOAT") {
            control = document.createElement("input");
            control.type = "number";
            for (const key of ["min", "max", "step"]) if (input.options[key] != null) control[key] = String(input.options[key]);
            if (input.kind === "INT") control.step = String(input.options.step ?? 1);
            control.value = String(input.options.default ?? input.options.min ?? 0);
        } else if (input.kind === "BOOLEAN") {
            control = document.createElement("input");
            control.type = "checkbox";
            control.checked = Boolean(input.options.default);
        } else if (input.kind === "STRING") {
            control = document.createElement("input");
            control.type = "text";
            control.value = input.options.default ?? "";
        } else {
            continue; // a socket-only input: nothing to choose here
        }
        control.name = name;
        control.dataset.kind = input.kind;
        // `view=` of a deep link selects the visualization mode (when it is one of its values).
        const view = linkParams().get("view");
        if (name === "visualization_mode" && view && input.kind === "combo" && input.values.map(String).includes(view)) {
            control.value = view;
        }
        if (input.options.tooltip) control.title = input.options.tooltip;
        const label = document.createElement("label");
        label.append(name.replaceAll("_", " "), control);
        container.appendChild(label);
        control.addEventListener("change", () => {
            if (state.selected || analysis().modelWide) renderLayer();
        });
    }
}

function optionValues() {
    const values = {};
    for (const control of $("options").querySelectorAll("[name]")) {
        const kind = control.dataset.kind;
        if (kind === "INT") values[control.name] = Math.trunc(Number(control.value));
        else if (kind === "FLOAT") values[control.name] = Number(control.value);
        else if (kind === "BOOLEAN") values[control.name] = control.checked;
        else values[control.name] = control.value;
    }
    return values;
}

// ---- layers ------------------------------------------------------------------------------

function loaderNode() {
    return { class_type: LOADER, inputs: { ckpt_name: state.checkpoint } };
}

/** Layer names through LTListLayers with `filter`, read from ShowText's executed text. */
async function listLayers(filter) {
    const outputs = await run(
        {
            1: loaderNode(),
            2: { class_type: LISTER, inputs: { model: ["1", 0], filter } },
            3: { class_type: SHOW_TEXT, inputs: { text: ["2", 0] } },
        },
        filter ? `Listing layers matching ${filter}` : "Listing layers",
    );
    const text = (outputs["3"]?.text ?? []).join("\n");
    return text.split("\n").map((l) => l.trim()).filter((l) => l.length > 0);
}

function showTree(names, open) {
    state.shown = names;
    $("layer-count").textContent = `${names.length} of ${state.layers.length} layers`;
    renderTree($("tree"), buildTree(names), { open: open && names.length <= 400, selected: state.selected, onPick: pickLayer });
}

async function applyFilter() {
    const text = $("filter").value.trim();
    const token = ++state.filterToken;
    if (!text) return showTree(state.layers, false);
    if (!SERVER_FILTER.test(text)) {
        const needle = text.toLowerCase();
        return showTree(state.layers.filter((l) => l.toLowerCase().includes(needle)), true);
    }
    try {
        const names = await listLayers(text);
        if (token === state.filterToken) {
            showTree(names, true);
            setStatus(`${names.length} layers in ${text}`);
        }
    } catch {
        // status line already says why (e.g. an invalid block expression)
    }
}

async function selectCheckpoint(name) {
    state.checkpoint = name;
    state.layers = [];
    updateHash();
    $("tree").replaceChildren();
    try {
        state.layers = await listLayers("");
        setStatus(`${state.layers.length} layers in ${name}`);
        await applyFilter();
        const wanted = linkParams().get("layer");
        if (wanted && state.layers.includes(wanted)) pickLayer(wanted);
    } catch {
        // status line shows the error
    }
}

function pickLayer(layer) {
    state.selected = layer;
    $("layer-name").textContent = layer;
    $("layer-name").classList.add("set");
    for (const row of $("tree").querySelectorAll(".layer")) row.classList.toggle("selected", row.dataset.layer === layer);
    updateHash();
    renderLayer();
}

function updateHash() {
    const params = new URLSearchParams();
    if (state.checkpoint) params.set("ckpt", state.checkpoint);
    if (state.selected) params.set("layer", state.selected);
    if ($("analysis").value !== "visualize") params.set("view", $("analysis").value);
    history.replaceState(null, "", `#${params}`);
}

// ---- rendering ---------------------------------------------------------------------------

/** Number cell text: 4 significant digits, integers as they are. */
function formatNumber(x) {
    if (!Number.isFinite(x) || Number.isInteger(x)) return String(x);
    const a = Math.abs(x);
    return a !== 0 && (a < 1e-3 || a >= 1e5) ? x.toExponential(3) : String(Number(x.toPrecision(4)));
}

function formatValue(value, key) {
    if (value === null || value === undefined) return "–";
    if (typeof value === "number") return formatNumber(value);
    if (Array.isArray(value) && value.every((v) => typeof v === "number")) {
        if (key === "shape") return value.join("×");
        return value.slice(0, 8).map(formatNumber).join(", ") + (value.length > 8 ? ` … (${value.length})` : "");
    }
    if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value.join(", ");
    if (Array.isArray(value) && value.every((v) => Array.isArray(v))) return `${value.length} lists of ${value[0]?.length ?? 0}`;
    return typeof value === "object" ? JSON.stringify(value) : String(value);
}

/**
 * The node's JSON report as a table: one row per layer for arrays of layers (a click on a row
 * opens that layer in the weights view), else one row per field.
 */
function showReport(text) {
    const container = $("report");
    container.replaceChildren();
    let value;
    try {
        value = JSON.parse(text);
    } catch {
        return false;
    }
    const table = document.createElement("table");
    const cell = (tag, content, numeric) => {
        const el = document.createElement(tag);
        el.textContent = content;
        if (numeric) el.className = "num";
        return el;
    };
    const rowsOf = (items) => {
        const keys = [...new Set(items.slice(0, 20).flatMap((r) => Object.keys(r)))];
        const head = document.createElement("tr");
        head.append(...keys.map((k) => cell("th", k)));
        table.appendChild(head);
        for (const item of items) {
            const tr = document.createElement("tr");
            tr.append(...keys.map((k) => cell("td", formatValue(item[k], k), typeof item[k] === "number")));
            if (typeof item.name === "string" && state.layers.includes(item.name)) {
                tr.className = "layer-row";
                tr.dataset.layer = item.name;
                tr.title = `Open ${item.name} in the weights view`;
                tr.addEventListener("click", () => openLayer(item.name));
            }
            table.appendChild(tr);
        }
    };
    if (Array.isArray(value) && value.length > 0 && value.every((v) => v && typeof v === "object")) rowsOf(value);
    else if (value && typeof value === "object" && !Array.isArray(value)) {
        for (const [key, field] of Object.entries(value)) {
            const tr = document.createElement("tr");
            tr.append(cell("th", key), cell("td", formatValue(field, key), typeof field === "number"));
            table.appendChild(tr);
        }
    } else return false;
    container.appendChild(table);
    return true;
}

/** A layer of the overview opened on click: the weights view of that layer. */
async function openLayer(layer) {
    if ($("analysis").value !== "visualize") {
        $("analysis").value = "visualize";
        await loadOptions();
    }
    pickLayer(layer);
}

async function renderLayer() {
    const chosen = analysis();
    if (!state.checkpoint || (!state.selected && !chosen.modelWide)) return;
    const layer = chosen.modelWide ? (chosen.inputs().filter || "all layers") : state.selected;
    // Only the newest request may paint: an older one finishing late must not replace it.
    const token = ++state.renderToken;
    let outputs;
    try {
        outputs = await run(
            { 1: loaderNode(), 2: { class_type: chosen.node, inputs: { model: ["1", 0], ...chosen.inputs(state.selected ?? ""), ...optionValues() } } },
            `Rendering ${chosen.node} of ${layer}`,
        );
    } catch {
        return;
    }
    if (token !== state.renderToken) return;
    const output = outputs["2"] ?? {};
    const reportText = (output.text ?? []).join("\n");
    const isReport = chosen.node !== VISUALIZER && showReport(reportText);
    if (chosen.node === VISUALIZER) $("report").replaceChildren();
    // The node's `images` hold a compact preview made for the node; its `pages` are the full
    // pictures (with the layout chunk the hover read-out uses): show those when present.
    state.images = output.pages ?? output.images ?? [];
    $("info").textContent = isReport ? "" : reportText;
    // `both` returns the weights picture, then the expanded one (the node's documented order).
    const mode = optionValues().visualization_mode;
    const names = mode === "both" && state.images.length === 2 ? ["weights", "expanded"] : [];
    $("images").replaceChildren(
        ...(state.images.length > 1
            ? state.images.map((ref, i) => {
                const button = document.createElement("button");
                button.type = "button";
                button.textContent = ref.title ?? names[i] ?? `image ${i + 1}`;
                button.addEventListener("click", () => showImage(i));
                return button;
            })
            : []),
    );
    if (state.images.length === 0) {
        view.clear();
        setStatus(`${layer}: no image in the output`, true);
        return;
    }
    state.shownLayer = layer;
    state.shownCheckpoint = state.checkpoint;
    await showImage(0);
    setStatus(`${layer}`);
}

/** Fetches image `index` from /api/view, reads its layout chunk and shows it on the canvas. */
async function showImage(index) {
    state.current = index;
    [...$("images").children].forEach((b, i) => b.classList.toggle("current", i === index));
    const ref = state.images[index];
    const response = await fetch(viewURL(ref));
    if (!response.ok) {
        setStatus(`GET ${viewURL(ref)}: HTTP ${response.status}`, true);
        return;
    }
    const bytes = new Uint8Array(await response.arrayBuffer());
    const bitmap = await createImageBitmap(new Blob([bytes], { type: response.headers.get("Content-Type") ?? "image/png" }));
    view.setImage(bitmap, parseLayout(pngTextChunks(bytes)));
    const canvas = $("image");
    canvas.dataset.imageWidth = String(bitmap.width);
    canvas.dataset.imageHeight = String(bitmap.height);
    canvas.dataset.src = viewURL(ref);
}

// ---- start -------------------------------------------------------------------------------

function wireEvents() {
    $("checkpoint").addEventListener("change", (e) => selectCheckpoint(e.target.value));
    let timer = null;
    $("filter").addEventListener("input", () => {
        clearTimeout(timer);
        // Local filtering is instant; server-side filters wait for a pause in typing.
        timer = setTimeout(applyFilter, SERVER_FILTER.test($("filter").value) ? 400 : 0);
    });
    $("analysis").addEventListener("change", async () => {
        await loadOptions();
        $("render").disabled = state.busy > 0 || (!state.selected && !analysis().modelWide);
        updateHash();
        if (state.selected || analysis().modelWide) renderLayer();
    });
    $("controls").addEventListener("submit", (event) => {
        event.preventDefault();
        renderLayer();
    });
    $("interrupt").addEventListener("click", () => api.interrupt());
    api.on("open", () => {
        $("connection").textContent = "connected";
        $("connection").className = "badge on";
    });
    api.on("close", () => {
        $("connection").textContent = "disconnected";
        $("connection").className = "badge off";
    });
}

async function start() {
    const wantedView = linkParams().get("view");
    if (wantedView && ANALYSES[wantedView]) $("analysis").value = wantedView;
    wireEvents();
    // Without a socket the page still works: runs are then followed through /api/history.
    await Promise.race([api.connect(), new Promise((r) => setTimeout(r, 3000))]);
    try {
        const [checkpoints] = await Promise.all([loadCheckpoints(), loadOptions()]);
        if (checkpoints.length > 0) await selectCheckpoint($("checkpoint").value);
        if (analysis().modelWide && !state.selected) renderLayer();
    } catch (error) {
        setStatus(`Cannot reach the API: ${error.message}`, true);
    }
    document.body.dataset.ready = "true";
}

start();
