import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { LIVE_TASK_PAGE, type Knex } from '@conveyor/core';

/** A live task the gate side may look at: no live job, unchanged since `updatedAt`. */
export interface StillTask {
  id: number;
  repo: string;
  stage: string;
  updatedAt: number;
}

type Row = { id: number | string; repo: string; stage: string; updated_at: number | string; blocked_reason: string | null; cancel_requested_at: unknown; busy: unknown };

/**
 * Live tasks with no queued or running job, not blocked, no STOP requested, not at a
 * stage a person decides (`skipStages`), unchanged for at least `stillForMs`, oldest
 * first, at most `limit`. Every live task is read a page at a time in id order over
 * the partial index of live tasks, the event loop free between pages: the cost grows
 * with live tasks, not with all tasks ever made, and no single read holds the loop
 * for long (one read sorted every task by age: a scan of the whole table).
 */
export async function stillTasks(
  knex: Knex,
  o: { now: number; stillForMs: number; skipStages: readonly string[]; limit: number; pageSize?: number; signal?: AbortSignal },
): Promise<StillTask[]> {
  const pageSize = o.pageSize ?? LIVE_TASK_PAGE;
  const skip = new Set(o.skipStages);
  const before = o.now - o.stillForMs;
  const still: StillTask[] = [];
  let afterId = 0;
  for (;;) {
    const rows = (await knex('tasks as t')
      .select('t.id', 't.repo', 't.stage', 't.updated_at', 't.blocked_reason', 't.cancel_requested_at')
      .select(knex.raw(`CASE WHEN EXISTS (SELECT 1 FROM jobs j WHERE j.task_id = t.id AND j.status IN ('queued', 'running')) THEN 1 ELSE 0 END AS busy`))
      .where('t.id', '>', afterId)
      // Literal, word for word the partial indexes' condition: a planner uses them only then.
      .whereRaw(`t.stage NOT IN ('done', 'cancelled')`)
      .orderBy('t.id', 'asc')
      .limit(pageSize)) as Row[];
    for (const r of rows) {
      const updatedAt = Number(r.updated_at);
      if (skip.has(r.stage) || updatedAt > before || r.blocked_reason !== null || r.cancel_requested_at !== null || Number(r.busy) !== 0) continue;
      still.push({ id: Number(r.id), repo: r.repo, stage: r.stage, updatedAt });
    }
    if (rows.length < pageSize || o.signal?.aborted) break;
    afterId = Number(rows[rows.length - 1]!.id);
    await yieldToLoop();
  }
  return still.sort((a, b) => a.updatedAt - b.updatedAt || a.id - b.id).slice(0, o.limit);
}
