import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Task } from '../domain.js';
import type { TaskStore } from '../persistence/ports.js';

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
