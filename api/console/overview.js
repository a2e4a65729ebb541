// Overview: counts, rates and latency from the server's own Prometheus
// metrics, sampled every few seconds while the page is open (the samples
// stay for the tab's life, so coming back shows the trend so far).
import { h, page, card, num, ago } from "./ui.js";
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

async function sample() {
  const res = await fetch("/metrics");
  const m = parseMetrics(await res.text());
  samples.push({ t: Date.now(), ingested: m.values.affinity_events_ingested_total || 0, requests: m.requests, buckets: m.buckets, values: m.values });
  if (samples.length > MAX_SAMPLES) samples.shift();
}

function rates() {
  const out = { ingest: [], req: [] };
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1], b = samples[i], min = (b.t - a.t) / 60000;
    out.ingest.push([b.t, Math.max(0, b.ingested - a.ingested) / min]);
    out.req.push([b.t, Math.max(0, b.requests - a.requests) / min]);
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
    h("div", { class: "lists two" },
      h("section", null, h("h2", null, "Events per minute"),
        lineChart("Events ingested per minute while this page is open", [{ name: "events/min", points: r.ingest }], { xFmt: hhmm, yFmt: (x) => num(x) })),
      h("section", null, h("h2", null, "Requests per minute"),
        lineChart("API requests per minute while this page is open", [{ name: "requests/min", points: r.req }], { xFmt: hhmm, yFmt: (x) => num(x) }))),
    ...clusterView(v));
}

// clusterView shows this node's place in the cluster stream when the
// server runs in cluster mode (its /metrics has affinity_cluster_*);
// a single node shows nothing. /metrics is this node's only: the other
// nodes' lag is on their own consoles.
function clusterView(v) {
  if (v.affinity_cluster_applied_seq === undefined) return [];
  const stalled = v.affinity_cluster_stalled_seq > 0, silent = v.affinity_cluster_silent_seconds > 0;
  return [h("h2", null, "This node in the cluster"),
    stalled ? h("p", { class: "error", role: "alert" }, `The apply stopped at stream sequence ${num(v.affinity_cluster_stalled_seq)}: it could not be applied.`) : null,
    silent ? h("p", { class: "notice", role: "note" }, `The stream has not answered this node's polls for ${ago(v.affinity_cluster_silent_seconds)}.`) : null,
    h("div", { class: "cards", id: "cluster" },
      card("Applied sequence", num(v.affinity_cluster_applied_seq), "last stream message applied here"),
      card("Stream head", num(v.affinity_cluster_head_seq), "at the last poll"),
      card("Lag", `${num(v.affinity_cluster_lag_messages)} messages`, `${num(v.affinity_cluster_lag_seconds, 1)} s of writes behind`),
      card("Apply rate", `${num(v.affinity_cluster_apply_rate, 1)}/s`, "messages over the last poll"))].filter(Boolean);
}

export async function overview() {
  const box = h("div", null, h("p", { class: "muted" }, "Loading…"));
  page("Overview", h("p", { class: "lead" }, "What the server holds and how it is doing, from its own ", h("a", { href: "/metrics" }, "/metrics"), ", sampled every 5 s."), box);
  await sample();
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
