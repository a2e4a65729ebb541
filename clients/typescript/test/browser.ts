// The built client (dist/) in headless Chromium: a page loads it as plain
// ES modules (an import map resolves openapi-fetch) from a local server
// that also forwards the API to a real Affinity, so the page and the API
// share an origin (Affinity sends no CORS headers). The page reports what
// it got by posting it back. Run by `make test-browser` (npm run
// test:browser with AFFINITY_BIN and a chromium on PATH or in CHROMIUM).
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join, normalize, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { startAffinity } from "./server.js";

// build-test/test/browser.js -> clients/typescript
const pkgRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

const page = `<!doctype html>
<meta charset="utf-8">
<script type="importmap">{"imports": {"openapi-fetch": "/node_modules/openapi-fetch/dist/index.mjs"}}</script>
<script type="module">
import { Affinity, AffinityError } from "/dist/index.js";
const out = {};
try {
  const aff = new Affinity({ baseUrl: location.origin, retry: { baseDelayMs: 10, maxDelayMs: 50 } });
  const pop = await aff.popular({ limit: 3 });
  out.popular = { n: pop.items.length, algorithm: pop.algorithm };
  const recs = await aff.recommendations("17809", { limit: 3 });
  out.tally = await aff.postEvents([
    { event_id: "browser-1", customer_id: "browser-c", product_id: "85123A", type: "view" },
    { event_id: "browser-2", customer_id: "browser-c", product_id: recs.items[0].product_id, type: "click", recommendation_id: recs.recommendation_id },
  ], { batchSize: 1 });
  try {
    await aff.related("no-such-product");
  } catch (e) {
    out.error = { isAffinityError: e instanceof AffinityError, status: e.status, type: e.type };
  }
  out.userAgent = navigator.userAgent;
} catch (e) {
  out.failure = String((e && e.stack) || e);
}
await fetch("/result", { method: "POST", body: JSON.stringify(out) });
</script>`;

function chromium(): string {
  for (const name of [process.env.CHROMIUM, "chromium", "chromium-browser", "google-chrome"]) {
    if (name && spawnSync("sh", ["-c", `command -v "${name}"`]).status === 0) return name;
  }
  throw new Error("no chromium found: run make test-browser (it installs Debian's chromium) or set CHROMIUM");
}

function serveFile(res: ServerResponse, under: string, urlPath: string, prefix: string): void {
  const rel = normalize(urlPath.slice(prefix.length));
  if (rel.startsWith("..")) {
    res.writeHead(403).end();
    return;
  }
  try {
    const body = readFileSync(join(under, rel));
    res.writeHead(200, { "Content-Type": "text/javascript" }).end(body);
  } catch {
    res.writeHead(404).end();
  }
}

test("the built client works in headless Chromium, retries included", async () => {
  const bin = chromium();
  const api = await startAffinity({ demo: true });
  const target = new URL(api.url);
  let popularHits = 0;
  let gotResult: (v: unknown) => void = () => undefined;
  const result = new Promise((ok) => (gotResult = ok));
  const site = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/") return void res.writeHead(200, { "Content-Type": "text/html" }).end(page);
    if (path.startsWith("/dist/")) return serveFile(res, join(pkgRoot, "dist"), path, "/dist/");
    if (path.startsWith("/node_modules/openapi-fetch/dist/")) {
      return serveFile(res, join(pkgRoot, "node_modules/openapi-fetch/dist"), path, "/node_modules/openapi-fetch/dist/");
    }
    if (path === "/result") {
      let body = "";
      req.on("data", (b: Buffer) => (body += b.toString()));
      req.on("end", () => {
        res.writeHead(204).end();
        gotResult(JSON.parse(body));
      });
      return;
    }
    if (path === "/v1/popular" && ++popularHits === 1) {
      // The first popular request fails, so the page exercises the retry path.
      return void res.writeHead(503, { "Content-Type": "application/problem+json" }).end('{"status":503,"title":"Service Unavailable"}');
    }
    const up = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on("error", (e) => res.writeHead(502).end(String(e)));
    req.pipe(up);
  });
  await new Promise<void>((ok) => site.listen(0, "127.0.0.1", ok));
  const addr = site.address();
  const url = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}/`;
  const profile = mkdtempSync(join(tmpdir(), "affinity-chromium-"));
  const browser = spawn(
    bin,
    ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", `--user-data-dir=${profile}`, url],
    { stdio: "ignore" },
  );
  try {
    const timeout = new Promise((_, fail) => setTimeout(() => fail(new Error("no result from the page within 90 s")), 90_000).unref());
    const out = (await Promise.race([result, timeout])) as Record<string, unknown>;
    assert.equal(out.failure, undefined, String(out.failure));
    assert.deepEqual(out.popular, { n: 3, algorithm: "popular" });
    assert.equal(popularHits, 2, "the 503 was retried");
    assert.deepEqual(out.tally, { accepted: 2, rejected: 0, duplicates: 0, errors: [] });
    assert.deepEqual(out.error, { isAffinityError: true, status: 404, type: "https://affinity.dev/problems/not-found" });
    assert.match(String(out.userAgent), /Chrom/);
  } finally {
    browser.kill("SIGTERM");
    await new Promise<void>((ok) => site.close(() => ok()));
    await api.stop();
    rmSync(profile, { recursive: true, force: true });
  }
});
