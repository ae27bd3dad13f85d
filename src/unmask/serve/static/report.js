// One finished analysis, for a non-expert: verdict in words, reasons, evidence maps, timeline, highlighted
// text, provenance facts, per-detector table and links to the full HTML report and the JSON.

import { el, pct, scoreBar, seconds, when } from "./dom.js";
import { overlayViewer } from "./overlay.js";
import { spansSection } from "./spans.js";
import { timelineSection, tracksSection } from "./timeline.js";

const AUTHENTIC_AT = 0.3;  // unmask.fusion.AUTHENTIC_AT: scores above it count as findings
const HEADLINES = {
  authentic: ["Looks authentic", "None of the detectors found signs of editing or AI generation. That is not " +
              "proof: a careful edit, or a file re-saved many times, can escape them."],
  inconclusive: ["Inconclusive", "The evidence is weak or mixed. Read the reasons below, and look at any " +
                 "highlighted areas, before deciding."],
  manipulated: ["Likely manipulated", "At least one detector found strong signs that part of this content was edited."],
  "ai-generated": ["Likely AI-generated", "The evidence indicates this content was made by an AI generator."],
};
const NO_OPINION = ["No opinion", "None of the detectors that ran can judge this kind of file, so unmask says " +
                    "nothing either way about it."];

/** The verdict in words and one sentence on what it means (as in the HTML report). */
export function headline(report) {
  if (!report || !report.verdict) return ["Not analysed", "unmask could not analyse this file; see why below."];
  if (!(report.evidence ?? []).some((e) => e.score !== null)) return NO_OPINION;
  return HEADLINES[report.verdict.label] ?? [report.verdict.label, ""];
}

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

function verdictBlock(report) {
  const [title, explain] = headline(report);
  const judged = report?.verdict && title !== NO_OPINION[0];
  const verdict = judged ? report.verdict : null;
  return el("div", { className: `verdict ${verdict ? verdict.label : "error"}` },
    el("div", { className: "what" },
      el("div", { className: "headline", "data-testid": "verdict" }, title), explain),
    verdict ? el("div", { className: "gauge" },
      el("strong", { "data-testid": "probability" }, pct(verdict.probability)), " likely not authentic",
      el("div", { className: "bar", "aria-hidden": "true" },
         el("span", { style: { width: `${Math.round((1 - verdict.probability) * 100)}%` } })),
      verdict.calibrated ? "calibrated probability" : "uncalibrated score: read it as a ranking, not a chance")
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

/** "ok", "no opinion", or the detector's error, in words. */
function detectorStatus(entry, errors) {
  const own = errors.filter((e) => e.detector === entry.detector);
  if (own.length) return `error: ${own.map((e) => e.message).join("; ")}`;
  return entry.score === null ? "no opinion" : entry.score > AUTHENTIC_AT ? "finding" : "ok";
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
  const maps = report && !job.deleted ? overlayViewer(api, report, kind === "image" ? mediaUrl : null, idPrefix) : null;
  const view = el("article", { className: "job-result", "data-id": job.id },
    el("h2", { className: "filename" }, job.filename || "(text)"),
    el("div", { className: "meta" }, mediaMeta(job, report)),
    job.status === "done" || report ? verdictBlock(report)
      : job.status !== "failed" ? el("p", { className: "msg warn" }, `Not finished yet: ${job.status}.`) : null,
    linksRow(api, job),
    job.deleted ? el("p", { className: "note" }, "The uploaded file and its maps were deleted from the server.") : null,
    errorsBlock(job, report),
    maps ? [el("h3", {}, "Where"), maps] : null,
    reasonsBlock(report),
    report ? timelineSection(report, mediaUrl) : null,
    report ? tracksSection(report) : null,
    report ? spansSection(report, textLoader(api, job)) : null,
    provenanceBlock(report),
    detectorsBlock(report));
  view.release = () => {  // object URLs of the media and the shown map, made when a key is set
    api.release(mediaUrl);
    maps?.release();
  };
  return view;
}
