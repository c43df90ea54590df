// WeightLens web extension, part 2: the analysis nodes' JSON reports as HTML tables (imported
// by weightlens.js; served beside it, so the frontend also loads it as an extension of its own,
// which only defines these functions).

/** A number with 4 significant digits (integers as they are). */
function formatNumber(x) {
    if (!Number.isFinite(x)) return String(x);
    if (Number.isInteger(x)) return String(x);
    const a = Math.abs(x);
    if (a !== 0 && (a < 1e-3 || a >= 1e5)) return x.toExponential(3);
    return String(Number(x.toPrecision(4)));
}

/** Text of a cell: shapes as 320×640×3×3, long number lists shortened, objects as JSON. */
function formatValue(value, key) {
    if (value === null || value === undefined) return "–";
    if (typeof value === "number") return formatNumber(value);
    if (Array.isArray(value)) {
        if (value.every((v) => typeof v === "number")) {
            if (key === "shape" || key === "head_dim") return value.join("×");
            const head = value.slice(0, 6).map(formatNumber).join(", ");
            return value.length > 6 ? `${head} … (${value.length})` : head;
        }
        if (value.every((v) => Array.isArray(v))) return `${value.length} lists of ${value[0]?.length ?? 0}`;
        if (value.every((v) => typeof v === "string")) return value.join(", ");
    }
    if (typeof value === "object") return JSON.stringify(value);
    return String(value);
}

function cell(tag, text, numeric = false) {
    const el = document.createElement(tag);
    el.textContent = text;
    if (numeric) el.className = "wl-num";
    return el;
}

/** A table of objects: one column per key of the first rows, one row per object. */
function objectsTable(rows, maxRows = 500) {
    const table = document.createElement("table");
    table.className = "wl-report";
    const keys = [...new Set(rows.slice(0, 20).flatMap((r) => Object.keys(r)))];
    const head = document.createElement("tr");
    for (const key of keys) head.appendChild(cell("th", key));
    table.appendChild(head);
    for (const row of rows.slice(0, maxRows)) {
        const tr = document.createElement("tr");
        for (const key of keys) tr.appendChild(cell("td", formatValue(row[key], key), typeof row[key] === "number"));
        table.appendChild(tr);
    }
    if (rows.length > maxRows) {
        const tr = document.createElement("tr");
        const td = cell("td", `… ${rows.length - maxRows} more rows (the STRING output has all)`);
        td.colSpan = keys.length;
        tr.appendChild(td);
        table.appendChild(tr);
    }
    return table;
}

/** A JSON object (not an array, not null). */
const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

/** The table for a report's JSON text, or null when the text is not a JSON object or array of objects. */
export function reportTable(text) {
    const trimmed = text.trim();
    if (!(trimmed.startsWith("{") || trimmed.startsWith("["))) return null;
    let value;
    try {
        value = JSON.parse(trimmed);
    } catch {
        return null;
    }
    if (Array.isArray(value) && value.length > 0 && value.every(isObject)) return objectsTable(value);
    if (!isObject(value)) return null;
    return fieldsTable(value);
}

/** One row per field; a field holding objects (LTTopInputs' inputs, LTLoraInspect's layers and
 *  metadata) becomes a nested table. */
function fieldsTable(value) {
    const table = document.createElement("table");
    table.className = "wl-report";
    for (const [key, field] of Object.entries(value)) {
        const tr = document.createElement("tr");
        tr.appendChild(cell("th", key));
        const td = document.createElement("td");
        if (Array.isArray(field) && field.length > 0 && field.every(isObject)) td.appendChild(objectsTable(field));
        else if (isObject(field) && Object.keys(field).length > 0) td.appendChild(fieldsTable(field));
        else {
            td.textContent = formatValue(field, key);
            if (typeof field === "number") td.className = "wl-num";
        }
        tr.appendChild(td);
        table.appendChild(tr);
    }
    return table;
}
