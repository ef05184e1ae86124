import { inject, injectable } from 'tsyringe';
import { CoreTokens, type Clock } from '../../tokens.js';
import type { Database } from '../database.js';
import type { NewOutboxEntry, OutboxEntry, OutboxStore, Tx } from '../ports.js';
import { num } from './rows.js';

const date = (v: unknown): Date | null => (v === null || v === undefined ? null : new Date(Number(v)));

function toEntry(r: Record<string, unknown>): OutboxEntry {
  return {
    id: num(r.id),
    taskId: r.task_id === null || r.task_id === undefined ? null : num(r.task_id),
    effect: String(r.effect),
    key: String(r.key),
    payload: JSON.parse(String(r.payload)) as Record<string, unknown>,
    status: r.status as OutboxEntry['status'],
    attempts: num(r.attempts),
    availableAt: date(r.available_at)!,
    claimedBy: (r.claimed_by as string | null) ?? null,
    claimedUntil: date(r.claimed_until),
    lastError: (r.last_error as string | null) ?? null,
    createdAt: date(r.created_at)!,
    doneAt: date(r.done_at),
  };
}

@injectable()
export class KnexOutboxStore implements OutboxStore {
  constructor(
    @inject(CoreTokens.Database) private readonly db: Database,
    @inject(CoreTokens.Clock) private readonly clock: Clock,
  ) {}

  #q(tx?: Tx) {
    return (tx ?? this.db.knex)('outbox');
  }

  async add(e: NewOutboxEntry, tx?: Tx): Promise<OutboxEntry> {
    const now = this.clock.now();
    // ON CONFLICT DO NOTHING: a replayed finalizer or a second delivery finds the
    // stored row, without aborting the caller's transaction.
    await this.#q(tx)
      .insert({
        task_id: e.taskId,
        effect: e.effect,
        key: e.key,
        payload: JSON.stringify(e.payload),
        status: 'pending',
        attempts: 0,
        available_at: now,
        claimed_by: e.claimedBy ?? null,
        claimed_until: e.claimedUntil ?? null,
        created_at: now,
      })
      .onConflict('key')
      .ignore();
    return toEntry((await this.#q(tx).where({ key: e.key }).first()) as Record<string, unknown>);
  }

  async get(id: number): Promise<OutboxEntry | null> {
    const row = await this.#q().where({ id }).first();
    return row ? toEntry(row) : null;
  }

  async claim(id: number, owner: string, until: number, now: number, from?: string): Promise<boolean> {
    const n = await this.#q()
      .where({ id, status: 'pending' })
      .andWhere((w) => {
        if (from !== undefined) {
          w.where('claimed_by', from);
          return;
        }
        w.whereNull('claimed_by').orWhere('claimed_until', '<', now).orWhere('claimed_by', owner);
      })
      .update({ claimed_by: owner, claimed_until: until });
    return n === 1;
  }

  async due(now: number, limit: number): Promise<OutboxEntry[]> {
    const rows = await this.#q()
      .where({ status: 'pending' })
      .andWhere('available_at', '<=', now)
      .andWhere((w) => w.whereNull('claimed_by').orWhere('claimed_until', '<', now))
      .orderBy([{ column: 'available_at' }, { column: 'id' }])
      .limit(limit);
    return rows.map(toEntry);
  }

  async heldBy(prefix: string): Promise<OutboxEntry[]> {
    // Few rows are ever pending and held: filter here rather than escape LIKE per dialect.
    const rows = await this.#q().where({ status: 'pending' }).whereNotNull('claimed_by').orderBy('id', 'asc');
    return rows.map(toEntry).filter((e) => e.claimedBy!.startsWith(prefix));
  }

  async complete(id: number, owner: string): Promise<boolean> {
    const n = await this.#q().where({ id, status: 'pending', claimed_by: owner }).update({ status: 'done', done_at: this.clock.now(), claimed_by: null, claimed_until: null });
    return n === 1;
  }

  async release(id: number, owner: string, o: { error: string; availableAt: number; final: boolean }): Promise<boolean> {
    const n = await this.#q()
      .where({ id, status: 'pending', claimed_by: owner })
      .update({
        status: o.final ? 'failed' : 'pending',
        attempts: this.db.knex.raw('attempts + 1'),
        available_at: o.availableAt,
        last_error: o.error.slice(0, 4000),
        claimed_by: null,
        claimed_until: null,
      });
    return n === 1;
  }

  async listForTask(taskId: number): Promise<OutboxEntry[]> {
    return (await this.#q().where({ task_id: taskId }).orderBy('id', 'asc')).map(toEntry);
  }

  async pruneDone(before: number): Promise<number> {
    return this.#q().where({ status: 'done' }).andWhere('done_at', '<', before).delete();
  }

  async countByStatus(): Promise<Record<string, number>> {
    const rows = await this.#q().select('status').count({ n: '*' }).groupBy('status');
    const out: Record<string, number> = { pending: 0, done: 0, failed: 0 };
    for (const r of rows as Record<string, unknown>[]) out[String(r.status)] = num(r.n);
    return out;
  }
}
