import { TERMINAL_STAGES, type Knex } from '@conveyor/core';

/** A live task the gate side may look at: no live job, unchanged since `updatedAt`. */
export interface StillTask {
  id: number;
  repo: string;
  stage: string;
  updatedAt: number;
}

/**
 * Live tasks with no queued or running job, not blocked, no STOP requested, not at a
 * stage a person decides (`skipStages`), unchanged for at least `stillForMs`, oldest
 * first. Reads the `tasks_live` index: its cost grows with live tasks, not with all
 * tasks ever made.
 */
export async function stillTasks(knex: Knex, o: { now: number; stillForMs: number; skipStages: readonly string[]; limit: number }): Promise<StillTask[]> {
  const rows = (await knex('tasks as t')
    .select('t.id', 't.repo', 't.stage', 't.updated_at')
    .whereNotIn('t.stage', [...TERMINAL_STAGES, ...o.skipStages])
    .andWhere('t.updated_at', '<=', o.now - o.stillForMs)
    .whereNull('t.blocked_reason')
    .whereNull('t.cancel_requested_at')
    .whereNotExists(knex('jobs as j').select(knex.raw('1')).whereRaw('j.task_id = t.id').whereIn('j.status', ['queued', 'running']))
    .orderBy('t.updated_at', 'asc')
    .limit(o.limit)) as { id: number; repo: string; stage: string; updated_at: number | string }[];
  return rows.map((r) => ({ id: Number(r.id), repo: r.repo, stage: r.stage, updatedAt: Number(r.updated_at) }));
}
