/**
 * NDJSON encoding of events. JSON.stringify never emits a raw newline (it
 * escapes them inside strings), so each value is exactly one line.
 */
export function toNDJSON(values: Iterable<unknown>): string {
  let out = "";
  for (const v of values) out += JSON.stringify(v) + "\n";
  return out;
}

/** Splits an iterable (sync or async) into arrays of at most `size` items. */
export async function* batches<T>(items: Iterable<T> | AsyncIterable<T>, size: number): AsyncGenerator<T[]> {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`batch size must be a positive integer, not ${size}`);
  let batch: T[] = [];
  for await (const item of items) {
    batch.push(item);
    if (batch.length === size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}
