/** Writes a batch in one commit; resolves with one result per item, in order, once committed. */
export type BatchWriter<I, O> = (items: readonly I[]) => Promise<O[]>;

export interface GroupCommitOptions {
  /** Most items in one batch; the rest wait for the next. */
  maxBatch: number;
}

interface Waiting<I, O> {
  item: I;
  resolve: (value: O) => void;
  reject: (error: Error) => void;
}

/**
 * Group commit: the items added while the event loop handles one round of I/O (the
 * requests that arrived together) are written by one call of `write`, and while a
 * batch is being written the next ones gather, so under load a batch grows to what
 * arrived during the previous commit. Each `add` settles only after the batch holding
 * its item has committed: resolved with its own result, or rejected with the batch's
 * error (nothing of a failed batch is written). One batch is in flight at a time.
 */
export class GroupCommit<I, O> {
  readonly #write: BatchWriter<I, O>;
  readonly #maxBatch: number;
  #queue: Waiting<I, O>[] = [];
  #scheduled = false;
  #inFlight: Promise<void> | null = null;

  constructor(write: BatchWriter<I, O>, opts: GroupCommitOptions) {
    if (!Number.isInteger(opts.maxBatch) || opts.maxBatch < 1) throw new RangeError(`maxBatch must be a positive integer, got ${opts.maxBatch}`);
    this.#write = write;
    this.#maxBatch = opts.maxBatch;
  }

  add(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      this.#schedule();
    });
  }

  /** Resolves once every item added so far has been written (or refused). */
  async drained(): Promise<void> {
    while (this.#inFlight || this.#queue.length) await (this.#inFlight ?? new Promise<void>((r) => setImmediate(r)));
  }

  #schedule(): void {
    if (this.#scheduled || this.#inFlight) return;
    this.#scheduled = true;
    // setImmediate, not a microtask: every request already read in this turn of the
    // event loop gets to add its item before the batch is cut.
    setImmediate(() => {
      this.#scheduled = false;
      this.#flush();
    });
  }

  #flush(): void {
    if (this.#inFlight || this.#queue.length === 0) return;
    const batch = this.#queue.splice(0, this.#maxBatch);
    this.#inFlight = this.#run(batch).finally(() => {
      this.#inFlight = null;
      if (this.#queue.length) this.#schedule();
    });
  }

  async #run(batch: Waiting<I, O>[]): Promise<void> {
    let results: O[];
    try {
      results = await this.#write(batch.map((w) => w.item));
      if (results.length !== batch.length) throw new Error(`group commit: the writer returned ${results.length} results for ${batch.length} items`);
    } catch (thrown) {
      const error = thrown instanceof Error ? thrown : new Error(String(thrown));
      for (const w of batch) w.reject(error);
      return;
    }
    batch.forEach((w, i) => w.resolve(results[i]!));
  }
}
