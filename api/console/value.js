// Value insights: customers and revenue per tier, and the revenue
// concentration curve with the 80/20 line.
import { get } from "./api.js";
import { h, page, card, num, money, pct, table } from "./ui.js";
import { barChart, lorenz } from "./charts.js";

export async function value() {
  const v = await get("/v1/insights/value");
  const tiers = v.tiers.map((t) => ({ ...t, label: t.tier.replace("_", " ") }));
  page("Value insights",
    h("p", { class: "lead" }, `As of ${v.as_of.slice(0, 10)} (the store's clock).`),
    h("div", { class: "cards", id: "value-summary" },
      card("Customers", num(v.customers)), card("Buyers", num(v.buyers)), card("Revenue", money(v.revenue)),
      card("Top 20% of buyers", pct(v.top20_revenue_share), `${num(v.top20_customers)} customers bring this share of revenue`)),
    h("div", { class: "lists two" },
      h("section", null, h("h2", null, "Customers per tier"), barChart("Customers per value tier", tiers.map((t) => ({ label: t.label, value: t.customers })), { fmt: (x) => num(x) })),
      h("section", null, h("h2", null, "Revenue per tier"), barChart("Revenue per value tier", tiers.map((t) => ({ label: t.label, value: t.revenue })), { fmt: (x) => num(x) }))),
    h("h2", null, "Revenue concentration"),
    lorenz("Share of revenue against share of customers, best customers first", v.concentration),
    table("Tiers", ["Tier", "Customers", "Revenue", "Share of revenue", "Current value"],
      tiers.map((t) => [t.label, num(t.customers), money(t.revenue), pct(t.revenue_share), money(t.current_value)]), { id: "tier-table" }));
}
