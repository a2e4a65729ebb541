import createFetchClient, { type Client, type Middleware } from "openapi-fetch";
import type { components, paths } from "./generated/schema.js";
import { AffinityError } from "./errors.js";
import { batches, toNDJSON } from "./ndjson.js";
import { isIdempotentMethod, resolveRetry, send, type ResolvedRetry, type RetryOptions } from "./retry.js";

/** How to reach and talk to an Affinity server. */
export interface AffinityOptions {
  /** The server's root, e.g. "https://recs.example.com" (without /v1). */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Sent as X-Affinity-Experiment on every request. */
  experiment?: string;
  /** Sent as X-Affinity-Variant: forces that variant instead of hashing. */
  variant?: string;
  retry?: RetryOptions;
  /** The transport; defaults to the global fetch (Node 18+, browsers). */
  fetch?: typeof globalThis.fetch;
  /** Extra headers for every request. */
  headers?: Record<string, string>;
}

/** Per-call options of the helpers. */
export interface CallOptions {
  signal?: AbortSignal;
  headers?: Record<string, string>;
}

/** One event as POST /v1/events takes it. */
export type AffinityEvent = components["schemas"]["Event"];

/** The reply to an events post (summed over batches by postEvents). */
export type EventsReply = components["schemas"]["EventsReply"];

export interface PostEventsOptions extends CallOptions {
  /** Events per request. Default 5000, the server's commit chunk. */
  batchSize?: number;
}

type Get<P extends keyof paths> = paths[P] extends { get: infer Op } ? Op : never;
/** The query parameters of an operation, from the generated description. */
export type QueryOf<Op> = Op extends { parameters: { query?: infer Q } } ? NonNullable<Q> : never;
/** The JSON body of an operation's 200 reply, from the generated description. */
export type ReplyOf<Op> = Op extends { responses: { 200: { content: { "application/json": infer T } } } } ? T : unknown;

export type PopularQuery = QueryOf<Get<"/v1/popular">>;
export type RelatedQuery = QueryOf<Get<"/v1/products/{id}/related">>;
export type RecommendationsQuery = QueryOf<Get<"/v1/customers/{id}/recommendations">>;
export type ListReply = components["schemas"]["ListReply"];

/** Turns every non-2xx reply of the generated client into an AffinityError. */
const throwProblems: Middleware = {
  async onResponse({ request, response }) {
    if (!response.ok) throw await AffinityError.fromResponse(response, request.method, request.url);
    return undefined;
  },
};

/**
 * Affinity is the client. `api` is the generated, fully typed client of every
 * route (openapi-fetch over the types openapi-typescript generates from the
 * description); the methods here are the thin hand-written layer: auth,
 * retries, experiment headers, typed errors and batched NDJSON posting.
 * An instance does not change after construction: share one per process or
 * page (withExperiment returns a new one).
 */
export class Affinity {
  readonly api: Client<paths>;
  private readonly options: AffinityOptions;
  private readonly baseUrl: string;
  private readonly retry: ResolvedRetry;
  private readonly fetchFn: typeof globalThis.fetch;
  private readonly headers: Record<string, string>;

  constructor(options: AffinityOptions) {
    if (!options.baseUrl) throw new TypeError("Affinity: baseUrl is required");
    this.options = options;
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.retry = resolveRetry(options.retry);
    // Bound: browsers reject a fetch called with another `this`.
    this.fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.headers = { ...options.headers };
    if (options.apiKey) this.headers["Authorization"] = `Bearer ${options.apiKey}`;
    if (options.experiment) this.headers["X-Affinity-Experiment"] = options.experiment;
    if (options.variant) this.headers["X-Affinity-Variant"] = options.variant;
    this.api = createFetchClient<paths>({
      baseUrl: this.baseUrl,
      headers: this.headers,
      // Only methods that cannot apply twice are repeated; a POST through
      // `api` is sent once (postEvent/postEvents retry when ids make it safe).
      fetch: (req: Request) => send(this.fetchFn, () => req.clone(), isIdempotentMethod(req.method), this.retry),
    });
    this.api.use(throwProblems);
  }

  /** A client like this one whose requests join `experiment` (in `variant`, when given). */
  withExperiment(experiment: string, variant?: string): Affinity {
    return new Affinity({ ...this.options, experiment, variant });
  }

  /** GET /v1/popular: the products with the most customers. */
  async popular(query?: PopularQuery, call: CallOptions = {}): Promise<ListReply> {
    const { data } = await this.api.GET("/v1/popular", { params: { query }, ...call });
    return data as ListReply;
  }

  /** GET /v1/products/{id}/related: customers who bought this also bought. */
  async related(productId: string, query?: RelatedQuery, call: CallOptions = {}): Promise<ListReply> {
    const { data } = await this.api.GET("/v1/products/{id}/related", {
      params: { path: { id: productId }, query },
      ...call,
    });
    return data as ListReply;
  }

  /** GET /v1/customers/{id}/recommendations: one-to-one recommendations. */
  async recommendations(customerId: string, query?: RecommendationsQuery, call: CallOptions = {}): Promise<ListReply> {
    const { data } = await this.api.GET("/v1/customers/{id}/recommendations", {
      params: { path: { id: customerId }, query },
      ...call,
    });
    return data as ListReply;
  }

  /**
   * Posts one event. It is retried only when it has an event_id (the server
   * then drops a second copy). A rejected event throws AffinityError.
   */
  async postEvent(event: AffinityEvent, call: CallOptions = {}): Promise<EventsReply> {
    const res = await this.postRaw(JSON.stringify(event), "application/json", Boolean(event.event_id), call);
    if (!res.ok) throw await AffinityError.fromResponse(res, "POST", res.url || this.eventsUrl());
    return (await res.json()) as EventsReply;
  }

  /**
   * Posts many events as NDJSON, `batchSize` per request, and sums the
   * replies (error indexes count from the first event of the whole call). A
   * batch is retried only when every event in it has an event_id. A batch
   * whose events are all rejected is counted, not thrown, so that it does
   * not hide the others; a failure of the request itself (auth, size, the
   * server down after the retries) throws, with the batches before it
   * already committed: with event ids the whole call can simply be repeated.
   */
  async postEvents(
    events: Iterable<AffinityEvent> | AsyncIterable<AffinityEvent>,
    opts: PostEventsOptions = {},
  ): Promise<EventsReply> {
    const total: EventsReply = { accepted: 0, rejected: 0, duplicates: 0, errors: [] };
    let base = 0;
    for await (const batch of batches(events, opts.batchSize ?? 5000)) {
      const retryable = batch.every((e) => Boolean(e.event_id));
      const res = await this.postRaw(toNDJSON(batch), "application/x-ndjson", retryable, opts);
      const reply = await this.batchReply(res, batch.length);
      total.accepted += reply.accepted;
      total.rejected += reply.rejected;
      total.duplicates += reply.duplicates;
      for (const e of reply.errors) total.errors.push({ ...e, index: e.index + base });
      base += batch.length;
    }
    return total;
  }

  private async batchReply(res: Response, n: number): Promise<EventsReply> {
    if (res.ok) return (await res.json()) as EventsReply;
    const err = await AffinityError.fromResponse(res, "POST", this.eventsUrl());
    // Every event rejected: the server answers 400 with the per-event errors.
    if (err.status === 400 && err.errors.length > 0) {
      return { accepted: 0, rejected: n, duplicates: 0, errors: err.errors };
    }
    throw err;
  }

  private eventsUrl(): string {
    return `${this.baseUrl}/v1/events`;
  }

  private postRaw(body: string, contentType: string, retryable: boolean, call: CallOptions): Promise<Response> {
    const headers = { ...this.headers, ...call.headers, "Content-Type": contentType };
    const url = this.eventsUrl();
    return send(
      this.fetchFn,
      () => new Request(url, { method: "POST", headers, body, signal: call.signal }),
      retryable,
      this.retry,
    );
  }
}
