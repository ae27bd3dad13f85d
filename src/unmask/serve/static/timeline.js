// Time segments of video and audio evidence as a timeline per detector, with a player that seeks to a
// segment when it is clicked. Every segment is also listed in words (time, score, label).

import { el, pct, seconds } from "./dom.js";

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
