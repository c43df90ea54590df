// WeightLens web extension for the ComfyUI frontend (served at /extensions/weightlens/weightlens.js).
//
// The stock frontend stores `ui.text` results but draws nothing for them, so without this file
// the layer list of LTListLayers → ShowText|pysssss and the layer information of
// LTVisualizeWeights would be invisible. This extension:
//   - shows text outputs on ShowText|pysssss, LTListLayers, LTVisualizeWeights and
//     LTVisualizeDelta nodes in a DOM widget (the saved text of ShowText nodes too, as the
//     original extension does);
//   - turns a layer list into clickable rows: a click sets `layer_name` on the LTVisualizeWeights
//     node that is selected, else on the ones fed by the same checkpoint, else on the only one;
//     the list LTVisualizeWeights or LTVisualizeDelta itself shows for an empty layer_name sets
//     its own layer_name.
//   - shows a node's execution error on the node itself, in red, until the next run;
//   - offers the full-resolution pages of LTVisualizeWeights and LTVisualizeDelta one click away
//     (the node's preview is a compact picture): "open" links to each page and to the viewer;
//   - shows the JSON reports of the analysis nodes (LTWeightNMF, LTWeightStats, LTModelOverview,
//     LTExpandedWeights, LTTopInputs, LTCompareModels, LTLoraInspect; also a ShowText fed by one)
//     as a table: one row per layer for arrays of layers, one row per field otherwise (a field
//     holding an object, such as a LoRA's training metadata, as a nested table), long number
//     lists shortened (reports.js);
//   - keeps nodes from overlapping: when a workflow loads or a run makes nodes grow, nodes that
//     would be covered move down (or right, when side by side) until none overlaps.
// The widgets never serialize, so saved workflows and queued prompts stay exactly as ComfyUI's.
import { app } from "../../scripts/app.js";
import { api } from "../../scripts/api.js";
import { reportTable } from "./reports.js";

const EXTENSION_NAME = "weightlens.TextOutputs";
const REPORT_NODE_TYPES = new Set(["LTWeightNMF", "LTWeightStats", "LTModelOverview", "LTExpandedWeights", "LTTopInputs",
                                   "LTCompareModels", "LTLoraInspect"]);
const VISUALIZER_TYPE = "LTVisualizeWeights";
// Nodes that draw one layer (a compact preview, full pages) and list the layers for an empty layer_name.
const LAYER_PICTURE_TYPES = new Set([VISUALIZER_TYPE, "LTVisualizeDelta"]);
const TEXT_NODE_TYPES = new Set(["ShowText|pysssss", "LTListLayers", ...LAYER_PICTURE_TYPES, ...REPORT_NODE_TYPES]);
const LIST_SOURCE_TYPE = "LTListLayers";
const WIDGET_NAME = "weightlens_text";
// A layer name: dotted identifiers as in state dicts (`input_blocks.4.1.proj_in`), no spaces.
const LAYER_NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.\-:/]*$/;
// Filtering a 2,000-row list on every key stroke is cheap; rendering more rows than this is not.
const MAX_ROWS = 3000;

function injectStyle() {
    if (document.getElementById("weightlens-style")) return;
    const style = document.createElement("style");
    style.id = "weightlens-style";
    style.textContent = `
.weightlens-text { display: flex; flex-direction: column; gap: 4px; box-sizing: border-box;
  width: 100%; height: 100%; font: 12px/1.35 ui-monospace, monospace; color: var(--input-text, #ddd);
  background: var(--comfy-input-bg, #222); border: 1px solid var(--border-color, #444);
  border-radius: 6px; padding: 4px; overflow: hidden; }
.weightlens-text .wl-head { display: flex; gap: 6px; align-items: center; opacity: 0.85; }
.weightlens-text .wl-head input { flex: 1; min-width: 0; font: inherit; color: inherit;
  background: transparent; border: 1px solid var(--border-color, #555); border-radius: 4px; padding: 1px 4px; }
.weightlens-text .wl-caption { opacity: 0.75; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.weightlens-text .wl-body { flex: 1; overflow: auto; white-space: pre-wrap; word-break: break-all; margin: 0; }
.weightlens-text .wl-row { cursor: pointer; padding: 0 3px; border-radius: 3px; white-space: nowrap; }
.weightlens-text .wl-row:hover { background: rgba(120, 160, 255, 0.25); }
.weightlens-text .wl-row.wl-chosen { background: rgba(80, 200, 120, 0.35); }
.weightlens-text .wl-error { color: #ff8a80; white-space: pre-wrap; word-break: break-word; font-weight: bold; }
.weightlens-text .wl-links { display: flex; flex-wrap: wrap; gap: 4px 10px; }
.weightlens-text .wl-links a { color: #8ab4ff; }
.weightlens-text table.wl-report { border-collapse: collapse; white-space: nowrap; }
.weightlens-text table.wl-report th, .weightlens-text table.wl-report td { padding: 1px 6px;
  border-bottom: 1px solid var(--border-color, #444); text-align: left; vertical-align: top; }
.weightlens-text table.wl-report th { position: sticky; top: 0; background: var(--comfy-input-bg, #222); }
.weightlens-text table.wl-report td.wl-num { text-align: right; font-variant-numeric: tabular-nums; }
.weightlens-text table.wl-report table.wl-report { margin: 0; }
`;
    document.head.appendChild(style);
}

/** Joins the `text` entries of an executed message (a list, as ComfyUI sends it). */
function textOf(value) {
    if (value == null) return "";
    if (Array.isArray(value)) return value.map(textOf).filter((t) => t !== "").join("\n");
    return String(value);
}

function nodeType(node) {
    return node?.comfyClass ?? node?.type;
}

function graphNodes() {
    return app.graph?._nodes ?? app.graph?.nodes ?? [];
}

/** The node connected to input `slot` of `node`, or null. */
function upstream(node, slot = 0) {
    try {
        return node.getInputNode?.(slot) ?? null;
    } catch {
        return null;
    }
}

/** The checkpoint loader (or any MODEL source) feeding the `model` input of `node`. */
function modelSource(node) {
    const slot = node.inputs?.findIndex((input) => input.name === "model") ?? -1;
    return slot >= 0 ? upstream(node, slot) : null;
}

/** True when this node's text is a layer list: an LTListLayers node, or a node fed by one. */
function showsLayerList(node) {
    if (nodeType(node) === LIST_SOURCE_TYPE) return true;
    return nodeType(upstream(node, 0)) === LIST_SOURCE_TYPE;
}

/** The LTVisualizeWeights nodes a click on a listed layer should change. */
function targetVisualizers(listNode) {
    const visualizers = graphNodes().filter((n) => nodeType(n) === VISUALIZER_TYPE);
    const selected = [...(app.canvas?.selectedItems ?? [])].filter((n) => nodeType(n) === VISUALIZER_TYPE);
    if (selected.length > 0) return selected;
    const lister = nodeType(listNode) === LIST_SOURCE_TYPE ? listNode : upstream(listNode, 0);
    const source = lister ? modelSource(lister) : null;
    if (source) {
        const sameModel = visualizers.filter((n) => modelSource(n) === source);
        if (sameModel.length > 0) return sameModel;
    }
    return visualizers.length === 1 ? visualizers : [];
}

function setLayerName(listNode, layer) {
    const targets = LAYER_PICTURE_TYPES.has(nodeType(listNode)) ? [listNode] : targetVisualizers(listNode);
    for (const target of targets) {
        const widget = target.widgets?.find((w) => w.name === "layer_name");
        if (!widget) continue;
        widget.value = layer;
        widget.callback?.(layer, app.canvas, target);
        target.setDirtyCanvas?.(true, true);
    }
    app.graph?.setDirtyCanvas?.(true, true);
    return targets.length;
}

/** Builds the widget's element and returns it with a function that shows a new text. */
function createTextView(node) {
    const root = document.createElement("div");
    root.className = "weightlens-text";
    root.dataset.nodeType = nodeType(node) ?? "";
    const head = document.createElement("div");
    head.className = "wl-head";
    const count = document.createElement("span");
    const filter = document.createElement("input");
    filter.type = "search";
    filter.placeholder = "filter layers";
    filter.title = "Show only layers containing this text; click a layer to set layer_name";
    head.append(count, filter);
    const caption = document.createElement("div");
    caption.className = "wl-caption";
    const body = document.createElement("div");
    body.className = "wl-body";
    const error = document.createElement("div");
    error.className = "wl-error";
    error.style.display = "none";
    const links = document.createElement("div");
    links.className = "wl-links";
    links.style.display = "none";
    root.append(error, links, head, caption, body);
    // Keep wheel and key events for the list, not for canvas zoom or node shortcuts.
    root.addEventListener("wheel", (event) => event.stopPropagation(), { passive: true });
    filter.addEventListener("keydown", (event) => event.stopPropagation());

    let text = "";
    let chosen = "";
    const render = () => {
        body.replaceChildren();
        root.classList.remove("wl-has-report");
        let lines = text.split("\n").filter((line) => line.length > 0);
        // A heading line above the names ("1050 layers; set layer_name to one of them:").
        let heading = "";
        if (lines.length > 1 && !LAYER_NAME_PATTERN.test(lines[0]) && lines.slice(1).every((l) => LAYER_NAME_PATTERN.test(l))) {
            heading = lines[0];
            lines = lines.slice(1);
        }
        const fromLister = showsLayerList(node) && heading === "";
        const fromVisualizer = LAYER_PICTURE_TYPES.has(nodeType(node)) && heading !== "";
        const isList = (fromLister || fromVisualizer) && lines.length > 0 && lines.every((l) => LAYER_NAME_PATTERN.test(l));
        head.style.display = isList ? "" : "none";
        caption.textContent = isList ? heading : "";
        caption.style.display = isList && heading ? "" : "none";
        if (!isList) {
            const table = reportTable(text);
            if (table) body.appendChild(table);
            else body.textContent = text;
            root.classList.toggle("wl-has-report", table !== null);
            return;
        }
        const needle = filter.value.trim().toLowerCase();
        const shown = needle ? lines.filter((l) => l.toLowerCase().includes(needle)) : lines;
        count.textContent = `${shown.length}/${lines.length}`;
        for (const layer of shown.slice(0, MAX_ROWS)) {
            const row = document.createElement("div");
            row.className = "wl-row" + (layer === chosen ? " wl-chosen" : "");
            row.textContent = layer;
            row.dataset.layer = layer;
            row.title = "Set layer_name to " + layer;
            row.addEventListener("click", () => {
                if (setLayerName(node, layer) > 0) {
                    chosen = layer;
                    for (const other of body.querySelectorAll(".wl-chosen")) other.classList.remove("wl-chosen");
                    row.classList.add("wl-chosen");
                }
            });
            body.appendChild(row);
        }
    };
    filter.addEventListener("input", render);
    return {
        root,
        /** Height the widget asks for: a few lines of plain text, more room for a layer list. */
        preferredHeight() {
            const extra = (error.style.display === "none" ? 0 : 60) + (links.style.display === "none" ? 0 : 22);
            if (head.style.display !== "none") return 240 + extra;
            if (root.classList.contains("wl-has-report")) return 260 + extra;
            const lines = text === "" ? 0 : text.split("\n").length;
            return Math.min(200 + extra, 24 + 18 * lines + extra);
        },
        /** Shows an error sentence above the text (empty hides it). */
        showError(message) {
            error.textContent = message;
            error.style.display = message ? "" : "none";
        },
        /** Shows "open" links: [{label, href, title}] (empty hides them). */
        showLinks(items) {
            links.replaceChildren();
            for (const item of items) {
                const a = document.createElement("a");
                a.href = item.href;
                a.target = "_blank";
                a.rel = "noopener";
                a.textContent = item.label;
                a.title = item.title ?? item.label;
                a.className = "wl-open";
                links.appendChild(a);
            }
            links.style.display = items.length > 0 ? "" : "none";
        },
        get text() {
            return text;
        },
        show(newText) {
            text = newText;
            render();
        },
    };
}

function ensureView(node) {
    if (node.weightlensView) return node.weightlensView;
    const view = createTextView(node);
    const widget = node.addDOMWidget(WIDGET_NAME, "weightlens_text", view.root, {
        // Never part of the prompt (options.serialize) nor of widgets_values (widget.serialize):
        // the saved workflow keeps ComfyUI's widget order.
        serialize: false,
        hideOnZoom: false,
        getValue: () => view.text,
        setValue: (value) => view.show(textOf(value)),
        getMinHeight: () => Math.min(view.preferredHeight(), 120),
        getMaxHeight: () => view.preferredHeight(),
    });
    widget.serialize = false;
    node.weightlensView = view;
    fitNode(node);
    return view;
}

/** Grows a node to what its widgets ask for (never shrinks it below the user's size). */
function fitNode(node) {
    const [width, height] = node.size ?? [0, 0];
    node.setSize?.([Math.max(width, 320), Math.max(height, node.computeSize?.()[1] ?? 0)]);
}

// ---- Layout: no node covers another -------------------------------------------------------

const LAYOUT_GAP = 30;

function titleHeight() {
    return globalThis.LiteGraph?.NODE_TITLE_HEIGHT ?? 30;
}

/** [x, y, w, h] of a node on the canvas, title bar included. */
function nodeBox(node) {
    const t = node.flags?.collapsed ? 0 : titleHeight();
    const w = node.flags?.collapsed ? (node._collapsed_width ?? 100) : node.size[0];
    const h = node.flags?.collapsed ? t : node.size[1];
    return [node.pos[0], node.pos[1] - titleHeight(), w, h + t];
}

function overlaps(a, b) {
    return a[0] < b[0] + b[2] && b[0] < a[0] + a[2] && a[1] < b[1] + b[3] && b[1] < a[1] + a[3];
}

/**
 * Moves nodes until none overlaps another: of two overlapping nodes the lower one (or, at the
 * same height, the right one) moves just past the other. Returns how many moves it made.
 */
export function resolveOverlaps(graph = app.graph) {
    const nodes = [...(graph?._nodes ?? graph?.nodes ?? [])];
    let moves = 0;
    for (let pass = 0; pass < 100; pass++) {
        nodes.sort((a, b) => a.pos[1] - b.pos[1] || a.pos[0] - b.pos[0]);
        let moved = false;
        for (let i = 0; i < nodes.length && !moved; i++) {
            const a = nodeBox(nodes[i]);
            for (let j = i + 1; j < nodes.length; j++) {
                const b = nodeBox(nodes[j]);
                if (!overlaps(a, b)) continue;
                const sideBySide = b[1] - a[1] < titleHeight() && b[0] >= a[0];
                if (sideBySide) nodes[j].pos[0] = a[0] + a[2] + LAYOUT_GAP;
                else nodes[j].pos[1] = a[1] + a[3] + LAYOUT_GAP + titleHeight();
                moved = true;
                moves += 1;
                break;
            }
        }
        if (!moved) break;
    }
    if (moves > 0) graph?.setDirtyCanvas?.(true, true);
    return moves;
}

// Nodes change size after a run in several steps (text widgets, then images as they load):
// check again a few times after each event rather than once.
let layoutTimers = [];
function scheduleLayout() {
    for (const timer of layoutTimers) clearTimeout(timer);
    layoutTimers = [50, 400, 1200, 3000].map((ms) => setTimeout(() => resolveOverlaps(), ms));
}

// ---- LTVisualizeWeights: compact preview on the node, full pages one click away ----------

function viewURL(ref) {
    const params = new URLSearchParams({ filename: ref.filename, subfolder: ref.subfolder ?? "", type: ref.type ?? "temp" });
    return api.apiURL("/view?" + params.toString());
}

/** Links for the `pages` (full-resolution pictures) and `viewer` entries of an executed output. */
function pageLinks(output) {
    const items = [];
    for (const page of output?.pages ?? []) {
        items.push({ label: `open ${page.title ?? "page"} ↗`, href: viewURL(page), title: "The full-resolution page in a new tab" });
    }
    for (const link of output?.viewer ?? []) {
        items.push({ label: "viewer ↗", href: String(link), title: "This layer in the WeightLens viewer (zoom, hover values)" });
    }
    return items;
}

/** Makes the node wide and tall enough to show its compact preview at about its own size. */
function fitPreview(node) {
    const img = node.imgs?.[0];
    if (!img || !img.naturalWidth) return;
    const width = Math.max(node.size[0], Math.min(560, img.naturalWidth + 20));
    const imageHeight = Math.round((img.naturalHeight * (width - 20)) / img.naturalWidth);
    const widgetsHeight = node.computeSize?.()[1] ?? 0;
    node.setSize?.([width, Math.max(node.size[1], widgetsHeight + imageHeight)]);
    scheduleLayout();
}

/** The node an execution_error names, in the graph on screen. */
function nodeById(id) {
    if (id == null) return null;
    return app.graph?.getNodeById?.(Number(id)) ?? app.graph?.getNodeById?.(id) ?? null;
}

app.registerExtension({
    name: EXTENSION_NAME,
    setup() {
        injectStyle();
        // The frontend's error overlay names the node but keeps the sentence under "details":
        // show it on the node, where the user looks, until the next run starts.
        api.addEventListener("execution_error", ({ detail }) => {
            const node = nodeById(detail?.node_id);
            if (!node?.addDOMWidget) return;
            const message = `${detail.exception_type ?? "Error"}: ${detail.exception_message ?? ""}`.trim();
            const view = ensureView(node);
            view.showError(message);
            view.render?.();
            fitNode(node);
            scheduleLayout();
            app.graph?.setDirtyCanvas?.(true, true);
        });
        api.addEventListener("execution_start", () => {
            for (const node of graphNodes()) node.weightlensView?.showError("");
        });
    },
    afterConfigureGraph() {
        scheduleLayout();
    },
    async beforeRegisterNodeDef(nodeTypeClass, nodeData) {
        if (!TEXT_NODE_TYPES.has(nodeData?.name)) return;
        const proto = nodeTypeClass.prototype;

        const onExecuted = proto.onExecuted;
        proto.onExecuted = function (output) {
            const result = onExecuted?.apply(this, arguments);
            const text = textOf(output?.text);
            const links = pageLinks(output);
            if (text !== "" || links.length > 0) {
                const view = ensureView(this);
                view.showError("");
                view.show(text);
                view.showLinks(links);
                fitNode(this);
                app.graph?.setDirtyCanvas?.(true, true);
            }
            if (LAYER_PICTURE_TYPES.has(nodeData.name) && output?.images?.length) {
                // The frontend loads the preview after this call: size the node when it has.
                const check = (tries) => {
                    const img = this.imgs?.[0];
                    if (img?.complete && img.naturalWidth > 0) fitPreview(this);
                    else if (tries > 0) setTimeout(() => check(tries - 1), 150);
                };
                check(40);
            }
            scheduleLayout();
            return result;
        };

        // ShowText|pysssss keeps the text it showed in widgets_values; show it again on load, as
        // the original extension does (the upstream workflow carries such a text).
        if (nodeData.name === "ShowText|pysssss") {
            const onConfigure = proto.onConfigure;
            proto.onConfigure = function (info) {
                const result = onConfigure?.apply(this, arguments);
                const saved = textOf((info?.widgets_values ?? []).filter((v) => typeof v === "string" && v !== ""));
                if (saved !== "") ensureView(this).show(saved);
                return result;
            };
        }
    },
});
