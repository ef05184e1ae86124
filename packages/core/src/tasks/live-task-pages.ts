import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Task } from '../domain.js';
import type { LiveTaskSummary, TaskStore } from '../persistence/ports.js';

/** Tasks per page when a daemon reads every live task. */
export const LIVE_TASK_PAGE = 200;

/**
 * Every live task, a page at a time in id order, the event loop free between pages.
 * SQLite's driver runs a statement synchronously: one read of ten thousand rows held
 * the host's loop for hundreds of milliseconds (webhooks, API and heartbeats wait);
 * a page of a couple of hundred holds it for a few. For daemons (reconciler, reaper,
 * metrics) that look at all the work in flight each tick; `repo` and `stage` narrow it.
 */
export async function* liveTaskPages(tasks: Pick<TaskStore, 'list'>, opts: { pageSize?: number; repo?: string; stage?: string } = {}): AsyncGenerator<Task[]> {
  const limit = opts.pageSize ?? LIVE_TASK_PAGE;
  let afterId = 0;
  for (;;) {
    const page = await tasks.list({ live: true, limit, afterId, ...(opts.repo ? { repo: opts.repo } : {}), ...(opts.stage ? { stage: opts.stage } : {}) });
    if (page.length > 0) yield page;
    if (page.length < limit) return;
    afterId = page[page.length - 1]!.id;
    await yieldToLoop();
  }
}

/**
 * Every live task's summary (id, repo, stage, age, block and merge markers), a page at
 * a time in id order, the event loop free between pages. For a daemon that acts on
 * few of the live tasks: it picks them out here and reads only those in full. Each
 * page is one bounded read through the live tasks' id index, whatever the stage (a
 * read narrowed by stage was sorted: all of the stage's live tasks, on every page).
 */
export async function* liveSummaryPages(tasks: Pick<TaskStore, 'liveSummaries'>, opts: { pageSize?: number } = {}): AsyncGenerator<LiveTaskSummary[]> {
  const limit = opts.pageSize ?? LIVE_TASK_PAGE;
  let afterId = 0;
  for (;;) {
    const page = await tasks.liveSummaries({ afterId, limit });
    if (page.length > 0) yield page;
    if (page.length < limit) return;
    afterId = page[page.length - 1]!.id;
    await yieldToLoop();
  }
}
