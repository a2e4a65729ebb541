// Overview: counts, rates and latency from the server's own Prometheus
// metrics, sampled every few seconds while the page is open (the samples
// stay for the tab's life, so coming back shows the trend so far); the
// charts start with the server's own last hour (GET /v1/stats/history),
// so they show what happened before the tab was opened. In cluster mode,
// the nodes and their lag (GET /v1/cluster/nodes).
import { get } from "./api.js";
import { h, page, card, num, ago, table, errorBox } from "./ui.js";
import { lineChart } from "./charts.js";

const samples = []; // {t, ingested, requests, buckets: Map(le -> count)}
const MAX_SAMPLES = 360;

export function parseMetrics(text) {
  const m = { values: {}, buckets: new Map(), requests: 0 };
  for (const line of text.split("\n")) {
    if (!line || line[0] === "#") continue;
    const sp = line.lastIndexOf(" ");
    const name = line.slice(0, sp), v = Number(line.slice(sp + 1));
    if (name.startsWith("affinity_http_request_duration_seconds_bucket")) {
      const le = name.match(/le="([^"]+)"/)[1];
      m.buckets.set(le, (m.buckets.get(le) || 0) + v);
    } else if (name.startsWith("affinity_http_requests_total")) {
      m.requests += v;
    } else if (!name.includes("{")) {
      m.values[name] = v;
    }
  }
  return m;
}

// quantile from cumulative histogram buckets (count per upper bound).
export function quantile(buckets, q) {
  const bs = [...buckets.entries()].map(([le, c]) => [le === "+Inf" ? Infinity : Number(le), c]).sort((a, b) => a[0] - b[0]);
  const total = bs.length ? bs[bs.length - 1][1] : 0;
  if (!total) return null;
  let prevLe = 0, prevC = 0;
  for (const [le, c] of bs) {
    if (c >= q * total) {
      if (le === Infinity) return prevLe;
      return prevLe + (le - prevLe) * ((q * total - prevC) / Math.max(c - prevC, 1e-9));
    }
    prevLe = le; prevC = c;
  }
  return prevLe;
}

function delta(a, b) {
  const d = new Map();
  for (const [le, c] of b.buckets) d.set(le, c - (a.buckets.get(le) || 0));
  return d;
}

let history = []; // the server's samples: {t, ingest, req (per minute), p99 (s)}
let nodes = null; // the last GET /v1/cluster/nodes answer ({error} when it failed); null: single node or none

async function loadHistory() {
  const r = await get("/v1/stats/history");
  history = r.samples.map((x) => ({ t: Date.parse(x.time), ingest: x.events_per_minute,
    req: x.requests_per_second === null ? null : x.requests_per_second * 60, p99: x.p99_seconds }));
}

async function sample() {
  const res = await fetch("/metrics");
  const m = parseMetrics(await res.text());
  samples.push({ t: Date.now(), ingested: m.values.affinity_events_ingested_total || 0, requests: m.requests, buckets: m.buckets, values: m.values });
  if (samples.length > MAX_SAMPLES) samples.shift();
  nodes = m.values.affinity_cluster_applied_seq === undefined ? null
    : await get("/v1/cluster/nodes").catch((e) => (e.status === 404 ? null : { error: e })); // 404: a server without the list
}

// rates are the server's history up to the first sample of this tab, then
// the rates between this tab's samples.
function rates() {
  const t0 = samples.length ? samples[0].t : Infinity;
  const out = { ingest: [], req: [], p99: [] };
  for (const x of history) {
    if (x.t >= t0) break;
    if (x.ingest !== null) out.ingest.push([x.t, x.ingest]);
    if (x.req !== null) out.req.push([x.t, x.req]);
    if (x.p99 !== null) out.p99.push([x.t, x.p99 * 1000]);
  }
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1], b = samples[i], min = (b.t - a.t) / 60000;
    out.ingest.push([b.t, Math.max(0, b.ingested - a.ingested) / min]);
    out.req.push([b.t, Math.max(0, b.requests - a.requests) / min]);
    const q = quantile(delta(a, b), 0.99);
    if (q !== null) out.p99.push([b.t, q * 1000]);
  }
  return out;
}

function draw(box) {
  const last = samples[samples.length - 1];
  const v = last.values;
  const r = rates();
  const lastRate = (s) => (s.length ? s[s.length - 1][1] : null);
  let p99 = null, p99Note = "since the server started";
  if (samples.length > 1) {
    const d = delta(samples[samples.length - 2], last);
    p99 = quantile(d, 0.99);
    p99Note = "over the last sample interval";
  }
  if (p99 === null) { p99 = quantile(last.buckets, 0.99); p99Note = "since the server started"; }
  const age = v.affinity_model_age_seconds;
  const built = age >= 0 ? new Date(Date.now() - age * 1000) : null;
  const hhmm = (t) => new Date(t).toTimeString().slice(0, 5);
  const rateFmt = (x) => num(x, x % 1 ? 1 : 0); // axis ticks of small rates are halves
  box.replaceChildren(
    h("div", { class: "cards", id: "counts", "data-ready": "ok" },
      card("Customers", num(v.affinity_store_customers)),
      card("Products", num(v.affinity_store_products)),
      card("Events", num(v.affinity_store_events)),
      card("Model age", ago(age), built ? `last built ${built.toLocaleString("en-GB")}, took ${num(v.affinity_model_build_seconds, 2)} s` : ""),
      card("Ingest rate", lastRate(r.ingest) === null ? "–" : `${num(lastRate(r.ingest))}/min`, "events accepted over HTTP"),
      card("Request rate", lastRate(r.req) === null ? "–" : `${num(lastRate(r.req))}/min`, "all API requests"),
      card("p99 latency", p99 === null ? "–" : `${num(p99 * 1000, 1)} ms`, p99Note),
      card("Snapshot", ago(v.affinity_snapshot_age_seconds), `${num(v.affinity_snapshot_lag_events)} events not yet in it`)),
    h("div", { class: "lists two", id: "charts", "data-history": history.length },
      h("section", null, h("h2", null, "Events per minute"),
        lineChart("Events ingested per minute over the last hour", [{ name: "events/min", points: r.ingest }], { xFmt: hhmm, yFmt: rateFmt })),
      h("section", null, h("h2", null, "Requests per minute"),
        lineChart("API requests per minute over the last hour", [{ name: "requests/min", points: r.req }], { xFmt: hhmm, yFmt: rateFmt })),
      h("section", null, h("h2", null, "p99 latency"),
        lineChart("99th percentile of request latency in milliseconds over the last hour", [{ name: "p99 ms", points: r.p99 }], { xFmt: hhmm, yFmt: (x) => num(x, 1) }))),
    ...clusterView(v));
}

// clusterView shows this node's place in the cluster stream when the
// server runs in cluster mode (its /metrics has affinity_cluster_*);
// a single node shows nothing. /metrics is this node's only: the other
// nodes' lag is on their own consoles.
function clusterView(v) {
  if (v.affinity_cluster_applied_seq === undefined) return [h("p", { class: "muted", id: "cluster-note" }, "Single node: no cluster stream to follow.")];
  const stalled = v.affinity_cluster_stalled_seq > 0, silent = v.affinity_cluster_silent_seconds > 0;
  return [h("h2", null, "This node in the cluster"),
    stalled ? h("p", { class: "error", role: "alert" }, `The apply stopped at stream sequence ${num(v.affinity_cluster_stalled_seq)}: it could not be applied.`) : null,
    silent ? h("p", { class: "notice", role: "note" }, `The stream has not answered this node's polls for ${ago(v.affinity_cluster_silent_seconds)}.`) : null,
    h("div", { class: "cards", id: "cluster" },
      card("Applied sequence", num(v.affinity_cluster_applied_seq), "last stream message applied here"),
      card("Stream head", num(v.affinity_cluster_head_seq), "at the last poll"),
      card("Lag", `${num(v.affinity_cluster_lag_messages)} messages`, `${num(v.affinity_cluster_lag_seconds, 1)} s of writes behind`),
      card("Apply rate", `${num(v.affinity_cluster_apply_rate, 1)}/s`, "messages over the last poll")),
    ...nodesView(nodes)].filter(Boolean);
}

// nodesView lists the cluster's nodes (GET /v1/cluster/nodes) with their
// lag behind the stream and readiness.
function nodesView(r) {
  if (!r) return [];
  if (r.error) return [h("h2", null, "Nodes"), errorBox(r.error)];
  if (r.mode !== "cluster") return [h("p", { class: "muted", id: "cluster-note" }, "Single node: no cluster stream to follow.")];
  const s = r.stream;
  return [h("h2", null, "Nodes"),
    s ? h("p", { id: "stream-line" }, `Stream ${s.name}: ${num(s.replicas)} ${s.replicas === 1 ? "replica" : "replicas"}, head at sequence ${num(s.head_seq)}.`) : null,
    table(`${r.nodes.length} ${r.nodes.length === 1 ? "node" : "nodes"}, by name`, ["Node", "Address", "Applied sequence", "Lag (messages)", "Lag (seconds)", "Ready", "Reported"],
      [...r.nodes].sort((a, b) => a.name.localeCompare(b.name)).map((n) => [n.name, n.addr, num(n.applied_seq), num(n.lag_messages), num(n.lag_seconds, 1),
        n.ready ? "yes" : h("strong", { class: "error" }, "not ready"), n.updated_at ? `${ago((Date.now() - Date.parse(n.updated_at)) / 1000)} ago` : "–"]),
      { id: "node-table" })];
}

export async function overview() {
  const box = h("div", null, h("p", { class: "muted" }, "Loading…"));
  page("Overview", h("p", { class: "lead" }, "What the server holds and how it is doing, from its own ", h("a", { href: "/metrics" }, "/metrics"), ", sampled every 5 s; the charts begin with the server's last hour."), box);
  await Promise.all([sample(), loadHistory().catch(() => { history = []; })]);
  if (samples.length === 1) {
    // A second sample soon after the first gives rates at once.
    await new Promise((r) => setTimeout(r, 1000));
    await sample();
  }
  draw(box);
  const timer = setInterval(async () => {
    try { await sample(); draw(box); } catch { /* the next tick tries again */ }
  }, 5000);
  return () => clearInterval(timer);
}
