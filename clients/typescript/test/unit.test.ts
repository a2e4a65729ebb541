// The pure parts of the layer: backoff, Retry-After, NDJSON and batching.
import assert from "node:assert/strict";
import { test } from "node:test";
import { AffinityError, backoffDelay, batches, isIdempotentMethod, resolveRetry, retryAfterMs, toNDJSON } from "../src/index.js";

test("backoff grows exponentially under its cap, with full jitter", () => {
  const o = resolveRetry({ baseDelayMs: 100, maxDelayMs: 1000 });
  assert.equal(backoffDelay(0, o, () => 0.999999), 99);
  assert.equal(backoffDelay(3, o, () => 0.999999), 799);
  assert.equal(backoffDelay(10, o, () => 0.999999), 999, "capped at maxDelayMs");
  assert.equal(backoffDelay(5, o, () => 0), 0, "jitter reaches down to zero");
});

test("retry settings are checked", () => {
  assert.deepEqual(resolveRetry(), { retries: 3, baseDelayMs: 100, maxDelayMs: 5000, timeoutMs: 30000 });
  assert.throws(() => resolveRetry({ retries: -1 }), /retry\.retries/);
  assert.throws(() => resolveRetry({ retries: 1.5 }), /retry\.retries/);
  assert.throws(() => resolveRetry({ maxDelayMs: Number.NaN }), /retry\.maxDelayMs/);
});

test("Retry-After takes seconds or an HTTP date", () => {
  assert.equal(retryAfterMs("3"), 3000);
  assert.equal(retryAfterMs(null), undefined);
  assert.equal(retryAfterMs("soon"), undefined);
  const now = Date.parse("2026-01-01T00:00:00Z");
  assert.equal(retryAfterMs("Thu, 01 Jan 2026 00:00:02 GMT", now), 2000);
  assert.equal(retryAfterMs("Wed, 31 Dec 2025 00:00:00 GMT", now), 0, "a date in the past means now");
});

test("only methods that cannot apply twice are idempotent", () => {
  for (const m of ["GET", "put", "DELETE", "HEAD"]) assert.ok(isIdempotentMethod(m), m);
  for (const m of ["POST", "PATCH"]) assert.ok(!isIdempotentMethod(m), m);
});

test("NDJSON puts one value per line, newlines inside strings escaped", () => {
  const events = [{ customer_id: "a\nb", product_id: "p", type: "view" }, { customer_id: "c", product_id: "q", type: "cart" }];
  const text = toNDJSON(events);
  const lines = text.split("\n");
  assert.equal(lines.length, 3, "two lines and the final newline");
  assert.equal(lines[2], "");
  assert.deepEqual(lines.slice(0, 2).map((l) => JSON.parse(l)), events);
});

test("batches splits sync and async iterables and rejects a bad size", async () => {
  const out: number[][] = [];
  for await (const b of batches([1, 2, 3, 4, 5], 2)) out.push(b);
  assert.deepEqual(out, [[1, 2], [3, 4], [5]]);
  async function* gen() {
    yield 1;
    yield 2;
  }
  const fromAsync: number[][] = [];
  for await (const b of batches(gen(), 5)) fromAsync.push(b);
  assert.deepEqual(fromAsync, [[1, 2]]);
  await assert.rejects(async () => {
    for await (const _ of batches([1], 0)) void _;
  }, RangeError);
});

test("any reply body becomes an AffinityError with well-typed fields", async () => {
  const bodies = [
    "",
    "<html><body>502 Bad Gateway</body></html>",
    "null",
    "[1,2]",
    '"just a string"',
    '{"type":5,"title":["x"],"detail":{"a":1},"field":7,"errors":"nope"}',
    '{"errors":[{"index":0,"detail":"ok"},{"index":"1","detail":"bad index"},null,{"index":2}]}',
    '{"type":"https://affinity.dev/problems/not-found","title":"Not Found","status":404,"detail":"unknown product"}',
  ];
  // Random bytes as well: the parser must never throw anything but its result.
  let seed = 42;
  for (let i = 0; i < 200; i++) {
    const n = (seed = (seed * 1103515245 + 12345) % 2 ** 31) % 64;
    bodies.push(String.fromCharCode(...Array.from({ length: n }, (_, j) => ((seed >> (j % 24)) + j * 31) % 256)));
  }
  for (const body of bodies) {
    const err = await AffinityError.fromResponse(new Response(body, { status: 502, statusText: "Bad Gateway" }), "GET", "http://x/v1/popular");
    assert.ok(err instanceof AffinityError);
    assert.equal(err.status, 502);
    assert.equal(typeof err.type, "string");
    assert.equal(typeof err.title, "string");
    assert.equal(typeof err.detail, "string");
    assert.ok(err.field === undefined || typeof err.field === "string");
    assert.ok(Array.isArray(err.errors));
    for (const r of err.errors) assert.ok(typeof r.index === "number" && typeof r.detail === "string");
  }
  const html = await AffinityError.fromResponse(new Response("<html>oops</html>", { status: 502, statusText: "Bad Gateway" }), "GET", "u");
  assert.equal(html.type, "about:blank");
  assert.equal(html.title, "Bad Gateway");
  assert.equal(html.detail, "<html>oops</html>");
  const mixed = await AffinityError.fromResponse(new Response(bodies[6], { status: 400 }), "POST", "u");
  assert.deepEqual(mixed.errors, [{ index: 0, detail: "ok" }]);
});
