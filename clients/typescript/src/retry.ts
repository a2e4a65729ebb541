import { AffinityNetworkError } from "./errors.js";

/** How failed attempts are retried. */
export interface RetryOptions {
  /** Retries after the first attempt; 0 turns retrying off. Default 3. */
  retries?: number;
  /** Ceiling of the first backoff in milliseconds, doubled per retry. Default 100. */
  baseDelayMs?: number;
  /** Longest wait between attempts, a server's Retry-After included. Default 5000. */
  maxDelayMs?: number;
  /** Per-attempt timeout in milliseconds; 0 means none. Default 30000. */
  timeoutMs?: number;
}

export type ResolvedRetry = Required<RetryOptions>;

/** Fills in the defaults; a negative or non-numeric setting is a RangeError naming it. */
export function resolveRetry(o: RetryOptions = {}): ResolvedRetry {
  const r: ResolvedRetry = {
    retries: o.retries ?? 3,
    baseDelayMs: o.baseDelayMs ?? 100,
    maxDelayMs: o.maxDelayMs ?? 5000,
    timeoutMs: o.timeoutMs ?? 30000,
  };
  for (const [name, v] of Object.entries(r)) {
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
      throw new RangeError(`retry.${name} must be a number >= 0, not ${String(v)}`);
    }
  }
  if (!Number.isInteger(r.retries)) throw new RangeError(`retry.retries must be a whole number, not ${r.retries}`);
  return r;
}

/**
 * Statuses worth another attempt: rate-limited, or the server or a proxy in
 * front of it overloaded, restarting or timed out. Other 4xx are the
 * caller's mistake and a 500 is a server bug: both would fail the same way
 * again. The same set as the Go client (docs/clients.md).
 */
export const RETRY_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);

/** Whether repeating a request of this method cannot apply it twice (RFC 9110 9.2.2). */
export function isIdempotentMethod(method: string): boolean {
  return IDEMPOTENT.has(method.toUpperCase());
}

/**
 * The wait before retry number `attempt` (0-based): "full jitter", a uniform
 * draw below an exponentially growing ceiling, so that many clients failing
 * at once do not come back in lockstep.
 */
export function backoffDelay(attempt: number, o: ResolvedRetry, random: () => number = Math.random): number {
  const ceiling = Math.min(o.maxDelayMs, o.baseDelayMs * 2 ** attempt);
  return Math.floor(random() * ceiling);
}

/** Parses Retry-After (delay-seconds or an HTTP date) into milliseconds. */
export function retryAfterMs(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function sleep(ms: number, signal?: AbortSignal | null): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener("abort", abort);
      resolve();
    }
    function abort() {
      clearTimeout(t);
      reject(signal?.reason);
    }
    signal?.addEventListener("abort", abort, { once: true });
  });
}

/** One attempt, aborted after timeoutMs or when the caller's signal fires. */
async function attemptOnce(fetchFn: typeof fetch, req: Request, timeoutMs: number): Promise<Response> {
  if (req.signal.aborted) throw req.signal.reason;
  if (timeoutMs <= 0) return fetchFn(req);
  const ctl = new AbortController();
  const onAbort = () => ctl.abort(req.signal.reason);
  req.signal.addEventListener("abort", onAbort, { once: true });
  const timer = setTimeout(() => ctl.abort(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
  try {
    return await fetchFn(req, { signal: ctl.signal });
  } finally {
    clearTimeout(timer);
    req.signal.removeEventListener("abort", onAbort);
  }
}

/**
 * send runs a request with retries. makeRequest must return a fresh Request
 * each time (a body can be read only once). Only a retryable request is
 * repeated; any request gets the network failure wrapped in
 * AffinityNetworkError. A 2xx-5xx reply is returned as it is: turning it into
 * an error is the caller's business.
 */
export async function send(
  fetchFn: typeof fetch,
  makeRequest: () => Request,
  retryable: boolean,
  o: ResolvedRetry,
): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    const req = makeRequest();
    const last = !retryable || attempt >= o.retries;
    let res: Response;
    try {
      res = await attemptOnce(fetchFn, req, o.timeoutMs);
    } catch (err) {
      // The caller gave up: no retry, and the abort reason as it is.
      if (req.signal.aborted) throw err;
      if (last) throw new AffinityNetworkError(req.method, req.url, attempt + 1, err);
      await sleep(backoffDelay(attempt, o), req.signal);
      continue;
    }
    if (last || !RETRY_STATUSES.has(res.status)) return res;
    let wait = backoffDelay(attempt, o);
    const after = retryAfterMs(res.headers.get("Retry-After"));
    if (after !== undefined) wait = Math.min(o.maxDelayMs, Math.max(wait, after));
    // Free the connection: the failed reply's body is not needed.
    await res.body?.cancel().catch(() => undefined);
    await sleep(wait, req.signal);
  }
}
