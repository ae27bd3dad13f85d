// The image with a heatmap overlay: pick among the evidence maps, colour them like the HTML report does
// (blue -> yellow -> red, transparent where nothing was found) and blend them with an opacity slider.

import { el, pct } from "./dom.js";

const MAX_SIDE = 1024;  // maps are drawn at most this large: enough for the screen, fast to colour
const LOW = [40, 60, 200], MID = [250, 220, 60], HIGH = [220, 30, 30];

/** RGBA for a map value in [0, 1]: the same ramp as unmask.report.html.colormap. */
export function rampColour(v) {
  const [a, b, t] = v < 0.5 ? [LOW, MID, v * 2] : [MID, HIGH, v * 2 - 1];
  return [0, 1, 2].map((i) => a[i] + (b[i] - a[i]) * t).concat(Math.min(1, v * 1.6) * 255);
}

/** The maps of a report that the service can serve: one choice per evidence heatmap or mask with a url. */
export function mapChoices(report) {
  const choices = [];
  for (const entry of report.evidence ?? []) {
    for (const ref of [entry.heatmap, entry.mask]) {
      if (!ref || !ref.url) continue;
      choices.push({ detector: entry.detector, part: entry.part ?? null, kind: ref.kind, url: ref.url,
                     score: entry.score, width: ref.width, height: ref.height, summary: entry.summary ?? "" });
    }
  }
  // strongest finding first, maps without an opinion last, heatmap before mask of the same detector
  return choices.sort((x, y) => (y.score ?? -1) - (x.score ?? -1) || (x.kind === "mask") - (y.kind === "mask"));
}

/** Load an image URL as a decoded <img>. */
function loadImage(src) {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error("the image could not be loaded"));
    img.src = src;
  });
}

/** Draw the grayscale map PNG into `canvas`, coloured with the ramp. */
export async function paintMap(canvas, src) {
  const img = await loadImage(src);
  const scale = Math.min(1, MAX_SIDE / Math.max(img.naturalWidth, img.naturalHeight));
  canvas.width = Math.max(1, Math.round(img.naturalWidth * scale));
  canvas.height = Math.max(1, Math.round(img.naturalHeight * scale));
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
  const pixels = ctx.getImageData(0, 0, canvas.width, canvas.height);
  const lut = Array.from({ length: 256 }, (_, i) => rampColour(i / 255));
  const data = pixels.data;
  for (let i = 0; i < data.length; i += 4) {
    const colour = lut[data[i]];
    data[i] = colour[0]; data[i + 1] = colour[1]; data[i + 2] = colour[2]; data[i + 3] = colour[3];
  }
  ctx.putImageData(pixels, 0, 0);
}

/** Face or object boxes of the shown part (still images only) as outlined rectangles with their score. */
function boxesLayer(report, part, width, height) {
  const boxes = (report.evidence ?? []).filter((e) => (e.part ?? null) === part)
    .flatMap((e) => (e.boxes ?? []).filter((b) => b.time_s === null || b.time_s === undefined));
  if (!boxes.length || !width || !height) return null;
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("class", "boxes");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("aria-hidden", "true");
  for (const box of boxes) {
    const rect = document.createElementNS(ns, "rect");
    const attrs = { x: box.x0, y: box.y0, width: box.x1 - box.x0, height: box.y1 - box.y0, fill: "none",
                    stroke: box.score > 0.5 ? "#c0392b" : "#f1c40f", "stroke-width": Math.max(2, width / 300) };
    for (const [k, v] of Object.entries(attrs)) rect.setAttribute(k, v);
    svg.append(rect);
  }
  return svg;
}

/** A text list of the boxes, so they are not shown by colour and position only. */
function boxesList(report, part) {
  const boxes = (report.evidence ?? []).filter((e) => (e.part ?? null) === part)
    .flatMap((e) => (e.boxes ?? []).map((b) => ({ ...b, detector: e.detector })));
  if (!boxes.length) return null;
  return el("details", {}, el("summary", {}, `${boxes.length} marked region(s)`),
    el("ul", {}, boxes.map((b) => el("li", {},
      `${b.detector}${b.label ? ` (${b.label})` : ""}: ${pct(b.score)} at x ${Math.round(b.x0)}–${Math.round(b.x1)}, `
      + `y ${Math.round(b.y0)}–${Math.round(b.y1)}${b.time_s !== null && b.time_s !== undefined ? ` at ${b.time_s} s` : ""}`))));
}

function choiceLabel(choice) {
  const part = choice.part ? `${choice.part} · ` : "";
  const kind = choice.kind === "mask" ? "mask" : "heatmap";
  return `${part}${choice.detector} ${kind} (score ${pct(choice.score)})`;
}

/**
 * The overlay viewer for a finished job, or null when the report has no servable maps. `baseUrl` is the
 * uploaded image (null when the media is not an image, e.g. a post whose maps belong to its images).
 */
export function overlayViewer(api, report, baseUrl, idPrefix) {
  const choices = mapChoices(report);
  if (!choices.length) return null;
  const isImage = report.media?.kind === "image" && baseUrl;
  const stack = el("div", { className: "stack" });
  const canvas = el("canvas", { className: "overlay", role: "img", "aria-label": "evidence map" });
  const base = isImage ? el("img", { className: "base", alt: "the analysed image" }) : null;
  const note = el("p", { className: "note", "aria-live": "polite" });
  const select = el("select", { id: `${idPrefix}-map` },
    choices.map((c, i) => el("option", { value: String(i) }, choiceLabel(c))));
  const slider = el("input", { type: "range", id: `${idPrefix}-opacity`, min: "0", max: "100", value: "65",
                               className: "opacity" });
  const summary = el("p", { className: "note" });
  let current = null;

  const setOpacity = () => { canvas.style.opacity = String(Number(slider.value) / 100); };
  slider.addEventListener("input", setOpacity);
  setOpacity();

  const show = async () => {
    const choice = choices[Number(select.value)];
    const onBase = isImage && choice.part === null;
    stack.classList.toggle("alone", !onBase);
    if (base) base.hidden = !onBase;
    canvas.setAttribute("aria-label", `${choiceLabel(choice)}: coloured where the detector found something`);
    summary.textContent = choice.summary;
    note.textContent = onBase ? "" : "This map is shown on its own: the page cannot display the image it belongs to.";
    api.release(current);
    current = null;
    try {
      current = await api.resourceUrl(choice.url);
      await paintMap(canvas, current);
      canvas.dataset.map = choice.url;
    } catch (err) {
      note.textContent = `The map could not be shown: ${err.message}`;
    }
  };
  select.addEventListener("change", show);

  if (base) {
    stack.append(base);
    base.addEventListener("error", () => {
      base.remove();
      stack.classList.add("alone");
      note.textContent = "Your browser cannot display this image format; the map is shown on its own.";
    });
    base.src = baseUrl;
  }
  stack.append(canvas);
  const layer = isImage ? boxesLayer(report, null, report.media.width, report.media.height) : null;
  if (layer) stack.append(layer);
  show();

  const controls = el("div", { className: "controls" },
    el("label", { for: select.id }, "Evidence map"), select,
    el("label", { for: slider.id }, "Overlay opacity"), slider,
    el("div", { className: "legend" }, "nothing found", el("span", { className: "ramp", "aria-hidden": "true" }),
       "strong finding"),
    summary, note, boxesList(report, null));
  const viewer = el("div", { className: "viewer" }, stack, controls);
  viewer.release = () => api.release(current);
  return viewer;
}
