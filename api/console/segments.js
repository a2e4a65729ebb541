// Segments: list with sizes; create and edit a rule with validation as you
// type; a segment's members (paged) and its lift products.
import { get, api, enc } from "./api.js";
import { h, page, table, field, fill, num, guard, customerLink, productLink, errorBox } from "./ui.js";
import { ruleEditor } from "./rule.js";
import { labelled, pager } from "./products.js";

const FIELDS = "recency_days, frequency, monetary, r_score, f_score, m_score, tier, historical_value, current_value, potential_value, events, attributes.NAME";

function segmentForm(name, rule) {
  const editor = ruleEditor("rule", "Rule", rule, { segment: true, help: `Fields: ${FIELDS}. Example: monetary > 1000 && frequency >= 5` });
  const result = h("div", { id: "segment-result", "aria-live": "polite" });
  const nameField = name ? h("input", { type: "hidden", name: "name", value: name }) : field("Name", "name", { required: true, pattern: "[a-z0-9][a-z0-9_\\-]*", placeholder: "e.g. big-spenders" }, "Lower-case letters, digits, - and _.");
  const form = h("form", { class: "panel", id: "segment-form", onsubmit: async (e) => {
    e.preventDefault();
    const n = name || form.querySelector("#name").value.trim();
    try {
      const seg = await api("PUT", `/v1/segments/${enc(n)}`, { rule: form.querySelector("#rule").value });
      result.replaceChildren(h("p", { class: "ok" }, `Saved ${seg.name}: ${num(seg.members)} members.`));
      if (!name) location.hash = `#/segments/${enc(seg.name)}`;
      else setTimeout(() => location.reload(), 0);
    } catch (err) {
      if (err.field === "rule") editor.showError(err.message);
      result.replaceChildren(errorBox(err));
    }
  } }, h("h2", null, name ? "Edit the rule" : "New segment"), nameField, editor, h("button", { type: "submit" }, name ? "Save rule" : "Create segment"), result);
  return guard(form, "admin");
}

export async function segments() {
  const list = h("div", { id: "segment-list" });
  page("Segments", list, segmentForm("", ""));
  await fill(list, get("/v1/segments"), (r) => table("Segments", ["Segment", "Members", "Rule"],
    r.segments.map((s) => [h("a", { href: `#/segments/${enc(s.name)}` }, s.name), num(s.members), h("code", null, s.rule)]), { id: "segment-table" }));
}

export async function segment(name) {
  const s = await get(`/v1/segments/${enc(name)}`);
  const params = new URLSearchParams(location.hash.split("?")[1] || "");
  const offset = Number(params.get("offset") || 0);
  const members = h("div", { id: "members" }), lift = h("div", { id: "lift" });
  page(`Segment ${name}`,
    h("p", { class: "lead" }, h("span", { id: "segment-size" }, num(s.members)), " members · rule ", h("code", null, s.rule)),
    h("div", { class: "lists two" },
      h("section", null, h("h2", null, "Members"), members),
      h("section", null, h("h2", null, "Products this segment buys more than everyone"), lift)),
    segmentForm(name, s.rule));
  fill(members, get(`/v1/segments/${enc(name)}/members?limit=50&offset=${offset}`), (r) => [
    h("ul", { class: "chips" }, r.members.map((m) => h("li", null, customerLink(m.customer_id)))), pager(params, offset, 50, r.total)]);
  await fill(lift, get(`/v1/segments/${enc(name)}/products?limit=10`).then(async (l) => ({ l, labels: await labelled(l.items.map((i) => i.product_id)) })),
    ({ l, labels }) => l.items.length ? h("ol", { class: "reclist", id: "lift-list" }, l.items.map((it, i) => h("li", null, productLink(it.product_id), " ", h("span", { class: "muted" }, labels[i]), h("span", { class: "score" }, `lift ${num(it.score, 2)}`))))
      : h("p", { class: "muted" }, "No product stands out for this segment yet."));
}
