// Past analyses: GET /v1/analyses with a search (q=) and cursor pagination ("Load more").

import { el, pct, when } from "./dom.js";

const PAGE_SIZE = 20;

export class History {
  /** `parts`: the table body, the empty note, the error line and the "Load more" button. */
  constructor(api, { rows, empty, error, more }, onOpen) {
    this.api = api;
    this.rows = rows;
    this.emptyNote = empty;
    this.error = error;
    this.more = more;
    this.onOpen = onOpen;
    this.query = "";
    this.cursor = null;
    this.generation = 0;  // answers to an older search are dropped
    more.addEventListener("click", () => this.load(false));
  }

  /** Start a new search (empty = everything), newest first. */
  search(query) {
    this.query = query.trim();
    this.cursor = null;
    return this.load(true);
  }

  refresh() {
    return this.search(this.query);
  }

  pagePath() {
    const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (this.query) params.set("q", this.query);
    if (this.cursor) params.set("cursor", this.cursor);
    return `v1/analyses?${params}`;
  }

  async load(fresh) {
    const generation = fresh ? ++this.generation : this.generation;
    let page;
    try {
      page = await this.api.json(this.pagePath());
    } catch (err) {
      if (generation !== this.generation) return;
      this.error.textContent = `History unavailable: ${err.message}`;
      this.error.hidden = false;
      return;
    }
    if (generation !== this.generation) return;
    this.error.hidden = true;
    if (fresh) this.rows.replaceChildren();
    this.rows.append(...page.items.map((job) => this.row(job)));
    this.cursor = page.next_cursor ?? null;
    this.more.hidden = !this.cursor;
    this.emptyNote.hidden = this.rows.children.length > 0;
  }

  row(job) {
    const verdict = job.verdict;
    const name = job.filename || "(text)";
    const badge = verdict
      ? el("span", {}, el("span", { className: `badge ${verdict.label}` }, verdict.headline),
        verdict.probability == null ? "" : ` ${pct(verdict.probability)}`)
      : el("span", { className: "note" }, job.status === "done" ? "no verdict" : "–");
    return el("tr", { "data-id": job.id },
      el("td", {}, name, job.deleted ? el("span", { className: "note" }, " (deleted)") : null,
        el("div", { className: "note" }, job.sha256 ? `sha256 ${job.sha256.slice(0, 12)}…` : "")),
      el("td", {}, badge),
      el("td", {}, el("span", { className: `status ${job.status}` }, job.status)),
      el("td", { className: "num" }, when(job.created_at)),
      el("td", {}, el("button", { type: "button", "aria-label": `open ${name}`, onclick: () => this.onOpen(job.id) },
        "Open")));
  }
}
