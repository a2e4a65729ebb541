// A rule editor that asks the server to check the rule as it is typed
// (POST /v1/rules/check, debounced) and shows the server's 400 at the
// place it names: the offending line with a caret under the column.
import { api } from "./api.js";
import { h } from "./ui.js";

// kind "product" checks a merchandising rule's product fields ({kind,
// rule}); the others send {rule, segment}. A server that refuses the kind
// field (one from before product checks) turns the live check off: the
// error then shows on saving only, as with live false.
export function ruleEditor(id, label, value, { segment = false, kind = "", help = "", live = true } = {}) {
  const ta = h("textarea", { id, name: id, rows: 3, spellcheck: "false", "aria-describedby": `${id}-status`, class: "code" });
  ta.value = value || "";
  const status = h("div", { id: `${id}-status`, class: "rule-status", "aria-live": "polite" });
  let timer = null, seq = 0;
  const check = async () => {
    const mine = ++seq;
    const rule = ta.value;
    if (!rule.trim() && (segment || kind)) { show(status, ta, "A rule is required.", null); return false; }
    try {
      await api("POST", "/v1/rules/check", kind ? { kind, rule } : { rule, segment });
      if (mine === seq) show(status, ta, null);
      return true;
    } catch (e) {
      if (kind && e.status === 400 && e.field === "kind") {
        live = false; // this server cannot check the kind: leave the status to saving
        return true;
      }
      if (mine === seq) show(status, ta, e.message, rule);
      return false;
    }
  };
  ta.addEventListener("input", () => {
    clearTimeout(timer);
    if (live) timer = setTimeout(check, 250);
    else { ta.removeAttribute("aria-invalid"); status.className = "rule-status"; status.replaceChildren(); }
  });
  const wrap = h("div", { class: "field" }, h("label", { for: id }, label), ta, status, help ? h("div", { class: "help" }, help) : null);
  wrap.check = check;
  wrap.showError = (msg) => show(status, ta, msg, ta.value);
  return wrap;
}

function show(status, ta, msg, rule) {
  if (!msg) {
    ta.removeAttribute("aria-invalid");
    status.className = "rule-status ok";
    status.replaceChildren("✓ valid rule");
    return;
  }
  ta.setAttribute("aria-invalid", "true");
  status.className = "rule-status bad";
  const m = msg.match(/line (\d+), column (\d+)/);
  const kids = [h("div", { class: "rule-error" }, msg)];
  if (m && rule !== null) {
    const line = rule.split("\n")[Number(m[1]) - 1] ?? "";
    const col = Math.max(0, Number(m[2]) - 1);
    kids.unshift(h("pre", { class: "caret", "aria-hidden": "true" }, `${line}\n${" ".repeat(col)}^`));
  }
  status.replaceChildren(...kids);
}
