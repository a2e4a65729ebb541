import type { components } from "./generated/schema.js";

/** One rejected item of a batch, as the server reports it. */
export type Rejection = components["schemas"]["Rejection"];

/** The problem types the server documents (https://affinity.dev/problems/...). */
export type ProblemType = components["schemas"]["Problem"]["type"];

/**
 * An RFC 9457 problem document as received. Every field is optional here:
 * a proxy in front of the server may answer with something else entirely.
 */
export type Problem = Partial<components["schemas"]["Problem"]> & { [extension: string]: unknown };

/**
 * AffinityError is thrown for every non-2xx reply. It carries the problem
 * document's fields so callers can branch on `status` or `type` without
 * parsing anything themselves.
 */
export class AffinityError extends Error {
  readonly status: number;
  /** One of ProblemType from Affinity itself; "about:blank" when the body was not a problem. */
  readonly type: ProblemType | (string & {});
  readonly title: string;
  readonly detail: string;
  readonly field?: string;
  readonly errors: Rejection[];
  /** The whole problem document (or a synthesised one when the body was not JSON). */
  readonly problem: Problem;
  /** The request's method and URL, to make logs self-explaining. */
  readonly method: string;
  readonly url: string;
  /** The reply's headers (Retry-After, X-Request-Id, ...). */
  readonly headers: Headers;

  constructor(problem: Problem, status: number, method: string, url: string, headers: Headers) {
    // The body may come from a proxy rather than Affinity: keep only fields
    // of the documented types, so callers can rely on them.
    const detail = str(problem.detail);
    super(`${method} ${url}: ${status}${detail ? " " + detail : ""}`);
    this.name = "AffinityError";
    this.status = status;
    this.type = str(problem.type) || "about:blank";
    this.title = str(problem.title);
    this.detail = detail;
    this.field = typeof problem.field === "string" ? problem.field : undefined;
    this.errors = Array.isArray(problem.errors) ? problem.errors.filter(isRejection) : [];
    this.problem = problem;
    this.method = method;
    this.url = url;
    this.headers = headers;
  }

  /** Reads a failed reply's body into an AffinityError. */
  static async fromResponse(res: Response, method: string, url: string): Promise<AffinityError> {
    const text = await res.text().catch(() => "");
    let problem: Problem;
    try {
      const parsed: unknown = JSON.parse(text);
      problem = parsed !== null && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as Problem) : { detail: text.slice(0, 500) };
    } catch {
      // A proxy in front of the server may answer with HTML or plain text.
      problem = { title: res.statusText, detail: text.slice(0, 500) };
    }
    return new AffinityError(problem, res.status, method, url, res.headers);
  }
}

/**
 * AffinityNetworkError is thrown when no reply arrived: connection refused,
 * reset, DNS failure, or the per-attempt timeout, after any retries.
 */
export class AffinityNetworkError extends Error {
  readonly attempts: number;
  readonly method: string;
  readonly url: string;

  constructor(method: string, url: string, attempts: number, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(`${method} ${url}: no reply after ${attempts} attempt(s): ${why}`, { cause });
    this.name = "AffinityNetworkError";
    this.attempts = attempts;
    this.method = method;
    this.url = url;
  }
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

function isRejection(v: unknown): v is Rejection {
  if (v === null || typeof v !== "object") return false;
  const r = v as Record<string, unknown>;
  return typeof r.index === "number" && typeof r.detail === "string";
}
