import type { Knex } from '@conveyor/core';

export type WindowStatus = 'active' | 'healthy' | 'degraded' | 'cancelled';

/** One task's watch after its deploy. */
export interface DeployWindow {
  taskId: number;
  repo: string;
  armedAt: Date;
  endsAt: Date;
  nextCheckAt: Date;
  status: WindowStatus;
  /** Consecutive failed checks. */
  failures: number;
  checks: number;
  lastError: string | null;
  closedAt: Date | null;
}

interface WindowRow {
  task_id: number | string;
  repo: string;
  armed_at: number | string;
  ends_at: number | string;
  next_check_at: number | string;
  status: string;
  failures: number | string;
  checks: number | string;
  last_error: string | null;
  closed_at: number | string | null;
}

const toWindow = (r: WindowRow): DeployWindow => ({
  taskId: Number(r.task_id),
  repo: r.repo,
  armedAt: new Date(Number(r.armed_at)),
  endsAt: new Date(Number(r.ends_at)),
  nextCheckAt: new Date(Number(r.next_check_at)),
  status: r.status as WindowStatus,
  failures: Number(r.failures),
  checks: Number(r.checks),
  lastError: r.last_error,
  closedAt: r.closed_at === null ? null : new Date(Number(r.closed_at)),
});

const TABLE = 'post_deploy_windows';

/**
 * The `post_deploy_windows` table. Every write that moves a window on is a
 * compare-and-set on what the caller read, so two hosts (or a tick and a restart)
 * never check, count or close one window twice.
 */
export class WindowStore {
  constructor(private readonly knex: Knex) {}

  /** Opens a window; a second arm of the same task keeps the first. True when the task's window is open afterwards. */
  async arm(input: { taskId: number; repo: string; now: number; windowMs: number; intervalMs: number }): Promise<boolean> {
    await this.knex(TABLE)
      .insert({ task_id: input.taskId, repo: input.repo, armed_at: input.now, ends_at: input.now + input.windowMs, next_check_at: input.now + input.intervalMs, status: 'active', failures: 0, checks: 0 })
      .onConflict('task_id')
      .ignore();
    return (await this.get(input.taskId))?.status === 'active';
  }

  async get(taskId: number): Promise<DeployWindow | null> {
    const r = (await this.knex(TABLE).where({ task_id: taskId }).first()) as WindowRow | undefined;
    return r ? toWindow(r) : null;
  }

  async isActive(taskId: number): Promise<boolean> {
    return !!(await this.knex(TABLE).select('task_id').where({ task_id: taskId, status: 'active' }).first());
  }

  /** Open windows whose next check (or end) is due, oldest first. */
  async due(now: number, limit = 100): Promise<DeployWindow[]> {
    const rows = (await this.knex(TABLE).where('status', 'active').andWhere('next_check_at', '<=', now).orderBy('next_check_at').limit(limit)) as WindowRow[];
    return rows.map(toWindow);
  }

  /** Takes this visit of a window: moves its next check on, only if nobody did since `seen` was read. */
  async claimVisit(taskId: number, seen: Date, next: number): Promise<boolean> {
    return (await this.knex(TABLE).where({ task_id: taskId, status: 'active', next_check_at: seen.getTime() }).update({ next_check_at: next })) === 1;
  }

  /** Records a check's result over the failure count the caller read. */
  async record(taskId: number, seenFailures: number, healthy: boolean, error: string | null): Promise<boolean> {
    const n = await this.knex(TABLE)
      .where({ task_id: taskId, status: 'active', failures: seenFailures })
      .update({ failures: healthy ? 0 : seenFailures + 1, checks: this.knex.raw('checks + 1'), last_error: healthy ? null : error });
    return n === 1;
  }

  /** Closes an open window; true only for the call that closed it. */
  async close(taskId: number, status: Exclude<WindowStatus, 'active'>, now: number): Promise<boolean> {
    return (await this.knex(TABLE).where({ task_id: taskId, status: 'active' }).update({ status, closed_at: now })) === 1;
  }

  /** Open windows, and the most recently closed ones. */
  async recent(limit = 20): Promise<{ open: DeployWindow[]; closed: DeployWindow[] }> {
    const open = ((await this.knex(TABLE).where('status', 'active').orderBy('ends_at').limit(limit)) as WindowRow[]).map(toWindow);
    const closed = ((await this.knex(TABLE).whereNot('status', 'active').orderBy('closed_at', 'desc').limit(limit)) as WindowRow[]).map(toWindow);
    return { open, closed };
  }
}
