import type { DeployWindow, WindowStore } from './window-store.js';

const view = (w: DeployWindow) => ({
  taskId: w.taskId,
  repo: w.repo,
  status: w.status,
  armedAt: w.armedAt.toISOString(),
  endsAt: w.endsAt.toISOString(),
  nextCheckAt: w.status === 'active' ? w.nextCheckAt.toISOString() : null,
  checks: w.checks,
  failures: w.failures,
  lastError: w.lastError,
  closedAt: w.closedAt?.toISOString() ?? null,
});

/** The `/queue` block: the watched repositories, open windows and the latest closed ones, from the table. */
export async function monitorSnapshot(d: { windows: WindowStore; watched: readonly string[] }): Promise<unknown> {
  const { open, closed } = await d.windows.recent();
  return { watched: [...d.watched], open: open.map(view), closed: closed.map(view) };
}
