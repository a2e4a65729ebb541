// Audiences (who is likely to buy a product or accept an offer):
// GET /v1/products/{id}/customers and GET /v1/offers/{id}/audience. Both
// list people, so they need an admin key; a read key gets the panel with
// the reason instead of a request that would be refused.
import { h, table, num, customerLink, scopeNote } from "./ui.js";
import { can } from "./api.js";

export function audienceTable(caption, items, id) {
  return table(caption, ["Customer", "Score", "Why"],
    items.map((m) => [customerLink(m.customer_id), num(m.score, 3), m.reason]), { id });
}

// audienceAllowed returns null when the key may read audiences, else the
// note that says why the panel is empty.
export function audienceAllowed(box) {
  if (can("admin")) return true;
  box.replaceChildren(scopeNote("admin", "Listing an audience"));
  box.setAttribute("data-ready", "ok");
  return false;
}

export const STATUS = {
  active: "active: these customers may be shown it now",
  scheduled: "scheduled: not started yet; the audience is for planning",
  ended: "ended: nobody is to be shown it",
  budget_spent: "budget spent: nobody is to be shown it",
};

export function statusLine(status) {
  return h("p", { class: "lead", id: "audience-status", "data-status": status }, `The offer is ${STATUS[status] || status}.`);
}
