import type { LeaseStore } from '@conveyor/core';
import type { RetestStore } from './retest-store.js';

/** How many flaky passes the `/queue` block lists. */
const FLAKY_SHOWN = 10;

/** The `/queue` block: who holds each repo's merge lease, and the latest flaky re-tests. */
export async function mergeSnapshot(d: { leases: LeaseStore; retests: RetestStore }): Promise<unknown> {
  const leases = await d.leases.list();
  const flaky = await d.retests.recentFlaky(FLAKY_SHOWN);
  return {
    leases: leases.map((l) => ({ repo: l.repo, taskId: l.taskId, hostId: l.hostId, pid: l.pid, acquiredAt: l.acquiredAt.toISOString(), expiresAt: l.expiresAt.toISOString() })),
    flaky: flaky.map((f) => ({ taskId: f.taskId, repo: f.repo, sha: f.sha, attempts: f.attempt, at: f.at.toISOString() })),
  };
}
