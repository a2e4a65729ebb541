// Per-item explanations (explain=true on a list): a short "because X, Y"
// line on each item that opens, as a disclosure, to the parts of its
// score: the products that scored it (history or context), the customer's
// segments that buy it more, its popularity and the merchandising rules
// that moved it. A native <details> is used so that it opens with Enter or
// Space and needs no script of its own.
import { h, num, productLink } from "./ui.js";

const ACTION = { boost: "boosted", bury: "buried", pin: "pinned" };

// summaryText is the closed line: the products first, then what moved it.
export function summaryText(ex) {
  const parts = [];
  const because = ex.because || [];
  if (because.length) parts.push("because " + because.map((b) => b.product_id + (b.context ? " (viewing)" : "")).join(", "));
  else parts.push("popular");
  for (const r of ex.rules || []) parts.push(`${ACTION[r.action] || r.action} by ${r.rule}`);
  if ((ex.segments || []).length) parts.push(`bought more by ${ex.segments.join(", ")}`);
  return parts.join(" · ");
}

// explainView renders an item's explain object, or nothing without one.
export function explainView(ex) {
  if (!ex) return null;
  const rows = [["Score before rules", num(ex.base, 3)]];
  if ((ex.because || []).length) {
    rows.push(["Scored by", h("ul", { class: "because" }, ex.because.map((b) => h("li", null, productLink(b.product_id),
      ` +${num(b.score, 3)}`, h("span", { class: "muted" }, b.context ? " (being viewed)" : " (in their history)"))))]);
  }
  if ((ex.segments || []).length) {
    rows.push(["Their segments buying it more", ex.segments.map((s) => [h("a", { href: `#/segments/${encodeURIComponent(s)}` }, s), " "])]);
  }
  rows.push(["Popularity", `${num(ex.popularity)} customers`]);
  if ((ex.rules || []).length) {
    rows.push(["Rules", ex.rules.map((r, i) => [i ? ", " : "", h("a", { href: `#/rules/${encodeURIComponent(r.rule)}` }, r.rule), ` (${r.action})`])]);
  }
  return h("details", { class: "explain" }, h("summary", null, summaryText(ex)),
    h("dl", null, rows.map(([k, v]) => [h("dt", null, k), h("dd", null, v)])));
}
