// Highlighted text spans (evidence tokens) over the analysed text. Offsets in the report count Unicode
// code points (Python's str), so the text is split into code points before slicing.

import { el, pct } from "./dom.js";

/** The text as <mark> spans (with their score written after them) between plain text nodes. */
export function highlight(text, tokens) {
  const chars = Array.from(text);
  const sorted = [...tokens].sort((a, b) => a.start - b.start || b.end - a.end);
  const out = [];
  let at = 0;
  for (const token of sorted) {
    const start = Math.max(at, Math.min(token.start, chars.length));
    const end = Math.min(token.end, chars.length);
    if (end <= start) continue;  // overlaps an earlier span or lies outside the text
    if (start > at) out.push(chars.slice(at, start).join(""));
    out.push(el("mark", { className: token.score >= 0.7 ? "high" : "", title: `score ${pct(token.score)}` },
      chars.slice(start, end).join(""), el("sup", {}, `[${pct(token.score)}]`)));
    at = end;
  }
  if (at < chars.length) out.push(chars.slice(at).join(""));
  return out;
}

/** A post file's own text (the spans of its text detectors count from there), or null. */
function postText(file) {
  try {
    const text = JSON.parse(file)?.text;
    return typeof text === "string" ? text : null;
  } catch {
    return null;
  }
}

/** The spans alone, for when the full text is not available. */
function tokenList(tokens) {
  return el("ul", {}, tokens.map((t) => el("li", {}, `“${t.text}” (characters ${t.start}–${t.end}): ${pct(t.score)}`)));
}

/**
 * The highlighted-text section for a report whose evidence has tokens, or null when none has. `loadText`
 * returns a promise of the analysed text (or null when it cannot be had).
 */
export function spansSection(report, loadText) {
  const entries = (report.evidence ?? []).filter((e) => e.tokens?.length);
  if (!entries.length) return null;
  const view = el("div", { className: "text-view", tabIndex: 0, role: "region", "aria-label": "analysed text" });
  const select = el("select", { id: `spans-${crypto.randomUUID()}` },
    entries.map((e, i) => el("option", { value: String(i) },
      `${e.detector}${e.part ? ` · ${e.part}` : ""} (${e.tokens.length} span(s))`)));
  let text = null;
  const show = () => {
    const entry = entries[Number(select.value)];
    // spans of a post's image parts have no text here: list them instead
    if (text === null || entry.part) view.replaceChildren(tokenList(entry.tokens));
    else view.replaceChildren(...highlight(text, entry.tokens));
  };
  select.addEventListener("change", show);
  show();
  loadText().then((loaded) => {
    if (typeof loaded === "string") text = report.media?.kind === "post" ? postText(loaded) : loaded;
    show();
  }).catch(() => {});
  return el("section", {}, el("h3", {}, "Highlighted text"),
    el("div", { className: "row" }, el("label", { for: select.id }, "Spans from"), select),
    el("p", { className: "note" }, "Marked passages are where a detector found something; its score follows in brackets."),
    view);
}
