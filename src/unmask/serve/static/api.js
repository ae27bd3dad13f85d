// The REST client: JSON requests, uploads with progress, the API key (sessionStorage, header X-API-Key) and
// the retry rules (401 asks for a key, 429 waits for Retry-After).

const KEY_NAME = "unmask.apiKey";
const MAX_RATE_RETRIES = 5;

/** An HTTP error a person can act on: the status and the server's own explanation. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** The text of a FastAPI error body ({"detail": ...}) or a fallback naming the status. */
function errorText(status, body) {
  let detail = body;
  try {
    detail = JSON.parse(body).detail ?? body;
  } catch { /* not JSON: keep the text */ }
  if (Array.isArray(detail)) detail = detail.map((d) => d.msg ?? JSON.stringify(d)).join("; ");
  else if (typeof detail === "object" && detail !== null) detail = JSON.stringify(detail);
  detail = String(detail ?? "").trim();
  if (detail.startsWith("<")) detail = "";  // an HTML error page (a proxy's): its markup says nothing useful
  if (detail.length > 300) detail = `${detail.slice(0, 300)}…`;
  const known = { 401: "API key missing or not accepted", 404: "not found", 410: "deleted",
                  413: "file too large", 429: "server busy" };
  return `${status} ${detail || known[status] || "request failed"}`;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Seconds to wait from a Retry-After header (seconds or HTTP date), at least 1 and at most 60. */
function retryAfter(value) {
  const secs = Number(value);
  const wait = Number.isFinite(secs) ? secs : (Date.parse(value) - Date.now()) / 1000;
  return Math.min(60, Math.max(1, Number.isFinite(wait) ? wait : 2));
}

export class Api {
  /**
   * `root` is the service's base URL (the page's folder); `askKey(message)` shows the key form and resolves
   * once a key was entered; `onWait(seconds)` is told when a 429 makes a request wait.
   */
  constructor(root, { askKey, onWait = () => {} }) {
    this.root = root;
    this.askKey = askKey;
    this.onWait = onWait;
  }

  get key() { return sessionStorage.getItem(KEY_NAME) || ""; }
  set key(value) {
    if (value) sessionStorage.setItem(KEY_NAME, value);
    else sessionStorage.removeItem(KEY_NAME);
  }

  /** An absolute URL for a service path ("v1/analyses" or "/v1/analyses"). */
  url(path) {
    return new URL(String(path).replace(/^\//, ""), this.root).href;
  }

  headers(extra = {}) {
    return this.key ? { ...extra, "X-API-Key": this.key } : extra;
  }

  /** Handle 401 (ask for a key, then retry) and 429 (wait, then retry); true when the caller should retry. */
  async shouldRetry(status, retryAfterHeader, attempt) {
    if (status === 401) {
      await this.askKey(this.key ? "The server did not accept this key; enter another." : "");
      return true;
    }
    if (status === 429 && attempt < MAX_RATE_RETRIES) {
      const wait = retryAfter(retryAfterHeader);
      this.onWait(wait);
      await sleep(wait * 1000);
      return true;
    }
    return false;
  }

  /** fetch() with the key; returns the Response once it is not 401/429, throws ApiError when not ok. */
  async fetch(path, init = {}) {
    for (let attempt = 0; ; attempt++) {
      const response = await fetch(this.url(path), { ...init, headers: this.headers(init.headers) });
      if (response.ok) return response;
      if (await this.shouldRetry(response.status, response.headers.get("Retry-After"), attempt)) continue;
      throw new ApiError(response.status, errorText(response.status, await response.text()));
    }
  }

  async json(path, init = {}) {
    return (await this.fetch(path, init)).json();
  }

  /** POST a JSON body for analysis (a text). */
  async postJson(path, body) {
    return this.json(path, { method: "POST", body: JSON.stringify(body),
                             headers: { "Content-Type": "application/json" } });
  }

  /** Upload one file as multipart field `file`, reporting progress (0..1) as it goes. */
  async upload(path, file, onProgress) {
    for (let attempt = 0; ; attempt++) {
      const { status, text, retry } = await this.sendFile(path, file, onProgress);
      if (status >= 200 && status < 300) return JSON.parse(text);
      if (await this.shouldRetry(status, retry, attempt)) continue;
      throw new ApiError(status, status === 0 ? "the connection to the server failed" : errorText(status, text));
    }
  }

  /** One XMLHttpRequest upload (fetch() cannot report upload progress). */
  sendFile(path, file, onProgress) {
    return new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", this.url(path));
      for (const [name, value] of Object.entries(this.headers())) xhr.setRequestHeader(name, value);
      xhr.upload.onprogress = (event) => { if (event.lengthComputable) onProgress(event.loaded / event.total); };
      xhr.onload = () => resolve({ status: xhr.status, text: xhr.responseText,
                                   retry: xhr.getResponseHeader("Retry-After") });
      xhr.onerror = () => resolve({ status: 0, text: "", retry: null });
      const form = new FormData();
      form.append("file", file, file.name);
      xhr.send(form);
    });
  }

  /**
   * A URL an <img>/<video> can load: the plain URL when no key is set, else an object URL of the bytes
   * fetched with the key (elements cannot send headers). Callers revoke object URLs via `release`.
   */
  async resourceUrl(path) {
    if (!this.key) return this.url(path);
    const blob = await (await this.fetch(path)).blob();
    return URL.createObjectURL(blob);
  }

  release(url) {
    if (url && url.startsWith("blob:")) URL.revokeObjectURL(url);
  }
}
