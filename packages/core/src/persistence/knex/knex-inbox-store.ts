import { inject, injectable } from 'tsyringe';
import { CoreTokens, type Clock } from '../../tokens.js';
import type { Database } from '../database.js';
import type { InboxStore } from '../ports.js';
import { dbNowMs } from './db-time.js';
import { num } from './rows.js';

@injectable()
export class KnexInboxStore implements InboxStore {
  constructor(
    @inject(CoreTokens.Database) private readonly db: Database,
    @inject(CoreTokens.Clock) private readonly clock: Clock,
  ) {}

  #leaseUntil(leaseMs: number) {
    return this.db.knex.raw(`${dbNowMs(this.db)} + ?`, [Math.max(0, Math.trunc(leaseMs))]);
  }

  async record(input: { source: string; deliveryKey: string; payload: string; owner?: string; leaseMs?: number }): Promise<{ id: number; duplicate: boolean }> {
    const inserted = (await this.db
      .knex('webhook_inbox')
      .insert({
        source: input.source,
        delivery_key: input.deliveryKey,
        payload: input.payload,
        status: 'received',
        received_at: this.clock.now(),
        owner: input.owner ?? null,
        lease_expires_at: input.owner ? this.#leaseUntil(input.leaseMs ?? 60_000) : null,
      })
      .onConflict(['source', 'delivery_key'])
      .ignore()
      .returning('id')) as { id: unknown }[];
    if (inserted[0]) return { id: num(inserted[0].id), duplicate: false };
    const existing = await this.db.knex('webhook_inbox').select('id').where({ source: input.source, delivery_key: input.deliveryKey }).first();
    return { id: num(existing!.id), duplicate: true };
  }

  async claim(id: number, owner: string, leaseMs: number): Promise<boolean> {
    const n = await this.db
      .knex('webhook_inbox')
      .where({ id, status: 'received' })
      .where((w) => w.where({ owner }).orWhereNull('owner').orWhereRaw(`lease_expires_at < ${dbNowMs(this.db)}`))
      .update({ owner, lease_expires_at: this.#leaseUntil(leaseMs) });
    return n === 1;
  }

  async markProcessed(id: number, outcome: 'processed' | 'ignored' | 'failed', error?: string, owner?: string): Promise<boolean> {
    const q = this.db.knex('webhook_inbox').where({ id, status: 'received' });
    if (owner) q.where({ owner });
    return (await q.update({ status: outcome, error: error ?? null, processed_at: this.clock.now(), lease_expires_at: null })) === 1;
  }

  async unprocessed(limit: number): Promise<{ id: number; source: string; payload: string }[]> {
    const rows = await this.db.knex('webhook_inbox').where({ status: 'received' }).orderBy('id', 'asc').limit(limit);
    return rows.map((r: Record<string, unknown>) => ({ id: num(r.id), source: String(r.source), payload: String(r.payload) }));
  }

  async claimable(owner: string, limit: number): Promise<{ id: number; source: string; payload: string }[]> {
    const rows = await this.db
      .knex('webhook_inbox')
      .where({ status: 'received' })
      .where((w) => w.where({ owner }).orWhereNull('owner').orWhereRaw(`lease_expires_at < ${dbNowMs(this.db)}`))
      .orderBy('id', 'asc')
      .limit(limit);
    return rows.map((r: Record<string, unknown>) => ({ id: num(r.id), source: String(r.source), payload: String(r.payload) }));
  }

  async deleteProcessedBefore(before: Date, limit = 1000): Promise<number> {
    const ids = this.db.knex('webhook_inbox').select('id').whereNot({ status: 'received' }).andWhere('processed_at', '<', before.getTime()).orderBy('processed_at', 'asc').limit(limit);
    return this.db.knex('webhook_inbox').whereIn('id', ids).delete();
  }
}
