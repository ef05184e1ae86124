/**
 * A seeded pseudo-random source (mulberry32): every random choice of a fault
 * scenario comes from one, so a failing run is replayed with its seed.
 * `FAULT_SEED=<n>` fixes the seed; otherwise one is drawn and printed.
 */
export class SeededRandom {
  #state: number;

  constructor(readonly seed: number) {
    this.#state = seed >>> 0;
  }

  /** A seed from `FAULT_SEED`, or a fresh one; printed either way, with the scenario's name. */
  static forScenario(name: string): SeededRandom {
    const fixed = process.env.FAULT_SEED;
    const seed = fixed !== undefined && fixed !== '' ? Number(fixed) : Math.floor(Math.random() * 2 ** 32);
    if (!Number.isInteger(seed)) throw new Error(`FAULT_SEED="${fixed}" is not an integer`);
    process.stderr.write(`fault scenario "${name}": seed ${seed} (replay with FAULT_SEED=${seed})\n`);
    return new SeededRandom(seed);
  }

  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** true with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** A copy of `items` in a random order. */
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }
}
