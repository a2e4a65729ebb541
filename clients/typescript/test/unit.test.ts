// The pure parts of the layer: backoff, Retry-After, NDJSON and batching.
import assert from "node:assert/strict";
import { test } from "node:test";
import { backoffDelay, batches, isIdempotentMethod, resolveRetry, retryAfterMs, toNDJSON } from "../src/index.js";

test("backoff grows exponentially under its cap, with full jitter", () => {
  const o = resolveRetry({ baseDelayMs: 100, maxDelayMs: 1000 });
  assert.equal(backoffDelay(0, o, () => 0.999999), 99);
  assert.equal(backoffDelay(3, o, () => 0.999999), 799);
  assert.equal(backoffDelay(10, o, () => 0.999999), 999, "capped at maxDelayMs");
  assert.equal(backoffDelay(5, o, () => 0), 0, "jitter reaches down to zero");
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
