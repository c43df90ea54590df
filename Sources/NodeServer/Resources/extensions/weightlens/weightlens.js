// WeightLens web extension for the ComfyUI frontend (served at /extensions/weightlens/weightlens.js).
//
// The stock frontend stores `ui.text` results but draws nothing for them, so without this file
// the layer list of LTListLayers → ShowText|pysssss and the layer information of
// LTVisualizeWeights would be invisible. This extension:
//   - shows text outputs on ShowText|pysssss, LTListLayers and LTVisualizeWeights nodes in a
//     DOM widget (the saved text of ShowText nodes too, as the original extension does);
//   - turns a layer list into clickable rows: a click sets `layer_name` on the LTVisualizeWeights
//     node that is selected, else on the ones fed by the same checkpoint, else on the only one;
//     the list LTVisualizeWeights itself shows for an empty layer_name sets its own layer_name.
// The widgets never serialize, so saved workflows and queued prompts stay exactly as ComfyUI's.
import { app } from "../../scripts/app.js";

const EXTENSION_NAME = "weightlens.TextOutputs";
const TEXT_NODE_TYPES = new Set(["ShowText|pysssss", "LTListLayers", "LTVisualizeWeights"]);
const VISUALIZER_TYPE = "LTVisualizeWeights";
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
    const targets = nodeType(listNode) === VISUALIZER_TYPE ? [listNode] : targetVisualizers(listNode);
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
    root.append(head, caption, body);
    // Keep wheel and key events for the list, not for canvas zoom or node shortcuts.
    root.addEventListener("wheel", (event) => event.stopPropagation(), { passive: true });
    filter.addEventListener("keydown", (event) => event.stopPropagation());

    let text = "";
    let chosen = "";
    const render = () => {
        body.replaceChildren();
        let lines = text.split("\n").filter((line) => line.length > 0);
        // A heading line above the names ("1050 layers; set layer_name to one of them:").
        let heading = "";
        if (lines.length > 1 && !LAYER_NAME_PATTERN.test(lines[0]) && lines.slice(1).every((l) => LAYER_NAME_PATTERN.test(l))) {
            heading = lines[0];
            lines = lines.slice(1);
        }
        const fromLister = showsLayerList(node) && heading === "";
        const fromVisualizer = nodeType(node) === VISUALIZER_TYPE && heading !== "";
        const isList = (fromLister || fromVisualizer) && lines.length > 0 && lines.every((l) => LAYER_NAME_PATTERN.test(l));
        head.style.display = isList ? "" : "none";
        caption.textContent = isList ? heading : "";
        caption.style.display = isList && heading ? "" : "none";
        if (!isList) {
            body.textContent = text;
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
            row.title = "Set layer_name of LTVisualizeWeights to " + layer;
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
            if (head.style.display !== "none") return 240;
            const lines = Math.max(1, text.split("\n").length);
            return Math.min(200, 24 + 18 * lines);
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
    const [width, height] = node.size ?? [0, 0];
    node.setSize?.([Math.max(width, 320), Math.max(height, node.computeSize?.()[1] ?? 0)]);
    return view;
}

app.registerExtension({
    name: EXTENSION_NAME,
    setup() {
        injectStyle();
    },
    async beforeRegisterNodeDef(nodeTypeClass, nodeData) {
        if (!TEXT_NODE_TYPES.has(nodeData?.name)) return;
        const proto = nodeTypeClass.prototype;

        const onExecuted = proto.onExecuted;
        proto.onExecuted = function (output) {
            const result = onExecuted?.apply(this, arguments);
            const text = textOf(output?.text);
            if (text !== "") {
                ensureView(this).show(text);
                app.graph?.setDirtyCanvas?.(true, true);
            }
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
