import type { Clock, CommentOptions, Knex, TrackerIssue, TrackerPort, TrackerRef } from '@conveyor/core';

export interface LocalIssue {
  id: number;
  repo: string;
  title: string;
  description: string;
  status: string;
  createdAt: string;
  updatedAt: string;
}

export interface LocalIssueEvent {
  kind: 'status' | 'comment';
  body: string;
  at: string;
}

const toIssue = (r: Record<string, unknown>): LocalIssue => ({
  id: Number(r.id),
  repo: String(r.repo),
  title: String(r.title),
  description: String(r.description ?? ''),
  status: String(r.status),
  createdAt: new Date(Number(r.created_at)).toISOString(),
  updatedAt: new Date(Number(r.updated_at)).toISOString(),
});

/**
 * The embedded tracker: issues live in the instance's own database. Conveyor's
 * status changes and comments land here exactly as they would in Plane, so the
 * pipeline runs the same way with nothing else installed.
 */
export class LocalTracker implements TrackerPort {
  readonly name = 'tracker-local';

  constructor(
    private readonly knex: Knex,
    private readonly clock: Clock,
  ) {}

  /**
   * Files an issue. With `requestKey` (a client's `Idempotency-Key`), a second call
   * with the same key returns the first issue instead of filing another.
   */
  async createIssue(input: { repo: string; title: string; description: string; status: string; requestKey?: string }): Promise<LocalIssue> {
    if (input.requestKey) {
      const seen = await this.knex('local_issues').where({ request_key: input.requestKey }).first();
      if (seen) return toIssue(seen);
    }
    const now = this.clock.now();
    // The issue and its first status in one transaction: a crash never leaves an
    // issue without history.
    return this.knex.transaction(async (tx) => {
      const rows = (await tx('local_issues')
        .insert({ repo: input.repo, title: input.title, description: input.description, status: input.status, created_at: now, updated_at: now, request_key: input.requestKey ?? null })
        .onConflict('request_key')
        .ignore()
        .returning('*')) as Record<string, unknown>[];
      if (!rows[0]) return toIssue(await tx('local_issues').where({ request_key: input.requestKey }).first());
      const issue = toIssue(rows[0]);
      await tx('local_issue_events').insert({ issue_id: issue.id, kind: 'status', body: input.status, at: now });
      return issue;
    });
  }

  /** Issues in `status` for which no task was ever created (a crash between the two). */
  async issuesWithoutTask(status: string, limit = 50): Promise<LocalIssue[]> {
    const rows = await this.knex('local_issues as i')
      .where('i.status', status)
      .whereNotExists(function () {
        this.select(1).from('tasks as t').whereRaw('t.repo = i.repo').andWhereRaw(`t.tracker_issue_id = ${'CAST(i.id AS VARCHAR(32))'}`);
      })
      .orderBy('i.id', 'asc')
      .limit(limit)
      .select('i.*');
    return rows.map(toIssue);
  }

  async getIssue(id: number): Promise<LocalIssue | null> {
    const row = await this.knex('local_issues').where({ id }).first();
    return row ? toIssue(row) : null;
  }

  async events(id: number): Promise<LocalIssueEvent[]> {
    const rows = await this.knex('local_issue_events').where({ issue_id: id }).orderBy('id', 'asc');
    return rows.map((r: Record<string, unknown>) => ({ kind: r.kind as LocalIssueEvent['kind'], body: String(r.body), at: new Date(Number(r.at)).toISOString() }));
  }

  async countByStatus(): Promise<Record<string, number>> {
    const rows = await this.knex('local_issues').select('status').count({ n: '*' }).groupBy('status');
    return Object.fromEntries(rows.map((r: Record<string, unknown>) => [String(r.status), Number(r.n)]));
  }

  async setStatus(ref: TrackerRef, status: string, options: { reason: string }): Promise<void> {
    const id = Number(ref.trackerIssueId);
    const n = await this.knex('local_issues').where({ id }).update({ status, updated_at: this.clock.now() });
    if (n === 1) await this.#event(id, 'status', `${status} (${options.reason})`);
  }

  /** A comment whose `idempotencyKey` was seen before is not posted again. */
  async addComment(ref: TrackerRef, body: string, options: CommentOptions = {}): Promise<void> {
    const id = Number(ref.trackerIssueId);
    if (!(await this.getIssue(id))) return;
    await this.knex('local_issue_events')
      .insert({ issue_id: id, kind: 'comment', body, at: this.clock.now(), idem_key: options.idempotencyKey ?? null })
      .onConflict('idem_key')
      .ignore();
  }

  async *listIssuesInStatus(repo: string, statuses: readonly string[]): AsyncIterable<TrackerIssue> {
    const rows = await this.knex('local_issues').where({ repo }).whereIn('status', [...statuses]).orderBy('id', 'asc');
    for (const r of rows as Record<string, unknown>[]) {
      const i = toIssue(r);
      yield { id: String(i.id), title: i.title, description: i.description, status: i.status, sequence: i.id, updatedAt: i.updatedAt };
    }
  }

  async #event(issueId: number, kind: 'status' | 'comment', body: string): Promise<void> {
    await this.knex('local_issue_events').insert({ issue_id: issueId, kind, body, at: this.clock.now() });
  }
}
