import type { Knex } from 'knex';
import { inject, injectable } from 'tsyringe';
import { CoreTokens, type Clock } from '../../tokens.js';
import type { Database } from '../database.js';
import type { InboxOutcome, InboxStore, NewDelivery } from '../ports.js';
import { ConveyorError } from '../../errors.js';
import { rawRows } from '../database.js';
import { dbNowMs } from './db-time.js';
import { num } from './rows.js';

/** Most rows one batch statement takes (7 bound values a row stays far below either database's limit). */
export const INBOX_BATCH_MAX = 1000;

const keyOf = (source: string, deliveryKey: string) => `${source}\u0000${deliveryKey}`;

function checkBatch(kind: string, n: number): void {
  if (n > INBOX_BATCH_MAX) throw new ConveyorError('CONVEYOR_INPUT_INVALID', `${kind}: ${n} rows in one batch, at most ${INBOX_BATCH_MAX}`);
}

@injectable()
export class KnexInboxStore implements InboxStore {
  constructor(
    @inject(CoreTokens.Database) private readonly db: Database,
    @inject(CoreTokens.Clock) private readonly clock: Clock,
  ) {}

  #leaseUntil(leaseMs: number) {
    return this.db.knex.raw(`${dbNowMs(this.db)} + ?`, [Math.max(0, Math.trunc(leaseMs))]);
  }

  async record(input: NewDelivery): Promise<{ id: number; duplicate: boolean }> {
    return (await this.recordMany([input]))[0]!;
  }

  /**
   * One INSERT for the whole batch (one commit): new keys are inserted, keys seen
   * before (in the table or earlier in the batch) come back as duplicates with the
   * id of the row that holds them. The SQL text depends only on the batch's size,
   * so better-sqlite3 reuses its prepared statement.
   */
  async recordMany(inputs: readonly NewDelivery[]): Promise<{ id: number; duplicate: boolean }[]> {
    if (inputs.length === 0) return [];
    checkBatch('recordMany', inputs.length);
    const firstOf = new Map<string, number>();
    const unique: NewDelivery[] = [];
    inputs.forEach((d, i) => {
      const k = keyOf(d.source, d.deliveryKey);
      if (!firstOf.has(k)) {
        firstOf.set(k, i);
        unique.push(d);
      }
    });
    const now = this.clock.now();
    const row = `(?, ?, ?, 'received', ?, ?, ${dbNowMs(this.db)} + ?)`;
    const bindings = unique.flatMap((d) => [d.source, d.deliveryKey, d.payload, now, d.owner ?? null, d.owner ? Math.max(0, Math.trunc(d.leaseMs ?? 60_000)) : null]);
    const res = await this.db.knex.raw(
      `INSERT INTO webhook_inbox (source, delivery_key, payload, status, received_at, owner, lease_expires_at) VALUES ${unique.map(() => row).join(', ')} ` +
        `ON CONFLICT (source, delivery_key) DO NOTHING RETURNING id, source, delivery_key`,
      bindings as never,
    );
    const inserted = new Map<string, number>();
    for (const r of rawRows<{ id: unknown; source: string; delivery_key: string }>(this.db, res)) inserted.set(keyOf(r.source, r.delivery_key), num(r.id));
    const existing = new Map<string, number>();
    const seenBefore = unique.filter((d) => !inserted.has(keyOf(d.source, d.deliveryKey)));
    if (seenBefore.length) {
      const rows = await this.db.knex('webhook_inbox').select('id', 'source', 'delivery_key').whereIn(['source', 'delivery_key'], seenBefore.map((d) => [d.source, d.deliveryKey]));
      for (const r of rows as { id: unknown; source: string; delivery_key: string }[]) existing.set(keyOf(r.source, r.delivery_key), num(r.id));
    }
    return inputs.map((d, i) => {
      const k = keyOf(d.source, d.deliveryKey);
      const id = inserted.get(k) ?? existing.get(k);
      if (id === undefined) throw new Error(`webhook inbox: delivery ${d.source}/${d.deliveryKey} was neither inserted nor found`);
      return { id, duplicate: !inserted.has(k) || firstOf.get(k) !== i };
    });
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

  /** The same claim for several deliveries in one UPDATE; returns the ids `owner` now holds. */
  async claimMany(ids: readonly number[], owner: string, leaseMs: number): Promise<Set<number>> {
    if (ids.length === 0) return new Set();
    checkBatch('claimMany', ids.length);
    const now = dbNowMs(this.db);
    const res = await this.db.knex.raw(
      `UPDATE webhook_inbox SET owner = ?, lease_expires_at = ${now} + ? ` +
        `WHERE status = 'received' AND id IN (${ids.map(() => '?').join(', ')}) AND (owner = ? OR owner IS NULL OR lease_expires_at < ${now}) RETURNING id`,
      [owner, Math.max(0, Math.trunc(leaseMs)), ...ids, owner] as never,
    );
    return new Set(rawRows<{ id: unknown }>(this.db, res).map((r) => num(r.id)));
  }

  /**
   * Records several outcomes: one UPDATE per distinct outcome and error (usually a
   * single one, "processed"), in one transaction when there are several. Returns the
   * ids marked; a delivery no longer `received` (or no longer `owner`'s) is left as is.
   */
  async markManyProcessed(outcomes: readonly InboxOutcome[], owner?: string): Promise<Set<number>> {
    if (outcomes.length === 0) return new Set();
    checkBatch('markManyProcessed', outcomes.length);
    const groups = new Map<string, { outcome: InboxOutcome['outcome']; error: string | null; ids: number[] }>();
    for (const o of outcomes) {
      const k = `${o.outcome}\u0000${o.error ?? ''}`;
      const g = groups.get(k) ?? { outcome: o.outcome, error: o.error ?? null, ids: [] };
      g.ids.push(o.id);
      groups.set(k, g);
    }
    const at = this.clock.now();
    const run = async (q: Knex | Knex.Transaction): Promise<Set<number>> => {
      const marked = new Set<number>();
      for (const g of groups.values()) {
        const res = await q.raw(
          `UPDATE webhook_inbox SET status = ?, error = ?, processed_at = ?, lease_expires_at = NULL ` +
            `WHERE status = 'received' AND id IN (${g.ids.map(() => '?').join(', ')})${owner ? ' AND owner = ?' : ''} RETURNING id`,
          [g.outcome, g.error, at, ...g.ids, ...(owner ? [owner] : [])] as never,
        );
        for (const r of rawRows<{ id: unknown }>(this.db, res)) marked.add(num(r.id));
      }
      return marked;
    };
    return groups.size === 1 ? run(this.db.knex) : this.db.knex.transaction((tx) => run(tx));
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
