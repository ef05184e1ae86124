import type { Clock, Knex } from '@conveyor/core';

export interface Baseline {
  repo: string;
  value: number;
  updatedAt: Date;
  source: 'ratchet' | 'override';
}

export interface Measurement {
  taskId: number;
  repo: string;
  sha: string;
  value: number | null;
  baseline: number | null;
  status: 'pass' | 'fail' | 'skipped';
  mode: string;
  reason: string;
  at: Date;
}

const toBaseline = (r: Record<string, unknown>): Baseline => ({ repo: String(r.repo), value: Number(r.value), updatedAt: new Date(Number(r.updated_at)), source: r.source === 'override' ? 'override' : 'ratchet' });
const toMeasurement = (r: Record<string, unknown>): Measurement => ({
  taskId: Number(r.task_id),
  repo: String(r.repo),
  sha: String(r.sha),
  value: r.value === null ? null : Number(r.value),
  baseline: r.baseline === null ? null : Number(r.baseline),
  status: r.status as Measurement['status'],
  mode: String(r.mode),
  reason: String(r.reason),
  at: new Date(Number(r.created_at)),
});

/** Per-repo coverage baselines and the measurements of task heads. */
export class CoverageStore {
  constructor(
    private readonly knex: Knex,
    private readonly clock: Clock,
  ) {}

  async baseline(repo: string): Promise<Baseline | null> {
    const row = await this.knex('coverage_baselines').where({ repo }).first();
    return row ? toBaseline(row) : null;
  }

  async baselines(): Promise<Baseline[]> {
    return ((await this.knex('coverage_baselines').orderBy('repo')) as Record<string, unknown>[]).map(toBaseline);
  }

  /**
   * Raises the baseline to `value` if that is higher (or sets the first one): a
   * compare-and-set, so concurrent merges never lower it. True when it moved.
   */
  async ratchet(repo: string, value: number): Promise<boolean> {
    const now = this.clock.now();
    const inserted = (await this.knex('coverage_baselines').insert({ repo, value, updated_at: now, source: 'ratchet' }).onConflict('repo').ignore().returning('repo')) as unknown[];
    if (inserted.length === 1) return true;
    return (await this.knex('coverage_baselines').where({ repo }).andWhere('value', '<', value).update({ value, updated_at: now, source: 'ratchet' })) === 1;
  }

  /** A person sets the baseline (up or down): `POST /coverage/baseline`. */
  async override(repo: string, value: number): Promise<Baseline> {
    const now = this.clock.now();
    await this.knex('coverage_baselines').insert({ repo, value, updated_at: now, source: 'override' }).onConflict('repo').merge(['value', 'updated_at', 'source']);
    return (await this.baseline(repo))!;
  }

  async record(m: Omit<Measurement, 'at'>): Promise<void> {
    await this.knex('coverage_measurements').insert({ task_id: m.taskId, repo: m.repo, sha: m.sha, value: m.value, baseline: m.baseline, status: m.status, mode: m.mode, reason: m.reason, created_at: this.clock.now() });
  }

  async latestForTask(taskId: number): Promise<Measurement | null> {
    const row = await this.knex('coverage_measurements').where({ task_id: taskId }).orderBy('id', 'desc').first();
    return row ? toMeasurement(row) : null;
  }

  /** The last verdict per repository, for `/queue`. */
  async lastPerRepo(): Promise<Measurement[]> {
    const ids = this.knex('coverage_measurements').max('id').groupBy('repo');
    return ((await this.knex('coverage_measurements').whereIn('id', ids).orderBy('repo')) as Record<string, unknown>[]).map(toMeasurement);
  }
}
