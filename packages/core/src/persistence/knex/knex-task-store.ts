import { inject, injectable } from 'tsyringe';
import type { BlockedKind, HumanVerdict, Task } from '../../domain.js';
import { CoreTokens, type Clock } from '../../tokens.js';
import { rawRows, type Database } from '../database.js';
import type { LiveTaskSummary, TaskStore, Tx } from '../ports.js';
import { fromTask, num, toTask, toLiveTaskSummary, date, type NewTaskRow } from './rows.js';
import { tombstone } from '../../tasks/tombstone.js';

const TERMINAL = ['done', 'cancelled'];
const LIVE_SQL = `stage NOT IN (${TERMINAL.map((s) => `'${s}'`).join(', ')})`;

@injectable()
export class KnexTaskStore implements TaskStore {
  constructor(
    @inject(CoreTokens.Database) private readonly db: Database,
    @inject(CoreTokens.Clock) private readonly clock: Clock,
  ) {}

  #q(tx?: Tx) {
    return (tx ?? this.db.knex)('tasks');
  }

  async get(id: number, tx?: Tx): Promise<Task | null> {
    const row = await this.#q(tx).where({ id }).first();
    return row ? toTask(row) : null;
  }

  async findByIssue(repo: string, trackerIssueId: string, tx?: Tx): Promise<Task | null> {
    // The live task if there is one, else the newest ended one.
    const row = await this.#q(tx)
      .where({ repo, tracker_issue_id: trackerIssueId })
      .orderByRaw(`CASE WHEN stage IN ('done', 'cancelled') THEN 1 ELSE 0 END, id DESC`)
      .first();
    return row ? toTask(row) : null;
  }

  async findByWorkItem(repo: string, workItemId: string): Promise<Task | null> {
    const row = await this.#q().where({ repo, work_item_id: workItemId }).first();
    return row ? toTask(row) : null;
  }

  async findByBranch(repo: string, branch: string): Promise<Task | null> {
    const row = await this.#q().where({ repo, branch }).first();
    return row ? toTask(row) : null;
  }

  async list(filter: { repo?: string; stage?: string; live?: boolean; limit?: number; afterId?: number } = {}): Promise<Task[]> {
    const q = this.#q().orderBy('id', 'asc').limit(filter.limit ?? 500);
    if (filter.repo) q.where('repo', filter.repo);
    if (filter.stage) q.where('stage', filter.stage);
    if (filter.afterId !== undefined) q.where('id', '>', filter.afterId);
    // Literal, not bound: a planner uses the partial indexes of live tasks only when
    // the query's condition is theirs word for word.
    if (filter.live) q.whereRaw(LIVE_SQL);
    return (await q).map(toTask);
  }

  async liveSummaries(page: { afterId: number; limit: number }): Promise<LiveTaskSummary[]> {
    const rows = (await this.#q()
      .select('id', 'repo', 'stage', 'updated_at', 'blocked_reason', 'merge_initiated_at', 'merged_at')
      .where('id', '>', page.afterId)
      .whereRaw(LIVE_SQL)
      .orderBy('id', 'asc')
      .limit(page.limit)) as Record<string, unknown>[];
    return rows.map(toLiveTaskSummary);
  }

  async insertIfAbsent(row: NewTaskRow, tx: Tx): Promise<Task | null> {
    const values = fromTask(row, this.clock.now());
    const cols = Object.keys(values);
    // ON CONFLICT on the partial index of live tasks: the racer that lost reads the
    // winner's task instead of failing, on both databases.
    const res = await tx.raw(
      `INSERT INTO tasks (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')}) ` +
        `ON CONFLICT (repo, tracker_issue_id) WHERE stage NOT IN ('done', 'cancelled') DO NOTHING RETURNING *`,
      cols.map((c) => values[c]) as never,
    );
    const first = rawRows(this.db, res)[0];
    return first ? toTask(first) : null;
  }

  async workItemTaken(repo: string, workItemId: string, tx: Tx): Promise<boolean> {
    return !!(await tx('tasks').select('id').where({ repo, work_item_id: workItemId }).first());
  }

  async branchTaken(repo: string, branch: string, tx: Tx): Promise<boolean> {
    return !!(await tx('tasks').select('id').where({ repo, branch }).first());
  }

  async nextSequence(repo: string, prefix: string, tx: Tx): Promise<number> {
    await tx('work_item_sequences').insert({ repo, prefix, next_value: 1 }).onConflict(['repo', 'prefix']).ignore();
    const rows = (await tx('work_item_sequences')
      .where({ repo, prefix })
      .update({ next_value: tx.raw('next_value + 1') })
      .returning('next_value')) as { next_value: unknown }[];
    return num(rows[0]!.next_value) - 1;
  }

  async raiseSequence(repo: string, prefix: string, next: number, tx: Tx): Promise<void> {
    await tx('work_item_sequences').insert({ repo, prefix, next_value: next }).onConflict(['repo', 'prefix']).ignore();
    await tx('work_item_sequences').where({ repo, prefix }).andWhere('next_value', '<', next).update({ next_value: next });
  }

  async moveStage(
    id: number,
    from: string,
    to: string,
    change: { reason: string; developerRetries?: { expected: number; next: number }; humanVerdict?: HumanVerdict | null; endHumanReview?: boolean },
    tx: Tx,
  ): Promise<boolean> {
    const now = this.clock.now();
    const patch: Record<string, unknown> = { stage: to, updated_at: now };
    const q = tx('tasks').where({ id, stage: from }).whereNull('blocked_reason');
    if (change.developerRetries) {
      patch.developer_retries = change.developerRetries.next;
      q.andWhere('developer_retries', change.developerRetries.expected);
    }
    if (change.humanVerdict !== undefined) patch.human_verdict = change.humanVerdict;
    // A task that comes back to deploy (after a rollback) waits for a new confirmation.
    if (to === 'deploy') patch.deploy_confirmed_at = null;
    if (change.endHumanReview) patch.human_review_ended_at = tx.raw('COALESCE(human_review_ended_at, ?)', [now]);
    const n = await q.update(patch);
    if (n !== 1) return false;
    await tx('task_transitions').insert({ task_id: id, from_stage: from, to_stage: to, reason: change.reason, at: now });
    return true;
  }

  async block(id: number, stage: string, reason: string, kind?: BlockedKind): Promise<boolean> {
    const now = this.clock.now();
    const n = await this.#q()
      .where({ id, stage })
      .whereNull('blocked_reason')
      .update({ blocked_reason: reason, blocked_at: now, blocked_kind: kind ?? null, updated_at: now });
    return n === 1;
  }

  async unblock(id: number, stage: string, kind: BlockedKind, tx: Tx): Promise<boolean> {
    const n = await this.#q(tx)
      .where({ id, stage, blocked_kind: kind })
      .update({ blocked_reason: null, blocked_at: null, blocked_kind: null, updated_at: this.clock.now() });
    return n === 1;
  }

  async setBudgets(id: number, budgets: { budgetUsd?: number | null; stageBudgets?: Record<string, number> }, tx: Tx): Promise<void> {
    const patch: Record<string, unknown> = { updated_at: this.clock.now() };
    if (budgets.budgetUsd !== undefined) patch.budget_usd = budgets.budgetUsd;
    if (budgets.stageBudgets !== undefined) patch.stage_budgets = Object.keys(budgets.stageBudgets).length ? JSON.stringify(budgets.stageBudgets) : null;
    await this.#q(tx).where({ id }).update(patch);
  }

  async setHumanVerdict(id: number, stage: string, verdict: HumanVerdict | null): Promise<boolean> {
    const now = this.clock.now();
    const patch: Record<string, unknown> = { human_verdict: verdict, updated_at: now };
    // A verdict ends the review; clearing it (a relaunch) closes any open window too,
    // so the analyst's next finish opens a new one and asks the person again.
    patch.human_review_ended_at = verdict !== null ? now : this.db.knex.raw('COALESCE(human_review_ended_at, ?)', [now]);
    const n = await this.#q().where({ id, stage }).update(patch);
    return n === 1;
  }

  async startHumanReview(id: number, stage: string, tx?: Tx): Promise<boolean> {
    const now = this.clock.now();
    const n = await this.#q(tx)
      .where({ id, stage })
      .whereNull('human_verdict')
      .andWhere((w) => w.whereNull('human_review_started_at').orWhereNotNull('human_review_ended_at'))
      .update({ human_review_started_at: now, human_review_ended_at: null, updated_at: now });
    return n === 1;
  }

  async markBranchCut(id: number): Promise<boolean> {
    const n = await this.#q().where({ id, branch_cut: false }).update({ branch_cut: true, updated_at: this.clock.now() });
    return n === 1;
  }

  async requestCancel(id: number): Promise<boolean> {
    const now = this.clock.now();
    const n = await this.#q().where({ id }).whereNull('cancel_requested_at').update({ cancel_requested_at: now, updated_at: now });
    return n === 1;
  }

  async confirmDeploy(id: number): Promise<boolean> {
    const now = this.clock.now();
    const n = await this.#q().where({ id, stage: 'deploy' }).whereNull('deploy_confirmed_at').update({ deploy_confirmed_at: now, updated_at: now });
    return n === 1;
  }

  async markCancelled(id: number, from: string, change: { reason: string }, tx: Tx): Promise<boolean> {
    const now = this.clock.now();
    const row = (await tx('tasks').select('tracker_issue_id', 'work_item_id', 'branch').where({ id, stage: from }).whereNull('merge_initiated_at').first()) as Record<string, unknown> | undefined;
    if (!row) return false;
    // An irreversible merge in flight (INITIATED, not yet merged or cleared) is never
    // cancelled under it: the cancel waits until the merge settles.
    const n = await tx('tasks')
      .where({ id, stage: from })
      .whereNull('merge_initiated_at')
      .update({
        stage: 'cancelled',
        cancelled_at: now,
        cancel_requested_at: tx.raw('COALESCE(cancel_requested_at, ?)', [now]),
        tracker_issue_id: tombstone(String(row.tracker_issue_id), id),
        work_item_id: tombstone(String(row.work_item_id), id),
        branch: tombstone(String(row.branch), id),
        updated_at: now,
      });
    if (n !== 1) return false;
    await tx('task_transitions').insert({ task_id: id, from_stage: from, to_stage: 'cancelled', reason: change.reason, at: now });
    return true;
  }

  async listCancelRequested(limit = 100): Promise<Task[]> {
    const rows = await this.#q().whereNotNull('cancel_requested_at').whereNotIn('stage', TERMINAL).orderBy('cancel_requested_at', 'asc').limit(limit);
    return rows.map(toTask);
  }

  async listCancelledSince(since: Date, limit = 100): Promise<Task[]> {
    const rows = await this.#q().where({ stage: 'cancelled' }).andWhere('cancelled_at', '>=', since.getTime()).orderBy('cancelled_at', 'asc').limit(limit);
    return rows.map(toTask);
  }

  async resume(id: number, seen: { stage: string; blockedReason: string | null }, change: { to: string; reason: string }, tx: Tx): Promise<boolean> {
    const now = this.clock.now();
    const q = tx('tasks').where({ id, stage: seen.stage });
    if (seen.blockedReason === null) q.whereNull('blocked_reason');
    else q.where('blocked_reason', seen.blockedReason);
    const n = await q.update({ stage: change.to, blocked_reason: null, blocked_at: null, blocked_kind: null, developer_retries: 0, updated_at: now });
    if (n !== 1) return false;
    await tx('task_transitions').insert({ task_id: id, from_stage: seen.stage, to_stage: change.to, reason: change.reason, at: now });
    return true;
  }

  async setPullRequest(id: number, number: number, url: string): Promise<void> {
    await this.#q().where({ id }).update({ pr_number: number, pr_url: url });
  }

  async markMergeInitiated(id: number): Promise<boolean> {
    // A STOP requested first wins: the irreversible step never starts after it.
    return (await this.#q().where({ id }).whereNull('merge_initiated_at').whereNull('cancel_requested_at').update({ merge_initiated_at: this.clock.now() })) === 1;
  }

  async takeOverMerge(id: number, seen: Date): Promise<boolean> {
    return (await this.#q().where({ id, merge_initiated_at: seen.getTime() }).whereNull('merged_at').update({ merge_initiated_at: this.clock.now() })) === 1;
  }

  async clearMergeInitiated(id: number, seen: Date): Promise<boolean> {
    return (await this.#q().where({ id, merge_initiated_at: seen.getTime() }).whereNull('merged_at').update({ merge_initiated_at: null })) === 1;
  }

  async markMerged(id: number): Promise<boolean> {
    return (await this.#q().where({ id }).whereNull('merged_at').update({ merged_at: this.clock.now() })) === 1;
  }

  async setTrackerMessageId(id: number, messageId: string | null): Promise<void> {
    await this.#q().where({ id }).update({ tracker_message_id: messageId });
  }

  async transitions(id: number): Promise<{ from: string; to: string; reason: string; at: Date }[]> {
    const rows = await this.db.knex('task_transitions').where({ task_id: id }).orderBy('id', 'asc');
    return rows.map((r: Record<string, unknown>) => ({ from: String(r.from_stage), to: String(r.to_stage), reason: String(r.reason), at: date(r.at) }));
  }

  async countByStage(): Promise<Record<string, number>> {
    const rows = await this.#q().select('stage').count({ n: '*' }).groupBy('stage');
    return Object.fromEntries(rows.map((r: Record<string, unknown>) => [String(r.stage), num(r.n)]));
  }
}
