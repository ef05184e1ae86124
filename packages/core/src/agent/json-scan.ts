/**
 * Finding JSON objects in text that is mostly, but not only, JSON: a CLI's stdout
 * with a warning before the result, a progress line after it, a stream cut short.
 */

/** A plain JSON object (not an array, not null). */
export type JsonObject = Record<string, unknown>;

/** True for a non-null, non-array object. */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function tryParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

// A pathological output (thousands of stray braces) must not turn one parse into minutes.
const MAX_SPAN_ATTEMPTS = 2_000;

/**
 * Every balanced `{…}` span of `text`, in order of their closing brace (so an
 * object comes after the objects nested in it). Quotes are tracked so braces inside JSON strings do not
 * count; a newline resets that state because a JSON string cannot hold a raw
 * newline, so a stray quote in a noise line cannot swallow the rest of the output.
 */
function objectSpans(text: string): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  const open: number[] = [];
  let inString = false;
  let escaped = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 /* \n */) {
      inString = false;
      escaped = false;
      continue;
    }
    if (inString) {
      if (escaped) escaped = false;
      else if (c === 92 /* \ */) escaped = true;
      else if (c === 34 /* " */) inString = false;
      continue;
    }
    if (c === 34) inString = true;
    else if (c === 123 /* { */) open.push(i);
    else if (c === 125 /* } */) {
      const start = open.pop();
      if (start !== undefined) spans.push([start, i + 1]);
    }
  }
  return spans;
}

/**
 * The last JSON object in `text` that `accept` takes, looking at every balanced
 * span from the end. Spans nested in an object that parsed but was not accepted
 * are skipped: they are its fields, not messages of their own.
 */
export function lastJsonObject(text: string, accept: (o: JsonObject) => boolean): JsonObject | null {
  const spans = objectSpans(text);
  let coveredFrom = Number.POSITIVE_INFINITY;
  let attempts = 0;
  for (let k = spans.length - 1; k >= 0 && attempts < MAX_SPAN_ATTEMPTS; k--) {
    const [start, end] = spans[k]!;
    // Spans come from a stack, so they nest or are disjoint: a later start is inside.
    if (start > coveredFrom) continue;
    attempts++;
    const value = tryParse(text.slice(start, end));
    if (!isJsonObject(value)) continue;
    if (accept(value)) return value;
    coveredFrom = start;
  }
  return null;
}

/**
 * The message `accept` takes from output that may be one JSON value, a JSON array
 * of messages, NDJSON, or JSON with noise around it. The last accepted message
 * wins in every shape, because the CLI prints its result last.
 */
export function findLastMessage(output: string, accept: (o: JsonObject) => boolean): JsonObject | null {
  const text = output.trim();
  if (!text) return null;
  const whole = tryParse(text);
  if (isJsonObject(whole)) return accept(whole) ? whole : null;
  if (Array.isArray(whole)) {
    for (let i = whole.length - 1; i >= 0; i--) {
      const item: unknown = whole[i];
      if (isJsonObject(item) && accept(item)) return item;
    }
    return null;
  }
  const lines = text.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!.trim();
    if (!line.startsWith('{')) continue;
    const value = tryParse(line);
    if (isJsonObject(value) && accept(value)) return value;
  }
  return lastJsonObject(text, accept);
}
