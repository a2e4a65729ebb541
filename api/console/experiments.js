// Experiments: list, create, start and stop; results with intervals and
// the sample-ratio check.
import { get, api, enc } from "./api.js";
import { h, page, table, field, fill, num, pct, money, guard, errorBox } from "./ui.js";
import { intervals } from "./charts.js";

const ALGOS = ["", "default", "personal", "related", "popular"];

function variantRow(i, v = {}) {
  return h("fieldset", { class: "variant row" }, h("legend", null, i === 0 ? "Variant 1 (control)" : `Variant ${i + 1}`),
    field("Name", `v${i}-name`, { value: v.name || "", required: i < 2 }),
    field("Weight", `v${i}-weight`, { type: "number", min: 0, step: "any", value: v.weight ?? 1 }),
    field("Algorithm", `v${i}-algorithm`, { tag: "select", options: ALGOS.map((a) => ({ value: a, label: a || "as configured" })) }),
    field("List length", `v${i}-limit`, { type: "number", min: 1, max: 100, step: 1, value: "" }));
}

function newForm() {
  const result = h("div", { id: "experiment-result", "aria-live": "polite" });
  const rows = h("div", null, variantRow(0), variantRow(1));
  let n = 2;
  const form = h("form", { class: "panel", id: "experiment-form", onsubmit: async (e) => {
    e.preventDefault();
    const val = (id) => form.querySelector(`#${id}`).value.trim();
    const variants = [];
    for (let i = 0; i < n; i++) {
      if (!val(`v${i}-name`)) continue;
      const params = {};
      if (val(`v${i}-algorithm`)) params.algorithm = val(`v${i}-algorithm`);
      if (val(`v${i}-limit`)) params.limit = Number(val(`v${i}-limit`));
      variants.push({ name: val(`v${i}-name`), weight: Number(val(`v${i}-weight`) || 1), ...(Object.keys(params).length ? { params } : {}) });
    }
    try {
      const x = await api("PUT", `/v1/experiments/${enc(val("experiment_id"))}`, { status: "draft", variants });
      location.hash = `#/experiments/${enc(x.id)}`;
    } catch (err) { result.replaceChildren(errorBox(err)); }
  } },
  h("h2", null, "New experiment"),
  field("Experiment id", "experiment_id", { required: true, placeholder: "e.g. checkout-list" }), rows,
  h("div", { class: "actions" },
    h("button", { type: "button", class: "secondary", onclick: () => rows.append(variantRow(n++)) }, "Add a variant"),
    h("button", { type: "submit" }, "Create as draft")), result);
  return guard(form, "admin");
}

export async function experiments() {
  const list = h("div", { id: "experiment-list" });
  page("Experiments", list, newForm());
  await fill(list, get("/v1/experiments"), (r) => table("Experiments", ["Experiment", "Status", "Variants"],
    r.experiments.map((x) => [h("a", { href: `#/experiments/${enc(x.id)}` }, x.id), x.status, x.variants.map((v) => v.name).join(", ")]), { id: "experiment-table" }));
}

// chart is an interval chart under a visible caption.
const chart = (title, rows, opts) => h("figure", { class: "chart" }, h("figcaption", null, title), intervals(title, rows, opts));

const rate = (r) => `${pct(r.value, 2)} (${pct(r.low, 2)}–${pct(r.high, 2)})`;

export async function experiment(id) {
  const x = await get(`/v1/experiments/${enc(id)}`);
  const results = h("div", { id: "results" });
  const status = h("div", { "aria-live": "polite" });
  const setStatus = async (to) => {
    try {
      await api("PUT", `/v1/experiments/${enc(id)}`, { status: to, salt: x.salt, variants: x.variants.map((v) => ({ name: v.name, weight: v.weight, ...(v.params ? { params: v.params } : {}) })) });
      location.reload();
    } catch (err) { status.replaceChildren(errorBox(err)); }
  };
  const controls = guard(h("form", { class: "panel row", onsubmit: (e) => e.preventDefault() },
    h("p", null, "Status: ", h("strong", { id: "experiment-status" }, x.status)),
    h("button", { type: "button", id: "start", disabled: x.status === "running", onclick: () => setStatus("running") }, "Start"),
    h("button", { type: "button", id: "stop", class: "secondary", disabled: x.status !== "running", onclick: () => setStatus("stopped") }, "Stop"),
    status), "admin");
  page(`Experiment ${id}`, controls,
    table("Variants", ["Variant", "Weight", "Parameters"], x.variants.map((v, i) => [v.name + (i === 0 ? " (control)" : ""), num(v.weight, 2), v.params ? JSON.stringify(v.params) : "–"])),
    h("h2", null, "Results"), results,
    h("p", null, h("a", { href: `/v1/experiments/${enc(id)}/report` }, "The printable report page"), " (served by the API; needs no key only when none is configured)."));
  await fill(results, get(`/v1/experiments/${enc(id)}/results`), (r) => [
    h("p", { class: r.srm_flag ? "error" : "ok", id: "srm" }, r.srm_flag
      ? `Sample-ratio mismatch (p = ${r.srm_p_value.toPrecision(3)}): the split is off from the weights; distrust these results.`
      : `Sample ratio as expected (p = ${r.srm_p_value.toPrecision(3)}).`),
    table("Per variant (95% intervals)", ["Variant", "Exposures", "Customers", "Click rate", "Conversion rate", "Revenue per exposure", "Lift vs control", "p"],
      r.variants.map((v) => [v.name, num(v.exposures), num(v.customers), rate(v.ctr), rate(v.conversion_rate), money(v.revenue_per_exposure.value), rate(v.lift), v.p_value.toPrecision(3)]), { id: "results-table" }),
    r.variants.some((v) => v.exposures > 0)
      // The four charts of the report page: click rate, conversion, revenue
      // per exposure, and lift (the control is its baseline, so not a row).
      ? h("div", { class: "lists two", id: "result-charts" },
        chart("Click rate per variant with 95% intervals", r.variants.map((v) => ({ name: v.name, ...v.ctr })), { fmt: (x) => pct(x, 2) }),
        chart("Conversion rate per variant with 95% intervals", r.variants.map((v) => ({ name: v.name, ...v.conversion_rate })), { fmt: (x) => pct(x, 2) }),
        chart("Revenue per exposure per variant with 95% intervals", r.variants.map((v) => ({ name: v.name, ...v.revenue_per_exposure })), { fmt: money }),
        chart(`Lift in conversion against ${r.control} with 95% intervals`, r.variants.filter((v) => v.name !== r.control).map((v) => ({ name: v.name, ...v.lift })), { fmt: (x) => pct(x, 1), zero: 0 }))
      : h("p", { class: "muted" }, "No exposures yet: start the experiment and serve lists with it."),
  ]);
}
