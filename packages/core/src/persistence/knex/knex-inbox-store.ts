import { inject, injectable } from 'tsyringe';
import { CoreTokens, type Clock } from '../../tokens.js';
import type { Database } from '../database.js';
import type { InboxStore } from '../ports.js';
import { num } from './rows.js';

@injectable()
export class KnexInboxStore implements InboxStore {
  constructor(
    @inject(CoreTokens.Database) private readonly db: Database,
    @inject(CoreTokens.Clock) private readonly clock: Clock,
  ) {}

  async record(input: { source: string; deliveryKey: string; payload: string }): Promise<{ id: number; duplicate: boolean }> {
    const inserted = (await this.db
      .knex('webhook_inbox')
      .insert({ source: input.source, delivery_key: input.deliveryKey, payload: input.payload, status: 'received', received_at: this.clock.now() })
      .onConflict(['source', 'delivery_key'])
      .ignore()
      .returning('id')) as { id: unknown }[];
    if (inserted[0]) return { id: num(inserted[0].id), duplicate: false };
    const existing = await this.db.knex('webhook_inbox').select('id').where({ source: input.source, delivery_key: input.deliveryKey }).first();
    return { id: num(existing!.id), duplicate: true };
  }

  async markProcessed(id: number, outcome: 'processed' | 'ignored' | 'failed', error?: string): Promise<void> {
    await this.db.knex('webhook_inbox').where({ id }).update({ status: outcome, error: error ?? null, processed_at: this.clock.now() });
  }

  async unprocessed(limit: number): Promise<{ id: number; source: string; payload: string }[]> {
    const rows = await this.db.knex('webhook_inbox').where({ status: 'received' }).orderBy('id', 'asc').limit(limit);
    return rows.map((r: Record<string, unknown>) => ({ id: num(r.id), source: String(r.source), payload: String(r.payload) }));
  }
}
