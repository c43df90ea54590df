// Zoomable, pannable view of one PNG on a <canvas>, with a hover read-out.
//
// When the PNG carries a `weightlens:layout` text chunk (JSON, see docs/FRONTEND.md) the read-out
// names the panel and the tile (e.g. output channel 3, input channel 17, kernel position) under the
// cursor, and the viewer adds the weight's value; over white space it says nothing.

const MIN_SCALE = 0.05;
const MAX_SCALE = 64;

/** Text chunks (tEXt and uncompressed iTXt) of a PNG file, keyword → text. */
export function pngTextChunks(bytes) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const signature = [137, 80, 78, 71, 13, 10, 26, 10];
    const chunks = {};
    if (bytes.length < 8 || signature.some((b, i) => bytes[i] !== b)) return chunks;
    const latin1 = new TextDecoder("latin1");
    const utf8 = new TextDecoder("utf-8");
    let offset = 8;
    // Bounded walk: every chunk advances by at least 12 bytes, and a bad length stops it.
    while (offset + 12 <= bytes.length) {
        const length = view.getUint32(offset);
        const type = latin1.decode(bytes.subarray(offset + 4, offset + 8));
        const start = offset + 8;
        const end = start + length;
        if (end + 4 > bytes.length) break;
        if (type === "tEXt" || type === "iTXt") {
            const data = bytes.subarray(start, end);
            const zero = data.indexOf(0);
            if (zero > 0) {
                const keyword = latin1.decode(data.subarray(0, zero));
                if (type === "tEXt") {
                    chunks[keyword] = latin1.decode(data.subarray(zero + 1));
                } else if (data[zero + 1] === 0) {
                    // iTXt: compression flag, method, language tag\0, translated keyword\0, text.
                    let p = zero + 3;
                    const lang = data.indexOf(0, p);
                    const translated = lang < 0 ? -1 : data.indexOf(0, lang + 1);
                    if (translated >= 0) chunks[keyword] = utf8.decode(data.subarray(translated + 1));
                }
            }
        }
        if (type === "IEND") break;
        offset = end + 4;
    }
    return chunks;
}

/** Parses the layout chunk; returns null when absent or malformed (the read-out then shows pixels only). */
export function parseLayout(chunks) {
    const text = chunks["weightlens:layout"];
    if (!text) return null;
    try {
        const layout = JSON.parse(text);
        return Array.isArray(layout?.regions) ? layout : null;
    } catch {
        return null;
    }
}

/**
 * The index a cell stands for: the listed one, else cell × step; a cell of a block-reduced
 * region (step > 1) covers `step` indices and reads as a range, the last one clipped to `count`.
 */
function cellIndex(listed, cell, step, count) {
    if (Number.isInteger(listed)) return String(listed);
    const n = Number.isInteger(step) && step > 1 ? step : 1;
    const first = cell * n;
    if (n === 1) return String(first);
    const last = Math.min(Number.isInteger(count) ? count : Infinity, first + n) - 1;
    return last > first ? `${first}–${last}` : String(first);
}

/**
 * What lies at image pixel (x, y) according to `layout`: `{text, value}` where `value`, when the
 * region's cells stand for weights (`values` in the layout, docs/FRONTEND.md), says which:
 * `{index, pick, element}` = element `pick` of the slice `W[index…]` (from /weightlens/tensor),
 * `element` the full index for display. Null outside every region and over the white space
 * between kernels.
 */
export function locateLayout(layout, x, y) {
    if (!layout) return null;
    for (const region of layout.regions) {
        const { x: rx, y: ry, w, h } = region;
        if (!(x >= rx && y >= ry && x < rx + w && y < ry + h)) continue;
        const parts = [];
        if (region.label) parts.push(region.label);
        const rows = region.rows ?? 0;
        const cols = region.cols ?? 0;
        let value = null;
        if (rows > 0 && cols > 0) {
            const r = Math.min(rows - 1, Math.floor(((y - ry) * rows) / h));
            const c = Math.min(cols - 1, Math.floor(((x - rx) * cols) / w));
            const colIndices = region.col_index;
            const listedCol = Array.isArray(colIndices?.[0]) ? colIndices[r]?.[c] : colIndices?.[c];
            const rowText = cellIndex(region.row_index?.[r], r, region.row_step, region.row_count);
            const colText = cellIndex(listedCol, c, region.col_step, region.col_count);
            // A single row without a name (a bar chart over one axis) has nothing to say.
            if (rows > 1 || region.row_name) parts.push(`${region.row_name ?? "row"} ${rowText}`);
            if (cols > 1 || region.col_name) parts.push(`${region.col_name ?? "col"} ${colText}`);
            const row = Number.isInteger(region.row_index?.[r]) ? region.row_index[r] : r * (region.row_step ?? 1);
            const col = Number.isInteger(listedCol) ? listedCol : c * (region.col_step ?? 1);
            const k = region.kernel;
            if (region.values === "kernel" && k) {
                // The kernel is drawn at the cell's top-left; the rest of the cell is white space.
                const cx = rx + Math.ceil((c * w) / cols), cy = ry + Math.ceil((r * h) / rows);
                const kx = Math.floor((x - cx) / k.cell_w), ky = Math.floor((y - cy) / k.cell_h);
                if (x < cx || y < cy || kx >= k.kw || ky >= k.kh) return null;
                if (k.kh * k.kw > 1) parts.push(k.kh > 1 ? `kernel (${ky}, ${kx})` : `kernel ${kx}`);
                value = { index: [row, col], pick: ky * k.kw + kx, element: [row, col, ky * k.kw + kx] };
            } else if (region.values === "matrix" && (region.row_step ?? 1) === 1 && (region.col_step ?? 1) === 1) {
                value = { index: [row], pick: col, element: [row, col] };
            }
        }
        return { text: parts.join(" · "), value };
    }
    return null;
}

/** Describes what lies at image pixel (x, y) according to `layout`, or "" outside every region. */
export function describeLayout(layout, x, y) {
    return locateLayout(layout, x, y)?.text ?? "";
}

export class ImageCanvas {
    /**
     * @param canvas the <canvas> to draw on (sized to its CSS box)
     * @param onHover called with `{x, y, rgba, where, spot}` for the pixel under the cursor (`spot`:
     *     `locateLayout`'s answer), or null when the cursor is off the image or has left the canvas
     */
    constructor(canvas, onHover = () => {}) {
        this.canvas = canvas;
        this.context = canvas.getContext("2d");
        this.onHover = onHover;
        this.image = null;
        this.pixels = null;
        this.layout = null;
        this.scale = 1;
        this.offsetX = 0;
        this.offsetY = 0;
        this.drag = null;
        this.installEvents();
        new ResizeObserver(() => this.resize()).observe(canvas);
        this.resize();
    }

    /** Shows `image` (an ImageBitmap or loaded <img>) with its optional layout, fitted to the view. */
    setImage(image, layout = null) {
        this.image = image;
        this.layout = layout;
        // A copy of the pixels for the colour read-out (the canvas itself is scaled).
        const copy = document.createElement("canvas");
        copy.width = image.width;
        copy.height = image.height;
        const context = copy.getContext("2d", { willReadFrequently: true });
        context.drawImage(image, 0, 0);
        this.pixels = context;
        this.fit();
    }

    clear() {
        this.image = null;
        this.pixels = null;
        this.layout = null;
        this.draw();
    }

    resize() {
        const ratio = window.devicePixelRatio || 1;
        const { width, height } = this.canvas.getBoundingClientRect();
        this.canvas.width = Math.max(1, Math.round(width * ratio));
        this.canvas.height = Math.max(1, Math.round(height * ratio));
        this.draw();
    }

    /** Scales the whole image into the view and centres it (double-click does the same). */
    fit() {
        if (!this.image) return this.draw();
        const { width, height } = this.canvas;
        const scale = Math.min(width / this.image.width, height / this.image.height);
        this.scale = Math.min(Math.max(scale, MIN_SCALE), MAX_SCALE) || 1;
        this.offsetX = (width - this.image.width * this.scale) / 2;
        this.offsetY = (height - this.image.height * this.scale) / 2;
        this.draw();
    }

    draw() {
        const { context, canvas } = this;
        context.setTransform(1, 0, 0, 1, 0, 0);
        context.clearRect(0, 0, canvas.width, canvas.height);
        // The view transform, readable by tests and by anyone inspecting the page.
        canvas.dataset.scale = this.scale.toFixed(4);
        canvas.dataset.offset = `${Math.round(this.offsetX)},${Math.round(this.offsetY)}`;
        if (!this.image) return;
        context.imageSmoothingEnabled = this.scale < 1;
        context.setTransform(this.scale, 0, 0, this.scale, this.offsetX, this.offsetY);
        context.drawImage(this.image, 0, 0);
    }

    /** Canvas (device) pixel of a mouse event. */
    devicePoint(event) {
        const rect = this.canvas.getBoundingClientRect();
        const ratio = this.canvas.width / Math.max(1, rect.width);
        return [(event.clientX - rect.left) * ratio, (event.clientY - rect.top) * ratio];
    }

    zoomAt(px, py, factor) {
        const scale = Math.min(MAX_SCALE, Math.max(MIN_SCALE, this.scale * factor));
        // Keep the image point under the cursor fixed.
        this.offsetX = px - ((px - this.offsetX) * scale) / this.scale;
        this.offsetY = py - ((py - this.offsetY) * scale) / this.scale;
        this.scale = scale;
        this.draw();
    }

    installEvents() {
        const canvas = this.canvas;
        canvas.addEventListener(
            "wheel",
            (event) => {
                if (!this.image) return;
                event.preventDefault();
                const [px, py] = this.devicePoint(event);
                this.zoomAt(px, py, Math.exp(-event.deltaY * 0.0015));
            },
            { passive: false },
        );
        canvas.addEventListener("pointerdown", (event) => {
            if (!this.image) return;
            canvas.setPointerCapture(event.pointerId);
            const [px, py] = this.devicePoint(event);
            this.drag = { px, py, ox: this.offsetX, oy: this.offsetY };
            canvas.classList.add("dragging");
        });
        canvas.addEventListener("pointermove", (event) => {
            const [px, py] = this.devicePoint(event);
            if (this.drag) {
                this.offsetX = this.drag.ox + px - this.drag.px;
                this.offsetY = this.drag.oy + py - this.drag.py;
                this.draw();
            }
            this.hover(px, py);
        });
        const endDrag = () => {
            this.drag = null;
            canvas.classList.remove("dragging");
        };
        canvas.addEventListener("pointerup", endDrag);
        canvas.addEventListener("pointercancel", endDrag);
        // Off the canvas the read-out goes, even while a drag holds the pointer capture.
        canvas.addEventListener("pointerleave", () => this.onHover(null));
        canvas.addEventListener("pointerout", () => this.onHover(null));
        canvas.addEventListener("lostpointercapture", (event) => {
            const r = canvas.getBoundingClientRect();
            if (event.clientX < r.left || event.clientY < r.top || event.clientX >= r.right || event.clientY >= r.bottom) this.onHover(null);
        });
        canvas.addEventListener("dblclick", () => this.fit());
    }

    hover(px, py) {
        if (!this.image) return this.onHover(null);
        const x = Math.floor((px - this.offsetX) / this.scale);
        const y = Math.floor((py - this.offsetY) / this.scale);
        if (x < 0 || y < 0 || x >= this.image.width || y >= this.image.height) return this.onHover(null);
        const rgba = [...this.pixels.getImageData(x, y, 1, 1).data];
        const spot = locateLayout(this.layout, x, y);
        this.onHover({ x, y, rgba, where: spot?.text ?? "", spot });
    }
}
