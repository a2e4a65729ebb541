// The client against a live Affinity server with the demo data and API keys.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Affinity, AffinityError, type AffinityEvent } from "../src/index.js";
import { startAffinity, type RunningServer } from "./server.js";

const ADMIN = "ts-admin-key";
const READ = "ts-read-key";

let srv: RunningServer;
let aff: Affinity;

before(async () => {
  srv = await startAffinity({ demo: true, apiKeys: `admin:${ADMIN},read:${READ}` });
  aff = new Affinity({ baseUrl: srv.url, apiKey: ADMIN });
});
after(async () => {
  await srv?.stop();
});

async function rejection(p: Promise<unknown>): Promise<AffinityError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof AffinityError, `expected an AffinityError, got ${String(err)}`);
    return err;
  }
  assert.fail("expected the call to fail");
}

describe("lists", () => {
  test("popular returns the demo's best sellers with a recommendation id", async () => {
    const r = await aff.popular({ limit: 5 });
    assert.equal(r.items.length, 5);
    assert.equal(r.algorithm, "popular");
    assert.match(r.recommendation_id, /\S/);
    const scores = r.items.map((i) => i.score);
    assert.deepEqual(scores, [...scores].sort((a, b) => b - a), "items are ranked by score");
  });

  test("related leaves out the product itself", async () => {
    const r = await aff.related("85123A", { limit: 10 });
    assert.ok(r.items.length > 0);
    assert.ok(r.items.every((i) => i.product_id !== "85123A"));
  });

  test("the generated client reaches routes the helpers do not wrap", async () => {
    const { data, response } = await aff.api.GET("/v1/customers/{id}/profile", { params: { path: { id: "17809" } } });
    assert.equal(response.status, 200);
    assert.ok(data, "a 2xx reply has data: failures throw");
    assert.equal(data.customer_id, "17809");
  });
});

describe("problems become typed errors", () => {
  test("an unknown product is a 404 AffinityError", async () => {
    const err = await rejection(aff.related("no-such-product"));
    assert.equal(err.status, 404);
    assert.equal(err.title, "Not Found");
    assert.equal(err.type, "https://affinity.dev/problems/not-found");
    assert.match(err.detail, /\S/);
  });

  test("a bad query parameter is a 400 naming the field", async () => {
    const err = await rejection(aff.popular({ limit: 1000 }));
    assert.equal(err.status, 400);
    assert.equal(err.type, "https://affinity.dev/problems/invalid-field");
    assert.equal(err.field, "limit");
    assert.match(err.detail, /limit/);
  });

  test("a rejected single event throws with the field at fault", async () => {
    const bad = { customer_id: "c-ts", type: "view" } as AffinityEvent;
    const err = await rejection(aff.postEvent(bad));
    assert.equal(err.status, 400);
    assert.equal(err.field, "product_id");
  });
});

describe("auth", () => {
  test("without a key the server answers 401", async () => {
    const anon = new Affinity({ baseUrl: srv.url });
    const err = await rejection(anon.popular());
    assert.equal(err.status, 401);
    assert.equal(err.type, "https://affinity.dev/problems/unauthorized");
  });

  test("a read key can read but not write", async () => {
    const reader = new Affinity({ baseUrl: srv.url, apiKey: READ });
    const r = await reader.popular({ limit: 1 });
    assert.equal(r.items.length, 1);
    const err = await rejection(reader.postEvent({ customer_id: "c-ts", product_id: "85123A", type: "view" }));
    assert.equal(err.status, 403);
    assert.equal(err.type, "https://affinity.dev/problems/forbidden");
  });
});

describe("experiments and attribution", () => {
  test("a click carrying the recommendation id is counted for the forced variant", async () => {
    await aff.api.PUT("/v1/experiments/{id}", {
      params: { path: { id: "ts-home" } },
      body: {
        status: "running",
        variants: [
          { name: "control", weight: 50 },
          { name: "popular", weight: 50, params: { algorithm: "popular" } },
        ],
      },
    });
    const inExp = aff.withExperiment("ts-home", "popular");
    const recs = await inExp.recommendations("17809", { limit: 5 });
    assert.equal(recs.experiment, "ts-home");
    assert.equal(recs.variant, "popular");
    assert.equal(recs.items.length, 5);

    const click: AffinityEvent = {
      event_id: "ts-click-1",
      customer_id: "17809",
      product_id: recs.items[0].product_id,
      type: "click",
      recommendation_id: recs.recommendation_id,
    };
    const reply = await aff.postEvent(click);
    assert.equal(reply.accepted, 1);

    // Exposures are logged off the request path: poll, bounded.
    let popular: { exposures: number; clicks: number } | undefined;
    for (let i = 0; i < 100; i++) {
      const { data } = await aff.api.GET("/v1/experiments/{id}/results", { params: { path: { id: "ts-home" } } });
      assert.ok(data);
      popular = data.variants.find((v) => v.name === "popular");
      if (popular && popular.clicks >= 1 && popular.exposures >= 1) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(popular?.exposures, 1);
    assert.equal(popular?.clicks, 1);
  });
});

describe("NDJSON posting", () => {
  test("many events go in batches; error indexes count over the whole call", async () => {
    const events: AffinityEvent[] = [];
    for (let i = 0; i < 2500; i++) {
      events.push({ event_id: `ts-bulk-${i}`, customer_id: `ts-bulk-${i % 50}`, product_id: "85123A", type: "view" });
    }
    events[10] = { ...events[10], type: "" };
    events[2100] = { ...events[2100], customer_id: "" };
    const first = await aff.postEvents(events, { batchSize: 1000 });
    assert.equal(first.accepted, 2498);
    assert.equal(first.rejected, 2);
    assert.deepEqual(
      first.errors.map((e) => e.index),
      [10, 2100],
    );
    // The same ids again are recognised as duplicates, not counted twice.
    const again = await aff.postEvents(events, { batchSize: 1000 });
    assert.equal(again.duplicates, 2498);
    const { data } = await aff.api.GET("/v1/customers/{id}/profile", { params: { path: { id: "ts-bulk-7" } } });
    assert.ok(data);
    assert.equal(data.events, 50);
  });

  test("a batch whose events are all rejected is counted, not thrown", async () => {
    async function* gen(): AsyncGenerator<AffinityEvent> {
      yield { customer_id: "ts-gen", product_id: "85123A", type: "view", event_id: "ts-gen-0" };
      yield { customer_id: "ts-gen", product_id: "", type: "view", event_id: "ts-gen-1" };
    }
    const r = await aff.postEvents(gen(), { batchSize: 1 });
    assert.equal(r.accepted, 1);
    assert.equal(r.rejected, 1);
    assert.equal(r.errors[0].index, 1);
    assert.equal(r.errors[0].field, "product_id");
  });
});

describe("the example in docs/clients-typescript.md", () => {
  test("runs as written", async () => {
    const recs = await aff.recommendations("17809", { limit: 10, exclude_seen: true });
    assert.equal(recs.items.length, 10);
    const clicked = recs.items[0].product_id;
    const reply = await aff.postEvent({
      event_id: `click-${recs.recommendation_id}-${clicked}`,
      customer_id: "17809",
      product_id: clicked,
      type: "click",
      recommendation_id: recs.recommendation_id,
    });
    assert.equal(reply.accepted, 1);

    await aff.api.PUT("/v1/products/{id}", {
      params: { path: { id: "85123A" } },
      body: { category: "holder", price: 2.55, available: true },
    });
    const popular = await aff.popular({ limit: 5, category: "holder" });
    assert.ok(popular.items.some((i) => i.product_id === "85123A"), "the product just put in the category");
    for (const item of popular.items) {
      const { data: product } = await aff.api.GET("/v1/products/{id}", { params: { path: { id: item.product_id } } });
      assert.equal(product?.category, "holder", `${item.product_id} passes the category filter`);
    }
    const related = await aff.related("85123A", { basis: "bought", limit: 8 });
    assert.equal(related.items.length, 8);

    const { data } = await aff.api.GET("/v1/customers/{id}/profile", { params: { path: { id: "17809" } } });
    assert.ok(data);
    assert.equal(data.customer_id, "17809");

    try {
      await aff.related("no-such-product");
      assert.fail("an unknown product should be a 404");
    } catch (err) {
      if (!(err instanceof AffinityError) || err.status !== 404) throw err;
      assert.equal(err.type, "https://affinity.dev/problems/not-found");
    }
  });
});
