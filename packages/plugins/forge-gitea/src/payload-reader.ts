/** A webhook body Conveyor cannot use: answered 400 with this message. */
export class GiteaPayloadError extends Error {
  readonly code = 'FORGE_GITEA_PAYLOAD_INVALID';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GiteaPayloadError';
  }
}

function render(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  const text = JSON.stringify(v);
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}

/**
 * Typed reads from a parsed webhook body, each failure naming the event, the
 * dotted field and what was found, so a 400 tells the sender exactly what is wrong.
 */
export class PayloadReader {
  constructor(
    private readonly event: string,
    private readonly root: Record<string, unknown>,
  ) {}

  /** Parses the raw bytes: a JSON object or a `GiteaPayloadError`. */
  static parse(event: string, raw: Buffer | string): PayloadReader {
    let value: unknown;
    try {
      value = JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
    } catch (err) {
      throw new GiteaPayloadError(`${event} payload is not valid JSON: ${(err as Error).message}`, { cause: err });
    }
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw new GiteaPayloadError(`${event} payload must be a JSON object (found ${render(value)})`);
    return new PayloadReader(event, value as Record<string, unknown>);
  }

  #at(path: string): unknown {
    let v: unknown = this.root;
    for (const key of path.split('.')) v = v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>)[key] : undefined;
    return v;
  }

  #fail(path: string, expected: string, found: unknown): never {
    throw new GiteaPayloadError(`${this.event} payload: "${path}" must be ${expected} (found ${render(found)})`);
  }

  /** A non-empty string. */
  string(path: string): string {
    const v = this.#at(path);
    if (typeof v !== 'string' || v === '') this.#fail(path, 'a non-empty string', v);
    return v;
  }

  /** A string, possibly empty; absent or null → `null`. */
  optionalString(path: string): string | null {
    const v = this.#at(path);
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string') this.#fail(path, 'a string or null', v);
    return v;
  }

  /** A positive integer. */
  integer(path: string): number {
    const v = this.#at(path);
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) this.#fail(path, 'a positive integer', v);
    return v;
  }

  /** An integer; absent or null → `null`. */
  optionalInteger(path: string): number | null {
    const v = this.#at(path);
    if (v === undefined || v === null) return null;
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) this.#fail(path, 'an integer or null', v);
    return v;
  }

  boolean(path: string): boolean {
    const v = this.#at(path);
    if (typeof v !== 'boolean') this.#fail(path, 'true or false', v);
    return v;
  }

  /** One of `allowed`. */
  oneOf<T extends string>(path: string, allowed: readonly T[]): T {
    const v = this.#at(path);
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) this.#fail(path, `one of ${allowed.join(', ')}`, v);
    return v as T;
  }
}
