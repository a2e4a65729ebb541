// Offers: list, create and edit (eligibility, window, caps, budget,
// channels) and performance (shown, accepted, rate with its interval,
// budget left), in total and over time (GET /v1/offers/{id}/performance).
import { get, api, enc } from "./api.js";
import { h, page, table, field, fill, num, pct, money, guard, errorBox, productLink } from "./ui.js";
import { ruleEditor } from "./rule.js";
import { intervals, columns, rateBand } from "./charts.js";
import { audienceTable, audienceAllowed, statusLine } from "./audience.js";

const rate = (r) => `${pct(r.value)} (${pct(r.low)}–${pct(r.high)})`;
const local = (t) => (t ? t.slice(0, 16) : ""); // RFC 3339 to datetime-local (UTC shown)

function offerForm(o) {
  const id = o ? o.offer_id : "";
  const elig = ruleEditor("eligibility", "Eligibility (empty: everyone)", o ? o.eligibility : "", { help: "A rule over the customer's profile, e.g. tier == \"at_risk\" || \"vip\" in segments" });
  const result = h("div", { id: "offer-result", "aria-live": "polite" });
  const form = h("form", { class: "panel grid", id: "offer-form", onsubmit: async (e) => {
    e.preventDefault();
    const f = new FormData(form);
    const oid = id || String(f.get("offer_id")).trim();
    const list = (s) => String(s || "").split(/[\s,]+/).filter(Boolean);
    const time = (s) => (s ? new Date(s + "Z").toISOString() : null);
    const body = {
      name: f.get("name"), products: list(f.get("products")), category: f.get("category"), eligibility: f.get("eligibility"),
      value: Number(f.get("value") || 0), priority: Number(f.get("priority") || 1),
      starts_at: time(f.get("starts_at")), ends_at: time(f.get("ends_at")),
      max_per_customer: Number(f.get("max_per_customer") || 0), budget: Number(f.get("budget") || 0), channels: list(f.get("channels")),
    };
    try {
      const saved = await api("PUT", `/v1/offers/${enc(oid)}`, body);
      result.replaceChildren(h("p", { class: "ok" }, `Saved offer ${saved.offer_id}.`));
      if (!id) location.hash = `#/offers/${enc(saved.offer_id)}`; else setTimeout(() => location.reload(), 0);
    } catch (err) {
      if (err.field === "eligibility") elig.showError(err.message);
      const bad = err.field && form.querySelector(`[name="${err.field.split(/[.[]/)[0]}"]`);
      if (bad) { bad.setAttribute("aria-invalid", "true"); bad.focus(); }
      result.replaceChildren(errorBox(err));
    }
  } },
  h("h2", null, o ? "Edit the offer" : "New offer"),
  o ? null : field("Offer id", "offer_id", { required: true, placeholder: "e.g. spring-sale" }),
  field("Name", "name", { value: o ? o.name : "" }),
  field("Products (ids, comma separated)", "products", { value: o && o.products ? o.products.join(", ") : "" }),
  field("Category", "category", { value: o ? o.category : "" }),
  elig,
  field("Value", "value", { type: "number", step: "any", min: 0, value: o ? o.value : 1 }),
  field("Priority", "priority", { type: "number", step: "any", min: 0, value: o ? o.priority : 1 }),
  field("Starts (UTC)", "starts_at", { type: "datetime-local", value: o ? local(o.starts_at) : "" }),
  field("Ends (UTC)", "ends_at", { type: "datetime-local", value: o ? local(o.ends_at) : "" }),
  field("Cap per customer (0: none)", "max_per_customer", { type: "number", min: 0, step: 1, value: o ? o.max_per_customer : 0 }),
  field("Budget: acceptances (0: none)", "budget", { type: "number", min: 0, step: 1, value: o ? o.budget : 0 }),
  field("Channels (comma separated, empty: all)", "channels", { value: o && o.channels ? o.channels.join(", ") : "" }),
  h("div", { class: "actions" }, h("button", { type: "submit" }, o ? "Save offer" : "Create offer")), result);
  return guard(form, "admin");
}

const dayOf = (t) => t.slice(0, 10), hourOf = (t) => `${t.slice(0, 10)} ${t.slice(11, 16)}`;

// series asks per day, then per hour when the offer is young enough for
// days to say little (three days or fewer).
async function series(id) {
  const s = await get(`/v1/offers/${enc(id)}/performance?bucket=day`);
  return s.points.length > 3 ? s : get(`/v1/offers/${enc(id)}/performance?bucket=hour`);
}

function seriesView(s) {
  const per = s.bucket, xFmt = per === "hour" ? hourOf : dayOf;
  const labels = s.points.map((p) => p.start);
  const answered = (p) => p.accepted + p.declined + p.ignored;
  const busy = s.points.filter((p) => p.shown || answered(p));
  const left = (p) => (s.budget === null ? num(p.budget_used) : num(Math.max(s.budget - p.budget_used, 0)));
  return [
    h("p", { class: "help" }, `Per ${per} (UTC) from ${xFmt(s.since)} to ${xFmt(s.until)}: an exposure counts when it was shown, an answer when it was given. `,
      s.budget === null ? "No budget." : `Budget ${num(s.budget)} acceptances, ${num(s.budget_left)} left.`),
    h("div", { class: "lists two" },
      h("section", null, h("h3", null, `Shown and accepted per ${per}`),
        columns(`Offers shown and accepted per ${per}`, labels, [{ name: "shown", values: s.points.map((p) => p.shown) }, { name: "accepted", values: s.points.map((p) => p.accepted) }], { fmt: (x) => num(x), xFmt })),
      h("section", null, h("h3", null, `Acceptance rate per ${per}`),
        rateBand(`Acceptance rate per ${per} with its 95% interval`, labels, s.points.map((p) => (answered(p) ? p.acceptance_rate : null)), { fmt: (x) => pct(x), xFmt }))),
    h("details", { id: "series-details" }, h("summary", null, `Figures per ${per}: ${busy.length} with activity`),
      table(null, [per === "hour" ? "Hour" : "Day", "Shown", "Accepted", "Declined", "Ignored", "Acceptance (95% interval)", s.budget === null ? "Budget used" : "Budget left"],
        busy.map((p) => [xFmt(p.start), num(p.shown), num(p.accepted), num(p.declined), num(p.ignored), answered(p) ? rate(p.acceptance_rate) : "no answers", left(p)]), { id: "series-table" })),
  ];
}

export async function offers() {
  const list = h("div", { id: "offer-list" });
  page("Offers", list, offerForm(null));
  await fill(list, get("/v1/offers"), (r) => table("Offers", ["Offer", "Active", "Shown", "Accepted", "Acceptance (95% interval)", "Budget left"],
    r.offers.map((o) => [h("a", { href: `#/offers/${enc(o.offer_id)}` }, o.name || o.offer_id), o.active ? "yes" : "no",
      num(o.performance.shown), num(o.performance.accepted), rate(o.performance.acceptance_rate),
      o.performance.budget_left === null ? "no budget" : num(o.performance.budget_left)]), { id: "offer-table" }));
}

export async function offer(id) {
  const o = await get(`/v1/offers/${enc(id)}`);
  const p = o.performance;
  const aud = h("div", { id: "offer-audience" }), over = h("div", { id: "offer-series" });
  page(`Offer ${o.name || id}`,
    h("div", { class: "cards", id: "offer-perf" },
      h("div", { class: "card" }, h("div", { class: "label" }, "Shown"), h("div", { class: "value" }, num(p.shown)), h("div", { class: "note" }, `${num(p.open)} awaiting an answer`)),
      h("div", { class: "card" }, h("div", { class: "label" }, "Accepted"), h("div", { class: "value" }, num(p.accepted)), h("div", { class: "note" }, `${num(p.declined)} declined, ${num(p.ignored)} ignored`)),
      h("div", { class: "card" }, h("div", { class: "label" }, "Acceptance rate"), h("div", { class: "value" }, pct(p.acceptance_rate.value)), h("div", { class: "note" }, `95% interval ${pct(p.acceptance_rate.low)}–${pct(p.acceptance_rate.high)}`)),
      h("div", { class: "card" }, h("div", { class: "label" }, "Budget left"), h("div", { class: "value" }, p.budget_left === null ? "no budget" : num(p.budget_left)), h("div", { class: "note" }, o.active ? "active now" : "not active now"))),
    intervals("Acceptance rate with its 95% interval", [{ name: "acceptance", ...p.acceptance_rate }], { fmt: (x) => pct(x) }),
    h("section", { "aria-labelledby": "h-series" }, h("h2", { id: "h-series" }, "Over time"), over),
    h("p", null, "Promotes ", o.products && o.products.length ? o.products.map((x) => [productLink(x), " "]) : "no product", o.category ? ` · category ${o.category}` : "",
      ` · value ${money(o.value)} · priority ${num(o.priority, 1)}`),
    h("section", { "aria-labelledby": "h-audience" }, h("h2", { id: "h-audience" }, "Audience"),
      h("p", { class: "help" }, "Customers to target: eligible now, below the cap, not buyers of its products yet, ranked by how well their history goes with what it promotes. Nothing is reserved or logged."), aud),
    offerForm(o));
  const overTime = fill(over, series(id), seriesView);
  if (audienceAllowed(aud)) {
    await fill(aud, get(`/v1/offers/${enc(id)}/audience?limit=20`), (r) => [statusLine(r.status),
      r.items.length || r.status === "active" || r.status === "scheduled" ? audienceTable(`The ${r.items.length} customers most likely to accept it`, r.items, "offer-audience-table") : null]);
  }
  await overTime;
}
