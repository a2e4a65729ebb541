// Hand-built SVG charts, as the experiment report page draws them: the
// console needs seven plain chart kinds, which fit in this file; a vendored
// library would add more bytes than the whole console and its licence.
import { h } from "./ui.js";

const W = 640, H = 240, PAD = { l: 56, r: 16, t: 16, b: 36 };

function frame(title, w = W, ht = H) {
  return h("svg", { viewBox: `0 0 ${w} ${ht}`, role: "img", "aria-label": title, class: "chart",
    preserveAspectRatio: "xMidYMid meet" }, h("title", null, title));
}

function ticks(min, max, n = 4) {
  if (max <= min) max = min + 1;
  const step = niceStep((max - min) / n);
  const out = [];
  for (let v = Math.ceil(min / step) * step; v <= max + 1e-9; v += step) out.push(+v.toFixed(10));
  return out;
}
function niceStep(raw) {
  const p = Math.pow(10, Math.floor(Math.log10(raw || 1)));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

function yAxis(svg, y, min, max, fmt) {
  for (const t of ticks(min, max)) {
    svg.append(h("line", { x1: PAD.l, x2: W - PAD.r, y1: y(t), y2: y(t), class: "grid" }),
      h("text", { x: PAD.l - 6, y: y(t) + 4, "text-anchor": "end", class: "tick" }, fmt(t)));
  }
}

// lineChart: series [{name, points: [[x, y], ...]}], x numeric (ms for time).
export function lineChart(title, series, { xFmt = String, yFmt = String, yMin = 0 } = {}) {
  const svg = frame(title);
  const pts = series.flatMap((s) => s.points);
  if (pts.length < 2) {
    svg.append(h("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "tick" }, "Collecting samples…"));
    return svg;
  }
  const x0 = Math.min(...pts.map((p) => p[0])), x1 = Math.max(...pts.map((p) => p[0]));
  const y1 = Math.max(...pts.map((p) => p[1]), yMin + 1) * 1.1; // at least 1: all zeros still get a readable axis
  const x = (v) => PAD.l + (W - PAD.l - PAD.r) * (x1 === x0 ? 0 : (v - x0) / (x1 - x0));
  const y = (v) => H - PAD.b - (H - PAD.t - PAD.b) * ((v - yMin) / (y1 - yMin));
  yAxis(svg, y, yMin, y1, yFmt);
  svg.append(h("text", { x: PAD.l, y: H - 10, class: "tick" }, xFmt(x0)),
    h("text", { x: W - PAD.r, y: H - 10, "text-anchor": "end", class: "tick" }, xFmt(x1)));
  series.forEach((s, i) => {
    svg.append(h("polyline", { points: s.points.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(" "),
      class: `line s${i}` }));
    svg.append(h("text", { x: PAD.l + 8 + i * 170, y: PAD.t + 4, class: `legend s${i}` }, s.name));
  });
  return svg;
}

// barChart: bars [{label, value}], horizontal so that long labels fit a phone.
export function barChart(title, bars, { fmt = String } = {}) {
  const rowH = 26, ht = PAD.t + bars.length * rowH + 8, lw = 130;
  const svg = frame(title, W, ht);
  const max = Math.max(...bars.map((b) => b.value), 1e-9);
  bars.forEach((b, i) => {
    const yy = PAD.t + i * rowH;
    const w = (W - lw - 90) * (b.value / max);
    svg.append(h("text", { x: lw - 8, y: yy + 15, "text-anchor": "end", class: "tick" }, b.label),
      h("rect", { x: lw, y: yy + 3, width: Math.max(w, 0.5).toFixed(1), height: rowH - 8, class: "bar" },
        h("title", null, `${b.label}: ${fmt(b.value)}`)),
      h("text", { x: lw + w + 6, y: yy + 15, class: "tick" }, fmt(b.value)));
  });
  return svg;
}

// lorenz: curve[k] is the revenue share of the top k×5% of buyers; the
// 80/20 line is marked at 20% of customers.
export function lorenz(title, curve) {
  const svg = frame(title, W, 300);
  const ht = 300, x = (v) => PAD.l + (W - PAD.l - PAD.r) * v, y = (v) => ht - PAD.b - (ht - PAD.t - PAD.b) * v;
  for (const t of [0, 0.2, 0.4, 0.6, 0.8, 1]) {
    svg.append(h("line", { x1: PAD.l, x2: W - PAD.r, y1: y(t), y2: y(t), class: "grid" }),
      h("text", { x: PAD.l - 6, y: y(t) + 4, "text-anchor": "end", class: "tick" }, `${t * 100}%`),
      h("text", { x: x(t), y: ht - PAD.b + 16, "text-anchor": "middle", class: "tick" }, `${t * 100}%`));
  }
  svg.append(h("text", { x: W / 2, y: ht - 4, "text-anchor": "middle", class: "tick" }, "share of customers (best first)"));
  svg.append(h("line", { x1: x(0), y1: y(0), x2: x(1), y2: y(1), class: "equal" }));
  svg.append(h("polyline", { class: "line s0", points: curve.map((v, k) => `${x(k / 20).toFixed(1)},${y(v).toFixed(1)}`).join(" ") }));
  const top = curve[4];
  svg.append(h("line", { x1: x(0.2), x2: x(0.2), y1: y(0), y2: y(1), class: "mark" }),
    h("line", { x1: x(0), x2: x(1), y1: y(0.8), y2: y(0.8), class: "mark" }),
    h("circle", { cx: x(0.2), cy: y(top), r: 5, class: "dot" }),
    h("text", { x: x(0.2) + 8, y: y(top) + 16, class: "legend" }, `top 20% bring ${(top * 100).toFixed(1)}% (80/20 line dashed)`));
  return svg;
}

// timeline: events [{timestamp, type}] as dots on a time axis, one row per type.
export function timeline(title, events) {
  const types = [...new Set(events.map((e) => e.type))].sort();
  const ht = PAD.t + types.length * 28 + PAD.b;
  const svg = frame(title, W, ht);
  if (!events.length) return svg;
  const ts = events.map((e) => Date.parse(e.timestamp));
  let t0 = Math.min(...ts), t1 = Math.max(...ts);
  if (t1 === t0) { t0 -= 86400000; t1 += 86400000; }
  const lw = 90;
  const x = (v) => lw + (W - lw - PAD.r) * ((v - t0) / (t1 - t0));
  types.forEach((t, i) => svg.append(h("text", { x: lw - 8, y: PAD.t + i * 28 + 18, "text-anchor": "end", class: "tick" }, t),
    h("line", { x1: lw, x2: W - PAD.r, y1: PAD.t + i * 28 + 14, y2: PAD.t + i * 28 + 14, class: "grid" })));
  events.forEach((e, j) => {
    const i = types.indexOf(e.type);
    svg.append(h("circle", { cx: x(ts[j]).toFixed(1), cy: PAD.t + i * 28 + 14, r: 4, class: `dot t${i % 4}` },
      h("title", null, `${e.timestamp} ${e.type} ${e.product_id}`)));
  });
  const d = (v) => new Date(v).toISOString().slice(0, 10);
  svg.append(h("text", { x: lw, y: ht - 10, class: "tick" }, d(t0)),
    h("text", { x: W - PAD.r, y: ht - 10, "text-anchor": "end", class: "tick" }, d(t1)));
  return svg;
}

// intervals: rows [{name, value, low, high}] as points with 95% whiskers.
export function intervals(title, rows, { fmt = String, zero = null } = {}) {
  const rowH = 30, lw = 130, ht = PAD.t + rows.length * rowH + 30;
  const svg = frame(title, W, ht);
  const lo = Math.min(...rows.map((r) => r.low), zero ?? Infinity), hi = Math.max(...rows.map((r) => r.high), zero ?? -Infinity);
  const span = hi - lo || 1;
  const x = (v) => lw + (W - lw - 80) * ((v - lo) / span);
  if (zero !== null) svg.append(h("line", { x1: x(zero), x2: x(zero), y1: PAD.t, y2: ht - 24, class: "mark" }));
  rows.forEach((r, i) => {
    const yy = PAD.t + i * rowH + 14;
    svg.append(h("text", { x: lw - 8, y: yy + 4, "text-anchor": "end", class: "tick" }, r.name),
      h("line", { x1: x(r.low), x2: x(r.high), y1: yy, y2: yy, class: "whisker" }),
      h("circle", { cx: x(r.value), cy: yy, r: 5, class: "dot" }, h("title", null, `${r.name}: ${fmt(r.value)} (${fmt(r.low)} to ${fmt(r.high)})`)),
      h("text", { x: W - 74, y: yy + 4, class: "tick" }, fmt(r.value)));
  });
  svg.append(h("text", { x: lw, y: ht - 8, class: "tick" }, fmt(lo)), h("text", { x: W - 80, y: ht - 8, "text-anchor": "end", class: "tick" }, fmt(hi)));
  return svg;
}

// columns: grouped vertical bars per bucket, series [{name, values}] over
// labels (bucket starts); one bucket or a thousand, the bars share the width.
export function columns(title, labels, series, { fmt = String, xFmt = String } = {}) {
  const svg = frame(title);
  const n = labels.length, max = Math.max(1, ...series.flatMap((s) => s.values));
  const y = (v) => H - PAD.b - (H - PAD.t - PAD.b) * (v / (max * 1.1));
  yAxis(svg, y, 0, max * 1.1, fmt);
  const slot = (W - PAD.l - PAD.r) / Math.max(n, 1), bw = Math.min(Math.max(slot * 0.8 / series.length, 0.5), 40);
  const gap = (slot - bw * series.length) / 2; // a few wide buckets: the bars stay narrow, centred in theirs
  series.forEach((s, k) => {
    const g = h("g", { class: `bars s${k}` });
    s.values.forEach((v, i) => {
      if (!v) return;
      g.append(h("rect", { x: (PAD.l + i * slot + gap + k * bw).toFixed(1), y: y(v).toFixed(1), width: bw.toFixed(1),
        height: Math.max(H - PAD.b - y(v), 0.5).toFixed(1) }, h("title", null, `${xFmt(labels[i])} ${s.name}: ${fmt(v)}`)));
    });
    svg.append(g, h("text", { x: PAD.l + 8 + k * 150, y: PAD.t + 4, class: `legend s${k}` }, s.name));
  });
  if (n) {
    svg.append(h("text", { x: PAD.l, y: H - 10, class: "tick" }, xFmt(labels[0])));
    if (n > 1) svg.append(h("text", { x: W - PAD.r, y: H - 10, "text-anchor": "end", class: "tick" }, xFmt(labels[n - 1])));
  }
  return svg;
}

// rateBand: a rate per bucket with its 95% interval as a vertical whisker;
// rows[i] is {value, low, high} or null (no answers in that bucket).
export function rateBand(title, labels, rows, { fmt = String, xFmt = String } = {}) {
  const svg = frame(title);
  const n = labels.length, slot = (W - PAD.l - PAD.r) / Math.max(n, 1);
  const x = (i) => PAD.l + slot * (i + 0.5), y = (v) => H - PAD.b - (H - PAD.t - PAD.b) * v;
  yAxis(svg, y, 0, 1, fmt);
  const pts = [];
  rows.forEach((r, i) => {
    if (!r) return;
    pts.push(`${x(i).toFixed(1)},${y(r.value).toFixed(1)}`);
    svg.append(h("line", { x1: x(i), x2: x(i), y1: y(r.low), y2: y(r.high), class: "whisker" }),
      h("circle", { cx: x(i).toFixed(1), cy: y(r.value).toFixed(1), r: n > 60 ? 2 : 4, class: "dot" },
        h("title", null, `${xFmt(labels[i])}: ${fmt(r.value)} (${fmt(r.low)} to ${fmt(r.high)})`)));
  });
  if (pts.length > 1) svg.append(h("polyline", { points: pts.join(" "), class: "line s0" }));
  if (!pts.length) svg.append(h("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "tick" }, "No answers yet."));
  if (n) {
    svg.append(h("text", { x: PAD.l, y: H - 10, class: "tick" }, xFmt(labels[0])));
    if (n > 1) svg.append(h("text", { x: W - PAD.r, y: H - 10, "text-anchor": "end", class: "tick" }, xFmt(labels[n - 1])));
  }
  return svg;
}
