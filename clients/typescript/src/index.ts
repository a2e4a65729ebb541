export {
  Affinity,
  type AffinityOptions,
  type AffinityEvent,
  type CallOptions,
  type EventsReply,
  type ListReply,
  type PopularQuery,
  type PostEventsOptions,
  type QueryOf,
  type RecommendationsQuery,
  type RelatedQuery,
  type ReplyOf,
} from "./client.js";
export { AffinityError, AffinityNetworkError, type Problem, type ProblemType, type Rejection } from "./errors.js";
export {
  RETRY_STATUSES,
  backoffDelay,
  isIdempotentMethod,
  resolveRetry,
  retryAfterMs,
  type ResolvedRetry,
  type RetryOptions,
} from "./retry.js";
export { batches, toNDJSON } from "./ndjson.js";
export type { components, operations, paths } from "./generated/schema.js";
