// Merchandising rules (/v1/rules): list, create, edit and delete; a rule
// page shows what it does to the popular list. A wrong `when` gets the
// server's 400 shown under the line and column it names as it is typed
// (POST /v1/rules/check with kind "product", as the segment editor does),
// and again on saving.
import { get, api, enc, qs } from "./api.js";
import { h, page, table, field, fill, num, guard, errorBox, productLink } from "./ui.js";
import { ruleEditor } from "./rule.js";
import { labelled } from "./products.js";
import { summaryText } from "./explain.js";

const FIELDS = "product_id, category, brand, price, tags, available, attributes.NAME";
const ACTIONS = [{ value: "boost", label: "boost (score × (1 + weight))" }, { value: "bury", label: "bury (score ÷ (1 + weight))" },
  { value: "pin", label: "pin (best match at a position)" }, { value: "filter", label: "filter (leave matches out)" }];

function ruleForm(r) {
  const editor = ruleEditor("when", "When", r ? r.when : "", { kind: "product", help: `Product fields: ${FIELDS}. Example: price < 5 && category == "mug"` });
  const result = h("div", { id: "rule-result", "aria-live": "polite" });
  const form = h("form", { class: "panel grid", id: "rule-form", onsubmit: async (e) => {
    e.preventDefault();
    const f = new FormData(form);
    const name = r ? r.name : String(f.get("name")).trim();
    const action = f.get("action");
    const body = { when: f.get("when"), action };
    if (action === "boost" || action === "bury") body.weight = Number(f.get("weight") || 1);
    if (action === "pin") body.position = Number(f.get("position") || 1);
    try {
      const saved = await api("PUT", `/v1/rules/${enc(name)}`, body);
      result.replaceChildren(h("p", { class: "ok" }, `Saved rule ${saved.name}.`));
      if (!r) location.hash = `#/rules/${enc(saved.name)}`; else setTimeout(() => location.reload(), 0);
    } catch (err) {
      if (err.field === "when") editor.showError(err.message);
      const bad = err.field && form.querySelector(`[name="${err.field}"]`);
      if (bad) { bad.setAttribute("aria-invalid", "true"); bad.focus(); }
      result.replaceChildren(errorBox(err));
    }
  } },
  h("h2", null, r ? "Edit the rule" : "New rule"),
  r ? null : field("Name", "name", { required: true, pattern: "[a-z0-9][a-z0-9_\\-]*", placeholder: "e.g. cheap-mugs" }, "Lower-case letters, digits, - and _."),
  editor,
  field("Action", "action", { tag: "select", options: ACTIONS }),
  field("Weight (boost, bury)", "weight", { type: "number", step: "any", min: 0, value: r && r.weight ? r.weight : 1 }),
  field("Position (pin)", "position", { type: "number", step: 1, min: 1, value: r && r.position ? r.position : 1 }),
  h("div", { class: "actions" }, h("button", { type: "submit" }, r ? "Save rule" : "Create rule")), result);
  if (r) form.querySelector("#action").value = r.action;
  return guard(form, "admin");
}

const effect = (r) => r.action === "pin" ? `pin at ${r.position}` : r.action === "filter" ? "filter" : `${r.action} ×${num(1 + r.weight, 2)}`;

export async function rules() {
  const list = h("div", { id: "rule-list" });
  page("Rules", h("p", { class: "lead" }, "Merchandising rules boost, bury, pin or filter the products they match in the lists that name them (", h("code", null, "rules=NAME"), ", or an experiment variant's ", h("code", null, "rules"), ")."),
    list, ruleForm(null));
  await fill(list, get("/v1/rules"), (r) => table("Rules", ["Rule", "Does", "When"],
    r.rules.map((x) => [h("a", { href: `#/rules/${enc(x.name)}` }, x.name), effect(x), h("code", null, x.when)]), { id: "rule-table" }));
}

function deleteButton(name) {
  let armed = false;
  const btn = h("button", { type: "button", class: "secondary", id: "delete-rule", onclick: async () => {
    if (!armed) { armed = true; btn.textContent = `Really delete ${name}`; return; }
    try { await api("DELETE", `/v1/rules/${enc(name)}`); location.hash = "#/rules"; } catch (err) { btn.after(errorBox(err)); }
  } }, "Delete rule");
  return guard(h("div", { class: "panel" }, btn), "admin");
}

export async function rule(name) {
  const r = await get(`/v1/rules/${enc(name)}`);
  const before = h("div", { id: "rule-before" }), after = h("div", { id: "rule-after" });
  page(`Rule ${name}`,
    h("p", { class: "lead", id: "rule-effect" }, effect(r), " the products where ", h("code", null, r.when)),
    h("div", { class: "lists two" },
      h("section", null, h("h2", null, "Popular list"), before),
      h("section", null, h("h2", null, "With this rule"), after)),
    ruleForm(r), deleteButton(name));
  const show = (l) => labelled(l.items.map((i) => i.product_id)).then((labels) => l.items.length
    ? h("ol", { class: "reclist" }, l.items.map((it, i) => h("li", null, productLink(it.product_id), " ", h("span", { class: "muted" }, labels[i]),
      it.explain && (it.explain.rules || []).length ? h("div", { class: "why" }, summaryText({ rules: it.explain.rules, because: [] }).replace(/^popular · /, "")) : null)))
    : h("p", { class: "muted" }, "Empty list."));
  fill(before, get("/v1/popular?limit=10").then(show), (n) => n);
  await fill(after, get("/v1/popular" + qs({ limit: 10, rules: name, explain: true })).then(show), (n) => n);
}
