import { TERMINAL_STAGES, type Knex } from '@conveyor/core';
import type { FreezeStore } from './freeze-store.js';

/** How many live tasks per repo the `/queue` block lists. */
const PER_REPO = 20;

interface LiveRow {
  id: number;
  repo: string;
  work_item_id: string;
  stage: string;
}

/**
 * The `/queue` block: frozen repos, and per repo the task that runs and the tasks
 * queued behind it, with what each waits for. Stored state only.
 */
export async function serialSnapshot(d: { knex: Knex; freezes: FreezeStore; repos: readonly string[] }): Promise<unknown> {
  const frozen = await d.freezes.list();
  let q = d.knex('tasks').select('id', 'repo', 'work_item_id', 'stage').whereNotIn('stage', [...TERMINAL_STAGES]).orderBy([{ column: 'repo' }, { column: 'id' }]);
  if (d.repos.length) q = q.whereIn('repo', [...d.repos]);
  const live = (await q.limit(1000)) as LiveRow[];
  const byRepo: Record<string, { active: { id: number; workItemId: string; stage: string } | null; frozen: boolean; waiting: { id: number; workItemId: string; waitsFor: string }[] }> = {};
  for (const r of live) {
    const entry = (byRepo[r.repo] ??= { active: null, frozen: frozen.some((f) => f.repo === r.repo), waiting: [] });
    if (!entry.active) {
      entry.active = { id: r.id, workItemId: r.work_item_id, stage: r.stage };
      if (entry.frozen) entry.waiting.push({ id: r.id, workItemId: r.work_item_id, waitsFor: `the freeze of ${r.repo} to be lifted` });
    } else if (entry.waiting.length < PER_REPO) {
      entry.waiting.push({ id: r.id, workItemId: r.work_item_id, waitsFor: entry.frozen ? `the freeze of ${r.repo} to be lifted` : `task ${entry.active.id} (${entry.active.workItemId}) to finish` });
    }
  }
  return {
    scope: d.repos.length ? [...d.repos] : 'all',
    frozen: frozen.map((f) => ({ ...f, frozenAt: f.frozenAt.toISOString() })),
    repos: byRepo,
  };
}
