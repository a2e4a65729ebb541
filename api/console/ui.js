// DOM helpers: h() builds elements (text is always set as text, never HTML).
import { can, scopeName } from "./api.js";

export function h(tag, attrs, ...kids) {
  const el = tag === "svg" || SVG_TAGS.has(tag)
    ? document.createElementNS("http://www.w3.org/2000/svg", tag)
    : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.setAttribute("class", v);
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const kid of kids.flat(Infinity)) {
    if (kid === undefined || kid === null || kid === false) continue;
    el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return el;
}
const SVG_TAGS = new Set(["g", "rect", "line", "path", "circle", "text", "polyline", "title", "tspan"]);

export function page(title, ...kids) {
  document.title = `${title} · Affinity console`;
  const main = document.getElementById("main");
  main.replaceChildren(h("h1", null, title), ...kids.flat().filter((k) => k !== null && k !== undefined && k !== false));
  return main;
}

export const num = (v, d = 0) => (v === null || v === undefined || Number.isNaN(v)) ? "–"
  : Number(v).toLocaleString("en-GB", { maximumFractionDigits: d, minimumFractionDigits: d });
export const money = (v) => num(v, 2);
export const pct = (v, d = 1) => (v === null || v === undefined) ? "–" : num(v * 100, d) + "%";
export function ago(seconds) {
  if (seconds === null || seconds === undefined || seconds < 0) return "never";
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${num(seconds / 3600, 1)} h`;
  return `${num(seconds / 86400, 1)} days`;
}

export const productLink = (id) => h("a", { href: `#/products/${encodeURIComponent(id)}` }, id);
export const customerLink = (id) => h("a", { href: `#/customers/${encodeURIComponent(id)}` }, id);

// table renders rows (arrays of cells) under headers, with a caption.
export function table(caption, headers, rows, attrs = {}) {
  return h("div", { class: "scroll" },
    h("table", attrs,
      caption ? h("caption", null, caption) : null,
      h("thead", null, h("tr", null, headers.map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", null, rows.length ? rows.map((r) => h("tr", null, r.map((c) => h("td", null, c))))
        : h("tr", null, h("td", { colspan: headers.length, class: "muted" }, "Nothing yet.")))));
}

export function errorBox(err) {
  return h("p", { class: "error", role: "alert" }, err && err.message ? err.message : String(err));
}

export function card(label, value, note) {
  return h("div", { class: "card" }, h("div", { class: "label" }, label),
    h("div", { class: "value" }, value), note ? h("div", { class: "note" }, note) : null);
}

// field is a labelled input; id must be unique on the page.
export function field(label, id, attrs = {}, help) {
  const input = attrs.tag === "textarea" ? h("textarea", { id, name: id, ...attrs, tag: null })
    : attrs.tag === "select" ? h("select", { id, name: id, ...attrs, tag: null, options: null },
      (attrs.options || []).map((o) => h("option", { value: o.value ?? o }, o.label ?? o)))
      : h("input", { id, name: id, type: "text", ...attrs });
  return h("div", { class: "field" }, h("label", { for: id }, label), input,
    help ? h("div", { class: "help", id: id + "-help" }, help) : null);
}

// guard disables a form's controls when the key lacks the scope and says why.
export function guard(form, need) {
  if (can(need)) return form;
  for (const el of form.querySelectorAll("input, textarea, select, button")) el.disabled = true;
  form.prepend(h("p", { class: "notice", role: "note" },
    `Read only: your API key has the ${scopeName()} scope; changing this needs the ${need} scope.`));
  return form;
}

// scopeNote says why a panel that needs a scope the key lacks is empty.
export function scopeNote(need, what) {
  return h("p", { class: "notice", role: "note" },
    `${what} needs the ${need} scope; your API key has the ${scopeName()} scope.`);
}

// fill renders a placeholder into el while p runs, then fn(result) or the error;
// data-ready is set when done (tests and scripts wait on it).
export async function fill(el, p, fn) {
  el.removeAttribute("data-ready");
  el.replaceChildren(h("p", { class: "muted" }, "Loading…"));
  try {
    const v = await p;
    el.replaceChildren(...[fn(v)].flat(Infinity).filter((k) => k !== null && k !== undefined && k !== false));
    el.setAttribute("data-ready", "ok");
  } catch (e) {
    el.replaceChildren(errorBox(e));
    el.setAttribute("data-ready", "error");
  }
}
