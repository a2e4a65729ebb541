// Customers: look up by id; a profile with value, segments, the event
// history as a timeline, and live previews of the personal list and the
// next-best-offer, with a "what if" box (context product, experiment variant).
import { get, qs, enc, can } from "./api.js";
import { h, page, table, field, fill, card, num, money, pct, productLink, customerLink, errorBox } from "./ui.js";
import { timeline } from "./charts.js";
import { labelled, pager } from "./products.js";
import { explainView } from "./explain.js";

export async function customers() {
  const sample = h("div", { id: "customer-sample" });
  const form = h("form", { class: "panel row", role: "search", onsubmit: (e) => {
    e.preventDefault();
    const id = new FormData(form).get("customer").trim();
    if (id) location.hash = `#/customers/${enc(id)}`;
  } }, field("Customer id", "customer", { required: true, placeholder: "e.g. 17809", autocomplete: "off" }), h("button", { type: "submit" }, "Open profile"));
  page("Customers", form, h("h2", null, "Some customers with events"), sample);
  if (!can("admin")) {
    // Listing customers is an admin operation; looking one up is not.
    sample.replaceChildren(h("p", { class: "muted" }, "Listing customers needs an admin key; look a customer up by id above."));
    sample.setAttribute("data-ready", "ok");
    return;
  }
  await fill(sample, get("/v1/customers?limit=24"), (r) => h("ul", { class: "chips" }, r.customers.map((c) => h("li", null, customerLink(c)))));
}

const TIER_NOTE = {
  champions: "bought recently, often and much", loyal: "buy often", promising: "recent, not yet frequent",
  needs_attention: "above average, slipping", at_risk: "were good, not seen lately", hibernating: "low and lapsed",
  lost: "long gone", prospect: "no purchase yet",
};

function valueCards(v) {
  if (!v) return h("p", { class: "muted" }, "No purchases yet: no value figures.");
  return h("div", { class: "cards", id: "value-cards" },
    card("Tier", v.tier.replace("_", " "), TIER_NOTE[v.tier]),
    card("Recency", `${num(v.recency_days, 0)} days`, `R score ${v.r_score}/5`),
    card("Frequency", `${num(v.frequency)} orders`, `F score ${v.f_score}/5`),
    card("Monetary", money(v.monetary), `M score ${v.m_score}/5`),
    card("Historical value", money(v.historical_value)),
    card("Current value", money(v.current_value)),
    card("Potential value", money(v.potential_value)),
    // null until the BG/NBD and Gamma-Gamma models are fitted (docs/customer-value.md).
    v.churn_risk == null ? card("Churn risk", "not fitted yet", "chance of no purchase in the next 90 days")
      : card("Churn risk", pct(v.churn_risk), `chance of no purchase in the next 90 days (still buying at all: ${pct(v.p_alive)})`),
    card("Expected value", v.expected_value == null ? "not fitted yet" : money(v.expected_value), "expected revenue over the next 90 days"));
}

async function history(id, box, offset = 0) {
  await fill(box, get(`/v1/customers/${enc(id)}/events?limit=100&offset=${offset}`), (r) => [
    timeline(`Events of customer ${id}, by type over time`, r.events),
    table(`Latest events (${num(r.total)} in all)`, ["When", "Type", "Product"],
      r.events.slice(0, 20).map((e) => [e.timestamp.replace("T", " ").replace(":00Z", ""), e.type, productLink(e.product_id)]), { id: "event-table" })]);
}

// listView renders a list reply, marking what changed against base.
async function listView(l, base) {
  const labels = await labelled(l.items.map((i) => i.product_id));
  const before = base ? new Map(base.items.map((it, i) => [it.product_id, i])) : null;
  return [
    h("p", { class: "muted" }, `ranked by ${l.algorithm}`, l.experiment ? ` · experiment ${l.experiment}, variant ${l.variant}` : ""),
    l.items.length ? h("ol", { class: "reclist" }, l.items.map((it, i) => {
      let why = "";
      if (before) {
        const was = before.get(it.product_id);
        why = was === undefined ? "new" : was > i ? `up ${was - i}` : was < i ? `down ${i - was}` : "";
      }
      return h("li", null, productLink(it.product_id), " ", h("span", { class: "muted" }, labels[i]),
        h("span", { class: "score" }, `score ${num(it.score, 3)}`), why ? h("span", { class: "delta" }, why) : null, explainView(it.explain));
    })) : h("p", { class: "muted" }, "Empty list."),
  ];
}

function nboView(r) {
  if (!r.offers.length) return h("p", { class: "muted" }, "No offer is eligible for this customer now.");
  return h("ol", { class: "reclist" }, r.offers.map((o) => h("li", null,
    h("a", { href: `#/offers/${enc(o.offer_id)}` }, o.name || o.offer_id),
    h("span", { class: "score" }, `score ${num(o.score, 3)}`),
    h("div", { class: "why" }, `${o.reason} — propensity ${num(o.propensity, 3)} (expected ${num(o.expected_propensity, 3)}, prior ${num(o.prior, 3)}), value ${money(o.value)}, priority ${num(o.priority, 1)}, basis ${o.basis}, ${num(o.responses)} responses`))));
}

export async function customer(id) {
  // #/customers/ID?context=P&variant=EXP/VAR opens with the what-if run (a link to share).
  const params = new URLSearchParams(location.hash.split("?")[1] || "");
  const prof = await get(`/v1/customers/${enc(id)}/profile`);
  const hist = h("div", { id: "history" });
  const recs = h("div", { id: "recs" });
  const whatIf = h("div", { id: "recs-whatif" });
  const nbo = h("div", { id: "nbo" });
  const exps = await get("/v1/experiments").catch(() => ({ experiments: [] }));
  const variantOpts = [{ value: "", label: "none (as served)" }];
  for (const x of exps.experiments) for (const v of x.variants) variantOpts.push({ value: `${x.id}\u0000${v.name}`, label: `${x.id}: ${v.name}` });
  const rules = (await get("/v1/rules").catch(() => ({ rules: [] }))).rules; // a server without merchandising rules: no picker
  const picked = new Set((params.get("rules") || "").split(",").filter(Boolean));
  const rulePicker = rules.length ? h("fieldset", { id: "whatif-rules" }, h("legend", null, "Merchandising rules"),
    rules.map((r) => h("div", { class: "field check" },
      h("input", { type: "checkbox", id: `rule-${r.name}`, name: "rules", value: r.name, checked: picked.has(r.name) }),
      h("label", { for: `rule-${r.name}` }, r.name, h("span", { class: "muted" }, ` (${r.action})`))))) : null;
  const form = h("form", { class: "panel", id: "whatif", onsubmit: (e) => { e.preventDefault(); runWhatIf(); } },
    h("h3", null, "What if"),
    h("div", { class: "row" },
      field("Context product (being viewed)", "context", { placeholder: "product id", list: "ctx-products", autocomplete: "off" }),
      field("Experiment variant", "variant", { tag: "select", options: variantOpts }),
      h("button", { type: "submit" }, "Preview")),
    rulePicker,
    h("datalist", { id: "ctx-products" }));
  let base = null;
  async function runWhatIf() {
    const f = new FormData(form);
    const [x, v] = (f.get("variant") || "").split("\u0000");
    const ctx = (f.get("context") || "").trim();
    const rs = f.getAll("rules").join(",");
    if (!ctx && !x && !rs) { whatIf.replaceChildren(); return; }
    await fill(whatIf, get(`/v1/customers/${enc(id)}/recommendations` + qs({ limit: 10, context_product: ctx, experiment: x, variant: v, rules: rs, preview: true, explain: true }))
      .then((l) => listView(l, base)), (nodes) => [h("h3", null, "With the what-if", ctx ? ` (viewing ${ctx})` : "", x ? ` (${x}/${v})` : "", rs ? ` (rules ${rs})` : ""), ...nodes]);
  }
  page(`Customer ${id}`,
    h("p", { class: "lead" }, `${num(prof.events)} events · segments: `,
      prof.segments.length ? prof.segments.map((s) => [h("a", { class: "chip", href: `#/segments/${enc(s)}` }, s), " "]) : "none"),
    Object.keys(prof.attributes).length ? h("p", { class: "muted" }, "Attributes: ", Object.entries(prof.attributes).map(([k, v]) => `${k}=${v}`).join(", ")) : null,
    valueCards(prof.value),
    h("div", { class: "lists two" },
      h("section", { "aria-labelledby": "h-recs" }, h("h2", { id: "h-recs" }, "Personal list now"), recs, form, whatIf),
      h("section", { "aria-labelledby": "h-nbo" }, h("h2", { id: "h-nbo" }, "Next-best-offer"), nbo,
        h("p", { class: "help" }, "Each preview draws from the offers' propensity (Thompson sampling), so the order may change between previews."))),
    h("h2", null, "Event history"), hist);
  const hp = history(id, hist);
  await fill(recs, get(`/v1/customers/${enc(id)}/recommendations?limit=10&preview=true&explain=true`).then((l) => { base = l; return listView(l); }), (n) => n);
  fill(nbo, get(`/v1/customers/${enc(id)}/next-best-offer?limit=3&preview=true`), nboView);
  await hp;
  if (params.get("context") || params.get("variant") || picked.size) {
    form.querySelector("#context").value = params.get("context") || "";
    const [x, v] = (params.get("variant") || "").split("/");
    if (x) form.querySelector("#variant").value = `${x}\u0000${v}`;
    await runWhatIf();
  }
  const seen = [...new Set([...hist.querySelectorAll("#event-table a")].map((a) => a.textContent))].slice(0, 20);
  form.querySelector("datalist").replaceChildren(...seen.map((p) => h("option", { value: p })));
}
