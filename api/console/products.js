// Products: search by id and attributes; a product page with its related
// lists side by side.
import { get, qs, enc } from "./api.js";
import { h, page, table, field, fill, productLink, money, num } from "./ui.js";
import { audienceTable, audienceAllowed } from "./audience.js";

const names = new Map(); // product id -> description, for list labels

export function describe(p) {
  const d = p.attributes && p.attributes.description;
  if (d) names.set(p.product_id, d);
  return d || [p.category, p.brand].filter(Boolean).join(" · ") || "";
}

// labelled fetches the records of the listed ids (cached) so that lists
// show what each product is, not just its id.
export async function labelled(ids) {
  await Promise.all(ids.filter((id) => !names.has(id)).map((id) =>
    get(`/v1/products/${enc(id)}`).then(describe, () => names.set(id, ""))));
  return ids.map((id) => names.get(id) || "");
}

export async function products() {
  const params = new URLSearchParams(location.hash.split("?")[1] || "");
  const results = h("div", { id: "product-results" });
  const form = h("form", { class: "panel row", role: "search", onsubmit: (e) => {
    e.preventDefault();
    const f = new FormData(form);
    location.hash = "#/products" + qs({ q: f.get("q"), category: f.get("category"), brand: f.get("brand"), tag: f.get("tag"), in_stock: f.get("in_stock") ? "true" : "" });
  } },
  field("Id or text", "q", { value: params.get("q") || "", placeholder: "e.g. 22961 or mug" }),
  field("Category", "category", { value: params.get("category") || "" }),
  field("Brand", "brand", { value: params.get("brand") || "" }),
  field("Tag", "tag", { value: params.get("tag") || "" }),
  h("div", { class: "field check" }, h("input", { type: "checkbox", id: "in_stock", name: "in_stock", checked: params.get("in_stock") === "true" }), h("label", { for: "in_stock" }, "In stock only")),
  h("button", { type: "submit" }, "Search"));
  page("Products", form, results);
  const offset = Number(params.get("offset") || 0);
  const q = Object.fromEntries(params);
  await fill(results, get("/v1/products" + qs({ ...q, limit: 25, offset })), (r) => [
    h("p", { class: "muted", id: "product-total" }, `${num(r.total)} products match.`),
    table("Matching products", ["Product", "Description", "Category", "Price", "In stock"],
      r.products.map((p) => [productLink(p.product_id), describe(p), p.category, money(p.price), p.available ? "yes" : "no"]), { id: "product-table" }),
    pager(params, offset, 25, r.total)]);
}

export function pager(params, offset, size, total) {
  const link = (off, text) => {
    const p = new URLSearchParams(params); p.set("offset", off);
    return h("a", { href: location.hash.split("?")[0] + "?" + p.toString() }, text);
  };
  return h("nav", { class: "pager", "aria-label": "Pages" },
    offset > 0 ? link(Math.max(0, offset - size), "← Previous") : null,
    h("span", null, ` ${num(offset + 1)}–${num(Math.min(offset + size, total))} of ${num(total)} `),
    offset + size < total ? link(offset + size, "Next →") : null);
}

function listBox(id, basis, title) {
  const box = h("section", { class: "list", "aria-labelledby": `h-${basis}` }, h("h2", { id: `h-${basis}` }, title));
  const body = h("div", { id: `related-${basis}` });
  box.append(body);
  fill(body, get(`/v1/products/${enc(id)}/related?basis=${basis}&limit=10`).then(async (l) => ({ l, labels: await labelled(l.items.map((i) => i.product_id)) })),
    ({ l, labels }) => l.items.length
      ? h("ol", null, l.items.map((it, i) => h("li", null, productLink(it.product_id), " ", h("span", { class: "muted" }, labels[i]), h("span", { class: "score" }, num(it.score, 3)))))
      : h("p", { class: "muted" }, "No associations on this basis yet."));
  return box;
}

export async function product(id) {
  const p = await get(`/v1/products/${enc(id)}`).catch((e) => {
    if (e.status !== 404) throw e; // events may name products without a catalogue record
    return { product_id: id, category: "", brand: "", price: 0, tags: [], available: true, attributes: {} };
  });
  const attrs = Object.entries(p.attributes || {});
  const aud = h("div", { id: "audience" });
  page(`Product ${id}`,
    h("p", { class: "lead" }, describe(p)),
    h("dl", { class: "attrs", id: "product-attrs" },
      [["Category", p.category || "–"], ["Brand", p.brand || "–"], ["Price", money(p.price)], ["In stock", p.available ? "yes" : "no"],
        ["Tags", (p.tags || []).join(", ") || "–"], ...attrs.map(([k, v]) => [k, typeof v === "object" ? JSON.stringify(v) : String(v)])]
        .map(([k, v]) => [h("dt", null, k), h("dd", null, v)])),
    h("div", { class: "lists" },
      listBox(id, "bought", "Bought together"),
      listBox(id, "viewed", "Viewed together"),
      listBox(id, "any", "Any interaction")),
    h("section", { "aria-labelledby": "h-audience" }, h("h2", { id: "h-audience" }, "Likely buyers"),
      h("p", { class: "help" }, "Customers who have not bought it, ranked by how well their history goes with it (recent products weigh more)."), aud));
  if (audienceAllowed(aud)) await fill(aud, get(`/v1/products/${enc(id)}/customers?limit=20`), (r) => audienceTable(`The ${r.items.length} customers most likely to buy ${id}`, r.items, "audience-table"));
}
