// The console's router: hash routes (#/customers/17809) so that every page
// is a link, the back button works and the server serves one file.
import { getKey, setKey, loadScope, setUnauthorizedHandler, Problem } from "./api.js";
import { h, page, errorBox } from "./ui.js";
import { overview } from "./overview.js";
import { products, product } from "./products.js";
import { customers, customer } from "./customers.js";
import { value } from "./value.js";
import { segments, segment } from "./segments.js";
import { offers, offer } from "./offers.js";
import { experiments, experiment } from "./experiments.js";
import { evaluation } from "./evaluation.js";
import { rules, rule } from "./merch.js";

const routes = [
  [/^\/?$/, overview],
  [/^\/products$/, products],
  [/^\/products\/(.+)$/, product],
  [/^\/customers$/, customers],
  [/^\/customers\/(.+)$/, customer],
  [/^\/value$/, value],
  [/^\/segments$/, segments],
  [/^\/segments\/(.+)$/, segment],
  [/^\/offers$/, offers],
  [/^\/offers\/(.+)$/, offer],
  [/^\/experiments$/, experiments],
  [/^\/experiments\/(.+)$/, experiment],
  [/^\/rules$/, rules],
  [/^\/rules\/(.+)$/, rule],
  [/^\/evaluation$/, evaluation],
];

let stop = null; // the current page's cleanup (timers)

function keyForm(message) {
  const input = h("input", { id: "api-key", type: "password", autocomplete: "off", required: true });
  const form = h("form", { class: "panel", onsubmit: (e) => { e.preventDefault(); setKey(input.value.trim()); start(); } },
    h("p", null, message),
    h("div", { class: "field" }, h("label", { for: "api-key" }, "API key"), input),
    h("p", { class: "help" }, "Kept only in this tab's session storage; closing the tab forgets it."),
    h("button", { type: "submit" }, "Use this key"));
  page("Sign in", form);
  input.focus();
}

async function render() {
  if (stop) { stop(); stop = null; }
  const path = decodeURIComponent(location.hash.replace(/^#/, "")).split("?")[0];
  for (const a of document.querySelectorAll("#nav a")) {
    const target = a.getAttribute("href").slice(1);
    const cur = target === "/" ? path === "/" || path === "" : path.startsWith(target);
    if (cur) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
  for (const [re, fn] of routes) {
    const m = path.match(re);
    if (m) {
      try {
        stop = (await fn(...m.slice(1))) || null;
      } catch (e) {
        if (!(e instanceof Problem && e.status === 401)) page("Something went wrong", errorBox(e));
      }
      document.getElementById("main").focus({ preventScroll: true });
      return;
    }
  }
  page("Not found", h("p", null, "No console page at ", h("code", null, path), "."));
}

async function start() {
  const who = document.getElementById("who");
  try {
    const w = await loadScope();
    who.replaceChildren(w.keys_required ? `${w.scope} key · ` : "no API keys configured",
      w.keys_required ? h("button", { type: "button", class: "link", onclick: () => { setKey(""); start(); } }, "sign out") : "");
  } catch (e) {
    if (e instanceof Problem && e.status === 401) {
      keyForm(getKey() ? "That key was refused. Enter a valid API key." : "This server requires an API key.");
      return;
    }
    page("Cannot reach the server", errorBox(e));
    return;
  }
  render();
}

// The skip link must not go through the router: its href (#main) is not a
// route, so it moves the focus itself.
document.querySelector(".skip").addEventListener("click", (e) => {
  e.preventDefault();
  document.getElementById("main").focus();
});
setUnauthorizedHandler(() => keyForm("Your API key was refused. Enter a valid API key."));
window.addEventListener("hashchange", render);
start();
