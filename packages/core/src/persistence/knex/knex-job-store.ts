import type { Knex } from 'knex';
import { inject, injectable } from 'tsyringe';
import type { Job, JobKind } from '../../domain.js';
import type { Logger } from '../../logger.js';
import { CoreTokens, type Clock } from '../../tokens.js';
import { isUniqueViolation, rawRows, type Database } from '../database.js';
import type { ClaimRequest, FinishAndClaimResult, FinishRequest, JobStore, NewJob, Tx } from '../ports.js';
import { buildClaimSql, buildFinishAndClaimSql, finishSql } from './claim-sql.js';
import { runHot } from './hot-statements.js';
import { jobsChannel } from '../../queue/pg-wakeup.js';
import { num, toJob } from './rows.js';
import { dbNowMs } from './db-time.js';

const ACTIVE = ['queued', 'running'];

/** The lease a claim or heartbeat grants when the caller names none (`worker.leaseMs`'s default). */
export const DEFAULT_LEASE_MS = 15_000;

@injectable()
export class KnexJobStore implements JobStore {
  constructor(
    @inject(CoreTokens.Database) private readonly db: Database,
    @inject(CoreTokens.Clock) private readonly clock: Clock,
    @inject(CoreTokens.Logger) private readonly logger: Logger,
  ) {}

  #q(tx?: Tx) {
    return (tx ?? this.db.knex)('jobs');
  }

  async enqueue(job: NewJob, tx?: Tx): Promise<Job | null> {
    const now = this.clock.now();
    const row = {
      task_id: job.taskId,
      stage: job.stage,
      kind: job.kind,
      role: job.role,
      status: 'queued',
      attempt: 0,
      retries: 0,
      defer_count: job.deferCount ?? 0,
      available_at: now + Math.max(0, job.delayMs ?? 0),
      created_at: now,
      reason: job.reason ?? null,
    };
    // ON CONFLICT DO NOTHING on the partial unique index: the active job that
    // already exists wins, on both databases, without aborting a transaction.
    const runner = tx ?? this.db.knex;
    try {
      const res = await runner.raw(
        `INSERT INTO jobs (task_id, stage, kind, role, status, attempt, retries, defer_count, available_at, created_at, reason) ` +
          `VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ` +
          `ON CONFLICT (task_id) WHERE status IN ('queued', 'running') DO NOTHING RETURNING *`,
        [row.task_id, row.stage, row.kind, row.role, row.status, row.attempt, row.retries, row.defer_count, row.available_at, row.created_at, row.reason],
      );
      const first = rawRows(this.db, res)[0];
      // Wakes workers on other hosts (delivered at commit, so never before the row is visible).
      if (first && this.db.dialect === 'pg') await runner.raw('SELECT pg_notify(?, ?)', [jobsChannel(this.db), String(first.id)]);
      return first ? toJob(first) : null;
    } catch (err) {
      if (isUniqueViolation(err)) return null;
      throw err;
    }
  }

  async claim(input: ClaimRequest, tx?: Tx): Promise<Job | null> {
    const now = input.now ? input.now.getTime() : this.clock.now();
    const { sql, bindings } = buildClaimSql(this.db, input.clauses, { hostId: input.hostId, now, leaseMs: input.leaseMs ?? DEFAULT_LEASE_MS }, this.logger);
    const first = (await runHot(this.db, tx, sql, bindings))[0];
    return first ? toJob(first) : null;
  }

  /**
   * PostgreSQL: one statement (see `buildFinishAndClaimSql`), one round trip.
   * SQLite: the same fenced finish, then the claim only if it won, back to back on
   * the one connection (each statement costs no network there).
   */
  async finishAndClaim(finish: FinishRequest, next: ClaimRequest, tx?: Tx): Promise<FinishAndClaimResult> {
    const error = finish.error ?? null;
    if (this.db.dialect !== 'pg') {
      if (!(await this.finish(finish.id, finish.attempt, finish.status, error, tx))) return { finished: false, next: null };
      return { finished: true, next: await this.claim(next, tx) };
    }
    const now = next.now ? next.now.getTime() : this.clock.now();
    const { sql, bindings } = buildFinishAndClaimSql(
      this.db,
      next.clauses,
      { id: finish.id, attempt: finish.attempt, status: finish.status, error },
      { hostId: next.hostId, now, leaseMs: next.leaseMs ?? DEFAULT_LEASE_MS },
      this.logger,
    );
    const row = (await runHot(this.db, tx, sql, bindings))[0];
    const finished = num(row?.finished) === 1;
    return { finished, next: finished && row?.id !== null && row?.id !== undefined ? toJob(row) : null };
  }

  async get(id: number): Promise<Job | null> {
    const row = await this.#q().where({ id }).first();
    return row ? toJob(row) : null;
  }

  async activeForTask(taskId: number): Promise<Job | null> {
    const row = await this.#q().where({ task_id: taskId }).whereIn('status', ACTIVE).first();
    return row ? toJob(row) : null;
  }

  async listForTask(taskId: number): Promise<Job[]> {
    return (await this.#q().where({ task_id: taskId }).orderBy('id', 'asc')).map(toJob);
  }

  async latestForStage(taskId: number, stage: string): Promise<Job | null> {
    const row = await this.#q().where({ task_id: taskId, stage }).orderBy('id', 'desc').first();
    return row ? toJob(row) : null;
  }

  async heartbeat(id: number, attempt: number, leaseMs = DEFAULT_LEASE_MS): Promise<boolean> {
    const lease = this.db.knex.raw(`${dbNowMs(this.db)} + ?`, [Math.max(0, Math.trunc(leaseMs))]);
    return (await this.#q().where({ id, attempt, status: 'running' }).update({ heartbeat_at: this.clock.now(), lease_expires_at: lease })) === 1;
  }

  async setPid(id: number, attempt: number, pid: number | null): Promise<boolean> {
    return (await this.#q().where({ id, attempt, status: 'running' }).update({ pid })) === 1;
  }

  async finish(id: number, attempt: number, status: 'done' | 'failed', error?: string | null, tx?: Tx): Promise<boolean> {
    return (await runHot(this.db, tx, finishSql(status), [this.clock.now(), error ?? null, id, attempt])).length === 1;
  }

  async retry(id: number, attempt: number, delayMs: number, error: string): Promise<boolean> {
    const now = this.clock.now();
    const n = await this.#q()
      .where({ id, attempt, status: 'running' })
      .update({
        status: 'queued',
        retries: this.db.knex.raw('retries + 1'),
        available_at: now + Math.max(0, delayMs),
        error,
        pid: null,
        host_id: null,
        // A retried agent runs again: its failed exit is nothing to finish from.
        resume_attempt: null,
      });
    return n === 1;
  }

  // The attempt's host is gone: its lease ran out in database time, or (its own
  // host restarting, one clock) its heartbeat is older than `staleBefore`.
  #stale(q: Knex.QueryBuilder, staleBefore: Date | null): Knex.QueryBuilder {
    const expired = `lease_expires_at < ${dbNowMs(this.db)}`;
    if (!staleBefore) return q.whereRaw(expired);
    return q.where((w: Knex.QueryBuilder) => w.whereRaw(expired).orWhere('heartbeat_at', '<', staleBefore.getTime()));
  }

  async requeueStale(id: number, attempt: number, staleBefore: Date | null, opts: { resumeAttempt?: number | null; error?: string } = {}): Promise<boolean> {
    const q = this.#q().where({ id, attempt, status: 'running' });
    const n = await this.#stale(q, staleBefore).update({
      status: 'queued',
      available_at: this.clock.now(),
      pid: null,
      host_id: null,
      lease_expires_at: null,
      recoveries: this.db.knex.raw('recoveries + 1'),
      resume_attempt: opts.resumeAttempt ?? null,
      error: opts.error ?? 'lease expired',
    });
    // Wake every host (delivered at commit): the one that crashed is not the only taker.
    if (n === 1 && this.db.dialect === 'pg') await this.db.knex.raw('SELECT pg_notify(?, ?)', [jobsChannel(this.db), String(id)]);
    return n === 1;
  }

  async failStale(id: number, attempt: number, staleBefore: Date | null, error: string): Promise<boolean> {
    const q = this.#q().where({ id, attempt, status: 'running' });
    const n = await this.#stale(q, staleBefore).update({ status: 'failed', finished_at: this.clock.now(), lease_expires_at: null, error });
    return n === 1;
  }

  async expired(limit = 100): Promise<Job[]> {
    // Longest expired first, in the order of the partial index of running jobs' leases:
    // ordered by id, SQLite walked every job ever made to find the few running ones.
    const rows = await this.#q()
      .where({ status: 'running' })
      .whereRaw(`lease_expires_at < ${dbNowMs(this.db)}`)
      .orderBy([{ column: 'lease_expires_at', order: 'asc' }, { column: 'id', order: 'asc' }])
      .limit(limit);
    return rows.map(toJob);
  }

  async cancelQueued(taskId: number, kind: JobKind, tx?: Tx): Promise<number> {
    return this.#q(tx).where({ task_id: taskId, status: 'queued', kind }).update({ status: 'cancelled', finished_at: this.clock.now() });
  }

  async cancelActive(taskId: number, tx?: Tx): Promise<number> {
    return this.#q(tx)
      .where({ task_id: taskId })
      .whereIn('status', ACTIVE)
      .update({ status: 'cancelled', finished_at: this.clock.now() });
  }

  async running(filter: { hostId?: string; afterId?: number; limit?: number } = {}): Promise<Job[]> {
    const q = this.#q().where({ status: 'running' }).orderBy('id', 'asc');
    if (filter.hostId) q.where('host_id', filter.hostId);
    if (filter.afterId !== undefined) q.where('id', '>', filter.afterId);
    if (filter.limit !== undefined) q.limit(filter.limit);
    return (await q).map(toJob);
  }

  async countByStatus(): Promise<Record<string, number>> {
    const rows = await this.#q().select('status').count({ n: '*' }).groupBy('status');
    const out: Record<string, number> = { queued: 0, running: 0, done: 0, failed: 0, cancelled: 0 };
    for (const r of rows as Record<string, unknown>[]) out[String(r.status)] = num(r.n);
    return out;
  }
}
