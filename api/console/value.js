// Value insights: customers and revenue per tier, the revenue
// concentration curve with the 80/20 line, and the churn model's view of
// each tier (mean churn risk, expected value over its horizon) with the
// fitted parameters.
import { get } from "./api.js";
import { h, page, card, num, money, pct, table } from "./ui.js";
import { barChart, lorenz } from "./charts.js";

// modelView lists the fitted BG/NBD and Gamma-Gamma parameters, so the
// figures above can be traced to what produced them.
function modelView(m) {
  if (!m) return h("p", { class: "muted", id: "value-model" }, "The churn model is not fitted yet (it needs 20 buyers and a value refresh).");
  const g = (x) => num(x, x !== 0 && Math.abs(x) < 0.01 ? 7 : 3);
  const bg = m.bgnbd, gg = m.gamma_gamma;
  return [
    h("p", { class: "muted" }, `Fitted on ${num(m.customers)} buyers at ${m.fitted_at.slice(0, 16).replace("T", " ")} (store clock ${m.as_of.slice(0, 10)}); looks ${num(m.horizon_days)} days ahead.`,
      bg.no_dropout ? " The fit found no dropout: churn risk rests on each customer's buying rate." : ""),
    table("Fitted model parameters", ["Model", "Parameter", "Value"], [
      ["BG/NBD", "r", g(bg.r)], ["BG/NBD", "alpha (days)", g(bg.alpha_days)], ["BG/NBD", "a", g(bg.a)], ["BG/NBD", "b", g(bg.b)],
      ["BG/NBD", "log-likelihood", num(bg.log_likelihood, 1)],
      ["Gamma-Gamma", "p", g(gg.p)], ["Gamma-Gamma", "q", g(gg.q)], ["Gamma-Gamma", "gamma", g(gg.gamma)],
      ["Gamma-Gamma", "log-likelihood", num(gg.log_likelihood, 1)]], { id: "value-model" })];
}

export async function value() {
  const v = await get("/v1/insights/value");
  const tiers = v.tiers.map((t) => ({ ...t, label: t.tier.replace("_", " ") }));
  const fitted = (x, f) => (x == null ? "not fitted" : f(x));
  page("Value insights",
    h("p", { class: "lead" }, `As of ${v.as_of.slice(0, 10)} (the store's clock).`),
    h("div", { class: "cards", id: "value-summary" },
      card("Customers", num(v.customers)), card("Buyers", num(v.buyers)), card("Revenue", money(v.revenue)),
      card("Top 20% of buyers", pct(v.top20_revenue_share), `${num(v.top20_customers)} customers bring this share of revenue`)),
    h("div", { class: "lists two" },
      h("section", null, h("h2", null, "Customers per tier"), barChart("Customers per value tier", tiers.map((t) => ({ label: t.label, value: t.customers })), { fmt: (x) => num(x) })),
      h("section", null, h("h2", null, "Revenue per tier"), barChart("Revenue per value tier", tiers.map((t) => ({ label: t.label, value: t.revenue })), { fmt: (x) => num(x) }))),
    v.model ? h("div", { class: "lists two" },
      h("section", null, h("h2", null, "Churn risk per tier"), barChart("Mean chance of no purchase in the next 90 days, per value tier", tiers.filter((t) => t.mean_churn_risk != null).map((t) => ({ label: t.label, value: t.mean_churn_risk * 100 })), { fmt: (x) => `${num(x)}%` })),
      h("section", null, h("h2", null, "Expected value per tier"), barChart("Expected revenue over the next 90 days, per value tier", tiers.filter((t) => t.expected_value != null).map((t) => ({ label: t.label, value: t.expected_value })), { fmt: (x) => num(x) }))) : null,
    h("h2", null, "Revenue concentration"),
    lorenz("Share of revenue against share of customers, best customers first", v.concentration),
    table("Tiers", ["Tier", "Customers", "Revenue", "Share of revenue", "Current value", "Churn risk (90 days)", "Expected value (90 days)"],
      tiers.map((t) => [t.label, num(t.customers), money(t.revenue), pct(t.revenue_share), money(t.current_value),
        fitted(t.mean_churn_risk, pct), fitted(t.expected_value, money)]), { id: "tier-table" }),
    h("h2", null, "Churn model"),
    modelView(v.model));
}
