import type { Clock, Knex } from '@conveyor/core';

/** A frozen repository: no task of it is claimed until a person lifts the freeze. */
export interface RepoFreeze {
  repo: string;
  frozenAt: Date;
  event: string;
  reason: string;
  taskId: number | null;
}

interface FreezeRow {
  repo: string;
  frozen_at: number | string;
  event: string;
  reason: string;
  task_id: number | null;
}

const toFreeze = (r: FreezeRow): RepoFreeze => ({ repo: r.repo, frozenAt: new Date(Number(r.frozen_at)), event: r.event, reason: r.reason, taskId: r.task_id });

/** The `serial_gate_freezes` table. */
export class FreezeStore {
  constructor(
    private readonly knex: Knex,
    private readonly clock: Clock,
  ) {}

  /** Freezes a repo; true only for the call that froze it (an already frozen repo keeps its first cause). */
  async freeze(input: { repo: string; event: string; reason: string; taskId: number | null }): Promise<boolean> {
    const rows = await this.knex('serial_gate_freezes')
      .insert({ repo: input.repo, frozen_at: this.clock.now(), event: input.event, reason: input.reason, task_id: input.taskId })
      .onConflict('repo')
      .ignore()
      .returning('repo');
    return rows.length === 1;
  }

  /** Lifts the freeze; the freeze it lifted, or null when the repo was not frozen. */
  async unfreeze(repo: string): Promise<RepoFreeze | null> {
    const seen = await this.get(repo);
    if (!seen) return null;
    // Compare-and-set on the freeze read: a newer freeze set meanwhile is not lifted unseen.
    const n = await this.knex('serial_gate_freezes').where({ repo, frozen_at: seen.frozenAt.getTime() }).delete();
    return n === 1 ? seen : null;
  }

  async get(repo: string): Promise<RepoFreeze | null> {
    const r = (await this.knex('serial_gate_freezes').where({ repo }).first()) as FreezeRow | undefined;
    return r ? toFreeze(r) : null;
  }

  async list(): Promise<RepoFreeze[]> {
    return ((await this.knex('serial_gate_freezes').orderBy('repo')) as FreezeRow[]).map(toFreeze);
  }
}
