// Layer tree: dotted layer names (`input_blocks.4.1.proj_in`) grouped by their prefixes,
// with chains of single-child groups folded into one row (`input_blocks.4.1`).

/** Builds the tree of `names` (in their file order). A node is {label, path, layer, children}. */
export function buildTree(names) {
    const root = { label: "", path: "", layer: null, children: new Map() };
    for (const name of names) {
        let node = root;
        const parts = name.split(".");
        parts.forEach((part, i) => {
            let child = node.children.get(part);
            if (!child) {
                child = { label: part, path: parts.slice(0, i + 1).join("."), layer: null, children: new Map() };
                node.children.set(part, child);
            }
            node = child;
        });
        node.layer = name;
    }
    for (const child of root.children.values()) fold(child);
    return root;
}

/** Folds a group with one child and no layer of its own into that child. */
function fold(node) {
    while (node.layer === null && node.children.size === 1) {
        const [only] = node.children.values();
        node.label = `${node.label}.${only.label}`;
        node.path = only.path;
        node.layer = only.layer;
        node.children = only.children;
    }
    for (const child of node.children.values()) fold(child);
}

function countLayers(node) {
    let n = node.layer ? 1 : 0;
    for (const child of node.children.values()) n += countLayers(child);
    return n;
}

/**
 * Renders `tree` into `container`. Groups open when `open` is true (a filtered list) and stay
 * collapsed otherwise; `selected` is highlighted; `onPick(layer)` runs when a layer is clicked.
 */
export function renderTree(container, tree, { open, selected, onPick }) {
    container.replaceChildren();
    const walk = (node, parent) => {
        for (const child of node.children.values()) {
            if (child.children.size === 0) {
                parent.appendChild(leaf(child));
                continue;
            }
            const details = document.createElement("details");
            details.open = open || (selected != null && selected.startsWith(child.path + "."));
            const summary = document.createElement("summary");
            summary.textContent = child.label;
            const count = document.createElement("span");
            count.className = "count";
            count.textContent = String(countLayers(child));
            summary.appendChild(count);
            details.appendChild(summary);
            if (child.layer) details.appendChild(leaf({ ...child, label: "(weight)" }));
            const list = document.createElement("div");
            list.className = "group";
            details.appendChild(list);
            // Children are built when the group first opens: a closed SDXL tree stays small.
            const fill = () => {
                if (list.childElementCount === 0) walk(child, list);
            };
            if (details.open) fill();
            else details.addEventListener("toggle", fill, { once: true });
            parent.appendChild(details);
        }
    };
    const leaf = (node) => {
        const row = document.createElement("button");
        row.type = "button";
        row.className = "layer" + (node.layer === selected ? " selected" : "");
        row.textContent = node.label;
        row.title = node.layer;
        row.dataset.layer = node.layer;
        row.addEventListener("click", () => onPick(node.layer));
        return row;
    };
    walk(tree, container);
}
