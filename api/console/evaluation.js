// Evaluation: the offline quality figures of `affinity eval --json`. The
// file is read by the browser from the operator's disk (nothing is sent
// anywhere) and kept in this tab's session storage.
import { h, page, table, num, errorBox } from "./ui.js";
import { barChart } from "./charts.js";

const STORE = "affinity-console-eval";
const METRICS = ["map", "ndcg", "precision", "recall", "coverage"];

function render(box, rep) {
  const rows = [rep, ...(rep.baselines || [])];
  box.replaceChildren(
    h("p", { class: "lead" }, `${rep.format} data, ${rep.split} split (seed ${rep.seed}), K = ${rep.k}, ${num(rep.users)} test customers.`),
    table("Offline quality at K", ["Algorithm", ...METRICS.map((m) => m.toUpperCase()), "Train (s)"],
      rows.map((r) => [r.algo, ...METRICS.map((m) => num(r[m], 4)), num(r.train_seconds, 2)]), { id: "eval-table" }),
    h("h2", null, "NDCG against the baselines"),
    barChart("NDCG at K per algorithm", rows.map((r) => ({ label: r.algo, value: r.ndcg || 0 })), { fmt: (x) => num(x, 4) }));
}

export async function evaluation() {
  const box = h("div", { id: "eval" });
  const input = h("input", { type: "file", id: "eval-file", accept: "application/json,.json" });
  input.addEventListener("change", async () => {
    try {
      const rep = JSON.parse(await input.files[0].text());
      if (typeof rep.algo !== "string" || typeof rep.ndcg !== "number") throw new Error("not the output of affinity eval --json (no algo and ndcg fields)");
      sessionStorage.setItem(STORE, JSON.stringify(rep));
      render(box, rep);
    } catch (e) { box.replaceChildren(errorBox(e)); }
  });
  page("Evaluation",
    h("p", null, "Run ", h("code", null, "affinity eval --format online-retail --split temporal --json FILE > eval.json"), " (or ", h("code", null, "make eval"), "), then open its output here. The file stays on this computer."),
    h("div", { class: "field" }, h("label", { for: "eval-file" }, "Evaluation output (JSON)"), input), box);
  const saved = sessionStorage.getItem(STORE);
  if (saved) render(box, JSON.parse(saved));
  else box.replaceChildren(h("p", { class: "muted" }, "No evaluation loaded in this tab yet."));
}
