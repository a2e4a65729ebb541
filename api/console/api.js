// A small fetch wrapper over the public HTTP API. The TypeScript client is
// not used here: its built ESM needs a Node build step and would add a
// staleness check for committed output; the console needs only JSON GET/PUT/
// POST/DELETE with the key header and problem documents, which is this file.

const KEY = "affinity-console-key";

export class Problem extends Error {
  constructor(status, body) {
    super((body && body.detail) || `HTTP ${status}`);
    this.status = status;
    this.field = body && body.field;
    this.type = body && body.type;
    this.body = body;
  }
}

export function getKey() { return sessionStorage.getItem(KEY) || ""; }
export function setKey(k) { if (k) sessionStorage.setItem(KEY, k); else sessionStorage.removeItem(KEY); }

let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  const key = getKey();
  if (key) headers["X-API-Key"] = key;
  const init = { method, headers };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  if (res.status === 204) { await res.arrayBuffer(); return null; } // read to the end, or Chromium logs the request as aborted
  const type = res.headers.get("Content-Type") || "";
  const data = type.includes("json") ? await res.json() : await res.text();
  if (!res.ok) {
    if (res.status === 401) onUnauthorized();
    throw new Problem(res.status, typeof data === "object" ? data : { detail: String(data) });
  }
  return data;
}

export const get = (path) => api("GET", path);

// qs builds a query string from the set values of obj.
export function qs(obj) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(obj)) {
    if (v !== undefined && v !== null && v !== "" && v !== false) p.set(k, String(v));
  }
  const s = p.toString();
  return s ? "?" + s : "";
}

export const enc = encodeURIComponent;

// scope is what the key may do ("read", "write", "admin"), from /v1/whoami.
let scope = null;
export async function loadScope() {
  const w = await get("/v1/whoami");
  scope = w;
  return w;
}
export function can(need) {
  const order = { read: 1, write: 2, admin: 3 };
  return scope && order[scope.scope] >= order[need];
}
export function scopeName() { return scope ? scope.scope : "none"; }
