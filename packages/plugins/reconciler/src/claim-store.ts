import { isUniqueViolation, type Clock, type Knex } from '@conveyor/core';

/**
 * Claim-before-act: a task is the reconciler's to touch on this host only while
 * this host holds its row in `reconciler_claims`. Claiming is an insert, or the
 * compare-and-set takeover of an expired claim (its holder died mid-act).
 */
export class ClaimStore {
  constructor(
    private readonly knex: Knex,
    private readonly clock: Clock,
    private readonly hostId: string,
    private readonly ttlMs: number,
  ) {}

  /** True when this host now holds the claim on `taskId` (until `release` or the TTL). */
  async claim(taskId: number): Promise<number | null> {
    const now = this.clock.now();
    const until = now + this.ttlMs;
    try {
      await this.knex('reconciler_claims').insert({ task_id: taskId, host_id: this.hostId, claimed_until: until });
      return until;
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
    }
    const took = await this.knex('reconciler_claims').where({ task_id: taskId }).andWhere('claimed_until', '<=', now).update({ host_id: this.hostId, claimed_until: until });
    return took === 1 ? until : null;
  }

  /** Gives back a claim this host holds (never another host's later one). */
  async release(taskId: number, until: number): Promise<void> {
    await this.knex('reconciler_claims').where({ task_id: taskId, host_id: this.hostId, claimed_until: until }).delete();
  }

  /**
   * Drops every claim this host id holds: at start nothing of this host acts, so they
   * are left by its previous run, killed mid-act (a host id is stable across restarts).
   */
  async releaseAllOfThisHost(): Promise<number> {
    return this.knex('reconciler_claims').where({ host_id: this.hostId }).delete();
  }

  /** Claims, runs `act`, releases; null when another host holds the task. */
  async withClaim<T>(taskId: number, act: () => Promise<T>): Promise<{ value: T } | null> {
    const until = await this.claim(taskId);
    if (until === null) return null;
    try {
      return { value: await act() };
    } finally {
      await this.release(taskId, until);
    }
  }
}
