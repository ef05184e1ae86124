import type { Clock, Knex } from '@conveyor/core';
import type { RetestResult } from './retest.js';

/** One stored re-test attempt. */
export interface StoredRetest {
  taskId: number;
  repo: string;
  sha: string;
  attempt: number;
  exitCode: number | null;
  passed: boolean;
  flaky: boolean;
  output: string;
  at: Date;
}

const toRetest = (r: Record<string, unknown>): StoredRetest => ({
  taskId: Number(r.task_id),
  repo: String(r.repo),
  sha: String(r.sha),
  attempt: Number(r.attempt),
  exitCode: r.exit_code === null || r.exit_code === undefined ? null : Number(r.exit_code),
  passed: Boolean(r.passed),
  flaky: Boolean(r.flaky),
  output: String(r.output ?? ''),
  at: new Date(Number(r.created_at)),
});

/** The re-test journal (`merge_gate_retests`). */
export class RetestStore {
  constructor(
    private readonly knex: Knex,
    private readonly clock: Clock,
  ) {}

  /** Records every attempt of one re-test; the last one carries the verdict. */
  async record(taskId: number, repo: string, sha: string, result: RetestResult): Promise<void> {
    const now = this.clock.now();
    const rows = result.attempts.map((a, i) => ({
      task_id: taskId,
      repo,
      sha,
      attempt: a.attempt,
      exit_code: a.exitCode,
      passed: a.exitCode === 0 && !a.timedOut,
      flaky: result.flaky && i === result.attempts.length - 1,
      output: a.output,
      created_at: now,
    }));
    if (rows.length) await this.knex('merge_gate_retests').insert(rows);
  }

  /** The sha the task's latest passing re-test ran on, or null. */
  async testedSha(taskId: number): Promise<string | null> {
    const row = (await this.knex('merge_gate_retests').where({ task_id: taskId, passed: true }).orderBy('id', 'desc').first()) as { sha: string } | undefined;
    return row?.sha ?? null;
  }

  async forTask(taskId: number): Promise<StoredRetest[]> {
    return ((await this.knex('merge_gate_retests').where({ task_id: taskId }).orderBy('id')) as Record<string, unknown>[]).map(toRetest);
  }

  /** The latest flaky passes, for `/queue`. */
  async recentFlaky(limit: number): Promise<StoredRetest[]> {
    return ((await this.knex('merge_gate_retests').where({ flaky: true }).orderBy('id', 'desc').limit(limit)) as Record<string, unknown>[]).map(toRetest);
  }
}
