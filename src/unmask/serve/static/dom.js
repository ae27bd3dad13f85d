// Building DOM nodes safely: every string becomes a text node, so report data is never parsed as HTML.

/**
 * Create an element. `attrs` sets properties (className, hidden, ...), `data-*`/`aria-*` attributes, `style`
 * (an object) and `on*` listeners; children are nodes, strings (as text) or null (skipped).
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "style") Object.assign(node.style, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key.includes("-") || key === "role" || key === "for" || key === "scope") node.setAttribute(key, value);
    else node[key] = value;
  }
  append(node, children);
  return node;
}

/** Append children (nodes, strings as text, arrays, nulls skipped) to `node`. */
export function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Replace all children of `node`. */
export function replace(node, ...children) {
  node.replaceChildren();
  return append(node, children);
}

/** "63%" for a probability or score in [0, 1]; "–" for null (no opinion). */
export function pct(value) {
  return value === null || value === undefined ? "–" : `${Math.round(value * 100)}%`;
}

/** Seconds with a sensible number of digits. */
export function seconds(value) {
  if (value === null || value === undefined) return "–";
  return value < 10 ? `${value.toFixed(2)} s` : `${value.toFixed(1)} s`;
}

/** Seconds as m:ss.s ("1:15.2"), rounded like the Python report (unmask.report.spectrogram.clock). */
export function clock(value) {
  const x = Math.max(value, 0) * 10;
  let tenths = Math.round(x);
  if (tenths - x === 0.5 && tenths % 2) tenths -= 1;  // exact ties go to even, as Python's round()
  return `${Math.floor(tenths / 600)}:${((tenths % 600) / 10).toFixed(1).padStart(4, "0")}`;
}

/**
 * A local date-time for a timestamp from the server: an ISO string or seconds since the epoch (shown as
 * given when it cannot be parsed).
 */
export function when(stamp) {
  if (stamp === null || stamp === undefined || stamp === "") return "";
  const date = new Date(typeof stamp === "number" ? stamp * 1000 : stamp);
  return Number.isNaN(date.getTime()) ? String(stamp) : date.toLocaleString();
}

/** A gradient bar (green-amber-red) filled to `value`, with the number as text beside it for screen readers. */
export function scoreBar(value, small = true) {
  if (value === null || value === undefined) return el("span", { className: "note" }, "no opinion");
  const rest = `${Math.round((1 - value) * 100)}%`;
  return el("span", {},
    el("span", { className: small ? "bar small" : "bar", "aria-hidden": "true" }, el("span", { style: { width: rest } })),
    pct(value));
}
