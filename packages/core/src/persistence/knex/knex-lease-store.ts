import { inject, injectable } from 'tsyringe';
import { CoreTokens, type Clock } from '../../tokens.js';
import type { Database } from '../database.js';
import type { Lease, LeaseHolder, LeaseStore } from '../ports.js';
import { date, num } from './rows.js';

const toLease = (r: Record<string, unknown>): Lease => ({
  repo: String(r.repo),
  taskId: num(r.holder_task_id),
  hostId: String(r.host_id),
  pid: num(r.pid),
  acquiredAt: date(r.acquired_at),
  expiresAt: date(r.expires_at),
});

/** Per-repo merge lease as a row: usable from several hosts on one PostgreSQL. */
@injectable()
export class KnexLeaseStore implements LeaseStore {
  constructor(
    @inject(CoreTokens.Database) private readonly db: Database,
    @inject(CoreTokens.Clock) private readonly clock: Clock,
  ) {}

  async acquire(repo: string, holder: LeaseHolder, ttlMs: number): Promise<boolean> {
    const now = this.clock.now();
    const inserted = (await this.db
      .knex('merge_leases')
      .insert({ repo, holder_task_id: holder.taskId, host_id: holder.hostId, pid: holder.pid, acquired_at: now, expires_at: now + ttlMs })
      .onConflict('repo')
      .ignore()
      .returning('repo')) as unknown[];
    if (inserted.length === 1) return true;
    // Re-entrant for the same task (refresh pid/host/expiry), or a takeover of a lease
    // whose time ran out: one conditional UPDATE, so of two hosts racing for an expired
    // lease only one matches (PostgreSQL re-checks the WHERE after the row lock; SQLite
    // has one writer). A holder that died without releasing blocked its repo for good
    // before, because the expiry was written and never read.
    const n = await this.db
      .knex('merge_leases')
      .where({ repo })
      .andWhere((q) => q.where({ holder_task_id: holder.taskId }).orWhere('expires_at', '<=', now))
      .update({ holder_task_id: holder.taskId, host_id: holder.hostId, pid: holder.pid, acquired_at: now, expires_at: now + ttlMs });
    return n === 1;
  }

  async release(repo: string, taskId: number): Promise<boolean> {
    return (await this.db.knex('merge_leases').where({ repo, holder_task_id: taskId }).delete()) === 1;
  }

  async refresh(repo: string, taskId: number, ttlMs: number): Promise<boolean> {
    return (await this.db.knex('merge_leases').where({ repo, holder_task_id: taskId }).update({ expires_at: this.clock.now() + ttlMs })) === 1;
  }

  async get(repo: string): Promise<Lease | null> {
    const row = await this.db.knex('merge_leases').where({ repo }).first();
    return row ? toLease(row) : null;
  }

  async reclaim(lease: Lease): Promise<boolean> {
    const n = await this.db
      .knex('merge_leases')
      .where({ repo: lease.repo, holder_task_id: lease.taskId, host_id: lease.hostId, pid: lease.pid, acquired_at: lease.acquiredAt.getTime() })
      .delete();
    return n === 1;
  }

  async list(): Promise<Lease[]> {
    return (await this.db.knex('merge_leases').orderBy('repo')).map(toLease);
  }
}
