// Time segments of video and audio evidence as a timeline per detector, with a player that seeks to a
// segment when it is clicked. Every segment is also listed in words (time, score, label).

import { clock, el, pct, seconds } from "./dom.js";

function level(score) {
  return score >= 0.7 ? "high" : score >= 0.4 ? "mid" : "low";
}

/** The media's length: its duration, or the end of the last segment when the duration is unknown. */
function lengthOf(report, entries) {
  const ends = entries.flatMap((e) => e.segments.map((s) => s.end_s));
  return Math.max(report.media?.duration_s || 0, ...ends, 1e-6);
}

/**
 * The timeline section for a report whose evidence has time segments, or null when none has. `mediaUrl`
 * (may be null) feeds an <audio>/<video> player.
 */
export function timelineSection(report, mediaUrl) {
  const entries = (report.evidence ?? []).filter((e) => e.segments?.length);
  if (!entries.length) return null;
  const total = lengthOf(report, entries);
  const kind = report.media?.kind;
  const player = mediaUrl && (kind === "video" || kind === "audio")
    ? el(kind, { className: "player", controls: true, preload: "metadata", src: mediaUrl }) : null;
  const seek = (t) => {
    if (!player) return;
    player.currentTime = t;
    player.focus();
  };
  const rows = entries.map((entry) => {
    const segs = [...entry.segments].sort((a, b) => a.start_s - b.start_s);
    const bar = el("div", { className: "timeline", role: "group", "aria-label": `${entry.detector} timeline` },
      segs.map((s) => {
        const text = `${seconds(s.start_s)}–${seconds(s.end_s)}: ${pct(s.score)}${s.label ? ` ${s.label}` : ""}`;
        return el(player ? "button" : "span", {
          className: `seg ${level(s.score)}`, title: text, type: player ? "button" : undefined,
          "aria-label": player ? `play from ${text}` : text,
          style: { left: `${(100 * s.start_s) / total}%`, width: `${(100 * Math.max(0, s.end_s - s.start_s)) / total}%` },
          onclick: player ? () => seek(s.start_s) : undefined,
        }, pct(s.score));
      }));
    return el("div", {},
      el("h4", {}, entry.detector + (entry.part ? ` · ${entry.part}` : "")),
      bar,
      el("div", { className: "axis", "aria-hidden": "true" }, el("span", {}, "0 s"), el("span", {}, seconds(total))),
      el("details", {}, el("summary", {}, `${segs.length} segment(s) in words`),
        el("ul", { className: "segments" }, segs.map((s) => el("li", {},
          `${seconds(s.start_s)} to ${seconds(s.end_s)}: score ${pct(s.score)}${s.label ? ` (${s.label})` : ""}`)))));
  });
  return el("section", {}, el("h3", {}, "Timeline"),
    el("p", { className: "note" }, "Coloured stretches are where a detector found something; the number is its score."),
    player, rows);
}

// Face tracks of a video (schema 1.1 `evidence[].tracks`): per track its thumbnail, a line in words and a lane
// with one cell per sampled frame (green to red by score, each with its time and score as text), the
// suspicious segments marked under the lane. As in the HTML report (report/templates/report.html).

const THUMB_PREFIX = "data:image/jpeg;base64,";  // unmask makes the thumbnails; anything else is not shown

/** "1.45–2.45 s" */
function range(a, b) {
  return `${seconds(a).slice(0, -2)}–${seconds(b)}`;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The track's samples as {t, score}, in time order. */
function samples(track) {
  const times = track.times ?? [];
  const scores = track.frame_scores ?? [];
  return times.slice(0, scores.length).map((t, i) => ({ t, score: scores[i] })).sort((a, b) => a.t - b.t);
}

function trackLine(track) {
  const segs = track.segments ?? [];
  const suspicious = segs.length
    ? `suspicious: ${segs.map((s) => `${range(s.start_s, s.end_s)} (${pct(s.score)})`).join(", ")}`
    : "no suspicious segment";
  const flags = track.flags?.length ? ` · ${track.flags.join(", ")}` : "";
  return `track ${track.id} · score ${pct(track.score)} · ${suspicious}${flags}`;
}

const MAX_CELLS = 400;  // past this, neighbouring cells are merged and show their highest score

/** At most MAX_CELLS points over `total`: each stretch's highest score (null when it has none). */
function merged(points, total) {
  const width = total / MAX_CELLS;
  const top = new Map();
  for (const { t, score } of points) {
    const k = Math.min(Math.max(Math.floor(t / width), 0), MAX_CELLS - 1);
    const held = top.get(k) ?? null;
    top.set(k, held === null ? score : score === null ? held : Math.max(held, score));
  }
  return { points: [...top].map(([k, score]) => ({ t: k * width, score })), step: width };
}

/**
 * A lane of cells, one per {t, score} starting at t and `step` long, green (0) to red (1), gray for a null
 * score; each cell's time (`when(t, step)`) and score are its text. As `_lane` in unmask.report.html.
 */
function scoreLane(points, step, total, label, when) {
  const many = points.length > MAX_CELLS;
  if (many) ({ points, step } = merged(points, total));
  const width = `${Math.max((90 * step) / total, 0.3)}%`;
  return el("div", { className: "timeline frames", role: "group", "aria-label": label },
    points.map(({ t, score }) => {
      const text = `${when(t, step)}: ${score === null ? "too quiet to judge" : (many ? "highest " : "") + pct(score)}`;
      const background = score === null ? "#c8ccd4" : `hsl(${Math.round(120 * (1 - score))}, 65%, 45%)`;
      return el("span", { className: "cell", role: "img", title: text, "aria-label": text,
        style: { left: `${(100 * t) / total}%`, width, background } });
    }));
}

function frameLane(track, total) {
  const points = samples(track);
  const step = points.length > 1 ? median(points.slice(1).map((p, i) => p.t - points[i].t)) : total / 32;
  return scoreLane(points, step, total, `frame scores of track ${track.id}`, (t) => seconds(t));
}

/** Marks under a lane for `segments`, each titled `${what} <its times> (<score>)`. */
function segmentMarks(segments, total, what, times = range) {
  return el("div", { className: "track-marks", "aria-hidden": "true" }, (segments ?? []).map((s) => el("span", {
    title: `${what} ${times(s.start_s, s.end_s)} (${pct(s.score)})`,
    style: { left: `${(100 * s.start_s) / total}%`, width: `${(100 * Math.max(0, s.end_s - s.start_s)) / total}%` },
  })));
}

function trackRow(track, total) {
  const thumb = typeof track.thumbnail === "string" && track.thumbnail.startsWith(THUMB_PREFIX)
    ? el("img", { className: "thumb", src: track.thumbnail, alt: `face of track ${track.id}` }) : null;
  return el("div", { className: "track", "data-track": track.id }, thumb,
    el("div", { className: "lane" },
      el("div", { className: "note track-line" }, trackLine(track)),
      frameLane(track, total), segmentMarks(track.segments, total, "suspicious"),
      el("div", { className: "axis", "aria-hidden": "true" }, el("span", {}, "0 s"), el("span", {}, seconds(total)))));
}

/** The "Faces over time" section for a report whose evidence has face tracks, or null when none has. */
export function tracksSection(report) {
  const entries = (report.evidence ?? []).filter((e) => e.tracks?.length);
  if (!entries.length) return null;
  return el("section", {}, el("h3", {}, "Faces over time"),
    el("p", { className: "note" }, "Each cell is a sampled frame, coloured from green (looks real) to red (looks " +
      "forged); red lines under a track mark its suspicious segments. Track score = mean of its frame scores."),
    entries.map((entry) => {
      const lastTimes = entry.tracks.flatMap((tr) => tr.times ?? []);
      const total = Math.max(report.media?.duration_s || Math.max(0, ...lastTimes), 1e-6);
      return el("div", { className: "tracks" },
        el("h4", {}, entry.detector + (entry.part ? ` · ${entry.part}` : "")),
        entry.tracks.map((track) => trackRow(track, total)));
    }));
}

// Speech (evidence whose details carry a score per window: `window_starts`, `window_scores`, null for a window
// too quiet to judge): the spectrogram of the sound, then per detector a line in words with its flagged
// stretches, a lane with a cell per window (at its centre, one hop wide) and the detector's sentence. As the
// "Speech over time" section of the HTML report.

/** The evidence entries with a speech score track. */
export function speechEntries(report) {
  return (report.evidence ?? []).filter((e) => Array.isArray(e.details?.window_starts)
    && Array.isArray(e.details?.window_scores) && e.details.window_starts.length === e.details.window_scores.length
    && e.details.window_starts.length > 0);
}

const clockRange = (a, b) => `${clock(a)}–${clock(b)}`;

function speechRow(entry, total) {
  const d = entry.details;
  const hop = d.hop_s || (d.window_starts.length > 1 ? d.window_starts[1] - d.window_starts[0] : d.window_s || 1);
  const shift = (d.window_s || hop) / 2 - hop / 2;  // a cell is the hop around its window's centre
  const points = d.window_starts.map((t, i) => ({ t: t + shift, score: d.window_scores[i] }));
  const segs = [...(entry.segments ?? [])].sort((a, b) => a.start_s - b.start_s);
  const flagged = segs.length ? `flagged: ${segs.map((s) => `${clockRange(s.start_s, s.end_s)} (${pct(s.score)})`)
    .join(", ")}` : "nothing flagged";
  return el("div", { className: "speech-lane", "data-detector": entry.detector },
    el("h4", {}, entry.detector + (entry.part ? ` · ${entry.part}` : "")),
    el("div", { className: "note speech-line" }, `score ${pct(entry.score)} · ${flagged}`),
    scoreLane(points, hop, total, `window scores of ${entry.detector}`, (t, w) => clockRange(t, t + w)),
    segmentMarks(segs, total, "flagged", clockRange),
    el("p", { className: "finding" }, entry.summary ?? ""));
}

/**
 * The "Speech over time" section: the spectrogram at `pictureUrl` (may be null; removed if it does not load)
 * above a row per speech detector; null when the report has neither speech evidence nor a picture.
 */
export function speechSection(report, pictureUrl) {
  const entries = speechEntries(report);
  if (!entries.length && !pictureUrl) return null;
  const ends = entries.flatMap((e) => e.details.window_starts.map((t) => t + (e.details.window_s || 0)));
  const total = Math.max(report.media?.duration_s || Math.max(0, ...ends), 1e-6);
  const picture = pictureUrl ? el("img", { className: "spectrogram", src: pictureUrl,
    alt: `spectrogram of the sound, ${clock(0)} to ${clock(total)}` }) : null;
  const section = el("section", { className: "speech" }, el("h3", {}, "Speech over time"),
    el("p", { className: "note" }, pictureUrl ? "The picture is the sound: time from left to right, pitch from 0 " +
      "(bottom) to 8 kHz (top), brighter where louder. " : "", entries.length ? "Each speech detector scores the " +
      "sound window by window, from green (sounds natural) to red (sounds synthetic), gray where too quiet to " +
      "judge; red lines mark the stretches it flags." : ""),
    picture, entries.map((entry) => speechRow(entry, total)),
    el("div", { className: "axis", "aria-hidden": "true" }, el("span", {}, clock(0)), el("span", {}, clock(total))));
  picture?.addEventListener("error", () => (entries.length ? picture : section).remove());
  return section;
}
