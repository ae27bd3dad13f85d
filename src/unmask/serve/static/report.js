// One finished analysis, for a non-expert: verdict in words, reasons, evidence maps, timeline, highlighted
// text, provenance facts, per-detector table and links to the full HTML report and the JSON.

import { el, pct, scoreBar, seconds, when } from "./dom.js";
import { overlayViewer } from "./overlay.js";
import { spansSection } from "./spans.js";
import { speechEntries, speechSection, timelineSection, tracksSection } from "./timeline.js";

// The verdict's words come from the server (job.words, made by unmask.report.words like the terminal's and the
// HTML report's); a detector's band from its evidence (details.band, unmask.detectors.wording).
const BANDS = { clear: "clear sign", unclear: "weak sign", none: "no sign" };

function mediaMeta(job, report) {
  const m = report?.media ?? {};
  const bits = [m.kind, m.format];
  if (m.width && m.height) bits.push(`${m.width}×${m.height} px`);
  if (m.duration_s) bits.push(seconds(m.duration_s));
  const size = m.size_bytes ?? job.size;
  if (size !== null && size !== undefined) bits.push(size >= 1024 ? `${Math.round(size / 1024)} KiB` : `${size} bytes`);
  if (job.sha256) bits.push(`sha256 ${job.sha256.slice(0, 16)}…`);
  if (report?.profile) bits.push(`profile ${report.profile}`);
  bits.push(`analysed ${when(job.updated_at || job.created_at)}`);
  return bits.filter(Boolean).join(" · ");
}

function verdictBlock(job, report) {
  const words = job.words ?? {};
  const verdict = report?.verdict ?? null;
  const scored = verdict && verdict.probability !== null;
  return el("div", { className: `verdict ${verdict ? verdict.label : "error"}` },
    el("div", { className: "what" },
      el("div", { className: "headline", "data-testid": "verdict" }, words.headline ?? ""), words.explanation ?? ""),
    scored ? el("div", { className: "gauge" },
      el("strong", { "data-testid": "probability" }, pct(verdict.probability)), " likely not authentic",
      el("div", { className: "bar", "aria-hidden": "true" },
         el("span", { style: { width: `${Math.round((1 - verdict.probability) * 100)}%` } })),
      words.probability_note,
      words.operating_point ? el("div", { className: "note", "data-testid": "operating-point" }, words.operating_point)
        : null)
      : null);
}

/** A link that, when an API key is set, fetches the target with the key and opens the bytes instead. */
function keyedLink(api, href, text, type) {
  const link = el("a", { href: api.url(href), target: "_blank", rel: "noopener" }, text);
  link.addEventListener("click", async (event) => {
    if (!api.key) return;
    event.preventDefault();
    const tab = window.open("", "_blank");
    try {
      const blob = await (await api.fetch(href)).blob();
      const url = URL.createObjectURL(new Blob([blob], { type }));
      if (tab) tab.location = url; else window.location = url;
    } catch (err) {
      tab?.close();
      alert(`Could not open ${text}: ${err.message}`);
    }
  });
  return link;
}

function linksRow(api, job) {
  const links = job.links ?? {};
  const self = links.self ?? `v1/analyses/${encodeURIComponent(job.id)}`;
  return el("div", { className: "links" },
    job.status === "done" ? keyedLink(api, links.report_html ?? `${self}/report.html`, "Full report (HTML)", "text/html") : null,
    keyedLink(api, self, "JSON", "application/json"),
    !job.deleted && links.media ? keyedLink(api, links.media, "Original file", "application/octet-stream") : null);
}

function errorsBlock(job, report) {
  const items = (report?.errors ?? []).map((e) => el("p", { className: `msg ${e.fatal ? "err" : "warn"}` },
    `${e.fatal ? "Not analysed" : "Warning"}${e.detector ? ` (${e.detector})` : ""}: ${e.message} [${e.code}]`));
  // a file that could not be analysed has its reason in the report already: say it once
  const reported = (report?.errors ?? []).some((e) => e.fatal && e.message === job.error);
  if (job.error && !reported) items.unshift(el("p", { className: "msg err" }, `The analysis failed: ${job.error}`));
  return items;
}

const REASONS_SHOWN = 5;

/** The reasons, most important first; past the first few they fold away under "N more reasons". */
function reasonsBlock(report) {
  const reasons = report?.reasons ?? [];
  if (!reasons.length) return null;
  const rest = reasons.slice(REASONS_SHOWN);
  return [el("h3", {}, "Why"),
    el("ol", { className: "reasons" }, reasons.slice(0, REASONS_SHOWN).map((r) => el("li", {}, r))),
    rest.length ? el("details", { className: "more" }, el("summary", {}, `${rest.length} more reason(s)`),
      el("ol", { className: "reasons", start: REASONS_SHOWN + 1 }, rest.map((r) => el("li", {}, r)))) : null];
}

function provenanceBlock(report) {
  const facts = report?.provenance ?? [];
  if (!facts.length) return null;
  return [el("h3", {}, "What the file says about itself"),
    el("p", { className: "note" }, "Metadata can be stripped or forged; its absence proves nothing."),
    el("div", { className: "table-scroll" }, el("table", { className: "provenance" },
      el("thead", {}, el("tr", {}, ["Source", "Claim", "Detail", "Read by"].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, facts.map((f) => el("tr", {},
        el("td", {}, f.source + (f.part ? ` (${f.part})` : "")), el("td", { className: "wrap" }, f.claim),
        el("td", { className: "wrap" }, f.detail ?? ""), el("td", {}, f.detector ?? ""))))))];
}

/** The detector's band ("clear sign", "weak sign", "no sign"), "no opinion", or its error, in words. */
function detectorStatus(entry, errors) {
  const own = errors.filter((e) => e.detector === entry.detector);
  if (own.length) return `error: ${own.map((e) => e.message).join("; ")}`;
  if (entry.score === null) return "no opinion";
  return BANDS[entry.details?.band] ?? `score ${entry.score.toFixed(2)}`;
}

function detectorsBlock(report) {
  const evidence = report?.evidence ?? [];
  if (!evidence.length) return null;
  const errors = report.errors ?? [];
  const failed = errors.filter((e) => e.detector && !evidence.some((x) => x.detector === e.detector));
  const rows = [...evidence].sort((a, b) => (b.score ?? -1) - (a.score ?? -1)).map((e) => el("tr", {},
    el("td", {}, el("strong", {}, e.detector), e.part ? el("div", { className: "note" }, e.part) : null),
    el("td", { className: "num" }, scoreBar(e.score)),
    el("td", {}, detectorStatus(e, errors)),
    el("td", { className: "num" }, seconds(e.runtime_s)),
    el("td", { className: "wrap" }, e.summary ?? "")));
  const failedRows = failed.map((e) => el("tr", {}, el("td", {}, el("strong", {}, e.detector)),
    el("td", {}, "–"), el("td", {}, `error: ${e.message}`), el("td", {}, ""), el("td", {}, "")));
  return [el("h3", {}, "Detectors"), el("div", { className: "table-scroll" }, el("table", { className: "detectors" },
    el("thead", {}, el("tr", {}, ["Detector", "Score", "Status", "Runtime", "Finding"].map(
      (h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, rows, failedRows)))];
}

/** The analysed text (for highlighted spans): the uploaded text file, fetched with the key if one is set. */
function textLoader(api, job) {
  return async () => (job.deleted || !job.links?.media ? null : (await api.fetch(job.links.media)).text());
}

/** The whole result view for a job (any status); `idPrefix` keeps element ids unique on the page. */
export async function renderJob(api, job, idPrefix) {
  const report = job.report ?? null;
  const kind = report?.media?.kind;
  const canShowMedia = !job.deleted && job.links?.media && ["image", "video", "audio"].includes(kind);
  const mediaUrl = canShowMedia ? await api.resourceUrl(job.links.media).catch(() => null) : null;
  const self = job.links?.self ?? `v1/analyses/${encodeURIComponent(job.id)}`;
  // the worker draws the sound of audio files, and of videos with speech evidence (unmask.analysis)
  const drawn = kind === "audio" || (kind === "video" && speechEntries(report ?? {}).length > 0);
  const spectrogramUrl = report && !job.deleted && drawn
    ? await api.resourceUrl(`${self}/artifacts/spectrogram.png`).catch(() => null) : null;
  const maps = report && !job.deleted ? overlayViewer(api, report, kind === "image" ? mediaUrl : null, idPrefix) : null;
  const view = el("article", { className: "job-result", "data-id": job.id },
    el("h2", { className: "filename" }, job.filename || "(text)"),
    el("div", { className: "meta" }, mediaMeta(job, report)),
    job.status === "done" || report ? verdictBlock(job, report)
      : job.status !== "failed" ? el("p", { className: "msg warn" }, `Not finished yet: ${job.status}.`) : null,
    linksRow(api, job),
    job.deleted ? el("p", { className: "note" }, "The uploaded file and its maps were deleted from the server.") : null,
    errorsBlock(job, report),
    maps ? [el("h3", {}, "Where"), maps] : null,
    reasonsBlock(report),
    report ? timelineSection(report, mediaUrl) : null,
    report ? tracksSection(report) : null,
    report ? speechSection(report, spectrogramUrl) : null,
    report ? spansSection(report, textLoader(api, job)) : null,
    provenanceBlock(report),
    detectorsBlock(report));
  view.release = () => {  // object URLs of the media and the shown map, made when a key is set
    api.release(mediaUrl);
    api.release(spectrogramUrl);
    maps?.release();
  };
  return view;
}
