// The analyses started from this page: upload (with progress), then poll GET /v1/analyses/{id} until the
// job is done or failed, showing each step in words.

import { el, replace } from "./dom.js";

const FINAL = new Set(["done", "failed"]);
const POLL_FIRST_MS = 400;
const POLL_MAX_MS = 2500;
const MAX_POLL_ERRORS = 8;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** One row of the session list, updated in place as the job moves on. */
class JobRow {
  constructor(name, onShow) {
    this.status = el("span", { className: "status" });
    this.progress = el("progress", { max: 1, value: 0, "aria-label": `upload of ${name}` });
    this.button = el("button", { type: "button", hidden: true, onclick: () => onShow(this) }, "Show result");
    this.detail = el("div", { className: "detail" });
    this.item = el("li", { "data-name": name }, el("span", { className: "name" }, name),
      el("span", {}, this.status, " ", this.progress), this.button, this.detail);
    this.job = null;
  }

  set(status, text = status, detail = "") {
    this.status.className = `status ${status}`;
    this.status.textContent = text;
    this.item.dataset.status = status;
    this.progress.hidden = status !== "uploading";
    replace(this.detail, detail);
  }
}

export class JobList {
  /**
   * `api`: the Api client; `list`, `empty`: the <ul> and its "nothing yet" note; `onShow(job, manual)` shows a
   * job (`manual`: a person asked); `onFinished(job, row)` is told when a job reaches done or failed.
   */
  constructor(api, list, empty, { onShow, onFinished }) {
    this.api = api;
    this.list = list;
    this.empty = empty;
    this.onShow = onShow;
    this.onFinished = onFinished;
  }

  newRow(name) {
    const row = new JobRow(name, (r) => this.show(r));
    this.list.prepend(row.item);
    this.empty.hidden = true;
    return row;
  }

  /** Mark `row` as the one on show and display its job; `manual` says a person asked for it. */
  show(row, manual = true) {
    for (const li of this.list.children) li.classList.toggle("current", li === row.item);
    if (row.job) this.onShow(row.job, manual);
  }

  path(profile) {
    return profile ? `v1/analyses?profile=${encodeURIComponent(profile)}` : "v1/analyses";
  }

  /** Upload each file and follow its analysis; files run side by side. */
  addFiles(files, profile) {
    for (const file of files) {
      const row = this.newRow(file.name);
      row.set("uploading", "uploading 0%");
      const started = this.api.upload(this.path(profile), file, (f) => {
        row.progress.value = f;
        row.set("uploading", `uploading ${Math.round(f * 100)}%`);
      });
      this.follow(row, started);
    }
  }

  /** Send a text for analysis and follow it. */
  addText(text, profile) {
    const snippet = text.trim().replace(/\s+/g, " ");
    const row = this.newRow(`text: “${snippet.length > 48 ? `${snippet.slice(0, 48)}…` : snippet}”`);
    row.set("uploading", "sending");
    this.follow(row, this.api.postJson(this.path(profile), { text }));
  }

  async follow(row, started) {
    let job;
    try {
      job = await started;
    } catch (err) {
      row.set("failed", "failed", `Not accepted: ${err.message}`);
      return;
    }
    row.job = job;
    row.item.dataset.id = job.id;
    row.set(job.status);
    job = await this.poll(row, job);
    row.job = job;
    if (!job) return;
    row.set(job.status);  // a failed job's reason is in its result view (Show result), not repeated here
    row.button.hidden = false;
    this.onFinished(job, row);
  }

  /** Poll until the job is final; null when the server stopped answering about it. */
  async poll(row, job) {
    const self = job.links?.self ?? `v1/analyses/${encodeURIComponent(job.id)}`;
    let wait = POLL_FIRST_MS, errors = 0;
    while (!FINAL.has(job.status) || (job.status === "done" && !job.report)) {
      await sleep(wait);
      wait = Math.min(POLL_MAX_MS, wait * 1.5);
      try {
        job = await this.api.json(self);
        errors = 0;
        row.set(job.status);
      } catch (err) {
        if (err.status === 404 || ++errors >= MAX_POLL_ERRORS) {
          row.set("failed", "failed", `Lost track of this analysis: ${err.message}`);
          return null;
        }
      }
    }
    return job;
  }
}
