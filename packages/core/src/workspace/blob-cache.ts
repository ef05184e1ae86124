/**
 * File contents read from commits, keyed by `<repo> <commit sha>:<path>`. A commit
 * never changes, so an entry never goes stale; only size bounds the cache (least
 * recently used out first). `null` (no such file in that commit) is cached too.
 */
export class BlobCache {
  readonly #entries = new Map<string, string | null>();
  #chars = 0;

  constructor(
    private readonly maxEntries = 512,
    private readonly maxChars = 4 * 1024 * 1024,
  ) {}

  static key(repo: string, sha: string, file: string): string {
    return `${repo}\u0000${sha}:${file}`;
  }

  /** The cached content, null for a file known absent, undefined when not cached. */
  get(key: string): string | null | undefined {
    if (!this.#entries.has(key)) return undefined;
    const value = this.#entries.get(key)!;
    this.#entries.delete(key);
    this.#entries.set(key, value);
    return value;
  }

  set(key: string, value: string | null): void {
    // One file larger than the whole budget is read again next time instead.
    if ((value?.length ?? 0) > this.maxChars) return;
    this.#drop(key);
    this.#entries.set(key, value);
    this.#chars += value?.length ?? 0;
    for (const oldest of this.#entries.keys()) {
      if (this.#entries.size <= this.maxEntries && this.#chars <= this.maxChars) break;
      this.#drop(oldest);
    }
  }

  get size(): number {
    return this.#entries.size;
  }

  #drop(key: string): void {
    if (!this.#entries.has(key)) return;
    this.#chars -= this.#entries.get(key)?.length ?? 0;
    this.#entries.delete(key);
  }
}
