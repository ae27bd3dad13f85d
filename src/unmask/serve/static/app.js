// The unmask web page: wires the upload area, the text form, the session's jobs, the result view, the
// history and the API key form to the REST API under v1/ (see docs/service.md).

import { Api } from "./api.js";
import { History } from "./history.js";
import { JobList } from "./jobs.js";
import { renderJob } from "./report.js";

const $ = (id) => document.getElementById(id);
const SEARCH_DELAY_MS = 300;

/** The key form: shown on a 401; resolves every waiting request once a key is entered. */
function keyPrompt(api) {
  let waiting = null;
  $("auth-form").addEventListener("submit", (event) => {
    event.preventDefault();
    api.key = $("api-key").value.trim();
    $("auth").hidden = true;
    if (waiting) waiting.resolve();
    waiting = null;
  });
  return (message) => {
    if (!waiting) {
      let resolve;
      const promise = new Promise((r) => { resolve = r; });
      waiting = { promise, resolve };
    }
    $("auth-message").textContent = message || "This server asks for an API key. It is kept in this browser tab only.";
    $("auth").hidden = false;
    $("api-key").value = "";
    $("api-key").focus();
    return waiting.promise;
  };
}

/** The result panel: shows one job at a time, fetching the full job (with its report) when needed. */
function resultView(api) {
  let shown = 0;
  return async (jobOrId, { scroll = true } = {}) => {
    const ticket = ++shown;
    const body = $("result-body");
    $("result").hidden = false;
    try {
      const job = typeof jobOrId === "string" || !jobOrId.report
        ? await api.json(`v1/analyses/${encodeURIComponent(typeof jobOrId === "string" ? jobOrId : jobOrId.id)}`)
        : jobOrId;
      const view = await renderJob(api, job, `r${ticket}`);
      if (ticket !== shown) return view.release();
      body.firstElementChild?.release?.();
      body.replaceChildren(view);
      history.replaceState(null, "", `#analysis=${encodeURIComponent(job.id)}`);
    } catch (err) {
      if (ticket !== shown) return;
      const p = document.createElement("p");
      p.className = "msg err";
      p.textContent = `Could not show this analysis: ${err.message}`;
      body.replaceChildren(p);
    }
    if (scroll) $("result").scrollIntoView({ behavior: "smooth", block: "start" });
  };
}

function wireUpload(jobs) {
  const input = $("file-input"), zone = $("dropzone");
  const profile = () => $("profile").value;
  input.addEventListener("change", () => {
    jobs.addFiles([...input.files], profile());
    input.value = "";
  });
  zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    const files = [...(event.dataTransfer?.files ?? [])];
    if (files.length) jobs.addFiles(files, profile());
  });
  $("text-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("text-input").value;
    const error = $("analyse-error");
    error.hidden = Boolean(text.trim());
    error.textContent = text.trim() ? "" : "Paste some text first.";
    if (!text.trim()) return;
    jobs.addText(text, profile());
    $("text-input").value = "";
  });
}

function wireHistory(hist) {
  const box = $("history-q");
  let timer = null;
  $("history-form").addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(timer);
    hist.search(box.value);
  });
  box.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => hist.search(box.value), SEARCH_DELAY_MS);
  });
}

async function serverInfo(api) {
  try {
    const health = await api.json("v1/health");
    $("server-info").textContent =
      `server ${health.status} · unmask ${health.version} · ${health.workers} worker(s) · queue ${health.queue_depth}`;
  } catch (err) {
    $("server-info").textContent = `server not reachable: ${err.message}`;
  }
}

function main() {
  const root = new URL("../", import.meta.url);
  const api = new Api(root, {
    askKey: (message) => askKey(message),
    onWait: (s) => { $("server-info").textContent = `server busy: retrying in ${Math.round(s)} s`; },
  });
  const askKey = keyPrompt(api);
  const show = resultView(api);
  const hist = new History(api, { rows: $("history-rows"), empty: $("history-empty"), error: $("history-error"),
                                  more: $("history-more") }, (id) => show(id));
  let chosen = false;  // once a person picks a result, finished uploads no longer replace it
  const jobs = new JobList(api, $("jobs"), $("jobs-empty"), {
    onShow: (job, manual) => {
      chosen ||= manual;
      show(job, { scroll: manual });
    },
    onFinished: (job, row) => {
      hist.refresh();
      if (!chosen) jobs.show(row, false);
    },
  });
  wireUpload(jobs);
  wireHistory(hist);
  serverInfo(api);
  hist.refresh();
  const linked = /^#analysis=(.+)$/.exec(location.hash);
  if (linked) show(decodeURIComponent(linked[1]), { scroll: false });
}

main();
