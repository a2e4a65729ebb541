// Retries against real processes. Connection refusal is real: the client
// starts before the server does. A 503 cannot be had from Affinity on demand,
// so a tiny local HTTP server answers 503 a set number of times and then
// passes requests through to a real Affinity; nothing else is simulated.
import assert from "node:assert/strict";
import { createServer, request as httpRequest, type Server } from "node:http";
import { after, before, describe, test } from "node:test";
import { Affinity, AffinityError, AffinityNetworkError } from "../src/index.js";
import { freePort, startAffinity, type RunningServer } from "./server.js";

/** Counts the attempts the client makes, around the real fetch. */
function countingFetch(): { fetch: typeof fetch; calls: () => number } {
  let n = 0;
  return {
    fetch: (input, init) => {
      n++;
      return fetch(input, init);
    },
    calls: () => n,
  };
}

describe("connection refused, then the server starts", () => {
  let late: RunningServer | undefined;
  after(async () => {
    await late?.stop();
  });

  test("an idempotent call is retried until the server is up", async () => {
    const port = await freePort();
    const counter = countingFetch();
    const aff = new Affinity({
      baseUrl: `http://127.0.0.1:${port}`,
      fetch: counter.fetch,
      retry: { retries: 40, baseDelayMs: 100, maxDelayMs: 400 },
    });
    const pending = aff.popular({ limit: 3 }).then(
      (reply) => ({ reply }),
      (error: unknown) => ({ error }),
    );
    // Start the server only after the first attempt has been refused (bounded wait).
    for (let i = 0; i < 250 && counter.calls() < 2; i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(counter.calls() >= 2, "the first attempt was refused and retried");
    late = await startAffinity({ port });
    const settled = await pending;
    if ("error" in settled) throw settled.error;
    const reply = settled.reply;
    assert.deepEqual(reply.items, [], "an empty server has no popular products");
    assert.equal(reply.algorithm, "popular");
  });

  test("a POST without event ids is not retried", async () => {
    const port = await freePort();
    const counter = countingFetch();
    const aff = new Affinity({ baseUrl: `http://127.0.0.1:${port}`, fetch: counter.fetch, retry: { retries: 5, baseDelayMs: 1 } });
    await assert.rejects(aff.postEvent({ customer_id: "c", product_id: "p", type: "view" }), (err: unknown) => {
      assert.ok(err instanceof AffinityNetworkError);
      assert.equal(err.attempts, 1);
      return true;
    });
    assert.equal(counter.calls(), 1);
  });
});

describe("503 from a proxy in front of a real server", () => {
  let upstream: RunningServer;
  let proxy: Server;
  let proxyUrl = "";
  let failures = 0;
  let failStatus = 503;
  let hits = 0;

  before(async () => {
    upstream = await startAffinity();
    const target = new URL(upstream.url);
    proxy = createServer((req, res) => {
      hits++;
      if (failures > 0) {
        failures--;
        const type = failStatus === 503 ? "unavailable" : "internal";
        res.writeHead(failStatus, { "Content-Type": "application/problem+json", "Retry-After": "0" });
        res.end(JSON.stringify({ type: `https://affinity.dev/problems/${type}`, title: "injected", status: failStatus, detail: "injected by the test proxy" }));
        return;
      }
      const up = httpRequest(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (upRes) => {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
        },
      );
      up.on("error", (err) => {
        res.writeHead(502);
        res.end(String(err));
      });
      req.pipe(up);
    });
    await new Promise<void>((ok) => proxy.listen(0, "127.0.0.1", ok));
    const addr = proxy.address();
    proxyUrl = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;
  });
  after(async () => {
    await new Promise((ok) => proxy?.close(ok));
    await upstream?.stop();
  });

  function client(retries = 3): Affinity {
    return new Affinity({ baseUrl: proxyUrl, retry: { retries, baseDelayMs: 10, maxDelayMs: 50 } });
  }

  test("a GET is retried past two 503s", async () => {
    failures = 2;
    hits = 0;
    const reply = await client().popular({ limit: 2 });
    assert.equal(hits, 3);
    assert.equal(reply.algorithm, "popular");
  });

  test("a PUT is retried with its body sent again each time", async () => {
    failures = 2;
    hits = 0;
    await client().api.PUT("/v1/products/{id}", {
      params: { path: { id: "retry-p" } },
      body: { category: "retried", price: 3.5, available: true },
    });
    assert.equal(hits, 3);
    const { data } = await client().api.GET("/v1/products/{id}", { params: { path: { id: "retry-p" } } });
    assert.ok(data);
    assert.equal(data.category, "retried");
    assert.equal(data.price, 3.5);
  });

  test("an event with an event_id is retried and stored once", async () => {
    failures = 2;
    hits = 0;
    const ev = { event_id: "retry-1", customer_id: "retry-c", product_id: "85123A", type: "view" };
    const reply = await client().postEvent(ev);
    assert.equal(hits, 3);
    assert.equal(reply.accepted, 1);
    // Once more, as a client would after a lost reply: a duplicate, not a second event.
    const again = await client().postEvent(ev);
    assert.equal(again.duplicates, 1);
    const { data } = await client().api.GET("/v1/customers/{id}/profile", { params: { path: { id: "retry-c" } } });
    assert.ok(data);
    assert.equal(data.events, 1);
  });

  test("an event without an event_id is sent once and the 503 surfaces", async () => {
    failures = 1;
    hits = 0;
    await assert.rejects(client().postEvent({ customer_id: "retry-c", product_id: "85123A", type: "view" }), (err: unknown) => {
      assert.ok(err instanceof AffinityError);
      assert.equal(err.status, 503);
      assert.equal(err.type, "https://affinity.dev/problems/unavailable");
      return true;
    });
    assert.equal(hits, 1);
  });

  test("NDJSON batches with event ids are retried; the tally counts each event once", async () => {
    failures = 1;
    hits = 0;
    const events = Array.from({ length: 30 }, (_, i) => ({ event_id: `nd-${i}`, customer_id: "nd-c", product_id: "85123A", type: "view" }));
    const reply = await client().postEvents(events, { batchSize: 10 });
    assert.equal(hits, 4, "three batches, the first one twice");
    assert.equal(reply.accepted, 30);
    assert.equal(reply.duplicates, 0);
  });

  test("a 500 is a server bug, not retried", async () => {
    failures = 1;
    failStatus = 500;
    hits = 0;
    try {
      await assert.rejects(client().popular(), (err: unknown) => err instanceof AffinityError && err.status === 500);
      assert.equal(hits, 1);
    } finally {
      failStatus = 503;
      failures = 0;
    }
  });

  test("when the retries run out the last 503 is thrown", async () => {
    failures = 10;
    hits = 0;
    await assert.rejects(client(2).popular(), (err: unknown) => err instanceof AffinityError && err.status === 503);
    assert.equal(hits, 3);
    failures = 0;
  });
});
