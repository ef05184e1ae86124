import type { ApiClient } from './api-client.js';
import { elapsed, type Output } from './output.js';
import { waitingSentence, waitsForApproval, type TaskDetailJson } from './task-show.js';

/** How often `task watch` asks the host. */
export const WATCH_INTERVAL_MS = 1_000;

/**
 * `conveyor task watch <id>` (and `task show <id> --watch`): follows a task live,
 * printing a line when its stage or what it waits for changes and when an agent run
 * finishes, until the task is done (exit 0), cancelled or blocked (exit 1). Ctrl-C
 * stops watching; the task goes on.
 */
export async function watchTask(api: ApiClient, id: string, io: Output, options: { cli: string; intervalMs?: number }): Promise<number> {
  const started = Date.now();
  const say = (line: string) => io.out(`${elapsed(started)} ${line}`);
  let last = '';
  let hinted = false;
  const finished = new Set<number>();
  for (;;) {
    const res = await api.request<TaskDetailJson>('GET', `/tasks/${encodeURIComponent(id)}`);
    if (res.status >= 400) {
      const b = res.body as unknown as { message?: string } | null;
      io.err(`error ${res.status}: ${b?.message ?? JSON.stringify(res.body)}`);
      return res.status === 404 ? 3 : 1;
    }
    const d = res.body;
    for (const r of d.agentRuns) {
      if (r.finishedAt === null || finished.has(r.id)) continue;
      finished.add(r.id);
      const cost = r.usage?.costUsd;
      say(`  ${r.stage}: ${r.role} finished (exit ${r.exitCode ?? '—'}${typeof cost === 'number' ? `, $${cost.toFixed(4)}` : ''})`);
    }
    const now = `${d.task.workItemId} ${d.task.stage}: ${waitingSentence(d.waitingFor)}`;
    if (now !== last) say((last = now));
    if (waitsForApproval(d) && !hinted) {
      hinted = true;
      say(`  read the analysis: ${options.cli} task artefact ${d.task.id} analysis; then ${options.cli} task approve ${d.task.id} (or reject ${d.task.id} --comment "…")`);
    }
    if (d.task.stage === 'done') return 0;
    if (d.task.stage === 'cancelled' || d.task.blockedReason) return 1;
    await new Promise((r) => setTimeout(r, options.intervalMs ?? WATCH_INTERVAL_MS));
  }
}
